using System.Diagnostics.Metrics;
using System.Globalization;
using System.Threading.RateLimiting;
using CalAimHub.Functions.Extensions;
using Microsoft.AspNetCore.RateLimiting;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Admission control for <c>POST /api/webhooks/{platform}</c>: at most <see cref="WebhookIntakeOptions.MaxConcurrentRequests"/>
/// in the intake at once and <see cref="WebhookIntakeOptions.QueueLimit"/> waiting (oldest first); beyond that 429
/// problem+json with <c>Retry-After</c>, before the body is read, so nothing is stored. Without it an overloaded instance
/// let every request in, each waited longer on storage, and throughput fell to half of what it sustains at a steady rate;
/// webhook senders retry a 429 after <c>Retry-After</c> (Standard Webhooks), so shedding loses nothing.
/// </summary>
public sealed partial class WebhookAdmission(WebhookIntakeOptions options, ILogger<WebhookAdmission> logger) : IRateLimiterPolicy<string>
{
    public const string PolicyName = "webhooks";
    public const string ProblemTitle = "Too many webhook requests";

    /// <summary>ASP.NET Core has no default problem type for 429; RFC 6585 defines the status.</summary>
    public const string ProblemType = "https://tools.ietf.org/html/rfc6585#section-4";

    private static readonly Meter Meter = new(HubTelemetry.MeterName);
    private static readonly Counter<long> Shed = Meter.CreateCounter<long>("calaimhub.webhooks.shed");

    // One warning per burst, not one per shed request (a burst sheds hundreds a second).
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);
    private long lastLoggedTicks;
    private long shedSinceLog;

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => RejectAsync;

    /// <summary>One partition for the instance: what is protected is its storage throughput, whoever the platform is.</summary>
    public RateLimitPartition<string> GetPartition(HttpContext httpContext) =>
        RateLimitPartition.GetConcurrencyLimiter(PolicyName, _ => new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrentRequests,
            QueueLimit = options.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

    public static string Detail(WebhookIntakeOptions options) =>
        $"the hub is handling as many webhooks as it can right now; nothing was stored; send it again (same webhook-id) after {options.RetryAfterSeconds} s";

    private async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        Shed.Add(1);
        var shed = Interlocked.Increment(ref shedSinceLog);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref lastLoggedTicks);
        if (now - last >= LogEvery.TotalMilliseconds && Interlocked.CompareExchange(ref lastLoggedTicks, now, last) == last)
        {
            Interlocked.Add(ref shedSinceLog, -shed);
            LogShedding(logger, shed, options.MaxConcurrentRequests, options.QueueLimit);
        }

        var http = context.HttpContext;
        http.Response.Headers.RetryAfter = options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: ProblemTitle, detail: Detail(options), type: ProblemType).ExecuteAsync(http);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook intake shed {Count} request(s) with 429: {MaxConcurrent} in progress and {QueueLimit} waiting")]
    private static partial void LogShedding(ILogger logger, long count, int maxConcurrent, int queueLimit);
}
