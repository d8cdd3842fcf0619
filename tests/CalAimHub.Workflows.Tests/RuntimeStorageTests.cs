using Azure;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>The runtime against a real Azurite: transactions, dedupe, races, outbox recovery, timers, versions.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RuntimeStorageTests(AzuriteFixture azurite)
{
    private static WorkflowDefinition Approval(double reviewSeconds = 3600, double coolingSeconds = 1) =>
        WorkflowDefinition.From(new ApprovalWorkflow(TimeSpan.FromSeconds(reviewSeconds), TimeSpan.FromSeconds(coolingSeconds)));

    private static async Task<List<string>> RowKeysAsync(WorkflowStore store, string instanceId)
    {
        var keys = new List<string>();
        await foreach (var row in store.Workflows.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {instanceId}")))
        {
            keys.Add(row.RowKey);
        }

        return keys;
    }

    [Theory]
    [InlineData("{\"instanceId\": \"i-1\", \"eventId\": \"e-1\", \"name\": Rosa Delgado 91234567A}",
        "workflow-work message is not valid JSON at $.name (line 1, byte 49); send an object with instanceId, eventId, name and data")]
    [InlineData("91234567A",
        "workflow-work message is not valid JSON at $ (line 1, byte 9); send an object with instanceId, eventId, name and data")]
    public async Task An_unreadable_work_message_names_where_it_breaks_and_never_quotes_it(string message, string expected)
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());

        var e = await Assert.ThrowsAsync<WorkflowMessageException>(() => h.Triggers.ApplyWorkAsync(message, CancellationToken.None));

        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public async Task A_work_event_for_a_failed_instance_is_refused_for_the_poison_queue_with_its_reason_not_dropped()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: [Approval(), WorkflowDefinition.From(new FailingOnStartWorkflow())]);
        var started = await h.Runtime.StartAsync("failing", "inst-failed-1", null, CancellationToken.None);
        Assert.Equal(WorkflowRuntimeStatus.Failed, started.Instance.Status);
        var message = JsonSerializer.Serialize(new WorkflowWorkMessage("inst-failed-1", "evt-after-failure", "poke", null), WorkflowJson.Options);

        var e = await Assert.ThrowsAsync<WorkflowMessageException>(() => h.Triggers.ApplyWorkAsync(message, CancellationToken.None));

        Assert.True(e.Permanent);
        Assert.Equal("workflow instance 'inst-failed-1' is Failed and takes no more events; event 'poke' (evt-after-failure) was not applied", e.Message);
    }

    [Fact]
    public async Task A_work_event_the_type_does_not_declare_is_refused_for_the_poison_queue_and_records_nothing()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await h.Runtime.StartAsync("approval", "inst-undeclared-1", null, CancellationToken.None);
        var message = JsonSerializer.Serialize(new WorkflowWorkMessage("inst-undeclared-1", "evt-typo", "aproved", null), WorkflowJson.Options);

        var e = await Assert.ThrowsAsync<WorkflowMessageException>(() => h.Triggers.ApplyWorkAsync(message, CancellationToken.None));

        Assert.True(e.Permanent);
        Assert.Equal("workflow instance 'inst-undeclared-1' is a 'approval' workflow, which takes no event 'aproved'; event evt-typo was not applied", e.Message);
        Assert.Equal(["d:start", "h:0000000001", "state"], (await RowKeysAsync(h.Store, "inst-undeclared-1")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_work_event_for_an_absent_instance_is_retried_not_dead_lettered_at_once()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        var message = JsonSerializer.Serialize(new WorkflowWorkMessage("inst-absent-1", "evt-1", "approved", null), WorkflowJson.Options);

        var e = await Assert.ThrowsAsync<WorkflowMessageException>(() => h.Triggers.ApplyWorkAsync(message, CancellationToken.None));

        Assert.False(e.Permanent);
        Assert.Equal("workflow instance 'inst-absent-1' does not exist", e.Message);
    }

    [Fact]
    public async Task A_purged_instances_timer_is_dropped_quietly_and_creates_nothing()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval(reviewSeconds: 1));
        var started = await h.Runtime.StartAsync("approval", "inst-purged-1", null, CancellationToken.None);
        var due = started.Instance.Timers[ApprovalWorkflow.ReviewDeadline];
        Assert.Equal(PurgeOutcome.NotFinished, (await h.Store.PurgeAsync("inst-purged-1", CancellationToken.None)).Outcome);
        await h.Runtime.TerminateAsync("inst-purged-1", "test", CancellationToken.None);
        Assert.Equal(PurgeOutcome.Purged, (await h.Store.PurgeAsync("inst-purged-1", CancellationToken.None)).Outcome);
        var timer = JsonSerializer.Serialize(new WorkflowTimerMessage("inst-purged-1", ApprovalWorkflow.ReviewDeadline, due), WorkflowJson.Options);

        var log = await h.Triggers.FireTimerAsync(timer, CancellationToken.None);

        Assert.Equal($"timer '{ApprovalWorkflow.ReviewDeadline}' on inst-purged-1: no such instance (purged), dropped", log);
        Assert.Empty(await RowKeysAsync(h.Store, "inst-purged-1"));
    }

    [Fact]
    public async Task Start_commits_state_history_and_dedupe_rows_then_dispatch_publishes_the_index_and_removes_the_outbox()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());

        var started = await h.Runtime.StartAsync("approval", "inst-1", WorkflowJson.ToElement(new { request = "r-1" }), CancellationToken.None);

        Assert.True(started.Created);
        Assert.Equal(["d:start", "h:0000000001", "state"], (await RowKeysAsync(h.Store, "inst-1")).Order(StringComparer.Ordinal));
        var (index, _) = await h.Store.IndexPageAsync("approval", null, 10, CancellationToken.None);
        Assert.Equal(WorkflowRuntimeStatus.Running, Assert.Single(index).Status);
        Assert.Equal(1, h.Notifier.Deliveries[InstanceTransition.DeliveryId("inst-1", "received")]);
        Assert.Equal(1, (await h.Queues.Timers.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task A_commit_returns_the_new_etag_of_the_state_row_so_the_next_event_needs_no_load()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        var now = DateTimeOffset.UtcNow;
        var commit = InstanceTransition.Start(Approval(), "inst-etag", new WorkflowEvent("start", WorkflowEvent.Started, null, now), now);

        var (_, etag) = await h.Store.CommitAsync(commit, null, CancellationToken.None);

        var (stored, _) = await h.Store.LoadAsync("inst-etag", null, CancellationToken.None);
        Assert.NotEqual(default, etag);
        Assert.Equal(stored!.ETag, etag);
    }

    [Fact]
    public async Task Starting_again_with_the_same_instance_id_answers_the_existing_instance_and_writes_nothing()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await h.Runtime.StartAsync("approval", "inst-2", null, CancellationToken.None);

        var again = await h.Runtime.StartAsync("approval", "inst-2", WorkflowJson.ToElement(new { other = true }), CancellationToken.None);

        Assert.False(again.Created);
        Assert.Null(again.Instance.Input);
        Assert.Equal(3, (await RowKeysAsync(h.Store, "inst-2")).Count);
        Assert.Equal(1, h.Notifier.Deliveries[InstanceTransition.DeliveryId("inst-2", "received")]);
    }

    [Fact]
    public async Task A_commit_guarded_by_a_stale_etag_fails_as_a_whole_and_writes_none_of_its_rows()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await h.Runtime.StartAsync("approval", "inst-3", null, CancellationToken.None);
        var (stale, _) = await h.Store.LoadAsync("inst-3", null, CancellationToken.None);
        await h.Runtime.RaiseEventAsync("inst-3", "approved", null, "winner", CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var (_, losing) = InstanceTransition.Apply(Approval(), stale!.Instance, new WorkflowEvent("loser", "approved", null, now), now);

        var e = await Assert.ThrowsAsync<WorkflowConcurrencyException>(() => h.Store.CommitAsync(losing!, stale.ETag, CancellationToken.None));

        Assert.StartsWith("commit on workflow instance 'inst-3' lost to another writer (412", e.Message, StringComparison.Ordinal);
        var keys = await RowKeysAsync(h.Store, "inst-3");
        Assert.DoesNotContain("d:loser", keys);
        Assert.Equal(["h:0000000001", "h:0000000002"], keys.Where(k => k.StartsWith("h:", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_duplicate_event_id_is_acknowledged_as_already_applied_and_changes_nothing()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await h.Runtime.StartAsync("approval", "inst-4", null, CancellationToken.None);
        var first = await h.Runtime.RaiseEventAsync("inst-4", "approved", null, "evt-1", CancellationToken.None);
        var (before, _) = await h.Store.LoadAsync("inst-4", null, CancellationToken.None);

        var second = await h.Runtime.RaiseEventAsync("inst-4", "approved", null, "evt-1", CancellationToken.None);

        Assert.Equal(ApplyOutcome.Applied, first.Outcome);
        Assert.Equal(ApplyOutcome.AlreadyApplied, second.Outcome);
        var (after, _) = await h.Store.LoadAsync("inst-4", null, CancellationToken.None);
        Assert.Equal(before!.ETag, after!.ETag);
        Assert.Equal(2, (await h.Store.HistoryAsync("inst-4", CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Two_appliers_racing_on_one_instance_lose_no_event()
    {
        var a = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        var b = a.SameStorage(definitions: Approval());
        await a.Runtime.StartAsync("approval", "inst-5", null, CancellationToken.None);

        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            (i % 2 == 0 ? a : b).Runtime.RaiseEventAsync("inst-5", "note", WorkflowJson.ToElement(new { i }), $"note-{i}", CancellationToken.None)));

        Assert.All(results, r => Assert.Equal(ApplyOutcome.Applied, r.Outcome));
        var history = await a.Store.HistoryAsync("inst-5", CancellationToken.None);
        Assert.Equal(31, history.Count);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"note-{i}").Order(StringComparer.Ordinal), history.Skip(1).Select(e => e.EventId).Order(StringComparer.Ordinal));
        Assert.Equal(Enumerable.Range(1, 31).Select(i => (long)i), history.Select(e => e.Seq));
        Assert.Equal(31, (await a.Runtime.GetAsync("inst-5", CancellationToken.None))!.Seq);
    }

    [Fact]
    public async Task Outbox_left_by_a_crash_between_commit_and_dispatch_is_re_dispatched_by_the_sweeper_once()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { SweepGrace = TimeSpan.Zero }, definitions: Approval());
        h.Notifier.FailuresLeft = 1;

        await h.Runtime.StartAsync("approval", "inst-6", null, CancellationToken.None);

        Assert.Empty(h.Notifier.Deliveries);
        Assert.Single(await h.Store.OutboxRowsAsync("inst-6", CancellationToken.None));
        var sweep = await h.Triggers.SweepAsync(CancellationToken.None);
        Assert.Equal(1, sweep.Redispatched);
        Assert.Empty(await h.Store.OutboxRowsAsync("inst-6", CancellationToken.None));
        Assert.Equal(1, h.Notifier.Deliveries[InstanceTransition.DeliveryId("inst-6", "received")]);
        Assert.Equal(0, (await h.Triggers.SweepAsync(CancellationToken.None)).Redispatched);
        var (index, _) = await h.Store.IndexPageAsync("approval", null, 10, CancellationToken.None);
        Assert.Equal("inst-6", Assert.Single(index).InstanceId);
    }

    /// <summary>
    /// Issue 11: the outbox grace is judged by the real clock, as the table Timestamp is the storage service's. A workflow
    /// clock months behind today (the chaos trial's accelerated clock) made every row look unborn and it was never swept; one
    /// ahead of today would sweep a row while its committer is still dispatching it.
    /// </summary>
    [Theory]
    [InlineData(-200)]
    [InlineData(200)]
    public async Task Sweeper_judges_an_outbox_row_s_grace_by_the_real_clock_whatever_the_workflow_clock_says(int workflowClockDaysFromToday)
    {
        var workflowClock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(workflowClockDaysFromToday));
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { SweepGrace = TimeSpan.FromMinutes(1) }, workflowClock, Approval());
        var id = $"inst-clock{workflowClockDaysFromToday}";
        h.Notifier.FailuresLeft = 1;
        await h.Runtime.StartAsync("approval", id, null, CancellationToken.None);
        Assert.Single(await h.Store.OutboxRowsAsync(id, CancellationToken.None));
        TimeProvider SweeperAt(TimeSpan fromNow) => new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow + fromNow);
        WorkflowTriggers Sweeper(TimeProvider wallClock) =>
            new(h.Runtime, h.Queues, workflowClock, h.Options.AsOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger<WorkflowTriggers>.Instance, wallClock);

        // Written seconds ago: its committer may still be dispatching it.
        Assert.Equal(0, (await Sweeper(SweeperAt(TimeSpan.Zero)).SweepAsync(CancellationToken.None)).Redispatched);
        Assert.Empty(h.Notifier.Deliveries);

        // Two real minutes later it is a leftover.
        Assert.Equal(1, (await Sweeper(SweeperAt(TimeSpan.FromMinutes(2))).SweepAsync(CancellationToken.None)).Redispatched);
        Assert.Equal(1, h.Notifier.Deliveries[InstanceTransition.DeliveryId(id, "received")]);
        Assert.Empty(await h.Store.OutboxRowsAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task A_timer_longer_than_the_queue_maximum_is_re_armed_and_fires_no_earlier_than_due()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { MaxTimerDelay = TimeSpan.FromSeconds(2) }, definitions: Approval(reviewSeconds: 5));
        var started = await h.Runtime.StartAsync("approval", "inst-7", null, CancellationToken.None);
        var due = started.Instance.Timers[ApprovalWorkflow.ReviewDeadline];

        var log = await h.RunTimersAsync(async () => h.Notifier.Deliveries.ContainsKey(InstanceTransition.DeliveryId("inst-7", "review-breached")), TimeSpan.FromSeconds(30));

        Assert.True(log.Count(l => l.Contains("re-armed", StringComparison.Ordinal)) >= 1, string.Join("\n", log));
        Assert.EndsWith(": Applied", log[^1], StringComparison.Ordinal);
        var fired = (await h.Store.HistoryAsync("inst-7", CancellationToken.None))[^1];
        Assert.Equal(WorkflowEvent.TimerFired, fired.Name);
        // How late is a benchmark question (docs/performance.md); here: never early.
        Assert.True(fired.RecordedAt >= due, $"fired at {fired.RecordedAt:O}, due {due:O}");
    }

    [Fact]
    public async Task A_cancelled_timer_that_still_arrives_is_ignored()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval(reviewSeconds: 2, coolingSeconds: 1));
        await h.Runtime.StartAsync("approval", "inst-8", null, CancellationToken.None);
        await h.Runtime.RaiseEventAsync("inst-8", "approved", null, "approve-1", CancellationToken.None);

        var log = await h.RunTimersAsync(async () => (await h.Queues.Timers.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, TimeSpan.FromSeconds(30));

        Assert.Contains(log, l => l.EndsWith("cooling-off' on inst-8: Applied", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("review-deadline' on inst-8: StaleTimer", StringComparison.Ordinal) || l.EndsWith("review-deadline' on inst-8: Gone", StringComparison.Ordinal));
        Assert.False(h.Notifier.Deliveries.ContainsKey(InstanceTransition.DeliveryId("inst-8", "review-breached")));
        Assert.Equal(WorkflowRuntimeStatus.Completed, (await h.Runtime.GetAsync("inst-8", CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task An_instance_started_on_v1_finishes_on_v2_after_its_state_is_migrated()
    {
        var v1 = await RuntimeHarness.CreateAsync(azurite, definitions: Approval(coolingSeconds: 1));
        await v1.Runtime.StartAsync("approval", "inst-9", null, CancellationToken.None);
        Assert.Equal(1, (await v1.Runtime.GetAsync("inst-9", CancellationToken.None))!.Version);

        // The next deployment: only v2 is registered.
        var v2 = v1.SameStorage(definitions: WorkflowDefinition.From(new ApprovalWorkflowV2(TimeSpan.FromSeconds(1))));
        await v2.Runtime.RaiseEventAsync("inst-9", "approved", null, "approve-9", CancellationToken.None);
        await v2.RunTimersAsync(async () => (await v2.Runtime.GetAsync("inst-9", CancellationToken.None))!.IsTerminal, TimeSpan.FromSeconds(30));

        var done = (await v2.Runtime.GetAsync("inst-9", CancellationToken.None))!;
        Assert.Equal(WorkflowRuntimeStatus.Completed, done.Status);
        Assert.Equal(2, done.Version);
        Assert.Equal("""{"decision":"approved","decidedBy":"v2"}""", done.Output!.Value.GetRawText());
        Assert.Equal("""{"phase":"done","decision":"approved"}""", done.State!.Value.GetRawText());
    }

    [Fact]
    public async Task Sweeper_purges_finished_instances_past_retention_and_keeps_running_ones()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { CompletedRetention = TimeSpan.Zero }, definitions: Approval());
        await h.Runtime.StartAsync("approval", "done-1", null, CancellationToken.None);
        await h.Runtime.TerminateAsync("done-1", "test", CancellationToken.None);
        await h.Runtime.StartAsync("approval", "running-1", null, CancellationToken.None);
        await Task.Delay(10);

        var sweep = await h.Triggers.SweepAsync(CancellationToken.None);

        Assert.Equal(1, sweep.Purged);
        Assert.Empty(await RowKeysAsync(h.Store, "done-1"));
        Assert.NotNull(await h.Runtime.GetAsync("running-1", CancellationToken.None));
        var (index, _) = await h.Store.IndexPageAsync(null, null, 100, CancellationToken.None);
        Assert.Equal("running-1", Assert.Single(index).InstanceId);
    }

    [Fact]
    public async Task A_purge_that_dies_at_its_last_instance_row_is_finished_by_the_next_sweep_and_leaves_nothing()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { CompletedRetention = TimeSpan.Zero }, definitions: Approval());
        await h.Runtime.StartAsync("approval", "done-dies", null, CancellationToken.None);
        await h.Runtime.TerminateAsync("done-dies", "test", CancellationToken.None);
        await Task.Delay(10);

        // The sweeping process dies at the delete of the state row (the storage request fails as a killed process's would).
        var dying = h.Through(new WorkflowStore(azurite.TableThrough(h.Store.Workflows.Name, new FailsDeleteOf("done-dies", "state")), h.Store.Index), Approval());
        var died = await Assert.ThrowsAsync<RequestFailedException>(() => dying.Triggers.SweepAsync(CancellationToken.None));
        Assert.Equal("killed before deleting done-dies/state", died.Message);

        var sweep = await h.Triggers.SweepAsync(CancellationToken.None);

        // Nothing of the instance is left: not its state row (member data), not its index row.
        Assert.Equal(1, sweep.Purged);
        Assert.Empty(await RowKeysAsync(h.Store, "done-dies"));
        Assert.Empty((await h.Store.IndexPageAsync(null, null, 100, CancellationToken.None)).Entries);
    }

    /// <summary>Fails the delete of one row, as if the process had been killed just before it.</summary>
    private sealed class FailsDeleteOf(string partition, string row) : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(Azure.Core.HttpMessage message)
        {
            if (message.Request.Method == Azure.Core.RequestMethod.Delete && Uri.UnescapeDataString(message.Request.Uri.ToString()).Contains($"(PartitionKey='{partition}',RowKey='{row}')", StringComparison.Ordinal))
            {
                throw new RequestFailedException($"killed before deleting {partition}/{row}");
            }
        }
    }

    [Fact]
    public async Task Sweeper_repairs_index_rows_left_ahead_of_their_instance_by_a_crash_before_commit()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, definitions: Approval());
        await h.Runtime.StartAsync("approval", "inst-10", null, CancellationToken.None);
        var written = DateTimeOffset.UtcNow.AddMinutes(-3);
        // Index written, then the process died before the commit: a ghost, and a status that never happened.
        await h.Store.UpsertIndexAsync(new WorkflowIndexEntry("ghost-1", "approval", WorkflowRuntimeStatus.Running, written, written, null, 1), CancellationToken.None);
        await h.Store.UpsertIndexAsync(new WorkflowIndexEntry("inst-10", "approval", WorkflowRuntimeStatus.Completed, written, written, null, 2), CancellationToken.None);

        var sweep = await h.Triggers.SweepAsync(CancellationToken.None);

        Assert.Equal(2, sweep.IndexRowsReconciled);
        var (index, _) = await h.Store.IndexPageAsync("approval", null, 10, CancellationToken.None);
        var only = Assert.Single(index);
        Assert.Equal(("inst-10", WorkflowRuntimeStatus.Running), (only.InstanceId, only.Status));
    }

    [Fact]
    public async Task Azurite_rejects_a_batch_update_with_a_stale_etag()
    {
        // The runtime's correctness rests on this (Azurite once ignored If-Match in batches: Azurite #1233).
        var (store, _) = await azurite.NewRuntimeStorageAsync();
        await store.Workflows.AddEntityAsync(new TableEntity("p", "state") { ["V"] = 1 });
        var stale = (await store.Workflows.GetEntityAsync<TableEntity>("p", "state")).Value.ETag;
        await store.Workflows.UpdateEntityAsync(new TableEntity("p", "state") { ["V"] = 2 }, stale);

        var e = await Assert.ThrowsAsync<TableTransactionFailedException>(() => store.Workflows.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.UpdateReplace, new TableEntity("p", "state") { ["V"] = 3 }, stale),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "h:1")),
        ]));

        Assert.Equal(412, e.Status);
        Assert.Equal(2, (await store.Workflows.GetEntityAsync<TableEntity>("p", "state")).Value.GetInt32("V"));
        Assert.False((await store.Workflows.GetEntityIfExistsAsync<TableEntity>("p", "h:1")).HasValue);
    }

    /// <summary>Fails on start, as a decider bug would leave an instance.</summary>
    private sealed class FailingOnStartWorkflow : IWorkflowDecider<ApprovalState>
    {
        public string Type => "failing";
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "poke" };
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public ApprovalState InitialState => new("new", null);

        public IReadOnlyList<WorkflowAction> Decide(ApprovalState state, WorkflowEvent @event, DateTimeOffset now) =>
            @event.Name == WorkflowEvent.Started ? [new FailWorkflow("simulated decider failure")] : [];

        public ApprovalState Evolve(ApprovalState state, WorkflowEvent @event) => state;
    }
}
