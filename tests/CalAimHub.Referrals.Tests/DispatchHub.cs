using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Invocations;
using CalAimHub.LocalHost;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// One local host (Azurite in memory, the real handler process) for the dispatch tests: the referral consumer is off
/// (they inspect <c>referral-events</c>) and so is the sweeper's timer (they run it themselves, as the host does on its
/// schedule), with a <see cref="Grace"/> sweep grace and <see cref="BatchSize"/> events per sweep.
/// </summary>
public sealed class DispatchHub : IAsyncLifetime
{
    public const string Platform = WebhookHub.GenericPlatform;
    public const int BatchSize = 2;
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    public LocalHub Hub { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;

    private TableClient Referrals => Hub.Storage.Tables.GetTableClient("Referrals");

    public async Task InitializeAsync()
    {
        Hub = await WebhookHub.StartIntakeOnlyAsync(new Dictionary<string, string>
        {
            ["AzureWebJobs__ReferralDispatchSweeper__Disabled"] = "true",
            [$"Webhooks__Platforms__{Platform}__Secrets__0"] = WebhookHub.Secret,
            ["Webhooks__SweepGrace"] = Grace.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Webhooks__SweepBatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress };
    }

    public async Task DisposeAsync()
    {
        Api.Dispose();
        await Hub.DisposeAsync();
    }

    /// <summary>Runs <c>ReferralDispatchSweeper</c> the way the host's timer trigger does, and answers its report.</summary>
    public async Task<string> SweepAsync()
    {
        using var client = new HttpClient { BaseAddress = Hub.HandlerAddress };
        var now = DateTimeOffset.UtcNow;
        using var content = new ByteArrayContent(InvocationEnvelope.ForTimer("timer", false, now.AddMinutes(-1), now.AddMinutes(1), now));
        content.Headers.ContentType = new("application/json");
        using var response = await client.PostAsync(new Uri("ReferralDispatchSweeper", UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"ReferralDispatchSweeper answered {(int)response.StatusCode}: {body}");
        return Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("Logs").EnumerateArray()).GetString()!;
    }

    /// <summary>The event row's <c>Dispatched</c> flag, or null when there is no such row.</summary>
    public async Task<bool?> DispatchedAsync(string referralId, string eventId)
    {
        var row = await Referrals.GetEntityIfExistsAsync<TableEntity>(referralId, "event|" + eventId);
        return row.HasValue ? row.Value!.GetBoolean("Dispatched") ?? false : null;
    }

    /// <summary>Waits (real time) for the mark the handler writes after answering.</summary>
    public async Task WaitForDispatchedAsync(string referralId, string eventId)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (await DispatchedAsync(referralId, eventId) != true)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"event {eventId} of {referralId} was not marked dispatched within 15 s");
            await Task.Delay(25);
        }
    }

    /// <summary>
    /// Puts an accepted event back in the state a crash between the commit and the queue send leaves: recorded, not
    /// marked, not on the queue (the queue is emptied; every earlier event of these tests is marked by then).
    /// </summary>
    public async Task RewindToRecordedOnlyAsync(string referralId, string eventId)
    {
        await WaitForDispatchedAsync(referralId, eventId);
        await Hub.Storage.Queues.GetQueueClient("referral-events").ClearMessagesAsync();
        await Referrals.UpdateEntityAsync(new TableEntity(referralId, "event|" + eventId) { ["Dispatched"] = false }, ETag.All, TableUpdateMode.Merge);
    }

    public Task ClearQueueAsync() => Hub.Storage.Queues.GetQueueClient("referral-events").ClearMessagesAsync();

    /// <summary>The event id of every message on <c>referral-events</c> for the referral, in queue order.</summary>
    public async Task<IReadOnlyList<string>> QueuedEventIdsAsync(string referralId)
    {
        var messages = (await Hub.Storage.Queues.GetQueueClient("referral-events").PeekMessagesAsync(32)).Value;
        return [.. messages
            .Select(m => JsonDocument.Parse(m.Body.ToString()).RootElement)
            .Where(e => e.GetProperty("referralId").GetString() == referralId)
            .Select(e => e.GetProperty("eventId").GetString()!)];
    }

    public string HandlerLog => string.Join('\n', Hub.HandlerOutput);

    public void AssertNoMemberDataLogged()
    {
        var logs = HandlerLog;
        foreach (var phi in new[] { ReferralSamples.Cin, "Rosa", "Delgado" })
        {
            Assert.DoesNotContain(phi, logs, StringComparison.OrdinalIgnoreCase);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DispatchCollection : ICollectionFixture<DispatchHub>
{
    public const string Name = "referral dispatch";
}
