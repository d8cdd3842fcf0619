using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// A referral carries the facts that make its authorization presumptive (Justice-Involved ECM: DHCS rule), from the
/// generic JSON <c>supportingFacts</c> and from FHIR <c>ServiceRequest.reasonCode</c> (system
/// <c>urn:calaimhub:eligibility-criterion</c>): payload → reader → referral decider → the child authorization request →
/// authorization decider, which authorizes it at once.
/// </summary>
public sealed class ReferralPresumptiveTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 4, 17, 0, 0, TimeSpan.Zero);
    private const string Transitioning = "transitioning-from-incarceration";

    private static string GenericJusticeInvolved(string facts) => $$"""
        {
          "type": "referral.created", "referralId": "R-JI-1", "occurredAt": "2026-05-04T09:30:00-07:00",
          "service": { "code": "ecm", "populationsOfFocus": ["justice-involved"] },
          "member": { "cin": "{{ReferralSamples.Cin}}" },
          "referringEntity": { "name": "County Reentry Office", "npi": "{{ReferralSamples.ReferrerNpi}}" },
          "supportingFacts": {{facts}}
        }
        """;

    private static string FhirJusticeInvolved(string criterion) => ReferralSamples.FhirBundle(population: "justice-involved").Replace(
        """{ "coding": [ { "system": "urn:calaimhub:population-of-focus", "code": "justice-involved" } ] }""",
        $$"""{ "coding": [ { "system": "urn:calaimhub:population-of-focus", "code": "justice-involved" }, { "system": "urn:calaimhub:eligibility-criterion", "code": "{{criterion}}" } ] }""",
        StringComparison.Ordinal);

    /// <summary>What the wiring does with a created event, then the authorization the referral starts, decided.</summary>
    private static AuthorizationState Authorize(ReferralEvent created)
    {
        var referral = new ReferralScenario(Now, ReferralPolicy.Default());
        var start = new ReferralStart(created.ReferralId, created.Platform, created.Service!, created.Member?.Cin, created.ReferringEntity, created.ReceivingProviderNpi,
            created.Urgency, created.Member?.County, created.OccurredAt, ReferralScenario.ThreeProviders, created.SupportingFacts);
        var child = Assert.Single(referral.Start(start).OfType<StartChildWorkflow>());
        Assert.Equal(ReferralPhase.AwaitingAuthorization, referral.State.Phase);

        var authorization = new AuthorizationScenarioDriver(Now);
        authorization.When(WorkflowEvent.Started, child.Input!.Value.Deserialize<AuthorizationRequest>(WorkflowJson.Options));
        return authorization.State;
    }

    [Fact]
    public void A_generic_justice_involved_referral_with_its_fact_starts_a_presumptively_authorized_ecm_authorization()
    {
        using var body = JsonDocument.Parse(GenericJusticeInvolved($"[\"{Transitioning}\"]"));
        var created = GenericReferralEventReader.Read(body.RootElement, "evt-ji", "ciela", Now).Event!;

        var state = Authorize(created);

        Assert.Equal([Transitioning], created.SupportingFacts);
        Assert.Equal(AuthorizationStatus.Authorized, state.Status);
        Assert.Equal("justice-involved-population-of-focus", state.PresumptiveBasis);
        Assert.Equal([Transitioning], state.Request!.SupportingFacts);
    }

    [Fact]
    public void A_fhir_justice_involved_referral_with_its_criterion_reason_code_starts_a_presumptively_authorized_ecm_authorization()
    {
        var created = FhirReferralAdapter.Read(Encoding.UTF8.GetBytes(FhirJusticeInvolved(Transitioning)), "evt-ji", "ehreast", Now).Event!;

        var state = Authorize(created);

        Assert.Equal(["justice-involved"], created.Service!.PopulationsOfFocus);
        Assert.Equal([Transitioning], created.SupportingFacts);
        Assert.Equal(AuthorizationStatus.Authorized, state.Status);
        Assert.Equal("justice-involved-population-of-focus", state.PresumptiveBasis);
    }

    [Fact]
    public void Without_the_fact_the_same_referral_waits_for_plan_review()
    {
        using var body = JsonDocument.Parse(GenericJusticeInvolved("[]"));

        var state = Authorize(GenericReferralEventReader.Read(body.RootElement, "evt-ji", "ciela", Now).Event!);

        Assert.Equal(AuthorizationStatus.InReview, state.Status);
        Assert.Null(state.PresumptiveBasis);
    }

    [Fact]
    public void An_unknown_fact_is_400_naming_its_index_without_echoing_it()
    {
        using var body = JsonDocument.Parse(GenericJusticeInvolved($"[\"{Transitioning}\", \"released-from-folsom-2026-04-30\"]"));

        var error = Assert.Single(GenericReferralEventReader.Read(body.RootElement, "evt-ji", "ciela", Now).Errors);

        Assert.Equal(new ReferralFieldError("supportingFacts[1]",
            "is not a DHCS eligibility criterion code; use a criterion code of the referred Population of Focus or service (e.g. 'transitioning-from-incarceration'), as listed in CalAimHub.Domain.CodeSets"), error);
    }

    [Fact]
    public void Facts_on_a_status_change_are_refused()
    {
        using var body = JsonDocument.Parse($$"""{"type":"referral.status-changed","referralId":"R-JI-1","occurredAt":"2026-05-05T10:00:00Z","status":"Accepted","supportingFacts":["{{Transitioning}}"]}""");

        var error = Assert.Single(GenericReferralEventReader.Read(body.RootElement, "evt-ji-2", "ciela", Now).Errors);

        Assert.Equal(new ReferralFieldError("supportingFacts", "applies to 'referral.created' only: the facts go to the authorization the new referral starts"), error);
    }

    [Fact]
    public void An_unknown_fhir_criterion_is_400_naming_the_coding_without_echoing_it()
    {
        var error = Assert.Single(FhirReferralAdapter.Read(Encoding.UTF8.GetBytes(FhirJusticeInvolved("released-from-folsom")), "evt-ji", "ehreast", Now).Errors);

        Assert.Equal("ServiceRequest.reasonCode[0].coding[1].code", error.Field);
        Assert.DoesNotContain("folsom", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class AuthorizationScenarioDriver(DateTimeOffset start)
        : CalAimHub.Testing.DeciderScenario<AuthorizationWorkflow, AuthorizationState>(new AuthorizationWorkflow(AuthorizationPolicy.Default()), start);
}
