using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// A test read model over <see cref="ApprovalState"/>: every instance counts once in partition <c>stages</c> under its
/// stage (row <c>{stage}|{id}</c>), and while a review is due it sits in the partition of its due date with an
/// <c>open</c> count, so a change moves it between partitions. With <paramref name="counterTable"/>, the counter rows live there;
/// with <paramref name="rollUps"/> as well, the due days' counts are also summed per month (<c>due-month|{yyyy-MM}</c>).
/// </summary>
public sealed class ApprovalStageProjection(string table, string? counterTable = null, bool rollUps = false) : IWorkflowProjection<ApprovalState>
{
    public string Name => "approval-stages";

    public IReadOnlyList<string> Tables => counterTable is null ? [table] : [table, counterTable];

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<ApprovalState> instance)
    {
        if (instance.State.Stage == "new")
        {
            yield break;
        }

        yield return ReadModelEntry.Of(table, "stages", instance.InstanceId,
            [ReadModelRow.Of($"{instance.State.Stage}|{instance.InstanceId}", new { id = instance.InstanceId, stage = instance.State.Stage }, ("Stage", instance.State.Stage))],
            new Dictionary<string, long> { [instance.State.Stage] = 1 }, counterTable);
        if (instance.State.ReviewDue is { } due && instance.State.Stage == "awaiting-review")
        {
            yield return ReadModelEntry.Of(table, "due|" + due.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), instance.InstanceId,
                [ReadModelRow.Of(instance.InstanceId, new { id = instance.InstanceId, due })], new Dictionary<string, long> { ["open"] = 1 }, counterTable,
                rollUps ? "due-month|" + due.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture) : null);
        }
    }

    /// <summary>
    /// The updates of each instance's life, commit by commit: started (awaiting review, due on day 1 or 2), then for two
    /// in three approved (cooling-off), then for one in three of those done (approved); with <paramref name="withNote"/>,
    /// a "note" commit after the start that changes nothing. <paramref name="final"/>: each instance's last state.
    /// </summary>
    public static List<ProjectionUpdate> Lives(IWorkflowProjection<ApprovalState> projection, int instances, bool withNote, out List<ProjectedInstance<ApprovalState>> final)
    {
        var t0 = new DateTimeOffset(2026, 7, 1, 16, 0, 0, TimeSpan.Zero);
        var updates = new List<ProjectionUpdate>();
        final = [];
        for (var i = 0; i < instances; i++)
        {
            var id = $"approval-{i:D3}";
            var states = new List<ProjectedInstance<ApprovalState>> { At(id, 1, "awaiting-review", t0.AddDays(1 + (i % 2))) };
            if (withNote)
            {
                states.Add(states[^1] with { Seq = 2 });
            }

            if (i % 3 != 0)
            {
                states.Add(At(id, states.Count + 1, "cooling-off", null));
            }

            if (i % 3 == 1)
            {
                states.Add(At(id, states.Count + 1, "approved", null));
            }

            ProjectedInstance<ApprovalState>? before = null;
            foreach (var state in states)
            {
                updates.AddRange(projection.Project(before, state, new WorkflowEvent("e", "x", null, t0)));
                before = state;
            }

            final.Add(states[^1]);
        }

        return updates;
    }

    public static ProjectedInstance<ApprovalState> At(string id, long seq, string stage, DateTimeOffset? due) => new(id, WorkflowRuntimeStatus.Running, seq, new ApprovalState(stage, due));
}

/// <summary>The read-model mechanism: diff, idempotent exact apply (twice, out of order, crash between), rebuild.</summary>
[Collection(AzuriteCollection.Name)]
public class ProjectionTests(AzuriteFixture azurite)
{
    /// <summary>Applies the updates in order until the store's fault point kills the "process"; how many were applied.</summary>
    private static async Task<int> ApplyUntilKilledAsync(ReadModelStore store, IEnumerable<ProjectionUpdate> updates)
    {
        var applied = 0;
        try
        {
            foreach (var update in updates)
            {
                await store.ApplyAsync(update, CancellationToken.None);
                applied++;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return applied;
    }

    private static readonly DateTimeOffset T0 = new(2026, 7, 1, 16, 0, 0, TimeSpan.Zero);

    private static WorkflowEvent Event(string name) => new("e", name, null, T0);

    /// <param name="separateCounters">Counter rows in a table of their own (<c>{table}Counters</c>), as InvoiceTimeliness keeps them.</param>
    /// <param name="rollUps">The due days' counters also summed per month there, as the providers' are per week.</param>
    private async Task<(ReadModelStore Store, string Table, ApprovalStageProjection Projection)> NewAsync(bool separateCounters = false, bool rollUps = false)
    {
        var table = "ReadModel" + Guid.NewGuid().ToString("N")[..12];
        await azurite.Storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        await azurite.Storage.Tables.GetTableClient(table + "Counters").CreateIfNotExistsAsync();
        return (new ReadModelStore(azurite.Storage.Tables), table, new ApprovalStageProjection(table, separateCounters || rollUps ? table + "Counters" : null, rollUps));
    }

    /// <summary>
    /// Everything a query of the read model can see: item rows (with data) and non-zero counters, wherever the counters
    /// live (the table or <c>{table}Counters</c>); version rows' and the counter journal's bookkeeping aside.
    /// </summary>
    private async Task<List<string>> ContentAsync(string table)
    {
        var rows = new List<string>();
        await foreach (var row in azurite.Storage.Tables.GetTableClient(table).QueryAsync<TableEntity>().Concat(azurite.Storage.Tables.GetTableClient(table + "Counters").QueryAsync<TableEntity>()))
        {
            if (row.RowKey is ReadModelStore.CounterJournalRow or ReadModelStore.RollUpsRow)
            {
                continue;
            }

            if (row.RowKey == ReadModelStore.CounterRow)
            {
                var counts = ReadModelStore.ReadCounts(row).Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}");
                rows.Add($"{row.PartitionKey} counts {string.Join(",", counts)}");
            }
            else if (row.RowKey.StartsWith(ReadModelStore.VersionPrefix, StringComparison.Ordinal))
            {
                if (row.GetString("Rows") != "[]" || row.GetString("Counts") != "{}")
                {
                    rows.Add($"{row.PartitionKey} {row.RowKey} rows {row.GetString("Rows")} counts {row.GetString("Counts")}");
                }
            }
            else
            {
                rows.Add($"{row.PartitionKey} {row.RowKey} {row.GetString("Data")} {string.Join(",", row.Keys.Where(k => k is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag" or "Data")).Order(StringComparer.Ordinal).Select(k => $"{k}={row[k]}"))}");
            }
        }

        return [.. rows.Where(r => !r.EndsWith(" counts ", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
    }

    private static readonly string[] ExpectedCounts =
    [
        // 30 instances: i % 3 == 0 (10) still awaiting review, due day 1 (even i) or day 2 (odd i); 10 cooling off; 10 approved.
        "due|2026-07-02 counts open=5",
        "due|2026-07-03 counts open=5",
        "stages counts approved=10,awaiting-review=10,cooling-off=10",
    ];

    private static List<string> Counters(IEnumerable<string> content) => [.. content.Where(c => c.Contains(" counts ", StringComparison.Ordinal) && !c.Contains("~v|", StringComparison.Ordinal))];

    [Fact]
    public void The_diff_moves_an_entry_between_partitions_and_skips_what_did_not_change()
    {
        var projection = new ApprovalStageProjection("T");
        var started = ApprovalStageProjection.At("a", 1, "awaiting-review", T0.AddDays(1));

        var first = ((IWorkflowProjection<ApprovalState>)projection).Project(null, started, Event(WorkflowEvent.Started));
        var note = ((IWorkflowProjection<ApprovalState>)projection).Project(started, started with { Seq = 2 }, Event("note"));
        var approved = ((IWorkflowProjection<ApprovalState>)projection).Project(started with { Seq = 2 }, ApprovalStageProjection.At("a", 3, "cooling-off", null), Event("approved"));

        Assert.Equal(["stages a 1 rows 1 awaiting-review=1", "due|2026-07-02 a 1 rows 1 open=1"], first.Select(Describe));
        Assert.Empty(note);
        Assert.Equal(["stages a 3 rows 1 cooling-off=1", "due|2026-07-02 a 3 rows 0 "], approved.Select(Describe));
    }

    private static string Describe(ProjectionUpdate u) => $"{u.Partition} {u.Item} {u.Version} rows {u.Rows.Count} {string.Join(",", u.Counts.Select(c => $"{c.Key}={c.Value}"))}";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Applying_every_update_twice_gives_the_same_rows_and_exact_counts(bool separateCounters)
    {
        var (store, table, projection) = await NewAsync(separateCounters);
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out _);

        foreach (var update in updates)
        {
            Assert.True(await store.ApplyAsync(update, CancellationToken.None));
        }

        var once = await ContentAsync(table);
        var again = new List<bool>();
        foreach (var update in updates)
        {
            again.Add(await store.ApplyAsync(update, CancellationToken.None));
        }

        Assert.Equal(ExpectedCounts, Counters(once));
        Assert.All(again, Assert.False);
        Assert.Equal(once, await ContentAsync(table));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Updates_applied_out_of_order_and_concurrently_end_as_the_in_order_result(bool separateCounters)
    {
        var (inOrder, orderedTable, projection) = await NewAsync();
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out _);
        foreach (var update in updates)
        {
            await inOrder.ApplyAsync(update, CancellationToken.None);
        }

        var (shuffled, shuffledTable, shuffledProjection) = await NewAsync(separateCounters);
        var reordered = ApprovalStageProjection.Lives(shuffledProjection, 30, withNote: true, out _).OrderBy(_ => Random.Shared.Next()).ToList();
        // Eight writers at once on the same counter rows: the ETag races must lose nothing.
        await Parallel.ForEachAsync(reordered, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (u, ct) => await shuffled.ApplyAsync(u, ct));

        var expected = await ContentAsync(orderedTable);
        var actual = await ContentAsync(shuffledTable);
        Assert.Equal(ExpectedCounts, Counters(actual));
        Assert.Equal(expected.Where(r => !r.Contains("~v|", StringComparison.Ordinal)), actual.Where(r => !r.Contains("~v|", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Updates_waiting_for_their_partition_are_written_together_with_exact_counts()
    {
        var (store, table, projection) = await NewAsync();
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out _);
        var (reference, referenceTable, referenceProjection) = await NewAsync();
        foreach (var update in ApprovalStageProjection.Lives(referenceProjection, 30, withNote: true, out _))
        {
            await reference.ApplyAsync(update, CancellationToken.None);
        }

        // Hold the first transaction while every other update arrives: they queue behind their partitions' writers.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = 0;
        store.BeforeWrite = _ => Interlocked.Increment(ref writes) == 1 ? release.Task : Task.CompletedTask;
        var applying = updates.Select(u => store.ApplyAsync(u, CancellationToken.None)).ToList();
        await Task.Delay(200);
        release.SetResult();
        await Task.WhenAll(applying);

        Assert.Equal(ExpectedCounts, Counters(await ContentAsync(table)));
        Assert.Equal((await ContentAsync(referenceTable)).Select(r => r.Replace(referenceTable, table, StringComparison.Ordinal)), await ContentAsync(table));
        // 30 instances over three partitions, each item's versions superseding one another in a batch: a handful of
        // transactions instead of one per update.
        Assert.True(store.Transactions <= 12, $"{store.Transactions} transactions for {updates.Count} updates");
        Assert.Equal(updates.Count, reference.Transactions);
    }

    [Fact]
    public async Task An_update_from_before_its_counter_table_is_written_apart_from_the_newer_ones_of_its_partition()
    {
        // An outbox row of the previous version (no counter table) and updates of this one (counters in "{table}Counters")
        // queue behind one held transaction in the same partition.
        var (store, table, projection) = await NewAsync(separateCounters: true);
        var updates = ApprovalStageProjection.Lives(projection, 6, withNote: true, out _).Where(u => u.Partition == "stages" && u.Version == 1).ToList();
        Assert.Equal(6, updates.Count);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = 0;
        store.BeforeWrite = _ => Interlocked.Increment(ref writes) == 1 ? release.Task : Task.CompletedTask;
        var first = store.ApplyAsync(updates[0], CancellationToken.None);
        await Task.Delay(100);
        var queued = updates.Skip(1).Select((u, i) => store.ApplyAsync(i == 1 ? u with { CounterTable = null } : u, CancellationToken.None)).ToList();
        await Task.Delay(100);
        release.SetResult();

        Assert.True(await first);
        Assert.All(await Task.WhenAll(queued), Assert.True);
        Assert.Equal(5, (await store.CountsAsync(table + "Counters", "stages", CancellationToken.None)).GetValueOrDefault("awaiting-review"));
        Assert.Equal(1, (await store.CountsAsync(table, "stages", CancellationToken.None)).GetValueOrDefault("awaiting-review"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_crash_between_the_reads_and_the_write_loses_nothing_once_the_outbox_is_dispatched_again(bool separateCounters)
    {
        var (store, table, projection) = await NewAsync(separateCounters);
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out _);
        var writes = 0;
        // The process dies before the 40th transaction (as kill -9 would): that update and everything after it is not applied.
        store.BeforeWrite = _ => ++writes == 40 ? throw new OperationCanceledException("killed") : Task.CompletedTask;
        var applied = await ApplyUntilKilledAsync(store, updates);

        Assert.Equal(39, applied);
        Assert.NotEqual(ExpectedCounts, Counters(await ContentAsync(table)));

        // Resume: the sweeper dispatches every outbox row again, including the ones whose updates were already written.
        store.BeforeWrite = null;
        foreach (var update in updates)
        {
            await store.ApplyAsync(update, CancellationToken.None);
        }

        var (reference, referenceTable, referenceProjection) = await NewAsync();
        foreach (var update in ApprovalStageProjection.Lives(referenceProjection, 30, withNote: true, out _))
        {
            await reference.ApplyAsync(update, CancellationToken.None);
        }

        Assert.Equal(ExpectedCounts, Counters(await ContentAsync(table)));
        Assert.Equal((await ContentAsync(referenceTable)).Select(r => r.Replace(referenceTable, table, StringComparison.Ordinal)), await ContentAsync(table));
    }

    [Fact]
    public async Task A_kill_between_the_journal_and_the_counter_table_neither_loses_nor_double_counts_on_replay()
    {
        var (store, table, projection) = await NewAsync(separateCounters: true);
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out _);
        var (reference, referenceTable, referenceProjection) = await NewAsync();
        foreach (var update in ApprovalStageProjection.Lives(referenceProjection, 30, withNote: true, out _))
        {
            await reference.ApplyAsync(update, CancellationToken.None);
        }

        // The process dies after its 25th journal transaction, before that commit's counter-table transaction (kill -9).
        var journals = 0;
        store.BeforeCounterWrite = _ => ++journals == 25 ? throw new OperationCanceledException("killed") : Task.CompletedTask;
        var applied = await ApplyUntilKilledAsync(store, updates);

        // The 25th update's rows and version are stored, its counts are not yet: the counters are those of the first 24 updates.
        Assert.Equal(24, applied);
        var killed = updates[24];
        Assert.Contains(await ContentAsync(table), r => r.StartsWith($"{killed.Partition} {ReadModelStore.VersionPrefix}{killed.Item} ", StringComparison.Ordinal));
        Assert.Equal(await CountersAfterAsync(updates, 24), Counters(await ContentAsync(table)));
        Assert.NotEqual(await CountersAfterAsync(updates, 24), await CountersAfterAsync(updates, 25));

        // A new process (nothing remembered) replays the killed update's outbox row: the version is stored, so the update
        // is skipped, but the journal is applied first; a second replay changes nothing.
        var restarted = new ReadModelStore(azurite.Storage.Tables);
        Assert.False(await restarted.ApplyAsync(killed, CancellationToken.None));
        Assert.Equal(await CountersAfterAsync(updates, 25), Counters(await ContentAsync(table)));
        Assert.False(await restarted.ApplyAsync(killed, CancellationToken.None));
        Assert.Equal(await CountersAfterAsync(updates, 25), Counters(await ContentAsync(table)));

        // Then two processes replay every outbox row at once, and the killed one (with its stale memory) too.
        var other = new ReadModelStore(azurite.Storage.Tables);
        async Task ReplayAsync(ReadModelStore process)
        {
            foreach (var update in updates)
            {
                await process.ApplyAsync(update, CancellationToken.None);
            }
        }

        await Task.WhenAll(Task.Run(() => ReplayAsync(restarted)), Task.Run(() => ReplayAsync(other)));
        store.BeforeCounterWrite = null;
        foreach (var update in updates)
        {
            Assert.False(await store.ApplyAsync(update, CancellationToken.None));
        }

        Assert.Equal(ExpectedCounts, Counters(await ContentAsync(table)));
        Assert.Equal((await ContentAsync(referenceTable)).Select(r => r.Replace(referenceTable, table, StringComparison.Ordinal)), await ContentAsync(table));
        // The counter table holds counter rows only (and the mark of its first writer); the version table none.
        await foreach (var row in azurite.Storage.Tables.GetTableClient(table + "Counters").QueryAsync<TableEntity>())
        {
            Assert.True(row.RowKey.StartsWith(ReadModelStore.CounterRow, StringComparison.Ordinal) || row.RowKey == ReadModelStore.RollUpsRow, row.RowKey);
        }

        await foreach (var row in azurite.Storage.Tables.GetTableClient(table).QueryAsync<TableEntity>())
        {
            Assert.False(row.RowKey.StartsWith(ReadModelStore.CounterRow, StringComparison.Ordinal), row.RowKey);
        }
    }

    [Fact]
    public async Task A_kill_between_a_days_counters_and_its_roll_up_neither_loses_nor_double_counts_on_replay()
    {
        var (store, table, projection) = await NewAsync(rollUps: true);
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out var final);

        // The process dies before the roll-up transaction of its 7th journal that has one (the day's counters are written).
        var rollUpWrites = 0;
        store.BeforeCounterWrite = partition => partition.StartsWith("due-month|", StringComparison.Ordinal) && ++rollUpWrites == 7
            ? throw new OperationCanceledException("killed")
            : Task.CompletedTask;
        var applied = await ApplyUntilKilledAsync(store, updates);
        var killed = updates[applied];
        // Roll-up writes: approval-000 starts (1), 001 starts and cools off (2, 3), 002 too (4, 5), 003 starts (6), 004 starts (7).
        Assert.Equal(("approval-004", "due|2026-07-02"), (killed.Item, killed.Partition));
        var beforeReplay = Counters(await ContentAsync(table));
        Assert.Contains("due|2026-07-02 counts open=2", beforeReplay);
        Assert.Contains("due|2026-07-03 counts open=1", beforeReplay);
        Assert.Contains("due-month|2026-07 counts open=2", beforeReplay); // the days say 3

        // A new process replays the killed update (skipped, its version is stored), which finishes the journal's roll-up
        // first; then two processes replay every update at once, and the killed one too.
        var restarted = new ReadModelStore(azurite.Storage.Tables);
        Assert.False(await restarted.ApplyAsync(killed, CancellationToken.None));
        Assert.Contains("due-month|2026-07 counts open=3", Counters(await ContentAsync(table)));
        var other = new ReadModelStore(azurite.Storage.Tables);
        store.BeforeCounterWrite = null;
        await Task.WhenAll(
            Task.Run(async () => await ApplyUntilKilledAsync(restarted, updates)),
            Task.Run(async () => await ApplyUntilKilledAsync(other, updates)),
            Task.Run(async () => await ApplyUntilKilledAsync(store, updates)));

        // 10 instances still await review (5 due each day): the month sums its days exactly.
        Assert.Equal([.. ExpectedCounts.Append("due-month|2026-07 counts open=10").Order(StringComparer.Ordinal)], Counters(await ContentAsync(table)));
        var month = await other.CounterRowsAsync(table + "Counters", "due-month|2026-07", "due-month|2026-07", CancellationToken.None, rollUps: true);
        Assert.Equal(10, Assert.Single(month).Counts["open"]);

        // The rebuild writes the same counters, roll-up included.
        var live = await ContentAsync(table);
        await store.ClearAsync(table, CancellationToken.None);
        await store.ClearAsync(table + "Counters", CancellationToken.None);
        await store.LoadAsync(final.SelectMany(f => projection.Entries(f)).Select(e => (e, 9L)), 2, CancellationToken.None);
        Assert.Equal(Counters(live), Counters(await ContentAsync(table)));
    }

    [Fact]
    public async Task A_reader_of_roll_ups_refuses_a_counter_table_written_without_them_until_the_rebuild()
    {
        var (store, table, projection) = await NewAsync(rollUps: true);
        var counters = table + "Counters";
        Task<IReadOnlyList<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)>> ReadMonthAsync(ReadModelStore reader) =>
            reader.CounterRowsAsync(counters, "due-month|2026-07", "due-month|2026-07", CancellationToken.None, rollUps: true);

        // Empty: nothing to miss.
        Assert.Empty(await ReadMonthAsync(store));

        // The version before roll-ups wrote half the lives (no roll-up, no mark); this one writes the rest, so the month
        // misses the first half.
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: true, out var final);
        foreach (var update in updates.Take(40))
        {
            await store.ApplyAsync(update with { CounterRollUp = null }, CancellationToken.None);
        }

        await azurite.Storage.Tables.GetTableClient(counters).DeleteEntityAsync(ReadModelStore.RollUpsRow, ReadModelStore.RollUpsRow);
        var upgraded = new ReadModelStore(azurite.Storage.Tables);
        foreach (var update in updates.Skip(40))
        {
            await upgraded.ApplyAsync(update, CancellationToken.None);
        }

        Assert.False((await azurite.Storage.Tables.GetTableClient(counters).GetEntityIfExistsAsync<TableEntity>(ReadModelStore.RollUpsRow, ReadModelStore.RollUpsRow)).HasValue);

        var refused = await Assert.ThrowsAsync<ReadModelLayoutException>(() => ReadMonthAsync(new ReadModelStore(azurite.Storage.Tables)));
        Assert.Equal(
            $"read-model table '{counters}' is not in the layout this version reads (counters with weekly roll-ups; the table holds counts written without them): run the read-model rebuild (POST /api/console/read-models/rebuild)",
            refused.Message);

        // The rebuild marks the table: its roll-ups are whole again.
        await store.ClearAsync(table, CancellationToken.None);
        await store.ClearAsync(counters, CancellationToken.None);
        await store.LoadAsync(final.SelectMany(f => projection.Entries(f)).Select(e => (e, 9L)), 2, CancellationToken.None);
        Assert.Equal(10, Assert.Single(await ReadMonthAsync(new ReadModelStore(azurite.Storage.Tables))).Counts["open"]);

        // A new deployment: the first writer of an empty counter table marks it.
        var (fresh, freshTable, freshProjection) = await NewAsync(rollUps: true);
        foreach (var update in ApprovalStageProjection.Lives(freshProjection, 30, withNote: true, out _))
        {
            await fresh.ApplyAsync(update, CancellationToken.None);
        }

        var freshMonth = await new ReadModelStore(azurite.Storage.Tables).CounterRowsAsync(freshTable + "Counters", "due-month|2026-07", "due-month|2026-07", CancellationToken.None, rollUps: true);
        Assert.Equal(10, Assert.Single(freshMonth).Counts["open"]);
    }

    /// <summary>The counters after the first <paramref name="count"/> updates, applied in a table that keeps counters alongside.</summary>
    private async Task<List<string>> CountersAfterAsync(IReadOnlyList<ProjectionUpdate> updates, int count)
    {
        var (store, table, _) = await NewAsync();
        foreach (var update in updates.Take(count))
        {
            await store.ApplyAsync(update with { Table = table, CounterTable = null }, CancellationToken.None);
        }

        return Counters(await ContentAsync(table));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task The_runtime_keeps_the_read_model_and_a_rebuild_from_the_workflows_writes_the_same_rows(bool separateCounters, bool rollUps)
    {
        var (store, table, projection) = await NewAsync(separateCounters, rollUps);
        var decider = new ApprovalWorkflow(TimeSpan.FromDays(1), TimeSpan.FromDays(1));
        var harness = await RuntimeHarness.CreateAsync(azurite, store, [WorkflowProjection.From(decider.Type, projection)], WorkflowDefinition.From(decider));
        for (var i = 0; i < 12; i++)
        {
            await harness.Runtime.StartAsync(decider.Type, $"approval-{i:D2}", null, CancellationToken.None);
            if (i % 3 != 0)
            {
                Assert.Equal(ApplyOutcome.Applied, (await harness.Runtime.RaiseEventAsync($"approval-{i:D2}", "approved", null, null, CancellationToken.None)).Outcome);
            }

            await harness.Runtime.RaiseEventAsync($"approval-{i:D2}", "note", null, null, CancellationToken.None);
        }

        // The outbox carried the updates: none is left, and the read model shows every instance once.
        var incremental = await ContentAsync(table);
        Assert.Equal("stages counts awaiting-review=4,cooling-off=8", Assert.Single(Counters(incremental), c => c.StartsWith("stages", StringComparison.Ordinal)));
        Assert.Equal(4, Counters(incremental).Where(c => c.StartsWith("due|", StringComparison.Ordinal)).Sum(c => int.Parse(c[(c.IndexOf('=') + 1)..], CultureInfo.InvariantCulture)));
        if (rollUps)
        {
            // Through the outbox too, each due day's change reached its month's roll-up.
            Assert.Equal($"due-month|{DateTimeOffset.UtcNow.AddDays(1).UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture)} counts open=4", Assert.Single(Counters(incremental), c => c.StartsWith("due-month|", StringComparison.Ordinal)));
        }

        var rebuild = new ReadModelRebuild(harness.Store, harness.Registry, store, NullLogger<ReadModelRebuild>.Instance);
        var report = await rebuild.RebuildAsync(CancellationToken.None);

        Assert.Equal(12, report.Instances);
        Assert.Equal(separateCounters ? [table, table + "Counters"] : [table], report.Tables);
        Assert.Equal(incremental, await ContentAsync(table));
    }

    [Fact]
    public async Task A_commit_carries_its_read_model_updates_in_its_own_outbox_row()
    {
        var (store, table, projection) = await NewAsync();
        var decider = new ApprovalWorkflow(TimeSpan.FromDays(1), TimeSpan.FromDays(1));
        var harness = await RuntimeHarness.CreateAsync(azurite, store, [WorkflowProjection.From(decider.Type, projection)], WorkflowDefinition.From(decider));
        harness.Notifier.FailuresLeft = 1;

        await harness.Runtime.StartAsync(decider.Type, "approval-x", null, CancellationToken.None);

        // The notice failed, so the row stayed: it holds the notice and the projection (written alongside the notice attempt).
        var row = Assert.Single(await harness.Store.OutboxRowsAsync("approval-x", CancellationToken.None));
        var projected = Assert.Single(row.Work.OfType<ProjectReadModels>());
        Assert.Equal(["stages", "due|" + DateTimeOffset.UtcNow.AddDays(1).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)], projected.Updates.Select(u => u.Partition));
        var once = Counters(await ContentAsync(table));
        var json = JsonSerializer.Serialize(row.Work, WorkflowJson.Options);
        Assert.Contains("\"kind\":\"projection\"", json, StringComparison.Ordinal);

        // The sweeper's re-dispatch sends the notice and finds the projection applied: counts stay exact.
        await harness.Runtime.DispatchAsync(row, CancellationToken.None);
        Assert.Contains("stages counts awaiting-review=1", once);
        Assert.Equal(once, Counters(await ContentAsync(table)));
        Assert.Empty(await harness.Store.OutboxRowsAsync("approval-x", CancellationToken.None));
    }
}
