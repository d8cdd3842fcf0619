using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Invocations;
using CalAimHub.LocalHost;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// One local host (Azurite in memory, the real handler process) for the dispatch tests: the referral consumer is off
/// (they inspect <c>referral-events</c>) and so is the sweeper's timer (they run it themselves, as the host does on its
/// schedule), with a <see cref="Grace"/> sweep grace, <see cref="BatchSize"/> events per sweep, dispatch marks gathered
/// for <see cref="MarkDelay"/> and the marker's Debug log on (one line per transaction).
/// </summary>
public class DispatchHub : IAsyncLifetime
{
    public const string Platform = WebhookHub.GenericPlatform;
    public const int BatchSize = 2;
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan MarkDelay = TimeSpan.FromSeconds(1);

    public LocalHub Hub { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;

    private TableClient Claims => Hub.Storage.Tables.GetTableClient("WebhookEvents");

    /// <summary>How long the handler gathers dispatch marks before writing them.</summary>
    protected virtual TimeSpan MarksGatheredFor => MarkDelay;

    /// <summary>Further platforms beside <see cref="Platform"/>, same secret.</summary>
    protected virtual IReadOnlyList<string> MorePlatforms => [];

    public async Task InitializeAsync()
    {
        var markDelay = MarksGatheredFor;
        var settings = MorePlatforms.ToDictionary(platform => $"Webhooks__Platforms__{platform}__Secrets__0", _ => WebhookHub.Secret);
        Hub = await WebhookHub.StartIntakeOnlyAsync(new Dictionary<string, string>(settings)
        {
            ["AzureWebJobs__ReferralDispatchSweeper__Disabled"] = "true",
            [$"Webhooks__Platforms__{Platform}__Secrets__0"] = WebhookHub.Secret,
            ["Webhooks__SweepGrace"] = Grace.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Webhooks__SweepBatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Webhooks__DispatchMarkDelay"] = markDelay.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__CalAimHub.Functions.Referrals.ReferralDispatchMarker"] = "Debug",
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

    /// <summary>The <c>Dispatched</c> flag of the platform's claim of the webhook-id, or null when nobody holds the id.</summary>
    public async Task<bool?> DispatchedAsync(string eventId, string platform = Platform)
    {
        var claim = await Claims.GetEntityIfExistsAsync<TableEntity>(platform, eventId);
        return claim.HasValue ? claim.Value!.GetBoolean("Dispatched") ?? false : null;
    }

    /// <summary>Waits (real time) for the mark the handler writes after answering.</summary>
    public async Task WaitForDispatchedAsync(string eventId, string platform = Platform)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (await DispatchedAsync(eventId, platform) != true)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"event {eventId} was not marked dispatched within 20 s");
            await Task.Delay(25);
        }
    }

    /// <summary>
    /// Puts an accepted event back in the state a crash between the commit and the queue send leaves: recorded, its claim
    /// not marked, not on the queue (the queue is emptied; every earlier event of these tests is marked by then).
    /// </summary>
    public async Task RewindToRecordedOnlyAsync(string eventId)
    {
        await WaitForDispatchedAsync(eventId);
        await Hub.Storage.Queues.GetQueueClient("referral-events").ClearMessagesAsync();
        await Claims.UpdateEntityAsync(new TableEntity(Platform, eventId) { ["Dispatched"] = false }, ETag.All, TableUpdateMode.Merge);
    }

    /// <summary>
    /// What a handler that stopped between claiming a webhook-id and recording its event leaves: the claim alone, unmarked.
    /// </summary>
    public Task ClaimOnlyAsync(string eventId, string referralId) =>
        Claims.AddEntityAsync(new TableEntity(Platform, eventId) { ["BodyHash"] = "hash-of-a-body-never-recorded", ["ReferralId"] = referralId, ["Dispatched"] = false });

    /// <summary>
    /// What a handler that stopped between a refused blind commit and its undo leaves: the referral recorded under a
    /// webhook-id whose claim holds another body's hash. Made here from an accepted create by rewriting its claim.
    /// </summary>
    public async Task OrphanAsync(string eventId)
    {
        await WaitForDispatchedAsync(eventId);
        await Claims.UpdateEntityAsync(new TableEntity(Platform, eventId) { ["BodyHash"] = "hash-of-the-body-that-owns-the-id" }, ETag.All, TableUpdateMode.Merge);
    }

    /// <summary>The webhook-ids of the events recorded for the referral, in row order.</summary>
    public async Task<IReadOnlyList<string>> RecordedEventIdsAsync(string referralId)
    {
        var rows = Hub.Storage.Tables.GetTableClient("Referrals").QueryAsync<TableEntity>(e => e.PartitionKey == referralId);
        var ids = new List<string>();
        await foreach (var row in rows)
        {
            if (row.RowKey.StartsWith("event|", StringComparison.Ordinal))
            {
                ids.Add(row.RowKey["event|".Length..]);
            }
        }

        return ids;
    }

    /// <summary>The sizes of the dispatch-mark transactions the handler logged after line <paramref name="fromLine"/>.</summary>
    public IReadOnlyList<int> MarkTransactions(int fromLine, string platform = Platform) =>
        [.. Hub.HandlerOutput.Skip(fromLine)
            .Select(line => System.Text.RegularExpressions.Regex.Match(line, $@"Marked (\d+) webhook event\(s\) of {platform} dispatched in one transaction"))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];

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
