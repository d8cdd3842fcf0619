using System.Text.Json;

namespace CalAimHub.Domain.Workflows;

// How to write a workflow (a "decider")
// =====================================
// A workflow type is one class implementing IWorkflowDecider<TState>: two pure functions and a starting state.
//
//   Decide(state, event, now) -> actions   what should happen now that `event` arrived (timers, notices, done...)
//   Evolve(state, event)      -> state     the new state once `event` is recorded
//
// The runtime (CalAimHub.Workflows) loads the instance state, calls Decide with the state *before* the event,
// then Evolve, and commits the new state, the event (history), a dedupe row and the actions (outbox) in one
// storage transaction. Then it dispatches the actions. Rules that keep this correct:
//
// * Pure. No clock (use `now` in Decide, `event.RecordedAt` in Evolve), no I/O, no random, no Guid.NewGuid():
//   the same inputs must give the same outputs, so a retried or replayed event decides the same thing.
// * TState is a JSON-serializable record (System.Text.Json, default options + camelCase). It is stored on every
//   commit; keep it small (well under 64 KiB) and free of anything you would not want in an audit log.
// * Events are named: WorkflowEvent.Started (data = start input), WorkflowEvent.TimerFired (see TimerId), and
//   the external names the decider declares in EventNames (raised through the API / webhooks / other workflows).
//   The runtime refuses any other name before it reaches the decider (400 on the API, a dead letter on a queue).
//   Still return no actions for a name you do not handle, so a stray event cannot break an instance.
// * Starting: StartedBy says who may start an instance. A type with a domain API (its own routes, webhooks) says
//   WorkflowStart.ByDomainApi("POST /api/..."); only a type without one says WorkflowStart.Generic(reader), and the
//   reader checks the start input before the generic route stores anything.
// * Timers: ScheduleTimer(id, dueAt) arms a timer; scheduling the same id again supersedes the old one;
//   CancelTimer(id) disarms. The runtime never delivers a cancelled or superseded timer, but a decider must still
//   ignore a TimerFired it no longer expects (check the id against its state): delivery is at-least-once.
// * Notices: SendNotification(ActionKey, ...) — the key is deterministic and unique per logical notice within the
//   instance (e.g. "decided", "deadline-approaching:decision"): receivers dedupe on the id derived from it.
//   Data carries ids and statuses only, never member PHI (CIN, names, DOB, addresses, phones).
// * Instance ids appear in URLs, logs, problem details and table keys: never derive them from member data (a CIN,
//   a name); use an opaque id (a GUID, or a hash keyed with a secret if it must be deterministic).
// * Versioning: Version is the definition version stored with every instance. When you change TState in an
//   incompatible way, bump Version and implement Migrate(storedVersion, storedState): running instances keep
//   working and are migrated on their next event. An instance stored by a *newer* version is never touched.
//
// Register it in the Functions app with one line: builder.Services.AddWorkflowDecider(new MyDecider());
// (or AddWorkflowDecider<MyDecider, MyState>() to let DI build it). See tests/CalAimHub.Workflows.Tests for an
// example decider (ApprovalWorkflow) and its given/when/then tests.

/// <summary>A workflow type: pure decision and evolution functions over an explicit, stored state.</summary>
/// <typeparam name="TState">The instance state: a JSON-serializable record.</typeparam>
public interface IWorkflowDecider<TState>
    where TState : notnull
{
    /// <summary>Workflow type name, used in routes and storage: lowercase, e.g. <c>authorization</c>.</summary>
    string Type { get; }

    /// <summary>Definition version stored with each instance; bump it when TState changes incompatibly.</summary>
    int Version { get; }

    /// <summary>
    /// The external event names this type takes (besides <see cref="WorkflowEvent.Started"/> and
    /// <see cref="WorkflowEvent.TimerFired"/>); the runtime refuses any other name.
    /// </summary>
    IReadOnlySet<string> EventNames { get; }

    /// <summary>Who may start instances: its domain API only, or the generic route with an input reader.</summary>
    WorkflowStart StartedBy { get; }

    /// <summary>
    /// The record each external event's data is read as (<see cref="WorkflowEventData"/>): the generic events route
    /// refuses data that does not fit with 400 before anything is recorded. An event not listed takes any data.
    /// </summary>
    IReadOnlyDictionary<string, Type> EventData => new Dictionary<string, Type>();

    /// <summary>The state before the <see cref="WorkflowEvent.Started"/> event.</summary>
    TState InitialState { get; }

    /// <summary>The actions caused by <paramref name="event"/> arriving in <paramref name="state"/> at <paramref name="now"/>.</summary>
    IReadOnlyList<WorkflowAction> Decide(TState state, WorkflowEvent @event, DateTimeOffset now);

    /// <summary>The state after <paramref name="event"/> is recorded.</summary>
    TState Evolve(TState state, WorkflowEvent @event);

    /// <summary>
    /// Converts a state stored by an older definition version (<paramref name="storedVersion"/> &lt; <see cref="Version"/>).
    /// The default refuses, so a forgotten migration fails loudly instead of misreading old data.
    /// </summary>
    TState Migrate(int storedVersion, JsonElement storedState) =>
        throw new WorkflowMigrationException(Type, storedVersion, Version);
}

/// <summary>An instance was stored by a definition version this decider cannot read.</summary>
public sealed class WorkflowMigrationException(string type, int storedVersion, int currentVersion)
    : Exception($"workflow type '{type}' has no migration from definition version {storedVersion} to {currentVersion}")
{
    public string WorkflowType { get; } = type;
    public int StoredVersion { get; } = storedVersion;
    public int CurrentVersion { get; } = currentVersion;
}
