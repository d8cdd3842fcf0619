using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Notifications;

/// <summary>A notification subscriber the hub will send to under the current configuration, and what it is told.</summary>
/// <param name="UrlSetting">Where its endpoint comes from (app setting form), or null when the URL is configured with the partner.</param>
public sealed record NoticeSubscriber(string Id, string Purpose, string? UrlSetting);

/// <summary>
/// Every subscriber the code sends notices to — authorization subscribers (<c>Authorizations:Subscribers</c>, default
/// <c>authorizations</c>), referral notices to members and plan staff (<c>Referrals:MemberSubscriber</c>,
/// <c>Referrals:PlanStaffSubscriber</c>), each webhook platform's referring subscriber, each file partner's
/// <c>Subscriber</c> — and what is missing for each: checked once at start-up, so a subscriber nobody configured is one
/// clear warning naming the setting, not a failure per notice.
/// </summary>
public static class NoticeSubscribers
{
    public static IReadOnlyList<NoticeSubscriber> Referenced(IConfiguration configuration, AuthorizationPolicy? authorizations, ReferralPolicy? referrals)
    {
        var found = new List<NoticeSubscriber>();
        void Add(string id, string purpose, bool urlFromPartner = false)
        {
            if (!found.Any(s => s.Id == id))
            {
                found.Add(new(id, purpose, urlFromPartner ? null : $"Notifications__Subscribers__{id}__Url"));
            }
        }

        foreach (var id in authorizations?.Subscribers ?? [])
        {
            Add(id, "authorization notices");
        }

        if (referrals is not null)
        {
            Add(referrals.MemberSubscriber, "referral notices to members");
            Add(referrals.PlanStaffSubscriber, "referral escalations to plan staff");
            foreach (var platform in configuration.GetSection("Webhooks:Platforms").GetChildren())
            {
                Add(referrals.ReferrerSubscriber(platform.Key), $"referral notices to the referring entities of platform '{platform.Key}'");
            }
        }

        foreach (var partner in configuration.GetSection("Ingestion:Partners").GetChildren())
        {
            if (partner["Subscriber"] is { Length: > 0 } subscriber)
            {
                Add(subscriber, $"file results to partner '{partner.Key}'", urlFromPartner: true);
            }
        }

        var outbound = configuration.GetSection(Outbound.OutboundOptions.Section).Get<Outbound.OutboundOptions>() ?? new Outbound.OutboundOptions();
        foreach (var id in outbound.PlanSubscriberIds())
        {
            Add(id, "RTF reconciliation notices to the plan");
        }

        return found;
    }

    /// <summary>One sentence per subscriber that cannot be sent to, naming the settings to set; empty when all can.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration, AuthorizationPolicy? authorizations, ReferralPolicy? referrals)
    {
        var problems = new List<string>();
        foreach (var subscriber in Referenced(configuration, authorizations, referrals))
        {
            var missing = new List<string>();
            if (subscriber.UrlSetting is { } urlSetting && string.IsNullOrWhiteSpace(configuration[$"Notifications:Subscribers:{subscriber.Id}:Url"]))
            {
                missing.Add(urlSetting);
            }

            if (!configuration.GetSection($"Notifications:Subscribers:{subscriber.Id}:Secrets").GetChildren().Any())
            {
                missing.Add($"Notifications__Subscribers__{subscriber.Id}__Secrets__0 (a whsec_ secret)");
            }

            if (missing.Count > 0)
            {
                problems.Add($"Notification subscriber '{subscriber.Id}' ({subscriber.Purpose}) is not configured, so these notices are not sent: set {string.Join(" and ", missing)}");
            }
        }

        return problems;
    }

    /// <summary>Whether a notice to <paramref name="subscriber"/> without its own URL has somewhere to go.</summary>
    public static bool HasUrl(IConfiguration configuration, string subscriber) =>
        !string.IsNullOrWhiteSpace(configuration[$"Notifications:Subscribers:{subscriber}:Url"]);
}

/// <summary>Logs <see cref="NoticeSubscribers.Problems"/> once, as warnings, when the app starts.</summary>
public sealed partial class NoticeSubscriberCheck(IConfiguration configuration, IServiceProvider services, ILogger<NoticeSubscriberCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var problem in NoticeSubscribers.Problems(configuration, services.GetService<AuthorizationPolicy>(), services.GetService<ReferralPolicy>()))
        {
            LogUnconfigured(logger, problem);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Problem}")]
    private static partial void LogUnconfigured(ILogger logger, string problem);
}

/// <summary>
/// Workflow notices to a subscriber with no URL configured are left out (the start-up warning of
/// <see cref="NoticeSubscriberCheck"/> said so once), instead of failing every outbox dispatch with a stack trace.
/// </summary>
public sealed partial class ConfiguredSubscribersNotifier(IWorkflowNotifier inner, IConfiguration configuration, ILogger<ConfiguredSubscribersNotifier> logger) : IWorkflowNotifier
{
    public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken)
    {
        if (notice.Url is null && !NoticeSubscribers.HasUrl(configuration, notice.Subscriber))
        {
            LogSkipped(logger, notice.Type, notice.Subscriber);
            return Task.CompletedTask;
        }

        return inner.SendAsync(deliveryId, notice, time, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Notice {Type} to subscriber {Subscriber} not sent: the subscriber has no URL")]
    private static partial void LogSkipped(ILogger logger, string type, string subscriber);
}
