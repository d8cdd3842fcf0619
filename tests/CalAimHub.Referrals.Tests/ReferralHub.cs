using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The hub with the referral workflow running: Azurite in memory, the real handler behind the local host, a signed-
/// CloudEvents receiver on loopback per subscriber (referrer platform, members, plan staff), and an accelerated clock
/// (6 virtual hours per real second) so acknowledgement deadlines pass in seconds with the real calendar.
/// </summary>
public sealed class ReferralHub : SignedNoticeHub
{
    public const string Platform = "ciela";
    public const double Speed = 21_600;

    /// <summary>Deliveries by webhook-id: a redelivery of the same id is recorded once.</summary>
    public ConcurrentDictionary<string, Notice> Received { get; } = new();

    public int DuplicateDeliveries;

    /// <summary>Services whose referrals start an authorization child here; every other service is routed at once.</summary>
    public static readonly string[] AuthorizedServices = ["recuperative-care", "short-term-post-hospitalization-housing"];

    protected override IReadOnlyList<string> Platforms => [Platform];

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings => [new("Referrals__AuthorizationServices", string.Join(',', AuthorizedServices))];

    protected override void OnDelivery(SignedDelivery delivery)
    {
        if (!Received.TryAdd(delivery.Id, Notice.From(delivery)))
        {
            Interlocked.Increment(ref DuplicateDeliveries);
        }
    }
    public Task PutProviderAsync(string npi, string name, string service, int available = 5, string county = "Alameda") => Api.PutProviderAsync(npi, name, service, available, county);
    public Task<HttpResponseMessage> WebhookAsync(string body, string? webhookId = null) => Api.SendSignedWebhookAsync(Platform, body, webhookId: webhookId);

    public static string Created(string referralId, string service, string urgency = "routine", string occurredAt = "2026-05-01T09:30:00-07:00", string? county = null) => $$"""
        {
          "type": "referral.created",
          "referralId": "{{referralId}}",
          "occurredAt": "{{occurredAt}}",
          "service": { "code": "{{service}}" },
          "member": { "cin": "{{ReferralSamples.Cin}}"{{(county is null ? "" : $", \"county\": \"{county}\"")}} },
          "referringEntity": { "name": "St. Rosa Delgado Medical Center", "npi": "{{ReferralSamples.ReferrerNpi}}" },
          "urgency": "{{urgency}}"
        }
        """;

    public static string Status(string referralId, string status, string? npi, string? reason = null, string occurredAt = "2026-05-05T10:00:00-07:00") => $$"""
        {
          "type": "referral.status-changed",
          "referralId": "{{referralId}}",
          "occurredAt": "{{occurredAt}}",
          "status": "{{status}}"{{(npi is null ? "" : $", \"receivingProviderNpi\": \"{npi}\"")}}{{(reason is null ? "" : $", \"reason\": \"{reason}\"")}}
        }
        """;
    public Task<JsonElement> ReferralAsync(string referralId) => Api.ReferralAsync(referralId);
    public Task<JsonElement> WaitForWorkflowAsync(string referralId, Func<JsonElement, bool> until, TimeSpan timeout, string what) =>
        Api.WaitForWorkflowAsync(referralId, until, timeout, what);

    public IReadOnlyList<Notice> NoticesFor(string referralId) => [.. Received.Values.Where(n => n.Subject == referralId).OrderBy(n => n.Order)];

    public async Task<IReadOnlyList<Notice>> WaitForNoticesAsync(string referralId, Func<IReadOnlyList<Notice>, bool> until, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (until(NoticesFor(referralId)))
            {
                return NoticesFor(referralId);
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"notices for {referralId} not as expected; got: {string.Join(", ", NoticesFor(referralId).Select(n => $"{n.Subscriber}:{n.Type}"))}");
    }
}

public sealed record Notice(string Id, string Subscriber, string Type, string Subject, JsonElement Data, string Raw, int Order, DateTimeOffset SignedAt, DateTimeOffset ReceivedAt)
{
    public static Notice From(SignedDelivery d) => new(
        d.Id, d.Subscriber, d.CloudEvent.GetProperty("type").GetString()!, d.CloudEvent.GetProperty("subject").GetString()!,
        d.CloudEvent.GetProperty("data"), d.Raw, d.Order, d.SignedAt, d.ReceivedAt);
}
