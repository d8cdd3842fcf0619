using System.Globalization;
using System.Text.Json;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Referrals.Tests;

/// <summary>One signed notice as the subscriber's endpoint received it.</summary>
/// <param name="SignedAt">Its <c>webhook-timestamp</c>.</param>
/// <param name="ReceivedAt">The receiver's (real) clock when it arrived.</param>
public sealed record SignedDelivery(string Id, string Subscriber, JsonElement CloudEvent, string Raw, int Order, DateTimeOffset SignedAt, DateTimeOffset ReceivedAt);

/// <summary>
/// What the referral end-to-end fixtures share: the hub with the referral workflow (Azurite in memory, the real handler
/// behind the local host, an accelerated business clock so acknowledgement deadlines pass in seconds with the real
/// calendar) and a signed-CloudEvents receiver on loopback with one endpoint per subscriber, which verifies signatures
/// against the real clock. Each fixture says which platforms and extra
/// settings it needs and what it keeps of a delivery.
/// </summary>
public abstract class SignedNoticeHub : IAsyncLifetime
{
    private WebApplication? receiver;
    private int order;
    private int signatureFailures;

    public LocalHub Hub { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    /// <summary>Deliveries whose signature did not verify (answered 401).</summary>
    public int SignatureFailures => Volatile.Read(ref signatureFailures);

    /// <summary>Referral platforms: each gets the test secret, and is also a notice subscriber (the referring entity).</summary>
    protected abstract IReadOnlyList<string> Platforms { get; }

    protected virtual string ClockStart => "2026-05-04T09:00:00-07:00";

    protected virtual double ClockSpeed => ReferralHub.Speed;

    protected virtual bool BlobEvents => false;

    protected virtual IEnumerable<KeyValuePair<string, string>> ExtraSettings => [];

    protected abstract void OnDelivery(SignedDelivery delivery);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/events/{subscriber}", async (string subscriber, HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var id = request.Headers[StandardWebhookSignature.IdHeader].ToString();
            var timestamp = request.Headers[StandardWebhookSignature.TimestampHeader].ToString();
            // Verified as any partner would: against the real clock, with the standard tolerance. The accelerated clock
            // drives the hub's deadlines only; a notice stamped with it would fail here.
            var receivedAt = DateTimeOffset.UtcNow;
            if (StandardWebhookSignature.Verify(id, timestamp, request.Headers[StandardWebhookSignature.SignatureHeader], buffer.ToArray(), [WebhookHub.Secret], receivedAt) is not null)
            {
                Interlocked.Increment(ref signatureFailures);
                return Results.Unauthorized();
            }

            using var body = JsonDocument.Parse(buffer.ToArray());
            var signedAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp, CultureInfo.InvariantCulture));
            OnDelivery(new SignedDelivery(id, subscriber, body.RootElement.Clone(), body.RootElement.GetRawText(), Interlocked.Increment(ref order), signedAt, receivedAt));
            return Results.NoContent();
        });
        await app.StartAsync();
        receiver = app;
        var url = app.Urls.First() + "/events/";

        var settings = new Dictionary<string, string>
        {
            ["Authorizations__AcceleratedClock__Start"] = ClockStart,
            ["Authorizations__AcceleratedClock__Speed"] = ClockSpeed.ToString(CultureInfo.InvariantCulture),
            ["Referrals__AuthorizationServices"] = "",
            ["Notifications__RequireHttps"] = "false",
            ["Workflows__MaxTimerDelay"] = "00:00:01",
        };
        foreach (var platform in Platforms)
        {
            settings[$"Webhooks__Platforms__{platform}__Secrets__0"] = WebhookHub.Secret;
        }

        // "authorizations": where the authorization workflow (a referral's child) sends its own notices.
        foreach (var subscriber in Platforms.Concat(["members", "plan-staff", "authorizations"]))
        {
            settings[$"Notifications__Subscribers__{subscriber}__Url"] = url + subscriber;
            settings[$"Notifications__Subscribers__{subscriber}__Secrets__0"] = WebhookHub.Secret;
        }

        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }

        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = BlobEvents,
            BlobPollInterval = TimeSpan.FromMilliseconds(200),
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
}
