using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// Given/when/then driver for the authorization decider. It goes through <see cref="WorkflowDefinition"/> exactly as
/// the runtime does (state stored as JSON between events), and keeps the armed timers so a test can let time pass and
/// see which timers fire, in due order, at their due instants.
/// </summary>
internal sealed class AuthorizationScenario
{
    public const string TrustedNpi = "1234567893";
    public const string OtherNpi = "1245319599";

    private readonly WorkflowDefinition definition;
    private readonly SortedDictionary<string, DateTimeOffset> armed = new(StringComparer.Ordinal);
    private JsonElement? stored;
    private int eventNumber;

    public AuthorizationScenario(DateTimeOffset start, AuthorizationPolicy? policy = null)
    {
        Time = new FakeTimeProvider(start);
        Workflow = new AuthorizationWorkflow(policy ?? AuthorizationPolicy.Default(new HashSet<string> { TrustedNpi }));
        definition = WorkflowDefinition.From(Workflow);
    }

    public FakeTimeProvider Time { get; }

    public AuthorizationWorkflow Workflow { get; }

    public List<WorkflowAction> AllActions { get; } = [];

    public IReadOnlyDictionary<string, DateTimeOffset> ArmedTimers => armed;

    public AuthorizationState State => (AuthorizationState)definition.ReadState(stored, Workflow.Version);

    public static AuthorizationRequest Request(
        RequestedService? service = null, Urgency urgency = Urgency.Routine, string npi = OtherNpi, string[]? facts = null, string? consent = "ascmi-2026-0001") =>
        new("auth-1", "91234567A", service ?? RequestedService.Ecm("experiencing-homelessness-adults"), npi, "county-hospital", urgency,
            facts ?? ["experiencing-homelessness", "complex-need-unable-to-self-manage"], consent, DateTimeOffset.MinValue);

    public IReadOnlyList<WorkflowAction> Start(AuthorizationRequest request) =>
        When(WorkflowEvent.Started, request with { ReceivedAt = Time.GetUtcNow() });

    public IReadOnlyList<WorkflowAction> When(string name, object? data)
    {
        var @event = new WorkflowEvent($"evt-{++eventNumber}", name, data is null ? null : WorkflowJson.ToElement(data), Time.GetUtcNow());
        var transition = definition.Apply(stored, Workflow.Version, @event, Time.GetUtcNow());
        stored = JsonDocument.Parse(transition.State.GetRawText()).RootElement;
        foreach (var action in transition.Actions)
        {
            switch (action)
            {
                case ScheduleTimer t: armed[t.TimerId] = t.DueAt; break;
                case CancelTimer c: armed.Remove(c.TimerId); break;
                case CompleteWorkflow: armed.Clear(); break;
            }
        }

        AllActions.AddRange(transition.Actions);
        return transition.Actions;
    }

    public IReadOnlyList<WorkflowAction> Decide(DecisionOutcome outcome, string? reason = null, string? consent = null) =>
        When(AuthorizationEvents.Decision, new DecisionData(outcome, reason, "staff-17", consent));

    public IReadOnlyList<WorkflowAction> Advance(TimeSpan by) => AdvanceTo(Time.GetUtcNow() + by);

    /// <summary>Lets time pass to <paramref name="until"/>, firing each armed timer at its due instant, as the runtime would.</summary>
    public IReadOnlyList<WorkflowAction> AdvanceTo(DateTimeOffset until)
    {
        var actions = new List<WorkflowAction>();
        while (armed.Where(t => t.Value <= until).OrderBy(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).FirstOrDefault() is { Key: not null } next)
        {
            armed.Remove(next.Key);
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

    public static IEnumerable<SendNotification> Notices(IEnumerable<WorkflowAction> actions) => actions.OfType<SendNotification>();

    public static IReadOnlyList<string> NoticeTypes(IEnumerable<WorkflowAction> actions) => Notices(actions).Select(n => n.Type).ToList();
}
