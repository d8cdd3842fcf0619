using System.Text.Json;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Notifications;
using CalAimHub.Referrals;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// The <c>fhir</c> notification format for referral notices (<c>calaim.referral.*</c>): the payload becomes the referral's
/// SDOHCC <c>Task</c> as of the notice (<see cref="ReferralTaskWriter.ToNoticeTask"/>), CloudEvent
/// <c>datacontenttype</c> <c>application/fhir+json</c>; type, subject, id and signature stay as for every notice.
/// </summary>
/// <remarks>
/// <para>Who gets it: a subscriber with <c>Notifications:Subscribers:{id}:Format</c> = <c>fhir</c>; and, when that setting
/// is absent, the referring subscriber of a platform configured with <c>Webhooks:Platforms:{platform}:Format</c> =
/// <c>fhir</c> (a FHIR platform hears back in FHIR). <c>Format</c> = <c>generic</c> opts a subscriber out.</para>
/// <para>The Task is built from the notice itself (status, provider, reasons: the state when the notice was decided, not
/// when it is delivered) over the intake's record of the referral (created time, referrer, urgency). No member data:
/// the notice Task has no <c>for</c>; it names the referral by the hub id and the platform's own ServiceRequest.</para>
/// <para>The ledger is resolved when a notice is formatted, not injected: the ledger depends (through the workflow
/// runtime and its notifier) on the notification queue, which depends on this formatter.</para>
/// </remarks>
public sealed class ReferralFhirNoticeFormatter(IConfiguration configuration, WebhookPlatforms platforms, ReferralPolicy policy, IServiceProvider services)
    : INotificationFormatter
{
    public const string TypePrefix = "calaim.referral.";
    public const string FhirJson = "application/fhir+json";

    public async ValueTask<NotificationMessage> FormatAsync(NotificationMessage message, CancellationToken cancellationToken)
    {
        if (message.Type?.StartsWith(TypePrefix, StringComparison.Ordinal) != true || message.Subscriber is not { } subscriber
            || message.Data is not { ValueKind: JsonValueKind.Object } data || Notice(data) is not { } notice
            || ReferralIdentifiers.Split(notice.ReferralId) is not { } ids || !WantsFhir(subscriber, ids.Platform))
        {
            return message;
        }

        var at = message.Time ?? DateTimeOffset.UtcNow;
        var ledger = services.GetRequiredService<IReferralLedger>();
        var snapshot = (await ledger.GetAsync(notice.ReferralId, cancellationToken))?.Referral
            ?? new ReferralSnapshot(notice.ReferralId, ids.Platform, ids.PlatformReferralId, notice.Status, "", null, null, null, null, null, ReferralUrgency.Routine, at, at, "", 0);
        var asOf = AsOf(snapshot, notice, at);
        var task = ReferralTaskWriter.ToNoticeJson(asOf, asOf.ReceivingProviderNpi is not null && asOf.ReceivingProviderNpi == notice.ProviderNpi ? notice.ProviderName : null);
        using var document = JsonDocument.Parse(task);
        return message with { Data = document.RootElement.Clone(), DataContentType = FhirJson };
    }

    /// <summary>The referral as the notice describes it: its status, the provider it concerns and its reason.</summary>
    internal static ReferralSnapshot AsOf(ReferralSnapshot snapshot, ReferralNotice notice, DateTimeOffset at)
    {
        var reason = notice.ClosureReason ?? notice.Reason;
        var provider = notice.Status == ReferralStatus.Pending
            ? null // declined and being re-routed (or escalated): no provider owns it now
            : notice.ProviderNpi ?? snapshot.ReceivingProviderNpi;
        return snapshot with
        {
            Status = notice.Status,
            TaskStatus = ReferralStatusMap.ToTaskStatus(notice.Status, notice.Status == ReferralStatus.ReferralLoopClosed ? notice.ClosureReason : reason),
            Reason = reason,
            ReceivingProviderNpi = provider,
            UpdatedAt = at > snapshot.UpdatedAt ? at : snapshot.UpdatedAt,
            Member = null,
        };
    }

    private bool WantsFhir(string subscriber, string platform) => NotificationFormats.Configured(configuration, subscriber) switch
    {
        NotificationFormats.Fhir => true,
        NotificationFormats.Generic => false,
        _ => subscriber == policy.ReferrerSubscriber(platform) && platforms.Find(platform)?.Format == WebhookFormat.Fhir,
    };

    private static ReferralNotice? Notice(JsonElement data)
    {
        try
        {
            return data.Deserialize<ReferralNotice>(WorkflowJson.Options) is { ReferralId.Length: > 0 } notice ? notice : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
