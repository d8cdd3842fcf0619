using System.Text.Json;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// The example decider of the contract: a request waits for review (with a review deadline that escalates), an
/// "approved" event starts a short cooling-off timer, and when that fires the workflow completes.
/// </summary>
public sealed class ApprovalWorkflow(TimeSpan reviewWithin, TimeSpan coolingOff) : IWorkflowDecider<ApprovalState>
{
    public const string ReviewDeadline = "review-deadline";
    public const string CoolingOff = "cooling-off";

    public string Type => "approval";
    public int Version => 1;

    /// <summary>"approved" moves it on; "note" is recorded and changes nothing.</summary>
    public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "approved", "note" };
    public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
    public ApprovalState InitialState => new("new", null);

    public IReadOnlyList<WorkflowAction> Decide(ApprovalState state, WorkflowEvent @event, DateTimeOffset now) => (state.Stage, @event.Name) switch
    {
        ("new", WorkflowEvent.Started) =>
        [
            new ScheduleTimer(ReviewDeadline, now + reviewWithin),
            new SetNextDeadline(now + reviewWithin),
            new SetCustomStatus(WorkflowJson.ToElement(new { stage = "awaiting-review" })),
            new SendNotification("received", "calaim.approval.received", "plan", null, null, WorkflowJson.ToElement(new { status = "received" })),
        ],
        ("awaiting-review", "approved") =>
        [
            new CancelTimer(ReviewDeadline),
            new ScheduleTimer(CoolingOff, now + coolingOff),
            new SetNextDeadline(null),
            new SetCustomStatus(WorkflowJson.ToElement(new { stage = "cooling-off" })),
        ],
        // Only the timer this stage expects counts: anything else is stale (cancelled, superseded, duplicated).
        ("awaiting-review", WorkflowEvent.TimerFired) when @event.TimerId == ReviewDeadline =>
        [
            new SendNotification("review-breached", "calaim.approval.deadline-breached", "plan", null, null, WorkflowJson.ToElement(new { status = "breached" })),
            new SetCustomStatus(WorkflowJson.ToElement(new { stage = "awaiting-review", breached = true })),
        ],
        ("cooling-off", WorkflowEvent.TimerFired) when @event.TimerId == CoolingOff =>
        [
            new CompleteWorkflow(WorkflowJson.ToElement(new { decision = "approved" })),
            new SendNotification("decided", "calaim.approval.decided", "plan", null, null, WorkflowJson.ToElement(new { status = "approved" })),
        ],
        _ => [],
    };

    public ApprovalState Evolve(ApprovalState state, WorkflowEvent @event) => (state.Stage, @event.Name) switch
    {
        ("new", WorkflowEvent.Started) => new("awaiting-review", @event.RecordedAt + reviewWithin),
        ("awaiting-review", "approved") => new("cooling-off", null),
        ("cooling-off", WorkflowEvent.TimerFired) when @event.TimerId == CoolingOff => new("approved", null),
        _ => state,
    };
}

public sealed record ApprovalState(string Stage, DateTimeOffset? ReviewDue);

/// <summary>Version 2 of the same type: the stage is now called phase and the decision is kept in state.</summary>
public sealed class ApprovalWorkflowV2(TimeSpan coolingOff) : IWorkflowDecider<ApprovalStateV2>
{
    public string Type => "approval";
    public int Version => 2;
    public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "approved", "note" };
    public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
    public ApprovalStateV2 InitialState => new("new", null);

    public IReadOnlyList<WorkflowAction> Decide(ApprovalStateV2 state, WorkflowEvent @event, DateTimeOffset now) => (state.Phase, @event.Name) switch
    {
        ("awaiting-review", "approved") => [new CancelTimer(ApprovalWorkflow.ReviewDeadline), new ScheduleTimer(ApprovalWorkflow.CoolingOff, now + coolingOff)],
        ("cooling-off", WorkflowEvent.TimerFired) when @event.TimerId == ApprovalWorkflow.CoolingOff =>
            [new CompleteWorkflow(WorkflowJson.ToElement(new { decision = state.Decision, decidedBy = "v2" }))],
        _ => [],
    };

    public ApprovalStateV2 Evolve(ApprovalStateV2 state, WorkflowEvent @event) => (state.Phase, @event.Name) switch
    {
        ("awaiting-review", "approved") => new("cooling-off", "approved"),
        ("cooling-off", WorkflowEvent.TimerFired) when @event.TimerId == ApprovalWorkflow.CoolingOff => state with { Phase = "done" },
        _ => state,
    };

    public ApprovalStateV2 Migrate(int storedVersion, JsonElement storedState) => storedVersion switch
    {
        1 => storedState.Deserialize<ApprovalState>(WorkflowJson.Options) is { } v1
            ? new ApprovalStateV2(v1.Stage, v1.Stage == "approved" ? "approved" : null)
            : throw new JsonException("stored v1 approval state is null"),
        _ => throw new WorkflowMigrationException(Type, storedVersion, Version),
    };
}

public sealed record ApprovalStateV2(string Phase, string? Decision);
