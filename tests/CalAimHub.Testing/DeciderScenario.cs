using System.Text.Json;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Testing;

/// <summary>
/// Given/when/then driver for a workflow decider. Events go through <see cref="WorkflowDefinition"/> exactly as the runtime
/// sends them (state stored as JSON between events), and the armed timers are kept so a test can let time pass and see
/// which timers fire, in due order, at their due instants. Domain drivers derive from it and add their own vocabulary.
/// </summary>
public abstract class DeciderScenario<TDecider, TState>
    where TDecider : IWorkflowDecider<TState>
    where TState : notnull
{
    private readonly WorkflowDefinition _definition;
    private readonly SortedDictionary<string, DateTimeOffset> _armed = new(StringComparer.Ordinal);
    private JsonElement? _stored;
    private int _eventNumber;

    protected DeciderScenario(TDecider workflow, DateTimeOffset start)
    {
        Time = new FakeTimeProvider(start);
        Workflow = workflow;
        _definition = WorkflowDefinition.From(workflow);
    }

    public FakeTimeProvider Time { get; }

    public TDecider Workflow { get; }

    /// <summary>Every action decided so far, in order.</summary>
    public List<WorkflowAction> AllActions { get; } = [];

    /// <summary>Whether the decider completed the workflow.</summary>
    public bool Completed { get; private set; }

    public IReadOnlyDictionary<string, DateTimeOffset> ArmedTimers => _armed;

    public TState State => (TState)_definition.ReadState(_stored, Workflow.Version);

    /// <summary>Applies one event now; <paramref name="eventId"/> repeats an id to test redelivery.</summary>
    public IReadOnlyList<WorkflowAction> When(string name, object? data, string? eventId = null)
    {
        var @event = new WorkflowEvent(eventId ?? $"evt-{++_eventNumber}", name, data is null ? null : WorkflowJson.ToElement(data), Time.GetUtcNow());
        var transition = _definition.Apply(_stored, Workflow.Version, @event, Time.GetUtcNow());
        _stored = JsonDocument.Parse(transition.State.GetRawText()).RootElement;
        foreach (var action in transition.Actions)
        {
            switch (action)
            {
                case ScheduleTimer t: _armed[t.TimerId] = t.DueAt; break;
                case CancelTimer c: _armed.Remove(c.TimerId); break;
                case CompleteWorkflow: _armed.Clear(); Completed = true; break;
            }
        }

        AllActions.AddRange(transition.Actions);
        return transition.Actions;
    }

    public IReadOnlyList<WorkflowAction> Advance(TimeSpan by) => AdvanceTo(Time.GetUtcNow() + by);

    /// <summary>Lets time pass to <paramref name="until"/>, firing each armed timer at its due instant, as the runtime would.</summary>
    public IReadOnlyList<WorkflowAction> AdvanceTo(DateTimeOffset until)
    {
        var actions = new List<WorkflowAction>();
        while (_armed.Where(t => t.Value <= until).OrderBy(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).FirstOrDefault() is { Key: not null } next)
        {
            _armed.Remove(next.Key);
            if (next.Value > Time.GetUtcNow())
            {
                Time.SetUtcNow(next.Value);
            }

            actions.AddRange(FireTimer(next.Key, next.Value));
        }

        if (until > Time.GetUtcNow())
        {
            Time.SetUtcNow(until);
        }

        return actions;
    }

    public IReadOnlyList<WorkflowAction> FireTimer(string timerId, DateTimeOffset dueAt) =>
        When(WorkflowEvent.TimerFired, new TimerFiredData(timerId, dueAt));
}

/// <summary>The notices among decided actions (import with <c>using static</c> in decider tests).</summary>
public static class DecidedNotices
{
    public static IReadOnlyList<SendNotification> Notices(IEnumerable<WorkflowAction> actions) => [.. actions.OfType<SendNotification>()];

    public static IReadOnlyList<string> NoticeTypes(IEnumerable<WorkflowAction> actions) => [.. Notices(actions).Select(n => n.Type)];

    public static IReadOnlyList<string> NoticeKeys(IEnumerable<WorkflowAction> actions) => [.. Notices(actions).Select(n => n.ActionKey)];
}
