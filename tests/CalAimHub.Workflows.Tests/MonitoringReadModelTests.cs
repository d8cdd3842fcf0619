using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Functions.Referrals;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Workflows.Tests;

/// <summary>The monitoring extract's referral status updates come from their monthly read model, not from a scan of the ledger.</summary>
[Collection(AzuriteCollection.Name)]
public class MonitoringReadModelTests(AzuriteFixture azurite)
{
    private static readonly MonitoringMonth March = new(2031, 3);
    private static readonly DateTimeOffset GeneratedAt = new(2031, 4, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Events of a few referrals around March 2031 (Pacific): some in it, some just before or after it in Pacific time although
    /// inside or outside it in UTC, a closure with a reason, an event without a service.
    /// </summary>
    private static List<ReferralEvent> Events(string run)
    {
        var events = new List<ReferralEvent>();
        ReferralEvent Event(int referral, int n, ReferralEventKind kind, ReferralStatus status, DateTimeOffset at, string? reason = null, bool service = true) => new(
            $"{run}-e{referral}-{n}", "acme", $"acme:{run}-r{referral}", $"{run}-r{referral}", kind, status, "requested", reason,
            service ? new ReferralService(referral % 2 == 0 ? "ecm" : "housing-navigation", []) : null, null, new ReferringEntity($"Clinic {referral % 3}", null),
            referral % 4 == 0 ? null : $"12453195{referral % 10:D2}", ReferralUrgency.Routine, at, at);

        for (var r = 0; r < 12; r++)
        {
            var opened = new DateTimeOffset(2031, 2, 27, 12, 0, 0, TimeSpan.Zero).AddDays(r * 3).AddHours(r);
            events.Add(Event(r, 0, ReferralEventKind.Created, ReferralStatus.Pending, opened));
            events.Add(Event(r, 1, ReferralEventKind.StatusChanged, ReferralStatus.Accepted, opened.AddHours(20), service: r != 5));
            if (r % 3 == 0)
            {
                events.Add(Event(r, 2, ReferralEventKind.StatusChanged, ReferralStatus.ReferralLoopClosed, opened.AddDays(2), ReferralStatuses.ServicesReceived));
            }
        }

        // 1 April 2031 04:30 UTC is still 31 March in California; 1 March 07:30 UTC is 28 February there.
        events.Add(Event(20, 0, ReferralEventKind.Created, ReferralStatus.Pending, new DateTimeOffset(2031, 4, 1, 4, 30, 0, TimeSpan.Zero)));
        events.Add(Event(21, 0, ReferralEventKind.Created, ReferralStatus.Pending, new DateTimeOffset(2031, 3, 1, 7, 30, 0, TimeSpan.Zero)));
        return events;
    }

    /// <summary>What the extract read before (stop 18): every <c>event|</c> row of the Referrals ledger, filtered to the month.</summary>
    private async Task<List<ReferralStatusUpdate>> LedgerScanAsync(MonitoringMonth month)
    {
        var updates = new List<ReferralStatusUpdate>();
        await foreach (var row in azurite.Storage.Tables.GetTableClient(TableReferralLedger.TableName).QueryAsync<TableEntity>("RowKey ge 'event|' and RowKey lt 'event}'", select: ["Event"]))
        {
            if (row.GetString("Event") is not { } json || JsonSerializer.Deserialize<ReferralEvent>(json, ReferralJson.Options) is not { } e
                || e.OccurredAt < month.Start || e.OccurredAt >= month.End)
            {
                continue;
            }

            updates.Add(new ReferralStatusUpdate(e.ReferralId, e.Service?.Code ?? "unknown", e.ReferringEntity?.Name, e.ReceivingProviderNpi, e.Status, e.OccurredAt, e.Reason));
        }

        return updates;
    }

    /// <summary>The ledger's rows as <c>TableReferralLedger</c> writes them (partition = referral, row = <c>event|{id}</c>).</summary>
    private async Task StoreInLedgerAsync(IEnumerable<ReferralEvent> events)
    {
        var ledger = azurite.Storage.Tables.GetTableClient(TableReferralLedger.TableName);
        await ledger.CreateIfNotExistsAsync();
        foreach (var e in events)
        {
            await ledger.UpsertEntityAsync(new TableEntity(e.ReferralId, "event|" + e.EventId) { ["Event"] = JsonSerializer.Serialize(e, ReferralJson.Options) });
        }
    }

    private static string Tracking(MonitoringMonth month, IReadOnlyList<ReferralStatusUpdate> updates) =>
        JsonSerializer.Serialize(MonitoringExtract.Build(month, new MonitoringInputs(updates, [], []), GeneratedAt).ReferralTracking, WorkflowJson.Options);

    private static IReadOnlyList<ReferralStatusUpdate> InMonth(MonitoringMonth month, IReadOnlyList<ReferralStatusUpdate> updates) =>
        [.. updates.Where(u => u.UpdatedAt >= month.Start && u.UpdatedAt < month.End)];

    [Fact]
    public async Task The_extracts_referral_figures_from_the_read_model_equal_the_old_ledger_scans_and_a_rebuild_reproduces_them()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var events = Events(run);
        var tracking = new ReferralTrackingReadModel(azurite.Storage);
        await azurite.Storage.Tables.GetTableClient(ReferralTrackingReadModel.TableName).CreateIfNotExistsAsync();
        await StoreInLedgerAsync(events);
        foreach (var e in events.Concat(events.Take(5)))
        {
            await tracking.RecordAsync(e, CancellationToken.None); // as ReferralEvents does, a redelivery included
        }

        // Only this run's referrals: other tests may share the ledger table.
        IReadOnlyList<ReferralStatusUpdate> Ours(IEnumerable<ReferralStatusUpdate> all) => [.. all.Where(u => u.ReferralId.StartsWith($"acme:{run}-", StringComparison.Ordinal))];
        var scanned = Ours(await LedgerScanAsync(March));
        // Referrals 1-10 opened and accepted in March (0 opened and accepted in February, 11 in April), closures of 0, 3, 6
        // and 9, and the one of 31 March in California (1 April UTC): 25.
        Assert.Equal(25, scanned.Count);
        var expected = Tracking(March, scanned);
        Assert.Contains("\"reasonForReferralLoopClosure\":\"Services Received\"", expected, StringComparison.Ordinal);

        var fromReadModel = Ours(InMonth(March, await tracking.MonthAsync(March, CancellationToken.None)));
        Assert.Equal(expected, Tracking(March, fromReadModel));
        Assert.Equal(Tracking(new MonitoringMonth(2031, 2), Ours(await LedgerScanAsync(new MonitoringMonth(2031, 2)))),
            Tracking(new MonitoringMonth(2031, 2), Ours(InMonth(new MonitoringMonth(2031, 2), await tracking.MonthAsync(new MonitoringMonth(2031, 2), CancellationToken.None)))));

        // The console's rebuild empties the table and writes it again from the ledger: the same figures.
        var harness = await RuntimeHarness.CreateAsync(azurite);
        var readModels = new ReadModelStore(azurite.Storage.Tables);
        var report = await new ReadModelRebuild(harness.Store, harness.Registry, readModels, NullLogger<ReadModelRebuild>.Instance, [tracking]).RebuildAsync(CancellationToken.None);
        Assert.Contains(ReferralTrackingReadModel.TableName, report.Tables);
        Assert.Contains("monitoring-referral-updates", report.Projections);
        Assert.Equal(expected, Tracking(March, Ours(InMonth(March, await tracking.MonthAsync(March, CancellationToken.None)))));
    }
}
