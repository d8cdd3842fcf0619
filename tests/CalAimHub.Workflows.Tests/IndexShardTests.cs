using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// <c>WorkflowIndex</c> rows of one type spread over <see cref="WorkflowStore.IndexShards"/> partitions, and rows of the
/// layout before shards (partition = type) are still listed, moved on their instance's next commit, and purged.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class IndexShardTests(AzuriteFixture azurite)
{
    private static WorkflowDefinition Approval() => WorkflowDefinition.From(new ApprovalWorkflow(TimeSpan.FromHours(1), TimeSpan.FromHours(1)));

    private static List<(string, System.Text.Json.JsonElement?)> Batch(int count) =>
        [.. Enumerable.Range(0, count).Select(i => ($"shard-{i:D3}", (System.Text.Json.JsonElement?)null))];

    [Fact]
    public async Task A_batch_of_one_type_lands_in_several_index_partitions_of_that_type_and_lists_each_instance_once_in_small_pages()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: [Approval(), WorkflowDefinition.From(new InertWorkflow(MemoType))]);
        await h.Runtime.StartManyAsync("approval", Batch(40), CancellationToken.None);
        await h.Runtime.StartAsync(MemoType, "memo-1", null, CancellationToken.None);
        // A neighbour in the type's key range (a type whose name goes on past "approval") is not an approval.
        await h.Store.Index.AddEntityAsync(new TableEntity("approval-b|03", "neighbour-1") { ["Status"] = "Running", ["Seq"] = 1L });

        // One partition per type before (all 40 in "approval"): now 40 ids spread over most of the 16 shards.
        var partitions = await PartitionsAsync(h.Store, "shard-");
        Assert.All(partitions.Keys, p => Assert.Matches("^approval\\|0[0-9a-f]$", p));
        Assert.InRange(partitions.Count, 8, WorkflowStore.IndexShards);
        Assert.Equal(40, partitions.Values.Sum());
        Assert.All(Batch(40), b => Assert.Equal(WorkflowStore.IndexPartition("approval", b.Item1), partitions.Keys.Single(p => p == WorkflowStore.IndexPartition("approval", b.Item1))));

        var listed = new List<string>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var (entries, next) = await h.Store.IndexPageAsync("approval", continuation, 3, CancellationToken.None);
            Assert.All(entries, e => Assert.Equal(("approval", WorkflowRuntimeStatus.Running), (e.Type, e.Status)));
            listed.AddRange(entries.Select(e => e.InstanceId));
            continuation = next;
            pages++;
        }
        while (continuation is not null);

        Assert.Equal(Batch(40).Select(b => b.Item1), listed.Order(StringComparer.Ordinal));
        Assert.True(pages >= 14, $"{pages} pages");
        var (notes, _) = await h.Store.IndexPageAsync(MemoType, null, 100, CancellationToken.None);
        Assert.Equal(("memo-1", MemoType), (Assert.Single(notes).InstanceId, notes[0].Type));
        var (all, _) = await h.Store.IndexPageAsync(null, null, 1000, CancellationToken.None);
        Assert.Equal(42, all.Count);
        Assert.Equal("approval-b", all.Single(e => e.InstanceId == "neighbour-1").Type);
    }

    [Fact]
    public void The_shard_of_an_id_is_stable_and_a_type_name_holding_the_separator_is_refused()
    {
        // SHA-256, not string.GetHashCode (randomised per process): these values must never change, or rows go missing.
        Assert.Equal(["invoice|06", "invoice|0f", "referral|0f"],
            new[] { WorkflowStore.IndexPartition("invoice", "inv-1"), WorkflowStore.IndexPartition("invoice", "inv-2"), WorkflowStore.IndexPartition("referral", "ref-1") });

        var refused = Assert.Throws<InvalidOperationException>(() => new WorkflowRegistry([WorkflowDefinition.From(new InertWorkflow("a|b"))]));
        Assert.Equal("workflow type 'a|b' holds '|', which separates a type from its index shard; choose another name", refused.Message);
    }

    [Fact]
    public async Task A_row_of_the_layout_before_shards_is_listed_then_moved_not_duplicated_on_its_instances_next_commit()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await IndexedBeforeShardsAsync(h, "old-1");
        await IndexedBeforeShardsAsync(h, "old-2");

        var (listed, _) = await h.Store.IndexPageAsync("approval", null, 100, CancellationToken.None);
        Assert.Equal(["old-1", "old-2"], listed.Select(e => e.InstanceId).Order(StringComparer.Ordinal));
        Assert.All(listed, e => Assert.Equal(("approval", "approval"), (e.Type, e.Partition)));

        // In a process that never saw them, a change the listing shows (the deadline goes) and one it does not (a note): each moves the row.
        var next = h.SameStorage(definitions: Approval());
        await next.Runtime.RaiseEventAsync("old-1", "approved", null, null, CancellationToken.None);
        await next.Runtime.RaiseEventAsync("old-2", "note", null, null, CancellationToken.None);

        Assert.Empty(await PartitionsAsync(h.Store, "old-", "approval"));
        var (moved, _) = await h.Store.IndexPageAsync("approval", null, 100, CancellationToken.None);
        Assert.Equal(["old-1", "old-2"], moved.Select(e => e.InstanceId).Order(StringComparer.Ordinal));
        Assert.Equal(WorkflowStore.IndexPartition("approval", "old-1"), moved.Single(e => e.InstanceId == "old-1").Partition);
        Assert.Null(moved.Single(e => e.InstanceId == "old-1").NextDeadline);
        Assert.NotNull(moved.Single(e => e.InstanceId == "old-2").NextDeadline);
        var (all, _) = await h.Store.IndexPageAsync(null, null, 100, CancellationToken.None);
        Assert.Equal(2, all.Count);

        // The next commits know the row is in its shard: nothing is deleted elsewhere any more.
        var (stored, _) = await h.Store.LoadAsync("old-2", null, CancellationToken.None);
        Assert.Equal((WorkflowStore.IndexPartition("approval", "old-2"), (string?)null), (stored!.IndexedIn, stored.IndexElsewhere));
    }

    [Fact]
    public async Task Purge_removes_an_instances_row_of_the_layout_before_shards()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await h.Runtime.StartAsync("approval", "old-done", null, CancellationToken.None);
        await h.Runtime.TerminateAsync("old-done", "test", CancellationToken.None);
        await IndexedBeforeShardsAsync(h, "old-done");
        // A crash between the move and the commit may also have left the row in its shard: purge takes both.
        await h.Store.UpsertIndexAsync(WorkflowIndexEntry.Of((await h.Runtime.GetAsync("old-done", CancellationToken.None))!), CancellationToken.None);
        Assert.Equal(2, (await PartitionsAsync(h.Store, "old-done")).Count);

        var purged = await h.Store.PurgeAsync("old-done", CancellationToken.None);

        Assert.Equal(new PurgeResult(PurgeOutcome.Purged, WorkflowRuntimeStatus.Terminated), purged);
        Assert.Empty(await PartitionsAsync(h.Store, "old-done"));
        Assert.Null(await h.Runtime.GetAsync("old-done", CancellationToken.None));
    }

    [Fact]
    public async Task The_sweeper_moves_an_old_row_it_reconciles_and_deletes_ghosts_in_either_layout()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await IndexedBeforeShardsAsync(h, "old-ahead");
        var written = DateTimeOffset.UtcNow.AddMinutes(-3);
        // Rows written before commits that never happened: a status the old row's instance never had, and two ghosts.
        await h.Store.Index.UpsertEntityAsync(new TableEntity("approval", "old-ahead")
        {
            ["Status"] = "Completed", ["Created"] = written, ["Updated"] = written, ["Seq"] = 2L,
        });
        await h.Store.Index.UpsertEntityAsync(new TableEntity("approval", "ghost-old") { ["Status"] = "Running", ["Created"] = written, ["Updated"] = written, ["Seq"] = 1L });
        await h.Store.UpsertIndexAsync(new WorkflowIndexEntry("ghost-new", "approval", WorkflowRuntimeStatus.Running, written, written, null, 1), CancellationToken.None);

        var sweep = await h.Triggers.SweepAsync(CancellationToken.None);

        Assert.Equal(3, sweep.IndexRowsReconciled);
        var (index, _) = await h.Store.IndexPageAsync(null, null, 100, CancellationToken.None);
        var only = Assert.Single(index);
        Assert.Equal(("old-ahead", WorkflowRuntimeStatus.Running, WorkflowStore.IndexPartition("approval", "old-ahead")), (only.InstanceId, only.Status, only.Partition));
        Assert.Equal(0, (await h.Triggers.SweepAsync(CancellationToken.None)).IndexRowsReconciled);
    }

    /// <summary>Makes an instance look as the runtime before shards left it: state row without its index partition, index row in partition = type.</summary>
    private static async Task IndexedBeforeShardsAsync(RuntimeHarness h, string instanceId)
    {
        if (await h.Runtime.GetAsync(instanceId, CancellationToken.None) is null)
        {
            await h.Runtime.StartAsync("approval", instanceId, null, CancellationToken.None);
        }

        var state = (await h.Store.Workflows.GetEntityAsync<TableEntity>(instanceId, WorkflowStore.StateRow)).Value;
        Assert.True(state.Remove("IndexedIn"));
        await h.Store.Workflows.UpdateEntityAsync(state, state.ETag, TableUpdateMode.Replace);
        var row = (await h.Store.Index.GetEntityAsync<TableEntity>(WorkflowStore.IndexPartition("approval", instanceId), instanceId)).Value;
        await h.Store.Index.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        row.PartitionKey = "approval";
        await h.Store.Index.AddEntityAsync(row);
    }

    /// <summary>Index rows whose instance id starts with <paramref name="prefix"/>, counted per partition (of one partition if given).</summary>
    private static async Task<Dictionary<string, int>> PartitionsAsync(WorkflowStore store, string prefix, string? partition = null)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var row in store.Index.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
        {
            if (row.RowKey.StartsWith(prefix, StringComparison.Ordinal) && (partition is null || row.PartitionKey == partition))
            {
                counts[row.PartitionKey] = counts.GetValueOrDefault(row.PartitionKey) + 1;
            }
        }

        return counts;
    }

    private const string MemoType = "memo";

    /// <summary>A workflow type that only exists (no events, no actions), under any name.</summary>
    private sealed class InertWorkflow(string type) : IWorkflowDecider<object>
    {
        public string Type => type;
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal);
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public object InitialState => new();
        public IReadOnlyList<WorkflowAction> Decide(object state, WorkflowEvent @event, DateTimeOffset now) => [];
        public object Evolve(object state, WorkflowEvent @event) => state;
    }
}
