using System.Text.Json;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Workflows.Tests;

/// <summary>The pure core: decider + runtime rules, given events / when event / then commit. No storage.</summary>
public sealed class InstanceTransitionTests
{
    private static readonly TimeSpan Review = TimeSpan.FromDays(5);
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly WorkflowDefinition approval = WorkflowDefinition.From(new ApprovalWorkflow(Review, TimeSpan.FromSeconds(1)));

    private WorkflowInstance Started()
    {
        var now = clock.GetUtcNow();
        return InstanceTransition.Start(approval, "a1", new WorkflowEvent(WorkflowRuntime.StartEventId, WorkflowEvent.Started, null, now), now).After;
    }

    private (ApplyOutcome, WorkflowCommit?) When(WorkflowInstance instance, string name, JsonElement? data = null, string? id = null) =>
        InstanceTransition.Apply(approval, instance, new WorkflowEvent(id ?? Guid.NewGuid().ToString("N"), name, data, clock.GetUtcNow()), clock.GetUtcNow());

    private (ApplyOutcome, WorkflowCommit?) WhenTimer(WorkflowInstance instance, string timerId, DateTimeOffset dueAt) =>
        InstanceTransition.Apply(approval, instance, WorkflowEvent.ForTimer(InstanceTransition.TimerEventId(timerId, dueAt), timerId, dueAt, clock.GetUtcNow()), clock.GetUtcNow());

    [Fact]
    public void Start_runs_the_decider_arms_the_review_timer_and_publishes_a_notice_with_a_deterministic_id()
    {
        var now = clock.GetUtcNow();
        var commit = InstanceTransition.Start(approval, "a1", new WorkflowEvent("start", WorkflowEvent.Started, null, now), now);

        Assert.Null(commit.Before);
        Assert.Equal(WorkflowRuntimeStatus.Running, commit.After.Status);
        Assert.Equal(1, commit.After.Seq);
        Assert.Equal(now + Review, commit.After.Timers[ApprovalWorkflow.ReviewDeadline]);
        Assert.Equal(now + Review, commit.After.NextDeadline);
        Assert.Equal(["start"], commit.DedupeIds);
        Assert.Equal(new ArmTimer(ApprovalWorkflow.ReviewDeadline, now + Review), commit.Outbound[0]);
        var notice = Assert.IsType<DeliverNotice>(commit.Outbound[1]);
        Assert.Equal(InstanceTransition.DeliveryId("a1", "received"), notice.DeliveryId);
        Assert.Equal("""{"stage":"awaiting-review"}""", commit.After.CustomStatus!.Value.GetRawText());
    }

    [Fact]
    public void Delivery_ids_are_deterministic_per_instance_and_action_key()
    {
        Assert.Equal(InstanceTransition.DeliveryId("a1", "decided"), InstanceTransition.DeliveryId("a1", "decided"));
        Assert.NotEqual(InstanceTransition.DeliveryId("a1", "decided"), InstanceTransition.DeliveryId("a2", "decided"));
        Assert.NotEqual(InstanceTransition.DeliveryId("a1", "decided"), InstanceTransition.DeliveryId("a1", "received"));
    }

    [Fact]
    public void Cancelled_timer_is_stale_and_commits_nothing()
    {
        var started = Started();
        var reviewDue = started.Timers[ApprovalWorkflow.ReviewDeadline];
        var (_, approved) = When(started, "approved");

        var (outcome, commit) = WhenTimer(approved!.After, ApprovalWorkflow.ReviewDeadline, reviewDue);

        Assert.Equal(ApplyOutcome.StaleTimer, outcome);
        Assert.Null(commit);
    }

    [Fact]
    public void Superseded_timer_with_the_old_due_time_is_stale_the_new_one_fires()
    {
        var started = Started();
        var due = started.Timers[ApprovalWorkflow.ReviewDeadline];
        var later = due.AddDays(1);
        var superseded = started with { Timers = started.Timers.SetItem(ApprovalWorkflow.ReviewDeadline, later) };

        Assert.Equal(ApplyOutcome.StaleTimer, WhenTimer(superseded, ApprovalWorkflow.ReviewDeadline, due).Item1);
        clock.SetUtcNow(later);
        var (outcome, commit) = WhenTimer(superseded, ApprovalWorkflow.ReviewDeadline, later);
        Assert.Equal(ApplyOutcome.Applied, outcome);
        Assert.Empty(commit!.After.Timers);
        Assert.Equal(InstanceTransition.DeliveryId("a1", "review-breached"), Assert.IsType<DeliverNotice>(Assert.Single(commit.Outbound)).DeliveryId);
    }

    [Fact]
    public void Approve_then_cooling_off_timer_completes_and_clears_timers_and_deadline()
    {
        var (_, approved) = When(Started(), "approved");
        var coolingDue = approved!.After.Timers[ApprovalWorkflow.CoolingOff];
        Assert.False(approved.After.Timers.ContainsKey(ApprovalWorkflow.ReviewDeadline));
        Assert.Null(approved.After.NextDeadline);
        clock.Advance(TimeSpan.FromSeconds(1));

        var (outcome, done) = WhenTimer(approved.After, ApprovalWorkflow.CoolingOff, coolingDue);

        Assert.Equal(ApplyOutcome.Applied, outcome);
        Assert.Equal(WorkflowRuntimeStatus.Completed, done!.After.Status);
        Assert.Equal("""{"decision":"approved"}""", done.After.Output!.Value.GetRawText());
        Assert.Empty(done.After.Timers);
        Assert.Equal(3, done.After.Seq);
    }

    [Fact]
    public void Finished_instance_is_gone_for_events_and_control()
    {
        var terminated = When(Started(), InstanceTransition.Terminate, WorkflowJson.ToElement(new ControlData("duplicate request"))).Item2!.After;

        Assert.Equal(WorkflowRuntimeStatus.Terminated, terminated.Status);
        Assert.Equal("duplicate request", terminated.Reason);
        Assert.Empty(terminated.Timers);
        Assert.Equal((ApplyOutcome.Gone, null), When(terminated, "approved"));
        Assert.Equal((ApplyOutcome.Gone, null), When(terminated, InstanceTransition.Resume));
    }

    [Fact]
    public void Events_while_suspended_are_held_and_applied_in_order_on_resume()
    {
        var suspended = When(Started(), InstanceTransition.Suspend).Item2!.After;
        Assert.Equal(WorkflowRuntimeStatus.Suspended, suspended.Status);

        var (heldOutcome, held) = When(suspended, "approved", id: "evt-1");
        Assert.Equal(ApplyOutcome.Held, heldOutcome);
        Assert.Empty(held!.History);
        Assert.Equal(["evt-1"], held.DedupeIds);
        Assert.Equal(suspended.Seq, held.After.Seq);

        var (_, resumed) = When(held.After, InstanceTransition.Resume, id: "resume-1");
        Assert.Equal(WorkflowRuntimeStatus.Running, resumed!.After.Status);
        Assert.Equal([InstanceTransition.Resume, "approved"], resumed.History.Select(h => h.Name));
        Assert.Equal(["resume-1"], resumed.DedupeIds);
        Assert.True(resumed.After.Timers.ContainsKey(ApprovalWorkflow.CoolingOff));
        Assert.Empty(resumed.After.Held);
    }

    [Fact]
    public void A_suspended_instance_holds_at_most_forty_events_then_refuses_without_committing()
    {
        var instance = When(Started(), InstanceTransition.Suspend).Item2!.After;
        for (var i = 0; i < InstanceTransition.MaxHeldEvents; i++)
        {
            instance = When(instance, "note").Item2!.After;
        }

        Assert.Equal((ApplyOutcome.SuspendedFull, null), When(instance, "note"));
        var (_, resumed) = When(instance, InstanceTransition.Resume);
        Assert.Equal(InstanceTransition.MaxHeldEvents + 1, resumed!.History.Count);
    }

    [Fact]
    public void A_state_too_large_to_store_fails_the_instance_and_keeps_the_last_stored_state()
    {
        var definition = WorkflowDefinition.From(new GrowingWorkflow());
        var now = clock.GetUtcNow();
        var started = InstanceTransition.Start(definition, "g1", new WorkflowEvent("start", WorkflowEvent.Started, null, now), now).After;

        var (_, commit) = InstanceTransition.Apply(definition, started, new WorkflowEvent("e1", "grow", null, now), now);

        Assert.Equal(WorkflowRuntimeStatus.Failed, commit!.After.Status);
        Assert.Equal("decider 'growing' v1 produced a state over 30000 characters on event 'grow'; keep large content outside the state", commit.After.Reason);
        Assert.Equal(started.State!.Value.GetRawText(), commit.After.State!.Value.GetRawText());
    }

    [Fact]
    public void Suspending_twice_or_resuming_a_running_instance_commits_nothing()
    {
        var suspended = When(Started(), InstanceTransition.Suspend).Item2!.After;

        Assert.Equal((ApplyOutcome.Applied, null), When(suspended, InstanceTransition.Suspend));
        Assert.Equal((ApplyOutcome.Applied, null), When(Started(), InstanceTransition.Resume));
    }

    [Fact]
    public void A_throwing_decider_fails_the_instance_with_a_reason_that_quotes_no_data()
    {
        var definition = WorkflowDefinition.From(new ThrowingWorkflow());
        var now = clock.GetUtcNow();
        var started = InstanceTransition.Start(definition, "t1", new WorkflowEvent("start", WorkflowEvent.Started, null, now), now).After;

        var (_, commit) = InstanceTransition.Apply(definition, started, new WorkflowEvent("e1", "boom", WorkflowJson.ToElement(new { cin = "91234567A" }), now), now);

        Assert.Equal(WorkflowRuntimeStatus.Failed, commit!.After.Status);
        Assert.Equal("decider 'throwing' v1 threw InvalidOperationException on event 'boom'", commit.After.Reason);
    }

    [Fact]
    public void State_stored_by_a_newer_version_is_refused_not_misread()
    {
        var instance = Started() with { Version = 3 };

        var e = Assert.Throws<WorkflowMigrationException>(() => When(instance, "approved"));
        Assert.Equal("workflow type 'approval' has no migration from definition version 3 to 1", e.Message);
    }

    [Fact]
    public void Older_state_is_migrated_and_the_instance_moves_to_the_new_version()
    {
        var v1 = Started();
        var v2 = WorkflowDefinition.From(new ApprovalWorkflowV2(TimeSpan.FromSeconds(1)));

        var (_, commit) = InstanceTransition.Apply(v2, v1, new WorkflowEvent("e1", "approved", null, clock.GetUtcNow()), clock.GetUtcNow());

        Assert.Equal(2, commit!.After.Version);
        Assert.Equal("""{"phase":"cooling-off","decision":"approved"}""", commit.After.State!.Value.GetRawText());
    }

    [Theory]
    [InlineData(0.2, 0, 1)]
    [InlineData(1.0, 0, 1)]
    [InlineData(1.001, 0, 2)]
    [InlineData(59.5, 0, 60)]
    [InlineData(-3, 0, 0)]
    [InlineData(0.2, 1, 0)]
    [InlineData(1.001, 1, 1)]
    [InlineData(59.5, 1, 59)]
    public void Timer_delay_rounds_up_to_whole_seconds_then_takes_off_the_whole_second_lead(double secondsToDue, int leadSeconds, int expectedDelay)
    {
        var now = clock.GetUtcNow();

        Assert.Equal(TimeSpan.FromSeconds(expectedDelay), WorkflowQueues.TimerDelay(now.AddSeconds(secondsToDue), now, TimeSpan.FromDays(7), TimeSpan.FromSeconds(leadSeconds)));
    }

    [Fact]
    public void Timer_delay_is_capped_at_the_configured_maximum()
    {
        var now = clock.GetUtcNow();

        Assert.Equal(TimeSpan.FromDays(7), WorkflowQueues.TimerDelay(now.AddDays(200), now, TimeSpan.FromDays(7), TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(2), WorkflowQueues.TimerDelay(now.AddSeconds(5), now, TimeSpan.FromSeconds(2), TimeSpan.Zero));
    }

    [Fact]
    public void Actions_and_events_round_trip_through_json()
    {
        WorkflowAction[] actions =
        [
            new ScheduleTimer("t", clock.GetUtcNow()), new CancelTimer("t"),
            new SendNotification("k", "calaim.x", "plan", null, "id-1", WorkflowJson.ToElement(new { status = "ok" })),
            new StartChildWorkflow("c1", "approval", null), new RaiseWorkflowEvent("k2", "other", "go", null),
            new SetCustomStatus(null), new SetNextDeadline(clock.GetUtcNow()), new CompleteWorkflow(null), new FailWorkflow("why"),
        ];

        var json = JsonSerializer.Serialize(actions, WorkflowJson.Options);
        var back = JsonSerializer.Deserialize<WorkflowAction[]>(json, WorkflowJson.Options)!;

        Assert.Equal(json, JsonSerializer.Serialize(back, WorkflowJson.Options));
        Assert.Contains("\"kind\":\"sendNotification\"", json, StringComparison.Ordinal);
    }

    private sealed class GrowingWorkflow : IWorkflowDecider<ApprovalState>
    {
        public string Type => "growing";
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "grow" };
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public ApprovalState InitialState => new("new", null);
        public IReadOnlyList<WorkflowAction> Decide(ApprovalState state, WorkflowEvent @event, DateTimeOffset now) => [];
        public ApprovalState Evolve(ApprovalState state, WorkflowEvent @event) => @event.Name == "grow" ? state with { Stage = new string('x', 40_000) } : state;
    }

    private sealed class ThrowingWorkflow : IWorkflowDecider<ApprovalState>
    {
        public string Type => "throwing";
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "boom" };
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public ApprovalState InitialState => new("new", null);

        public IReadOnlyList<WorkflowAction> Decide(ApprovalState state, WorkflowEvent @event, DateTimeOffset now) =>
            @event.Name == "boom" ? throw new InvalidOperationException("state was " + @event.Data) : [];

        public ApprovalState Evolve(ApprovalState state, WorkflowEvent @event) => state;
    }
}
