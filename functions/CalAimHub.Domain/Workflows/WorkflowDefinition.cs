using System.Text.Json;

namespace CalAimHub.Domain.Workflows;

/// <summary>
/// A registered decider seen without its state type: the runtime stores state as JSON, so it needs one
/// non-generic entry point per workflow type. Built with <see cref="From{TState}"/>.
/// </summary>
public abstract class WorkflowDefinition
{
    public abstract string Type { get; }
    public abstract int Version { get; }

    /// <summary>The external event names the type takes (see <see cref="IWorkflowDecider{TState}.EventNames"/>).</summary>
    public abstract IReadOnlySet<string> EventNames { get; }

    /// <summary>Who may start instances (see <see cref="IWorkflowDecider{TState}.StartedBy"/>).</summary>
    public abstract WorkflowStart StartedBy { get; }

    /// <summary>Why an external event's data does not fit what the decider reads (see <see cref="IWorkflowDecider{TState}.EventData"/>), or null.</summary>
    public abstract WorkflowInputProblem? ReadEvent(string name, JsonElement? data);

    /// <summary>Whether an event named <paramref name="name"/> reaches this type's decider: a declared name, started or timer-fired.</summary>
    public bool Takes(string name) => name is WorkflowEvent.Started or WorkflowEvent.TimerFired || EventNames.Contains(name);

    /// <summary>Applies one event to a stored state (JSON, or <c>null</c> before start) written by <paramref name="storedVersion"/>.</summary>
    /// <exception cref="WorkflowMigrationException">The state is from a newer version, or from an older one without a migration.</exception>
    public abstract WorkflowTransition Apply(JsonElement? storedState, int storedVersion, WorkflowEvent @event, DateTimeOffset now);

    /// <summary>Reads a stored state as the current state type (migrating it if needed), for queries.</summary>
    public abstract object ReadState(JsonElement? storedState, int storedVersion);

    public static WorkflowDefinition From<TState>(IWorkflowDecider<TState> decider)
        where TState : notnull => new Typed<TState>(decider);

    private sealed class Typed<TState>(IWorkflowDecider<TState> decider) : WorkflowDefinition
        where TState : notnull
    {
        public override string Type => decider.Type;
        public override int Version => decider.Version;
        public override IReadOnlySet<string> EventNames => decider.EventNames;
        public override WorkflowStart StartedBy => decider.StartedBy;

        public override WorkflowInputProblem? ReadEvent(string name, JsonElement? data) =>
            decider.EventData.TryGetValue(name, out var contract) ? WorkflowEventData.Problem(contract, data) : null;

        public override WorkflowTransition Apply(JsonElement? storedState, int storedVersion, WorkflowEvent @event, DateTimeOffset now)
        {
            var state = Read(storedState, storedVersion);
            var actions = decider.Decide(state, @event, now);
            var next = decider.Evolve(state, @event);
            return new WorkflowTransition(JsonSerializer.SerializeToElement(next, WorkflowJson.Options), actions);
        }

        public override object ReadState(JsonElement? storedState, int storedVersion) => Read(storedState, storedVersion);

        private TState Read(JsonElement? storedState, int storedVersion)
        {
            if (storedState is not { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } json)
            {
                return decider.InitialState;
            }

            if (storedVersion == decider.Version)
            {
                return json.Deserialize<TState>(WorkflowJson.Options)
                    ?? throw new JsonException($"workflow type '{decider.Type}' stored a null state");
            }

            return storedVersion < decider.Version
                ? decider.Migrate(storedVersion, json)
                : throw new WorkflowMigrationException(decider.Type, storedVersion, decider.Version);
        }
    }
}

/// <summary>The outcome of one event: the new state (JSON, current definition version) and the actions to carry out.</summary>
public sealed record WorkflowTransition(JsonElement State, IReadOnlyList<WorkflowAction> Actions);
