using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CalAimHub.LocalHost;
using CalAimHub.Testing;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>
/// The console's Today through the local host: an authorization's decision deadline passes (business clock accelerated,
/// 2 virtual hours per real second, slow enough that a loaded machine still sees it due first), its breach is committed, and the read model the runtime keeps shows it in
/// <c>GET /api/console/today</c> (breached list and count), out of the next-24-hours list.
/// </summary>
public sealed class ConsoleTodayTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private LocalHub hub = null!;
    private HttpClient api = null!;

    public async Task InitializeAsync()
    {
        hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            AppSettings = new Dictionary<string, string>
            {
                ["Authorizations__AcceleratedClock__Start"] = "2026-05-04T09:00:00-07:00",
                ["Authorizations__AcceleratedClock__Speed"] = "7200",
                ["Notifications__RequireHttps"] = "false",
                ["Workflows__MaxTimerDelay"] = "00:00:01",
            },
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.100" },
        });
        api = new HttpClient { BaseAddress = hub.ApiBaseAddress };
    }

    public async Task DisposeAsync()
    {
        api.Dispose();
        await hub.DisposeAsync();
    }

    private async Task<JsonElement> TodayAsync()
    {
        using var response = await api.GetAsync(new Uri("/api/console/today", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static JsonElement Authorizations(JsonElement today) =>
        today.GetProperty("byType").EnumerateArray().Single(t => t.GetProperty("workflowType").GetString() == "authorization");

    [Fact]
    public async Task A_breached_decision_deadline_shows_on_today()
    {
        using var created = await api.PostAsJsonAsync("/api/authorizations", new
        {
            memberCin = "90000401A",
            service = new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } },
            requestingProviderNpi = "1245319599",
            referringEntity = "county-hospital",
            urgency = "expedited",
            supportingFacts = new[] { "experiencing-homelessness" },
            consentReference = "ascmi-2026-0401",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("authorizationId").GetString()!;

        // First it is due (72 hours: within the next 5 working days), not breached.
        var due = await Eventually.ValueAsync(TodayAsync, t => Authorizations(t).GetProperty("dueNext5WorkingDays").GetInt64() == 1, Patience, "the decision deadline counted as due");
        Assert.Equal(0, Authorizations(due).GetProperty("breached").GetInt64());

        // Then the deadline passes (about 36 real seconds): breached, with a link to the authorization. Today reads counter
        // rows and list pages side by side, and the breach moves the item between partitions, so an answer taken while it
        // commits can hold part of it (CI saw the list at 1 and the count at 0): wait for all of it.
        var breached = await Eventually.ValueAsync(
            TodayAsync,
            t => t.GetProperty("breached").GetArrayLength() == 1 && Authorizations(t) is var a
                && (a.GetProperty("dueNext24h").GetInt64(), a.GetProperty("dueNext5WorkingDays").GetInt64(), a.GetProperty("breached").GetInt64()) == (0, 0, 1),
            Patience, "the breach on Today, listed and counted, no longer counted as due");
        var item = breached.GetProperty("breached")[0];
        Assert.Equal(("authorization", id, "decision", "decision", true, $"#/authorizations/{id}"), (
            item.GetProperty("workflowType").GetString(), item.GetProperty("instanceId").GetString(), item.GetProperty("itemId").GetString(),
            item.GetProperty("deadline").GetString(), item.GetProperty("breached").GetBoolean(), item.GetProperty("link").GetString()));
        Assert.Equal((0L, 0L, 1L), (Authorizations(breached).GetProperty("dueNext24h").GetInt64(), Authorizations(breached).GetProperty("dueNext5WorkingDays").GetInt64(), Authorizations(breached).GetProperty("breached").GetInt64()));
        Assert.DoesNotContain(breached.GetProperty("dueNext24h").EnumerateArray(), d => d.GetProperty("instanceId").GetString() == id);
        Assert.DoesNotContain("90000401A", breached.GetRawText(), StringComparison.Ordinal);
    }
}
