using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Read models whose items are spread over shard tables (<see cref="ReadModelShards"/>): the items of one partition in
/// several tables, counts summed and pages merged in row-key order across them, each shard's counter journal applied exactly
/// once to the counter rows they share, and a table of the unsharded layout refused until the rebuild.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ShardedReadModelTests(AzuriteFixture azurite)
{
    private const int Shards = 4;

    private static readonly DateTimeOffset T0 = new(2026, 7, 1, 16, 0, 0, TimeSpan.Zero);

    /// <summary>A store whose test table has <paramref name="shards"/> shards (its counter table, when any, one).</summary>
    private async Task<(ReadModelStore Store, string Table, ApprovalStageProjection Projection)> NewAsync(int shards, bool separateCounters = false)
    {
        var table = "Sharded" + Guid.NewGuid().ToString("N")[..12];
        await azurite.Storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        await azurite.Storage.Tables.GetTableClient(table + "Counters").CreateIfNotExistsAsync();
        return (Store(table, shards), table, new ApprovalStageProjection(table, separateCounters ? table + "Counters" : null));
    }

    private ReadModelStore Store(string table, int shards, int revision = ReadModelShards.FirstRevision) =>
        new(azurite.Storage.Tables, new ReadModelShards(new Dictionary<string, int> { [table] = shards }, new Dictionary<string, int> { [table] = revision }));

    /// <summary>The row keys partition <c>stages</c> must list, in order: <c>{stage}|{id}</c> of every instance.</summary>
    private static List<string> StageKeys(IEnumerable<ProjectedInstance<ApprovalState>> final, string? stage = null) =>
        [.. final.Where(f => stage is null || f.State.Stage == stage).Select(f => $"{f.State.Stage}|{f.InstanceId}").Order(StringComparer.Ordinal)];

    private static string StageKey(JsonElement item) => $"{item.GetProperty("stage").GetString()}|{item.GetProperty("id").GetString()}";

    /// <summary>Applies the updates that create each of <paramref name="states"/> (no earlier state).</summary>
    private static async Task ApplyNewAsync(ReadModelStore store, ApprovalStageProjection projection, IEnumerable<ProjectedInstance<ApprovalState>> states)
    {
        foreach (var state in states)
        {
            foreach (var update in ((IWorkflowProjection<ApprovalState>)projection).Project(null, state, new WorkflowEvent("e", "x", null, T0)))
            {
                await store.ApplyAsync(update, CancellationToken.None);
            }
        }
    }

    /// <summary>Pages of <paramref name="top"/> through partition <c>stages</c> to its end: the stage keys listed, and the pages it took (each full but the last).</summary>
    private static async Task<(List<string> Listed, int Pages)> PageThroughAsync(ReadModelStore store, string table, string? filter, int top)
    {
        var listed = new List<string>();
        var pages = 0;
        string? continuation = null;
        do
        {
            var (items, next) = await store.PageAsync(table, "stages", "", "~", filter, top, continuation, CancellationToken.None);
            Assert.True(items.Count == top || next is null, $"page {pages}: {items.Count} items and a continuation");
            listed.AddRange(items.Select(StageKey));
            continuation = next;
            pages++;
        }
        while (continuation is not null);

        return (listed, pages);
    }

    [Fact]
    public async Task A_partitions_items_land_in_several_shard_tables_and_read_back_exact_and_in_order()
    {
        var (store, table, projection) = await NewAsync(Shards);
        var updates = ApprovalStageProjection.Lives(projection, 60, withNote: false, out var final);
        await Parallel.ForEachAsync(updates.GroupBy(u => u.Item), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, ct) =>
        {
            foreach (var update in item)
            {
                await store.ApplyAsync(update, ct);
            }
        });

        // The 60 items of "stages" are in all four shard tables, in partition "stages", each with its own counter row; the
        // table the projection names holds the layout row only.
        var inStages = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var shard = 0; shard < Shards; shard++)
        {
            var name = $"{table}{shard:D2}";
            await foreach (var row in azurite.Storage.Tables.GetTableClient(name).QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
            {
                if (row.PartitionKey == "stages" && !row.RowKey.StartsWith('~'))
                {
                    inStages[name] = inStages.GetValueOrDefault(name) + 1;
                }
            }

            Assert.NotNull((await azurite.Storage.Tables.GetTableClient(name).GetEntityIfExistsAsync<TableEntity>("stages", ReadModelStore.CounterRow)).Value);
        }

        Assert.Equal(Shards, inStages.Count);
        Assert.All(inStages.Values, items => Assert.InRange(items, 5, 30));
        Assert.Equal(60, inStages.Values.Sum());
        var logical = new List<string>();
        await foreach (var row in azurite.Storage.Tables.GetTableClient(table).QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
        {
            logical.Add($"{row.PartitionKey}/{row.RowKey}");
        }

        Assert.Equal(["~layout/~layout"], logical);

        // Counts summed over the shards; one page of everything in row-key order across them.
        var counts = await store.CountsAsync(table, "stages", CancellationToken.None);
        Assert.Equal([("approved", 20L), ("awaiting-review", 20L), ("cooling-off", 20L)], counts.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value)));
        Assert.Equal(10, (await store.CountsAsync(table, "due|2026-07-02", CancellationToken.None)).GetValueOrDefault("open"));
        var (items, next) = await store.PageAsync(table, "stages", "", "~", null, 100, null, CancellationToken.None);
        Assert.Equal(StageKeys(final), items.Select(StageKey));
        Assert.Null(next);
        var rows = await store.CounterRowsAsync(table, "due|2026-07-02", "due|2026-07-03", CancellationToken.None);
        Assert.Equal([("due|2026-07-02", 10L), ("due|2026-07-03", 10L)], rows.Where(r => r.Row is null).Select(r => (r.Partition, r.Counts.GetValueOrDefault("open"))).Order());
    }

    [Theory]
    [InlineData(null, 3)]
    [InlineData("cooling-off", 3)]
    [InlineData(null, 7)]
    public async Task Pages_smaller_than_a_shard_continue_across_shards_in_row_key_order(string? stage, int top)
    {
        var (store, table, projection) = await NewAsync(Shards);
        var updates = ApprovalStageProjection.Lives(projection, 60, withNote: false, out var final);
        foreach (var update in updates)
        {
            await store.ApplyAsync(update, CancellationToken.None);
        }

        var expected = StageKeys(final, stage);
        var filter = stage is null ? null : TableClient.CreateQueryFilter($"Stage eq {stage}");
        var (listed, pages) = await PageThroughAsync(store, table, filter, top);
        Assert.Equal(expected, listed);
        Assert.Equal((expected.Count + top - 1) / top, pages);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(25)]
    public async Task A_page_whose_rows_sit_mostly_in_one_shard_is_read_again_from_that_shard_and_stays_exact(int top)
    {
        // A shard is first asked for about twice its share of a page (2·⌈top/S⌉ + 4 rows). Here the first 40 rows in key
        // order all sit in shard 0, the 20 after them in the other shards: a page is right only if shard 0 is read again.
        var (store, table, projection) = await NewAsync(Shards);
        var ids = Enumerable.Range(0, 10_000).Select(i => $"approval-{i:D5}").ToList();
        var inFirst = ids.Where(id => ReadModelShards.ShardOf(id, Shards) == 0).Take(40).ToList();
        var others = ids.Where(id => ReadModelShards.ShardOf(id, Shards) != 0 && string.CompareOrdinal(id, inFirst[^1]) > 0).Take(20).ToList();
        var final = inFirst.Concat(others).Select(id => ApprovalStageProjection.At(id, 1, "awaiting-review", T0.AddDays(1))).ToList();
        await ApplyNewAsync(store, projection, final);

        var (listed, _) = await PageThroughAsync(store, table, null, top);
        Assert.Equal(StageKeys(final), listed);
    }

    /// <summary>
    /// The shard read first (shard 0) bounds the others' reads by the last key it gave. Rows in key order: a block from the
    /// shards named first, then 30 from the others, then 20 from the first again. Whichever shards come first (the
    /// bounding shard, the others, one of them), every page is exact and the pages continue without loss or repeat, with a
    /// filter too. A block of 10 from shard 0 with pages of 12: shard 0's first ask (10 rows) ends the block, so the page
    /// needs the other shards' rows above that bound.
    /// </summary>
    [Theory]
    [InlineData("0", 30, 1, false)]
    [InlineData("0", 30, 10, true)]
    [InlineData("0", 10, 12, false)]
    [InlineData("0", 10, 12, true)]
    [InlineData("1,2,3", 30, 1, false)]
    [InlineData("1,2,3", 30, 7, true)]
    [InlineData("1,2,3", 30, 50, false)]
    [InlineData("2", 30, 3, false)]
    [InlineData("2", 10, 10, true)]
    public async Task Pages_stay_exact_whichever_shards_hold_the_first_rows(string firstShards, int firstBlock, int top, bool filtered)
    {
        var (store, table, projection) = await NewAsync(Shards);
        var first = firstShards.Split(',').Select(int.Parse).ToHashSet();
        var ids = Enumerable.Range(0, 10_000).Select(i => $"approval-{i:D5}").ToList();
        bool InFirst(string id) => first.Contains(ReadModelShards.ShardOf(id, Shards));
        var blockA = ids.Where(InFirst).Take(firstBlock).ToList();
        var blockB = ids.Where(id => !InFirst(id) && string.CompareOrdinal(id, blockA[^1]) > 0).Take(30).ToList();
        var blockC = ids.Where(id => InFirst(id) && string.CompareOrdinal(id, blockB[^1]) > 0).Take(20).ToList();

        // Filtered: every row of the same stage passes, so the filter keeps the blocks' order (stages sort before ids).
        var stage = filtered ? "cooling-off" : null;
        var final = blockA.Concat(blockB).Concat(blockC).Select(id => ApprovalStageProjection.At(id, 1, filtered ? "cooling-off" : "awaiting-review", T0.AddDays(1))).ToList();
        final.AddRange(ids.Skip(9_000).Take(5).Select(id => ApprovalStageProjection.At(id, 1, "approved", T0.AddDays(1)))); // filtered out
        await ApplyNewAsync(store, projection, final);

        var filter = stage is null ? TableClient.CreateQueryFilter($"Stage ne {"approved"}") : TableClient.CreateQueryFilter($"Stage eq {stage}");
        var (listed, _) = await PageThroughAsync(store, table, filter, top);
        Assert.Equal(StageKeys(final.Where(f => f.State.Stage != "approved")), listed);
    }

    [Fact]
    public async Task Each_shards_journal_is_applied_once_though_all_feed_the_same_counter_rows()
    {
        var (store, table, projection) = await NewAsync(Shards, separateCounters: true);
        var updates = ApprovalStageProjection.Lives(projection, 60, withNote: false, out _);
        await Parallel.ForEachAsync(updates, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (u, ct) => await store.ApplyAsync(u, ct));
        var expected = await CountsAsync(table);
        Assert.Equal("approved=20,awaiting-review=20,cooling-off=20", expected["stages"]);

        // The month-like counter partition "stages" carries one stamp per shard that wrote to it.
        var stages = (await azurite.Storage.Tables.GetTableClient(table + "Counters").GetEntityAsync<TableEntity>("stages", ReadModelStore.CounterRow)).Value;
        Assert.Equal(["JournalSeq_00", "JournalSeq_01", "JournalSeq_02", "JournalSeq_03"], stages.Keys.Where(k => k.StartsWith("JournalSeq", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

        // Replay: two new processes (nothing remembered) dispatch every update again, so every shard's journal is read and
        // met again; the stamps make each a no-op.
        await Task.WhenAll(Task.Run(() => ReplayAsync(Store(table, Shards))), Task.Run(() => ReplayAsync(Store(table, Shards))));
        Assert.Equal(expected, await CountsAsync(table));

        async Task ReplayAsync(ReadModelStore process)
        {
            foreach (var update in updates)
            {
                Assert.False(await process.ApplyAsync(update, CancellationToken.None));
            }
        }
    }

    [Fact]
    public async Task A_kill_between_one_shards_journal_and_the_counter_rows_is_completed_after_other_shards_moved_them_on()
    {
        var (store, table, projection) = await NewAsync(Shards, separateCounters: true);
        var updates = ApprovalStageProjection.Lives(projection, 60, withNote: false, out _);
        var killedAt = updates.FindIndex(20, u => u.Partition == "stages" && u.Counts.Count > 0);
        var killed = updates[killedAt];
        var killedShard = ReadModelShards.ShardOf(killed.Item, Shards);
        foreach (var update in updates.Take(killedAt))
        {
            await store.ApplyAsync(update, CancellationToken.None);
        }

        // The process dies after the killed update's journal transaction, before its counter-table transaction.
        store.BeforeCounterWrite = _ => throw new OperationCanceledException("killed");
        await Assert.ThrowsAsync<OperationCanceledException>(() => store.ApplyAsync(killed, CancellationToken.None));
        Assert.Equal(await ReferenceCountsAsync(updates.Take(killedAt)), await CountsAsync(table));

        // Another process writes every later update of the other shards of "stages": their journals advance the same
        // counter rows (and their own stamps) past the killed shard's sequence.
        var restarted = Store(table, Shards);
        var others = updates.Skip(killedAt + 1).Where(u => u.Partition == "stages" && ReadModelShards.ShardOf(u.Item, Shards) != killedShard).ToList();
        Assert.True(others.Count >= 10, $"{others.Count} later updates in other shards");
        foreach (var update in others)
        {
            Assert.True(await restarted.ApplyAsync(update, CancellationToken.None));
        }

        var stages = (await azurite.Storage.Tables.GetTableClient(table + "Counters").GetEntityAsync<TableEntity>("stages", ReadModelStore.CounterRow)).Value;
        var killedStamp = stages.GetInt64($"JournalSeq_{killedShard:D2}") ?? 0;
        Assert.Contains(stages.Keys.Where(k => k.StartsWith("JournalSeq_", StringComparison.Ordinal)), k => stages.GetInt64(k) > killedStamp + 1);
        Assert.Equal(await ReferenceCountsAsync([.. updates.Take(killedAt), .. others]), await CountsAsync(table));

        // The killed update's replay finds its version stored (skipped) but applies its shard's journal first: once.
        Assert.False(await restarted.ApplyAsync(killed, CancellationToken.None));
        Assert.False(await Store(table, Shards).ApplyAsync(killed, CancellationToken.None));
        Assert.Equal(await ReferenceCountsAsync([.. updates.Take(killedAt + 1), .. others]), await CountsAsync(table));

        // Everything replayed by two processes and the killed one: exact.
        store.BeforeCounterWrite = null;
        await Task.WhenAll(updates.Select(u => restarted.ApplyAsync(u, CancellationToken.None)).Concat(updates.Select(u => store.ApplyAsync(u, CancellationToken.None))));
        Assert.Equal(await ReferenceCountsAsync(updates), await CountsAsync(table));
        Assert.Equal("approved=20,awaiting-review=20,cooling-off=20", (await CountsAsync(table))["stages"]);
    }

    [Fact]
    public async Task A_table_of_the_unsharded_layout_is_refused_until_the_rebuild_and_reads_exact_after_it()
    {
        // Written by a version that did not shard the table.
        var (old, table, projection) = await NewAsync(1);
        var updates = ApprovalStageProjection.Lives(projection, 30, withNote: false, out var final);
        foreach (var update in updates)
        {
            await old.ApplyAsync(update, CancellationToken.None);
        }

        // The sharded version keeps writing (in the sharded layout) but no reader trusts the table.
        var store = Store(table, Shards);
        await store.ApplyAsync(ProjectionUpdate.Of(projection.Entries(ApprovalStageProjection.At("approval-new", 1, "awaiting-review", T0.AddDays(1))).First(), 1), CancellationToken.None);
        var refused = await Assert.ThrowsAsync<ReadModelLayoutException>(() => store.CountsAsync(table, "stages", CancellationToken.None));
        Assert.Equal(
            $"read-model table '{table}' is not in the layout this version reads (4 shards; the table's layout row says nothing): run the read-model rebuild (POST /api/console/read-models/rebuild)",
            refused.Message);
        await Assert.ThrowsAsync<ReadModelLayoutException>(() => store.PageAsync(table, "stages", "", "~", null, 10, null, CancellationToken.None));

        // The rebuild: cleared, loaded from the instances' final states, with the layout row.
        final.Add(ApprovalStageProjection.At("approval-new", 1, "awaiting-review", T0.AddDays(1)));
        await store.ClearAsync(table, CancellationToken.None);
        for (var shard = 0; shard < Shards; shard++)
        {
            await foreach (var row in azurite.Storage.Tables.GetTableClient($"{table}{shard:D2}").QueryAsync<TableEntity>())
            {
                Assert.Fail($"{table}{shard:D2} still holds {row.PartitionKey}/{row.RowKey} after the clear");
            }
        }

        await store.LoadAsync(final.SelectMany(f => projection.Entries(f)).Select(e => (e, 3L)), 2, CancellationToken.None);
        var counts = await Store(table, Shards).CountsAsync(table, "stages", CancellationToken.None);
        Assert.Equal([("approved", 10L), ("awaiting-review", 11L), ("cooling-off", 10L)], counts.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value)));
        var (items, _) = await store.PageAsync(table, "stages", "", "~", null, 100, null, CancellationToken.None);
        Assert.Equal(StageKeys(final), items.Select(StageKey));

        // A count change after the rebuild goes to the item's shard and counts once.
        var approved = ((IWorkflowProjection<ApprovalState>)projection).Project(final[^1], ApprovalStageProjection.At("approval-new", 4, "cooling-off", null), new WorkflowEvent("e", "x", null, T0));
        foreach (var update in approved)
        {
            Assert.True(await store.ApplyAsync(update, CancellationToken.None));
        }

        Assert.Equal(11, (await store.CountsAsync(table, "stages", CancellationToken.None)).GetValueOrDefault("cooling-off"));
        Assert.Equal(10, (await store.CountsAsync(table, "stages", CancellationToken.None)).GetValueOrDefault("awaiting-review"));
    }

    [Fact]
    public async Task A_new_table_gets_its_layout_row_from_its_first_writer()
    {
        var (store, table, projection) = await NewAsync(Shards);
        foreach (var update in ApprovalStageProjection.Lives(projection, 6, withNote: false, out _))
        {
            await store.ApplyAsync(update, CancellationToken.None);
        }

        var layout = (await azurite.Storage.Tables.GetTableClient(table).GetEntityAsync<TableEntity>(ReadModelStore.LayoutRow, ReadModelStore.LayoutRow)).Value;
        Assert.Equal(Shards, layout.GetInt32("Shards"));
        Assert.Equal(2, (await Store(table, Shards).CountsAsync(table, "stages", CancellationToken.None)).GetValueOrDefault("awaiting-review"));

        // Read with another shard count (S changed without a rebuild): refused.
        await Assert.ThrowsAsync<ReadModelLayoutException>(() => Store(table, 8).CountsAsync(table, "stages", CancellationToken.None));
    }

    [Fact]
    public async Task A_table_written_in_an_earlier_layout_revision_is_refused_until_the_rebuild_which_writes_the_new_revision()
    {
        // Revision 1 wrote it (some of its rows belong elsewhere in revision 2).
        var (old, table, projection) = await NewAsync(Shards);
        var updates = ApprovalStageProjection.Lives(projection, 12, withNote: false, out var final);
        foreach (var update in updates)
        {
            await old.ApplyAsync(update, CancellationToken.None);
        }

        var revised = Store(table, Shards, revision: 2);
        var refused = await Assert.ThrowsAsync<ReadModelLayoutException>(() => revised.CountsAsync(table, "stages", CancellationToken.None));
        Assert.Equal(
            $"read-model table '{table}' is not in the layout this version reads (4 shards, layout revision 2; the table's layout row says 4 shards, revision 1): run the read-model rebuild (POST /api/console/read-models/rebuild)",
            refused.Message);
        await Assert.ThrowsAsync<ReadModelLayoutException>(() => revised.PageAsync(table, "stages", "", "~", null, 10, null, CancellationToken.None));
        await Assert.ThrowsAsync<ReadModelLayoutException>(() => revised.RequireLayoutAsync(table, CancellationToken.None));

        // The rebuild writes revision 2; its readers accept it, and a reader of revision 1 (an instance not yet upgraded) refuses it.
        await revised.ClearAsync(table, CancellationToken.None);
        await revised.LoadAsync(final.SelectMany(f => projection.Entries(f)).Select(e => (e, 3L)), 2, CancellationToken.None);
        var layout = (await azurite.Storage.Tables.GetTableClient(table).GetEntityAsync<TableEntity>(ReadModelStore.LayoutRow, ReadModelStore.LayoutRow)).Value;
        Assert.Equal((4, 2), (layout.GetInt32("Shards"), layout.GetInt32("Revision")));
        Assert.Equal(12, (await Store(table, Shards, revision: 2).CountsAsync(table, "stages", CancellationToken.None)).Values.Sum());
        var behind = await Assert.ThrowsAsync<ReadModelLayoutException>(() => Store(table, Shards).CountsAsync(table, "stages", CancellationToken.None));
        Assert.Contains("(4 shards, layout revision 1; the table's layout row says 4 shards, revision 2)", behind.Message, StringComparison.Ordinal);

        // A new table's first writer names the revision it writes.
        var (_, fresh, freshProjection) = await NewAsync(Shards);
        await Store(fresh, Shards, revision: 2).ApplyAsync(ProjectionUpdate.Of(freshProjection.Entries(ApprovalStageProjection.At("approval-1", 1, "awaiting-review", T0)).First(), 1), CancellationToken.None);
        var freshLayout = (await azurite.Storage.Tables.GetTableClient(fresh).GetEntityAsync<TableEntity>(ReadModelStore.LayoutRow, ReadModelStore.LayoutRow)).Value;
        Assert.Equal((4, 2), (freshLayout.GetInt32("Shards"), freshLayout.GetInt32("Revision")));
        Assert.Equal(1, (await Store(fresh, Shards, revision: 2).CountsAsync(fresh, "stages", CancellationToken.None)).GetValueOrDefault("awaiting-review"));
    }

    [Fact]
    public void An_items_shard_is_a_stable_hash_of_its_id()
    {
        // FNV-1a of the UTF-8 bytes: the same in every process and runtime (string.GetHashCode is randomised per process).
        Assert.Equal([5, 4, 6, 2], new[] { "", "a", "authorization-0001", "inv-1" }.Select(id => ReadModelShards.ShardOf(id, 8)));
        Assert.Equal("ConsoleDeadlines15", ReadModelShards.TableOf("ConsoleDeadlines", 15, 16));
        Assert.Equal("ConsoleDeadlines00", ReadModelShards.TableOf("ConsoleDeadlines", 0, 8));
        Assert.Equal("ConsoleFiles", ReadModelShards.TableOf("ConsoleFiles", 0, 1));
    }

    /// <summary>Every counter row of the test table's counter table (or the table itself), by logical partition, non-zero counts.</summary>
    private async Task<Dictionary<string, string>> CountsAsync(string table)
    {
        var sums = new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var name in Enumerable.Range(0, Shards).Select(s => $"{table}{s:D2}").Append(table + "Counters"))
        {
            await foreach (var row in azurite.Storage.Tables.GetTableClient(name).QueryAsync<TableEntity>())
            {
                if (row.RowKey == ReadModelStore.CounterRow)
                {
                    var sum = sums.TryGetValue(row.PartitionKey, out var found) ? found : sums[row.PartitionKey] = new(StringComparer.Ordinal);
                    foreach (var (count, value) in ReadModelStore.ReadCounts(row))
                    {
                        sum[count] = sum.GetValueOrDefault(count) + value;
                    }
                }
            }
        }

        return sums.Where(s => s.Value.Values.Any(v => v != 0))
            .ToDictionary(s => s.Key, s => string.Join(",", s.Value.Where(c => c.Value != 0).Select(c => $"{c.Key}={c.Value}")), StringComparer.Ordinal);
    }

    /// <summary>The counters <paramref name="updates"/> give applied one by one in an unsharded table that keeps its counters alongside.</summary>
    private async Task<Dictionary<string, string>> ReferenceCountsAsync(IEnumerable<ProjectionUpdate> updates)
    {
        var (store, table, _) = await NewAsync(1);
        foreach (var update in updates)
        {
            await store.ApplyAsync(update with { Table = table, CounterTable = null }, CancellationToken.None);
        }

        var counts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var partition in new[] { "stages", "due|2026-07-02", "due|2026-07-03" })
        {
            var row = await store.CountsAsync(table, partition, CancellationToken.None);
            if (row.Any(c => c.Value != 0))
            {
                counts[partition] = string.Join(",", row.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
            }
        }

        return counts;
    }
}

/// <summary>Merged pages against a plain sort of the same rows, over many shapes of data (shard counts, page sizes, filters).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class MergedPageTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData(16, 2000, 50, 7)]
    [InlineData(32, 1500, 50, 11)]
    [InlineData(8, 600, 3, 13)]
    [InlineData(16, 900, 100, 17)]
    public async Task Every_page_holds_the_next_rows_of_the_plain_sort_whatever_the_shards_hold(int shards, int items, int top, int seed)
    {
        var table = "Merged" + Guid.NewGuid().ToString("N")[..12];
        await azurite.Storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        var store = new ReadModelStore(azurite.Storage.Tables, new ReadModelShards(new Dictionary<string, int> { [table] = shards }));
        var random = new Random(seed);
        // Row keys as the open-referral list writes them: a time key (many alike), then the item id.
        var rows = Enumerable.Range(0, items).Select(i => ($"item-{i:D5}", $"{random.Next(0, 40):D3}|item-{i:D5}", random.Next(3) == 0)).ToList();
        await store.LoadAsync(rows.Select(r => (ReadModelEntry.Of(table, "open", r.Item1, [ReadModelRow.Of(r.Item2, new { id = r.Item1 }, ("Flag", r.Item3))]), 1L)), 8, CancellationToken.None);

        foreach (var filter in new[] { null, TableClient.CreateQueryFilter($"Flag eq {true}") })
        {
            var expected = rows.Where(r => filter is null || r.Item3).Select(r => r.Item2).Where(k => string.CompareOrdinal(k, "035|") < 0).Order(StringComparer.Ordinal).ToList();
            var listed = new List<string>();
            string? continuation = null;
            do
            {
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var (page, next) = await store.PageAsync(table, "open", "", "035|", filter, top, continuation, patience.Token);
                listed.AddRange(page.Select(p => p.GetProperty("id").GetString()!).Select(id => rows.Single(r => r.Item1 == id).Item2));
                Assert.True(page.Count == top || next is null, $"{page.Count} items and a continuation");
                continuation = next;
            }
            while (continuation is not null);

            Assert.Equal(expected, listed);
        }
    }
}
