namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Admission control and dispatch recovery for the webhook intake, section <c>Webhooks</c> (beside the platforms and
/// <c>MaxBodyBytes</c>, which <see cref="WebhookPlatforms"/> reads per request). Read once at start.
/// </summary>
public sealed class WebhookIntakeOptions
{
    /// <summary>
    /// Webhook requests worked on at once by this instance. Intake holds a request a few ms (two storage round trips for
    /// a new referral), so 200 req/s needs ~2 on average; more at once only lengthens every request's storage wait.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 32;

    /// <summary>
    /// Requests that wait for a slot (oldest first, doing no work) before more are answered 429: together with
    /// <see cref="MaxConcurrentRequests"/> about one second of 200 req/s, so a stall shorter than that sheds nothing.
    /// </summary>
    public int QueueLimit { get; set; } = 160;

    /// <summary>The <c>Retry-After</c> of a 429, in seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>
    /// How long a recorded event may stay unmarked before <see cref="ReferralDispatchSweeper"/> queues it again: longer
    /// than a request takes, so it does not race requests in flight.
    /// </summary>
    public TimeSpan SweepGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most events one sweep re-queues; the rest wait for the next run.</summary>
    public int SweepBatchSize { get; set; } = 200;

    /// <summary>
    /// How long <see cref="ReferralDispatchMarker"/> gathers dispatch marks before writing them, one entity-group
    /// transaction per platform (at most 100 marks; a full batch is written at once): at 120 webhooks/s about 24 marks
    /// per write instead of 24 writes. A crash loses at most this much of marks, which the sweeper heals.
    /// </summary>
    public TimeSpan DispatchMarkDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public static WebhookIntakeOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection("Webhooks").Get<WebhookIntakeOptions>() ?? new WebhookIntakeOptions();
        var problem = options switch
        {
            { MaxConcurrentRequests: < 1 } => $"Webhooks:MaxConcurrentRequests is {options.MaxConcurrentRequests}; it must be at least 1",
            { QueueLimit: < 0 } => $"Webhooks:QueueLimit is {options.QueueLimit}; it must be 0 or more",
            { RetryAfterSeconds: < 1 } => $"Webhooks:RetryAfterSeconds is {options.RetryAfterSeconds}; it must be at least 1",
            { SweepBatchSize: < 1 } => $"Webhooks:SweepBatchSize is {options.SweepBatchSize}; it must be at least 1",
            _ when options.SweepGrace < TimeSpan.Zero => $"Webhooks:SweepGrace is {options.SweepGrace}; it must not be negative",
            _ when options.DispatchMarkDelay < TimeSpan.Zero => $"Webhooks:DispatchMarkDelay is {options.DispatchMarkDelay}; it must not be negative",
            _ => null,
        };
        return problem is null ? options : throw new InvalidOperationException(problem);
    }
}
