using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// The hub as it runs locally: Azurite in memory, the real handler process behind the local host, and an idempotent
/// CloudEvents receiver on loopback. The handler's business clock is accelerated (12 virtual hours per real second, see
/// AcceleratedTimeProvider) so working-day deadlines pass in seconds with the real calendar and rules.
/// </summary>
public sealed class AuthorizationHubFixture : IAsyncLifetime
{
    public const double Speed = 43_200;
    public const string TrustedNpi = "1003000126";
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    public LocalHub Hub { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    /// <summary>Deliveries by webhook-id: a redelivery of the same id is recorded once (the idempotent receiver).</summary>
    public ConcurrentDictionary<string, ReceivedEvent> Received { get; } = new();

    public int DuplicateDeliveries;

    public int SignatureFailures;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/events", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var id = request.Headers["webhook-id"].ToString();
            var timestamp = request.Headers["webhook-timestamp"].ToString();
            // Verified as any partner would, against the real clock: only the handler's business clock is accelerated,
            // Notify stamps real time.
            if (CalAimHub.Hosting.Webhooks.StandardWebhookSignature.Verify(id, timestamp, request.Headers["webhook-signature"], buffer.ToArray(), [Secret], DateTimeOffset.UtcNow) is not null)
            {
                Interlocked.Increment(ref SignatureFailures);
                return Results.Unauthorized();
            }

            using var body = JsonDocument.Parse(buffer.ToArray());
            var cloudEvent = new ReceivedEvent(id, body.RootElement.GetProperty("type").GetString()!, body.RootElement.GetProperty("subject").GetString()!,
                body.RootElement.GetProperty("data").Clone(), body.RootElement.GetRawText(), DateTimeOffset.UtcNow, Received.Count);
            if (!Received.TryAdd(id, cloudEvent))
            {
                Interlocked.Increment(ref DuplicateDeliveries);
            }

            return Results.NoContent();
        });
        await app.StartAsync();
        receiverApp = app;
        var receiverUrl = app.Urls.First() + "/events";

        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            AppSettings = new Dictionary<string, string>
            {
                ["Authorizations__AcceleratedClock__Start"] = "2026-05-04T09:00:00-07:00",
                ["Authorizations__AcceleratedClock__Speed"] = Speed.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Authorizations__TrustedProviderNpis__0"] = TrustedNpi,
                ["Authorizations__Subscribers__0"] = "authorizations",
                ["Notifications__RequireHttps"] = "false",
                ["Notifications__Subscribers__authorizations__Url"] = receiverUrl,
                ["Notifications__Subscribers__authorizations__Secrets__0"] = Secret,
                ["Workflows__MaxTimerDelay"] = "00:00:01",
                // The tests run the claim sweeper themselves (SweepClaimsAsync), as the host's timer does.
                ["AzureWebJobs__AuthorizationClaimSweeper__Disabled"] = "true",
            },
            HostOverrides = new Dictionary<string, string>
            {
                ["extensions:queues:maxPollingInterval"] = "00:00:00.100",
            },
        });
        Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress };
    }

    private WebApplication? receiverApp;

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (Hub is not null)
        {
            await Hub.DisposeAsync();
        }

        if (receiverApp is not null)
        {
            await receiverApp.DisposeAsync();
        }
    }

    public IEnumerable<ReceivedEvent> EventsFor(string authorizationId) =>
        Received.Values.Where(e => e.Subject == authorizationId).OrderBy(e => e.Order);

    /// <summary>Waits (real time) until an event of <paramref name="type"/> for the authorization has arrived.</summary>
    public async Task<ReceivedEvent> WaitForEventAsync(string authorizationId, string type, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (EventsFor(authorizationId).FirstOrDefault(e => e.Type == type) is { } found)
            {
                return found;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no {type} for {authorizationId} within {timeout.TotalSeconds} s; got: {string.Join(", ", EventsFor(authorizationId).Select(e => e.Type))}");
    }

    public Task<HttpResponseMessage> PostAsync(string path, object body) => Api.PostAsJsonAsync(path, body);

    /// <summary>Runs <c>AuthorizationClaimSweeper</c> the way the host's timer trigger does, and answers its report.</summary>
    public async Task<string> SweepClaimsAsync()
    {
        using var client = new HttpClient { BaseAddress = Hub.HandlerAddress };
        var now = DateTimeOffset.UtcNow;
        using var content = new ByteArrayContent(CalAimHub.Hosting.Invocations.InvocationEnvelope.ForTimer("timer", false, now.AddMinutes(-1), now.AddMinutes(1), now));
        content.Headers.ContentType = new("application/json");
        using var response = await client.PostAsync(new Uri("AuthorizationClaimSweeper", UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"AuthorizationClaimSweeper answered {(int)response.StatusCode}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.GetProperty("Logs").EnumerateArray().Single().GetString()!;
    }
}

public sealed record ReceivedEvent(string Id, string Type, string Subject, JsonElement Data, string Raw, DateTimeOffset At, int Order);
