using System.Text;
using System.Text.Json;
using CalAimHub.Domain;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>What became of one event.</summary>
public enum ApplyOutcome
{
    /// <summary>Committed (or, for a no-op control event, nothing needed committing).</summary>
    Applied,

    /// <summary>An event with this id was committed before: nothing changed.</summary>
    AlreadyApplied,

    /// <summary>Recorded while the instance is Suspended; applied on resume.</summary>
    Held,

    /// <summary>A timer that is no longer armed (cancelled, superseded, already fired): dropped.</summary>
    StaleTimer,

    /// <summary>The instance is Completed, Failed or Terminated and takes no more events.</summary>
    Gone,

    /// <summary>No such instance.</summary>
    NotFound,

    /// <summary>The instance is Suspended and already holds <see cref="InstanceTransition.MaxHeldEvents"/> events: resume it first.</summary>
    SuspendedFull,

    /// <summary>The instance's type does not declare this event name (<see cref="WorkflowDefinition.EventNames"/>): nothing recorded.</summary>
    UnknownEvent,

    /// <summary>The event's data is not what the type's decider reads for that name (checked for events from outside the hub): nothing recorded.</summary>
    InvalidEventData,
}

/// <summary>Everything one event changes in its partition, ready for one entity-group transaction.</summary>
/// <param name="Before">The loaded state row (null when the event creates the instance).</param>
/// <param name="DedupeIds">Event ids to record as processed.</param>
public sealed record WorkflowCommit(
    WorkflowInstance? Before,
    WorkflowInstance After,
    IReadOnlyList<WorkflowHistoryEntry> History,
    IReadOnlyList<string> DedupeIds,
    IReadOnlyList<OutboundWork> Outbound);

/// <summary>
/// The pure core of the runtime: given the stored instance and one event, what to commit. No I/O, so every rule
/// (timers, suspension, termination, versioning, decider failure) is unit-tested without storage.
/// </summary>
public static class InstanceTransition
{
    public const string Terminate = "$terminate";
    public const string Suspend = "$suspend";
    public const string Resume = "$resume";

    /// <summary>
    /// Events held while Suspended are applied in the one resume transaction (at most 100 rows: state, one history row
    /// each, dedupe, outbox), and they live in the state row (at most 64 KiB per property).
    /// </summary>
    public const int MaxHeldEvents = 40;

    /// <summary>Table string properties hold at most 32 K characters; the state must fit with room to spare.</summary>
    public const int MaxStateChars = 30_000;

    /// <summary>Event id of a timer firing: one per (timer, due time), so duplicate timer messages dedupe.</summary>
    public static string TimerEventId(string timerId, DateTimeOffset dueAt) => $"timer:{timerId}:{dueAt.UtcTicks}";

    /// <summary>Delivery id of a notice: the CloudEvent id and webhook-id the receiver dedupes on.</summary>
    public static string DeliveryId(string instanceId, string actionKey) => "wf-" + Hash(instanceId + "\n" + actionKey);

    /// <summary>Event id of an event one instance raises on another.</summary>
    public static string RaisedEventId(string instanceId, string actionKey) => "wf-" + Hash(instanceId + "\n" + actionKey);

    /// <summary>The commit for a new instance, or null when the event is not "started".</summary>
    public static WorkflowCommit Start(WorkflowDefinition definition, string instanceId, WorkflowEvent started, DateTimeOffset now)
    {
        var created = WorkflowInstance.New(instanceId, definition.Type, definition.Version, started.Data, now);
        var (after, entry, outbound) = Decide(definition, created, started, now);
        return new WorkflowCommit(null, after, [entry], [started.EventId], outbound);
    }

    /// <summary>The commit for <paramref name="event"/> on an existing instance, or the reason there is none.</summary>
    public static (ApplyOutcome Outcome, WorkflowCommit? Commit) Apply(WorkflowDefinition? definition, WorkflowInstance instance, WorkflowEvent @event, DateTimeOffset now)
    {
        // A name the type does not declare is the sender's mistake whatever the instance's state: refuse it before it
        // is held, recorded or answered as "finished".
        if (definition is not null && @event.Name is not (Terminate or Suspend or Resume) && !definition.Takes(@event.Name))
        {
            return (ApplyOutcome.UnknownEvent, null);
        }

        if (instance.IsTerminal)
        {
            return (ApplyOutcome.Gone, null);
        }

        switch (@event.Name)
        {
            case Terminate:
            {
                var after = instance with
                {
                    Status = WorkflowRuntimeStatus.Terminated,
                    Reason = @event.DataAs<ControlData>()?.Reason,
                    Timers = instance.Timers.Clear(),
                    Held = [],
                    Seq = instance.Seq + 1,
                    LastUpdatedTime = now,
                };
                return (ApplyOutcome.Applied, new WorkflowCommit(instance, after, [Entry(after.Seq, @event, [])], [@event.EventId], []));
            }

            case Suspend:
            {
                if (instance.Status == WorkflowRuntimeStatus.Suspended)
                {
                    return (ApplyOutcome.Applied, null);
                }

                var after = instance with { Status = WorkflowRuntimeStatus.Suspended, Seq = instance.Seq + 1, LastUpdatedTime = now };
                return (ApplyOutcome.Applied, new WorkflowCommit(instance, after, [Entry(after.Seq, @event, [])], [@event.EventId], []));
            }

            case Resume:
            {
                if (instance.Status != WorkflowRuntimeStatus.Suspended)
                {
                    return (ApplyOutcome.Applied, null);
                }

                var current = instance with { Status = WorkflowRuntimeStatus.Running, Seq = instance.Seq + 1, LastUpdatedTime = now, Held = [] };
                var history = new List<WorkflowHistoryEntry> { Entry(current.Seq, @event, []) };
                var outbound = new List<OutboundWork>();
                foreach (var held in instance.Held)
                {
                    if (current.IsTerminal || (held.Name == WorkflowEvent.TimerFired && !IsArmed(current, held)))
                    {
                        continue;
                    }

                    var (next, entry, work) = Decide(Required(definition, instance), current, held, now);
                    current = next;
                    history.Add(entry);
                    outbound.AddRange(work);
                }

                return (ApplyOutcome.Applied, new WorkflowCommit(instance, current, history, [@event.EventId], outbound));
            }
        }

        if (@event.Name == WorkflowEvent.TimerFired && !IsArmed(instance, @event))
        {
            return (ApplyOutcome.StaleTimer, null);
        }

        if (instance.Status == WorkflowRuntimeStatus.Suspended)
        {
            if (instance.Held.Count >= MaxHeldEvents)
            {
                return (ApplyOutcome.SuspendedFull, null);
            }

            var after = instance with { Held = instance.Held.Add(@event), LastUpdatedTime = now };
            return (ApplyOutcome.Held, new WorkflowCommit(instance, after, [], [@event.EventId], []));
        }

        var (decided, decidedEntry, decidedWork) = Decide(Required(definition, instance), instance, @event, now);
        return (ApplyOutcome.Applied, new WorkflowCommit(instance, decided, [decidedEntry], [@event.EventId], decidedWork));
    }

    /// <summary>
    /// The commit with its read-model updates (<see cref="WorkflowProjection"/>) added to its outbox: the projections'
    /// entries before and after, diffed. Pure. A commit without history (an event held while Suspended) changes no state
    /// a projection reads, and gets none.
    /// </summary>
    public static WorkflowCommit WithProjections(WorkflowDefinition? definition, IReadOnlyList<WorkflowProjection> projections, WorkflowCommit commit, WorkflowEvent @event)
    {
        if (projections.Count == 0 || definition is null || commit.History.Count == 0)
        {
            return commit;
        }

        var after = View(definition, commit.After);
        var before = commit.Before is { } b ? View(definition, b) : ((string, WorkflowRuntimeStatus, long, object)?)null;
        var updates = projections.SelectMany(p => p.Project(before, after, @event)).ToList();
        return updates.Count == 0 ? commit : commit with { Outbound = [.. commit.Outbound, new ProjectReadModels(updates)] };
    }

    /// <summary>An instance as projections see it: its state read (and migrated) by its definition.</summary>
    public static (string InstanceId, WorkflowRuntimeStatus Status, long Seq, object State) View(WorkflowDefinition definition, WorkflowInstance instance) =>
        (instance.InstanceId, instance.Status, instance.Seq, definition.ReadState(instance.State, instance.Version));

    private static WorkflowDefinition Required(WorkflowDefinition? definition, WorkflowInstance instance) =>
        definition ?? throw new WorkflowTypeNotRegisteredException(instance.Type);

    private static bool IsArmed(WorkflowInstance instance, WorkflowEvent timer) =>
        timer.DataAs<TimerFiredData>() is { } fired && instance.Timers.TryGetValue(fired.TimerId, out var due) && due == fired.DueAt;

    private static (WorkflowInstance After, WorkflowHistoryEntry Entry, List<OutboundWork> Outbound) Decide(
        WorkflowDefinition definition, WorkflowInstance instance, WorkflowEvent @event, DateTimeOffset now)
    {
        var seq = instance.Seq + 1;
        var timers = instance.Timers;
        if (@event.TimerId is { } firedTimer)
        {
            timers = timers.Remove(firedTimer);
        }

        WorkflowTransition transition;
        try
        {
            transition = definition.Apply(instance.State, instance.Version, @event, now);
        }
        catch (Exception e) when (e is not WorkflowMigrationException)
        {
            // A decider is deterministic: retrying the same event fails the same way. Fail the instance visibly
            // instead of poisoning messages forever. The exception message is not kept: it may quote state data.
            return Failed($"decider '{definition.Type}' v{definition.Version} threw {e.GetType().Name} on event '{@event.Name}'");
        }

        if (transition.State.GetRawText().Length > MaxStateChars)
        {
            // It could not be stored; keep the last state that could, and say why the instance stopped.
            return Failed($"decider '{definition.Type}' v{definition.Version} produced a state over {MaxStateChars} characters on event '{@event.Name}'; keep large content outside the state");
        }

        (WorkflowInstance, WorkflowHistoryEntry, List<OutboundWork>) Failed(string reason) => (
            instance with { Status = WorkflowRuntimeStatus.Failed, Reason = reason, Timers = timers.Clear(), Seq = seq, LastUpdatedTime = now },
            Entry(seq, @event, []),
            []);

        var after = instance with
        {
            Version = definition.Version,
            State = transition.State,
            Status = instance.Status == WorkflowRuntimeStatus.Pending ? WorkflowRuntimeStatus.Running : instance.Status,
            Seq = seq,
            LastUpdatedTime = now,
        };
        var outbound = new List<OutboundWork>();
        foreach (var action in transition.Actions)
        {
            switch (action)
            {
                case ScheduleTimer schedule:
                    timers = timers.SetItem(schedule.TimerId, schedule.DueAt);
                    outbound.Add(new ArmTimer(schedule.TimerId, schedule.DueAt));
                    break;
                case CancelTimer cancel:
                    timers = timers.Remove(cancel.TimerId);
                    break;
                case SendNotification notice:
                    outbound.Add(new DeliverNotice(DeliveryId(instance.InstanceId, notice.ActionKey), notice, now));
                    break;
                case StartChildWorkflow child:
                    outbound.Add(new StartChild(instance.InstanceId, child));
                    break;
                case RaiseWorkflowEvent raise:
                    outbound.Add(new SendEvent(RaisedEventId(instance.InstanceId, raise.ActionKey), raise));
                    break;
                case SetCustomStatus status:
                    after = after with { CustomStatus = status.Status };
                    break;
                case SetNextDeadline deadline:
                    after = after with { NextDeadline = deadline.Deadline };
                    break;
                case CompleteWorkflow complete:
                    after = after with { Status = WorkflowRuntimeStatus.Completed, Output = complete.Output, NextDeadline = null };
                    timers = timers.Clear();
                    break;
                case FailWorkflow fail:
                    after = after with { Status = WorkflowRuntimeStatus.Failed, Reason = fail.Reason, NextDeadline = null };
                    timers = timers.Clear();
                    break;
                default:
                    throw new NotSupportedException($"workflow action {action.GetType().Name} is not supported by this runtime");
            }
        }

        // A terminal instance keeps no timers: a timer armed by the same decision must not be sent either.
        if (after.IsTerminal)
        {
            outbound.RemoveAll(w => w is ArmTimer);
        }

        return (after with { Timers = timers }, Entry(seq, @event, transition.Actions), outbound);
    }

    private static WorkflowHistoryEntry Entry(long seq, WorkflowEvent @event, IReadOnlyList<WorkflowAction> actions) =>
        new(seq, @event.EventId, @event.Name, @event.Data, @event.RecordedAt, actions) { By = @event.By };

    private static string Hash(string text) => StableHash.Hex(text, 16);
}

/// <summary>Payload of terminate / suspend / resume.</summary>
public sealed record ControlData(string? Reason);

/// <summary>An instance's type has no registered decider in this deployment.</summary>
public sealed class WorkflowTypeNotRegisteredException(string type)
    : Exception($"no decider is registered for workflow type '{type}'");
