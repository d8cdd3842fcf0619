using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Testing;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// Given/when/then driver for the authorization decider (<see cref="DeciderScenario{TDecider, TState}"/>) with its
/// vocabulary: a request, a start, a staff decision.
/// </summary>
internal sealed class AuthorizationScenario(DateTimeOffset start, AuthorizationPolicy? policy = null)
    : DeciderScenario<AuthorizationWorkflow, AuthorizationState>(new AuthorizationWorkflow(policy ?? AuthorizationPolicy.Default(new HashSet<string> { TrustedNpi })), start)
{
    public const string TrustedNpi = "1234567893";
    public const string OtherNpi = "1245319599";

    public static AuthorizationRequest Request(
        RequestedService? service = null, Urgency urgency = Urgency.Routine, string npi = OtherNpi, string[]? facts = null, string? consent = "ascmi-2026-0001") =>
        new("auth-1", "91234567A", service ?? RequestedService.Ecm("experiencing-homelessness-adults"), npi, "county-hospital", urgency,
            facts ?? ["experiencing-homelessness", "complex-need-unable-to-self-manage"], consent, DateTimeOffset.MinValue);

    public IReadOnlyList<WorkflowAction> Start(AuthorizationRequest request) =>
        When(WorkflowEvent.Started, request with { ReceivedAt = Time.GetUtcNow() });

    public IReadOnlyList<WorkflowAction> Decide(DecisionOutcome outcome, string? reason = null, string? consent = null) =>
        When(AuthorizationEvents.Decision, new DecisionData(outcome, reason, "staff-17", consent));
}
