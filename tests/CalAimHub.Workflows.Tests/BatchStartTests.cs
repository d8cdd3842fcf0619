using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// <see cref="WorkflowRuntime.StartManyAsync"/> on Azurite: one commit per instance and no outbox row per commit, the
/// read-model updates of the batch written together, idempotent on the ids, and after a crash between the commits and
/// their dispatch (the caller's retry, or the sweeper) exact read-model counts and every notice and timer sent.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BatchStartTests(AzuriteFixture azurite)
{
    private static readonly ApprovalWorkflow Approval = new(TimeSpan.FromDays(1), TimeSpan.FromDays(1));

    private static List<(string, System.Text.Json.JsonElement?)> Batch(int count, int from = 0) =>
        [.. Enumerable.Range(from, count).Select(i => ($"approval-{i:D3}", (System.Text.Json.JsonElement?)null))];

    [Fact]
    public async Task A_batch_start_commits_each_instance_without_an_outbox_row_and_writes_the_read_model_in_fewer_transactions_than_instances()
    {
        var world = await World.CreateAsync(azurite);

        var results = await world.Runtime.StartManyAsync(Approval.Type, Batch(30), CancellationToken.None);

        Assert.All(results, r => Assert.Equal((true, 1L, WorkflowRuntimeStatus.Running), (r.Created, r.Instance.Seq, r.Instance.Status)));
        Assert.Equal(Batch(30).Select(b => b.Item1), results.Select(r => r.Instance.InstanceId));
        foreach (var result in results)
        {
            Assert.Empty(await world.Store.OutboxRowsAsync(result.Instance.InstanceId, CancellationToken.None));
        }

        Assert.Empty(await world.OutboxRowsAsync());
        Assert.Equal(["stages counts awaiting-review=30"], await world.StageCountsAsync());
        Assert.Equal(30, world.Notifier.Deliveries.Count);
        Assert.All(world.Notifier.Deliveries.Values, n => Assert.Equal(1, n));
        Assert.Equal(30, await world.ArmedTimersAsync());
        var (index, _) = await world.Store.IndexPageAsync(Approval.Type, null, 100, CancellationToken.None);
        Assert.Equal(30, index.Count(e => e.Status == WorkflowRuntimeStatus.Running));
        // Started one by one, each instance's two updates (stages, due date) would be written apart: 60 journals and 60 counter writes.
        Assert.InRange(world.ReadModels.Transactions, 4, 16);
    }

    [Fact]
    public async Task Starting_the_same_batch_again_answers_every_instance_and_sends_nothing_again()
    {
        var world = await World.CreateAsync(azurite);
        await world.Runtime.StartManyAsync(Approval.Type, Batch(12), CancellationToken.None);

        var again = await world.Runtime.StartManyAsync(Approval.Type, Batch(12), CancellationToken.None);

        Assert.All(again, r => Assert.Equal((false, 1L), (r.Created, r.Instance.Seq)));
        Assert.Equal(12, world.Notifier.Deliveries.Count);
        Assert.All(world.Notifier.Deliveries.Values, n => Assert.Equal(1, n));
        Assert.Equal(12, await world.ArmedTimersAsync());
        Assert.Equal(["stages counts awaiting-review=12"], await world.StageCountsAsync());
        Assert.Empty(await world.OutboxRowsAsync());
    }

    [Fact]
    public async Task A_mixed_batch_starts_the_new_ids_answers_the_existing_ones_and_refuses_an_id_of_another_type_after_dispatching_the_rest()
    {
        // Given two approvals started on their own and an id that belongs to another type
        var world = await World.CreateAsync(azurite);
        await world.Runtime.StartAsync(Approval.Type, "approval-000", null, CancellationToken.None);
        await world.Runtime.RaiseEventAsync("approval-000", "approved", null, null, CancellationToken.None);
        await world.Runtime.StartAsync(Approval.Type, "approval-001", null, CancellationToken.None);
        await world.Runtime.StartAsync(NoteWorkflow.TypeName, "approval-006", null, CancellationToken.None);

        // When a batch names them with four new ids
        var conflict = await Assert.ThrowsAsync<WorkflowInstanceConflictException>(() => world.Runtime.StartManyAsync(Approval.Type, Batch(7), CancellationToken.None));

        // Then the four are started and dispatched, the existing ones are left as they were, the other type's id is refused
        Assert.Equal(NoteWorkflow.TypeName, conflict.ExistingType);
        Assert.Equal("instance 'approval-006' already exists as a 'note' workflow", conflict.Message);
        Assert.Equal(2L, (await world.Runtime.GetAsync("approval-000", CancellationToken.None))!.Seq);
        Assert.Equal(NoteWorkflow.TypeName, (await world.Runtime.GetAsync("approval-006", CancellationToken.None))!.Type);
        Assert.Equal(6, world.Notifier.Deliveries.Count);
        Assert.All(world.Notifier.Deliveries.Values, n => Assert.Equal(1, n));
        Assert.Equal(["stages counts awaiting-review=5,cooling-off=1"], await world.StageCountsAsync());
        var (approvals, _) = await world.Store.IndexPageAsync(Approval.Type, null, 100, CancellationToken.None);
        Assert.Equal(Batch(6).Select(b => b.Item1), approvals.Select(e => e.InstanceId).Order(StringComparer.Ordinal));
        Assert.Equal(WorkflowRuntimeStatus.Running, approvals.Single(e => e.InstanceId == "approval-000").Status);
        var (notes, _) = await world.Store.IndexPageAsync(NoteWorkflow.TypeName, null, 100, CancellationToken.None);
        Assert.Equal("approval-006", Assert.Single(notes).InstanceId);
        Assert.Empty(await world.OutboxRowsAsync());

        // And the batch run again starts nothing and sends nothing again
        await Assert.ThrowsAsync<WorkflowInstanceConflictException>(() => world.Runtime.StartManyAsync(Approval.Type, Batch(7), CancellationToken.None));
        Assert.Equal(6, world.Notifier.Deliveries.Count);
        Assert.All(world.Notifier.Deliveries.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task A_crash_between_the_commits_and_their_dispatch_is_finished_exactly_by_the_callers_retry_in_a_new_process()
    {
        // Given a batch whose 40 instances are committed, then the process dies before dispatching them
        var world = await World.CreateAsync(azurite);
        world.Runtime.BeforeBatchDispatch = () => throw new IOException("killed between the commits and their dispatch");
        await Assert.ThrowsAsync<IOException>(() => world.Runtime.StartManyAsync(Approval.Type, Batch(40), CancellationToken.None));

        foreach (var (id, _) in Batch(40))
        {
            Assert.Equal(1L, (await world.Runtime.GetAsync(id, CancellationToken.None))?.Seq);
        }

        Assert.Empty(world.Notifier.Deliveries);
        Assert.Empty(await world.StageCountsAsync());
        Assert.Equal(0, await world.ArmedTimersAsync());
        var batchRow = Assert.Single(await world.OutboxRowsAsync());
        Assert.Equal(Batch(40).Select(b => b.Item1), Assert.IsType<StartBatch>(Assert.Single(batchRow.Work)).InstanceIds);

        // When the caller runs the batch again in a new process (nothing remembered), and once more
        var restarted = world.NewProcess();
        var retried = await restarted.Runtime.StartManyAsync(Approval.Type, Batch(40), CancellationToken.None);
        await restarted.Runtime.StartManyAsync(Approval.Type, Batch(40), CancellationToken.None);

        // Then every instance's start is dispatched once: exact counts, one notice and one timer each, no batch row left
        Assert.All(retried, r => Assert.False(r.Created));
        Assert.Equal(["stages counts awaiting-review=40"], await world.StageCountsAsync());
        Assert.Equal(40, world.Notifier.Deliveries.Count);
        Assert.All(world.Notifier.Deliveries.Values, n => Assert.Equal(1, n));
        Assert.Equal(40, await world.ArmedTimersAsync());
        Assert.Empty(await world.OutboxRowsAsync());
    }

    [Fact]
    public async Task A_batch_a_crash_left_is_dispatched_by_the_sweeper_and_the_callers_late_retry_changes_nothing()
    {
        var world = await World.CreateAsync(azurite);
        world.Runtime.BeforeBatchDispatch = () => throw new IOException("killed between the commits and their dispatch");
        await Assert.ThrowsAsync<IOException>(() => world.Runtime.StartManyAsync(Approval.Type, Batch(25), CancellationToken.None));
        Assert.Single(await world.OutboxRowsAsync());

        var restarted = world.NewProcess();
        var report = await restarted.SweepAsync();

        Assert.Equal((1, 0), (report.Redispatched, report.Failed));
        Assert.Empty(await world.OutboxRowsAsync());
        Assert.Equal(["stages counts awaiting-review=25"], await world.StageCountsAsync());
        Assert.Equal(25, world.Notifier.Deliveries.Count);
        Assert.Equal(25, await world.ArmedTimersAsync());

        await restarted.Runtime.StartManyAsync(Approval.Type, Batch(25), CancellationToken.None);
        Assert.All(world.Notifier.Deliveries.Values, n => Assert.Equal(1, n));
        Assert.Equal(25, await world.ArmedTimersAsync());
        Assert.Equal(["stages counts awaiting-review=25"], await world.StageCountsAsync());
    }

    [Fact]
    public async Task The_sweeper_keeps_a_young_batch_row_whose_instances_are_not_all_committed_and_dispatches_those_that_are()
    {
        // Given a batch row naming 6 ids of which only the 4 committed by a run that died before dispatching exist
        var world = await World.CreateAsync(azurite);
        world.Runtime.BeforeBatchDispatch = () => throw new IOException("killed between the commits and their dispatch");
        await Assert.ThrowsAsync<IOException>(() => world.Runtime.StartManyAsync(Approval.Type, Batch(4), CancellationToken.None));
        var (wider, _) = await world.Store.ClaimStartBatchAsync(new StartBatch(Approval.Type, [.. Batch(6).Select(b => b.Item1)]), CancellationToken.None);
        var orphan = Assert.Single(await world.OutboxRowsAsync(), r => r.InstanceId != wider.InstanceId);
        await world.Store.DeleteStartBatchAsync(orphan, CancellationToken.None);

        // When the sweeper finds it (its run may still be committing the other two)
        var restarted = world.NewProcess();
        await restarted.SweepAsync();

        // Then the four are dispatched and the row stays for a later sweep; once the two exist, the next sweep removes it
        Assert.Equal(4, world.Notifier.Deliveries.Count);
        Assert.Equal(["stages counts awaiting-review=4"], await world.StageCountsAsync());
        Assert.Equal(wider.InstanceId, Assert.Single(await world.OutboxRowsAsync()).InstanceId);
        await restarted.Runtime.StartAsync(Approval.Type, "approval-004", null, CancellationToken.None);
        await restarted.Runtime.StartAsync(Approval.Type, "approval-005", null, CancellationToken.None);
        await restarted.SweepAsync();
        Assert.Empty(await world.OutboxRowsAsync());
        // The four once more (receivers dedupe on the delivery id); the two started on their own had their outbox rows.
        Assert.Equal(
            Batch(6).Select(b => (b.Item1, b.Item1 is "approval-004" or "approval-005" ? 1 : 2)),
            Batch(6).Select(b => (b.Item1, world.Notifier.Deliveries[InstanceTransition.DeliveryId(b.Item1, "received")])));
        Assert.Equal(["stages counts awaiting-review=6"], await world.StageCountsAsync());
    }

    [Fact]
    public async Task A_batch_naming_an_id_twice_or_too_many_ids_is_refused_before_anything_is_stored()
    {
        var runtime = new WorkflowRuntime(null!, new WorkflowRegistry([WorkflowDefinition.From(Approval)]), null!, new RecordingNotifier(), TimeProvider.System,
            new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance);

        // (no storage at all: touching it would throw a NullReferenceException instead)
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => runtime.StartManyAsync(Approval.Type, [.. Batch(2), .. Batch(1)], CancellationToken.None));
        var many = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => runtime.StartManyAsync(Approval.Type, Batch(WorkflowRuntime.MaxBatchStarts + 1), CancellationToken.None));

        Assert.Equal("a batch start names an instance id twice (Parameter 'starts')", twice.Message);
        Assert.StartsWith("a batch start takes at most 100 instances, not 101", many.Message, StringComparison.Ordinal);
    }

    /// <summary>A runtime with the approval stage read model (counters in a table of their own, as InvoiceTimeliness keeps them).</summary>
    private sealed class World
    {
        private readonly AzuriteFixture azurite;
        private readonly string table;

        private World(AzuriteFixture azurite, string table, WorkflowStore store, WorkflowQueues queues, RecordingNotifier notifier)
        {
            this.azurite = azurite;
            this.table = table;
            Store = store;
            Queues = queues;
            Notifier = notifier;
            ReadModels = new ReadModelStore(azurite.Storage.Tables);
            Runtime = new WorkflowRuntime(store, Registry(table), queues, notifier, TimeProvider.System, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance, ReadModels);
        }

        public WorkflowStore Store { get; }
        public WorkflowQueues Queues { get; }
        public RecordingNotifier Notifier { get; }
        public ReadModelStore ReadModels { get; }
        public WorkflowRuntime Runtime { get; }

        public static async Task<World> CreateAsync(AzuriteFixture azurite)
        {
            var table = "Stages" + Guid.NewGuid().ToString("N")[..12];
            await azurite.Storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
            await azurite.Storage.Tables.GetTableClient(table + "Counters").CreateIfNotExistsAsync();
            var (store, queues) = await azurite.NewRuntimeStorageAsync();
            return new World(azurite, table, store, queues, new RecordingNotifier());
        }

        private static WorkflowRegistry Registry(string table) => new(
            [WorkflowDefinition.From(Approval), WorkflowDefinition.From(new NoteWorkflow())],
            [WorkflowProjection.From(Approval.Type, new ApprovalStageProjection(table, table + "Counters"))]);

        /// <summary>Another process on the same storage: a fresh runtime and read-model writer (nothing remembered).</summary>
        public World NewProcess() => new(azurite, table, Store, Queues, Notifier);

        public Task<SweepReport> SweepAsync() =>
            new WorkflowTriggers(Runtime, Queues, TimeProvider.System, new WorkflowOptions { SweepGrace = TimeSpan.Zero }.AsOptions(), NullLogger<WorkflowTriggers>.Instance, TimeProvider.System)
                .SweepAsync(CancellationToken.None);

        public async Task<List<OutboxRow>> OutboxRowsAsync()
        {
            var rows = new List<OutboxRow>();
            await foreach (var row in Store.OutboxRowsAsync(CancellationToken.None))
            {
                rows.Add(row);
            }

            return rows;
        }

        /// <summary>The "stages" partition's counts, as "stages counts name=n,…" (empty when it has none).</summary>
        public async Task<List<string>> StageCountsAsync()
        {
            var counts = await ReadModels.CountsAsync(table + "Counters", "stages", CancellationToken.None);
            return counts.Count(c => c.Value != 0) == 0 ? [] : [$"stages counts {string.Join(",", counts.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"))}"];
        }

        /// <summary>Timers armed: messages on the timer queue, and rows parked until their hour (these are a day ahead).</summary>
        public async Task<int> ArmedTimersAsync()
        {
            var parked = 0;
            await foreach (var _ in Queues.ParkedTimers!.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["RowKey"]))
            {
                parked++;
            }

            return (await Queues.Timers.GetPropertiesAsync()).Value.ApproximateMessagesCount + parked;
        }
    }

    /// <summary>A second workflow type, to hold an id a batch of approvals must not take.</summary>
    private sealed class NoteWorkflow : IWorkflowDecider<ApprovalState>
    {
        public const string TypeName = "note";

        public string Type => TypeName;
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal);
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public ApprovalState InitialState => new("new", null);

        public IReadOnlyList<WorkflowAction> Decide(ApprovalState state, WorkflowEvent @event, DateTimeOffset now) => [];

        public ApprovalState Evolve(ApprovalState state, WorkflowEvent @event) => state with { Stage = "noted" };
    }
}
