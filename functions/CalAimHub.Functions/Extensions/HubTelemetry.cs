using System.Diagnostics.Metrics;

namespace CalAimHub.Functions.Extensions;

/// <summary>The hub's own metrics. Tags never carry member data.</summary>
public static class HubTelemetry
{
    public const string MeterName = "CalAimHub";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> NotificationsDelivered = Meter.CreateCounter<long>("calaimhub.notifications.delivered");
    public static readonly Counter<long> NotificationAttemptsFailed = Meter.CreateCounter<long>("calaimhub.notifications.attempts_failed");
    public static readonly Counter<long> MessagesDeadLettered = Meter.CreateCounter<long>("calaimhub.messages.dead_lettered");
    public static readonly Histogram<long> PoisonQueueDepth = Meter.CreateHistogram<long>("calaimhub.queues.poison_depth");
}
