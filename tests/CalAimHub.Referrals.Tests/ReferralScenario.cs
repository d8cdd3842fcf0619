using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// Given/when/then driver for the referral decider, through <see cref="WorkflowDefinition"/> as the runtime runs it
/// (state stored as JSON between events), with the armed timers kept so time can pass and fire them at their due instants.
/// </summary>
internal sealed class ReferralScenario
{
    public const string ReferralId = "findhelp:ref-1";
    public const string FirstNpi = "1234567893";
    public const string SecondNpi = "1245319599";
    public const string ThirdNpi = "1003000126";

    private readonly WorkflowDefinition definition;
    private readonly SortedDictionary<string, DateTimeOffset> armed = new(StringComparer.Ordinal);
    private JsonElement? stored;
    private int eventNumber;

    public ReferralScenario(DateTimeOffset start, ReferralPolicy? policy = null)
    {
        Time = new FakeTimeProvider(start);
        Workflow = new ReferralWorkflow(policy ?? ReferralPolicy.Default(new HashSet<string>()));
        definition = WorkflowDefinition.From(Workflow);
    }

    public FakeTimeProvider Time { get; }

    public ReferralWorkflow Workflow { get; }

    public bool Completed { get; private set; }

    public IReadOnlyDictionary<string, DateTimeOffset> ArmedTimers => armed;

    public ReferralState State => (ReferralState)definition.ReadState(stored, Workflow.Version);

    public static ProviderDirectoryEntry Provider(string npi, string name, int available = 5, string county = "Alameda", string[]? services = null, string[]? pofs = null) =>
        new(npi, name, services ?? ["ecm"], [county], pofs ?? ["experiencing-homelessness-adults"], new ProviderCapacity(10 - available, 10), "api");

    public static IReadOnlyList<ProviderDirectoryEntry> ThreeProviders =>
    [
        Provider(SecondNpi, "Second CBO", available: 3),
        Provider(FirstNpi, "First CBO", available: 8),
        Provider(ThirdNpi, "Third CBO", available: 1),
    ];

    public ReferralStart Referral(
        IReadOnlyList<ProviderDirectoryEntry>? directory = null, ReferralUrgency urgency = ReferralUrgency.Routine, string service = "ecm", string? preferredNpi = null,
        string? county = "Alameda") =>
        new(ReferralId, "findhelp",
            new ReferralService(service, service == "ecm" ? ["experiencing-homelessness-adults"] : []),
            "91234567A", new ReferringEntity("County Hospital", "1144221847"), preferredNpi, urgency, county, Time.GetUtcNow(),
            directory ?? ThreeProviders);

    public IReadOnlyList<WorkflowAction> Start(ReferralStart start) => When(WorkflowEvent.Started, start);

    public IReadOnlyList<WorkflowAction> Report(ReferralStatus status, string? reason = null, string? npi = null, string source = "webhook") =>
        When(ReferralWorkflowEvents.StatusReported, new StatusReport(status, reason, npi, DateOnly.FromDateTime(Time.GetUtcNow().UtcDateTime), source));

    public IReadOnlyList<WorkflowAction> AuthorizationDecided(DecisionOutcome outcome, string? reason = null, string? id = null) =>
        When(ReferralWorkflowEvents.AuthorizationDecided, new AuthorizationDecidedData(id ?? ReferralWorkflow.AuthorizationInstanceId(ReferralId), outcome, reason));

    public IReadOnlyList<WorkflowAction> When(string name, object? data, string? eventId = null)
    {
        var @event = new WorkflowEvent(eventId ?? $"evt-{++eventNumber}", name, data is null ? null : WorkflowJson.ToElement(data), Time.GetUtcNow());
        var transition = definition.Apply(stored, Workflow.Version, @event, Time.GetUtcNow());
        stored = JsonDocument.Parse(transition.State.GetRawText()).RootElement;
        foreach (var action in transition.Actions)
        {
            switch (action)
            {
                case ScheduleTimer t: armed[t.TimerId] = t.DueAt; break;
                case CancelTimer c: armed.Remove(c.TimerId); break;
                case CompleteWorkflow: armed.Clear(); Completed = true; break;
            }
        }

        return transition.Actions;
    }

    public IReadOnlyList<WorkflowAction> Advance(TimeSpan by) => AdvanceTo(Time.GetUtcNow() + by);

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

            actions.AddRange(When(WorkflowEvent.TimerFired, new TimerFiredData(next.Key, next.Value)));
        }

        if (until > Time.GetUtcNow())
        {
            Time.SetUtcNow(until);
        }

        return actions;
    }

    public static IReadOnlyList<SendNotification> Notices(IEnumerable<WorkflowAction> actions) => [.. actions.OfType<SendNotification>()];

    public static IReadOnlyList<string> NoticeKeys(IEnumerable<WorkflowAction> actions) => [.. Notices(actions).Select(n => n.ActionKey)];
}
