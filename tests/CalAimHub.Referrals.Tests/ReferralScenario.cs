using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Testing;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// Given/when/then driver for the referral decider (<see cref="DeciderScenario{TDecider, TState}"/>) with its vocabulary:
/// a provider directory, a referral start, status reports and the authorization child's decision.
/// </summary>
internal sealed class ReferralScenario(DateTimeOffset start, ReferralPolicy? policy = null)
    : DeciderScenario<ReferralWorkflow, ReferralState>(new ReferralWorkflow(policy ?? ReferralPolicy.Default(new HashSet<string>())), start)
{
    public const string ReferralId = "findhelp:ref-1";
    public const string FirstNpi = "1234567893";
    public const string SecondNpi = "1245319599";
    public const string ThirdNpi = "1003000126";

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
}
