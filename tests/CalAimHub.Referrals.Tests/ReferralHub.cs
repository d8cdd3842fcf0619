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
public sealed class ReferralHub : IAsyncLifetime
{
    public const string Platform = "ciela";
    public const double Speed = 21_600;

    public LocalHub Hub { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    /// <summary>Deliveries by webhook-id: a redelivery of the same id is recorded once.</summary>
    public ConcurrentDictionary<string, Notice> Received { get; } = new();

    public int DuplicateDeliveries;

    public int SignatureFailures;

    private WebApplication? receiver;
    private int order;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/events/{subscriber}", async (string subscriber, HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var id = request.Headers["webhook-id"].ToString();
            var timestamp = request.Headers["webhook-timestamp"].ToString();
            var signedAt = long.TryParse(timestamp, out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : DateTimeOffset.UnixEpoch;
            if (StandardWebhookSignature.Verify(id, timestamp, request.Headers["webhook-signature"], buffer.ToArray(), [WebhookHub.Secret], signedAt) is not null)
            {
                Interlocked.Increment(ref SignatureFailures);
                return Results.Unauthorized();
            }

            using var body = JsonDocument.Parse(buffer.ToArray());
            var root = body.RootElement;
            var notice = new Notice(id, subscriber, root.GetProperty("type").GetString()!, root.GetProperty("subject").GetString()!, root.GetProperty("data").Clone(),
                root.GetRawText(), Interlocked.Increment(ref order));
            if (!Received.TryAdd(id, notice))
            {
                Interlocked.Increment(ref DuplicateDeliveries);
            }

            return Results.NoContent();
        });
        await app.StartAsync();
        receiver = app;
        var url = app.Urls.First() + "/events/";

        var settings = new Dictionary<string, string>
        {
            [$"Webhooks__Platforms__{Platform}__Secrets__0"] = WebhookHub.Secret,
            ["Authorizations__AcceleratedClock__Start"] = "2026-05-04T09:00:00-07:00",
            ["Authorizations__AcceleratedClock__Speed"] = Speed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Referrals__AuthorizationServices"] = "",
            ["Notifications__RequireHttps"] = "false",
            ["Workflows__MaxTimerDelay"] = "00:00:01",
        };
        foreach (var subscriber in new[] { Platform, "members", "plan-staff" })
        {
            settings[$"Notifications__Subscribers__{subscriber}__Url"] = url + subscriber;
            settings[$"Notifications__Subscribers__{subscriber}__Secrets__0"] = WebhookHub.Secret;
        }

        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            AppSettings = settings,
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.100" },
        });
        Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress };
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (Hub is not null)
        {
            await Hub.DisposeAsync();
        }

        if (receiver is not null)
        {
            await receiver.DisposeAsync();
        }
    }
    public Task PutProviderAsync(string npi, string name, string service, int available = 5) => Api.PutProviderAsync(npi, name, service, available);
    public Task<HttpResponseMessage> WebhookAsync(string body, string? webhookId = null) => Api.SendSignedWebhookAsync(Platform, body, webhookId: webhookId);

    public static string Created(string referralId, string service, string urgency = "routine", string occurredAt = "2026-05-01T09:30:00-07:00") => $$"""
        {
          "type": "referral.created",
          "referralId": "{{referralId}}",
          "occurredAt": "{{occurredAt}}",
          "service": { "code": "{{service}}" },
          "member": { "cin": "{{ReferralSamples.Cin}}" },
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

public sealed record Notice(string Id, string Subscriber, string Type, string Subject, JsonElement Data, string Raw, int Order);
