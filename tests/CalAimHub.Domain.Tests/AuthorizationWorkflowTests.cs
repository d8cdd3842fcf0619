using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.CodeSets;
using CalAimHub.Domain.Workflows;
using static CalAimHub.Domain.Tests.AuthorizationScenario;
using static CalAimHub.Testing.DecidedNotices;

namespace CalAimHub.Domain.Tests;

public class AuthorizationWorkflowTests
{
    // Monday 4 May 2026, 10:00 Pacific. Five working days later ends Monday 11 May at midnight.
    private static readonly DateTimeOffset Monday = At("2026-05-04T10:00:00-07:00");
    private static readonly DateTimeOffset RoutineDue = At("2026-05-12T00:00:00-07:00");

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void A_routine_request_is_received_into_review_with_its_decision_clock_and_reminder_armed()
    {
        var s = new AuthorizationScenario(Monday);

        var actions = s.Start(Request());

        Assert.Equal(AuthorizationStatus.InReview, s.State.Status);
        Assert.Equal([AuthorizationWorkflow.Received], NoticeTypes(actions));
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["decision:due"] = RoutineDue, ["decision:reminder"] = RoutineDue.AddDays(-1) }, s.ArmedTimers);
        Assert.Equal(RoutineDue, Assert.Single(actions.OfType<SetNextDeadline>()).Deadline);
        var clock = Assert.Single(s.State.Clocks);
        Assert.Equal(("decision", Monday, RoutineDue), (clock.Id, clock.StartedAt, clock.DueAt));
        Assert.True(s.State.Eligibility!.Shown);
        Assert.Null(s.State.PresumptiveBasis);
    }

    [Fact]
    public void An_undecided_routine_request_reminds_then_breaches_at_the_exact_working_day_deadline_and_keeps_counting()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());

        var reminder = s.AdvanceTo(RoutineDue.AddSeconds(-1));
        Assert.Equal([AuthorizationWorkflow.DeadlineApproaching], NoticeTypes(reminder));
        Assert.False(s.State.Escalated);

        var breach = s.AdvanceTo(RoutineDue.AddDays(2));
        var notice = Assert.Single(Notices(breach));
        Assert.Equal((AuthorizationWorkflow.DeadlineBreached, "deadline-breached:decision"), (notice.Type, notice.ActionKey));
        var clock = s.State.Clock("decision")!;
        Assert.Equal(RoutineDue, clock.BreachedAt);
        Assert.True(clock.Open);
        Assert.True(s.State.Escalated);
        Assert.Equal(AuthorizationStatus.InReview, s.State.Status);
        Assert.Equal(TimeSpan.FromDays(-2), clock.RemainingAt(s.Time.GetUtcNow()));
        Assert.True(Assert.Single(breach.OfType<SetCustomStatus>()).Status!.Value.GetProperty("escalated").GetBoolean());

        // The late decision closes the clock; the breach stays on the record.
        s.Decide(DecisionOutcome.Approve);
        clock = s.State.Clock("decision")!;
        Assert.Equal((RoutineDue, s.Time.GetUtcNow()), (clock.BreachedAt, clock.SatisfiedAt));
    }

    [Fact]
    public void A_decision_after_the_due_time_is_a_breach_even_before_the_due_timer_arrives()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.Time.SetUtcNow(RoutineDue.AddMinutes(5));

        var actions = s.Decide(DecisionOutcome.Approve);

        Assert.Equal([AuthorizationWorkflow.DeadlineBreached, AuthorizationWorkflow.Decided], NoticeTypes(actions));
        Assert.Equal(RoutineDue, s.State.Clock("decision")!.BreachedAt);
    }

    [Fact]
    public void Approval_in_time_authorizes_12_months_opens_the_notice_clock_and_arms_the_reauthorization_reminder()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.Advance(TimeSpan.FromDays(1));

        var actions = s.Decide(DecisionOutcome.Approve);

        var decidedAt = Monday.AddDays(1);
        var ends = At("2027-05-05T00:00:00-07:00");
        Assert.Equal(AuthorizationStatus.Authorized, s.State.Status);
        Assert.Equal(new AuthorizedPeriod(decidedAt, ends, 1), s.State.Period);
        var decided = Assert.Single(Notices(actions));
        Assert.Equal((AuthorizationWorkflow.Decided, "decided:1", "approve"), (decided.Type, decided.ActionKey, decided.Data!.Value.GetProperty("outcome").GetString()));
        Assert.Contains(new CancelTimer("decision:due"), actions);
        Assert.Contains(new CancelTimer("decision:reminder"), actions);
        Assert.Equal(new Dictionary<string, DateTimeOffset>
        {
            ["notices:due"] = At("2026-05-08T00:00:00-07:00"),
            ["notices:reminder"] = At("2026-05-07T12:00:00-07:00"),
            ["period-1:due"] = ends,
            ["period-1:reminder"] = ends.AddDays(-30),
        }, s.ArmedTimers);
        Assert.Null(s.State.Clock("decision")!.BreachedAt);
    }

    [Fact]
    public void Denial_needs_a_reason_and_closes_the_workflow_once_notices_are_sent()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());

        var problem = AuthorizationWorkflow.DecisionProblem(s.State, new DecisionData(DecisionOutcome.Deny, " ", "staff-17"));
        Assert.Equal(new AuthorizationCommandProblem("reason", "is required to deny: state the DHCS criterion not met"), problem);
        Assert.Empty(s.Decide(DecisionOutcome.Deny, reason: null));
        Assert.Equal(AuthorizationStatus.InReview, s.State.Status);

        s.Decide(DecisionOutcome.Deny, "complex need not documented");
        Assert.Equal(AuthorizationStatus.Denied, s.State.Status);
        Assert.False(s.State.Closed);
        Assert.Equal(new AuthorizationCommandProblem(null, "authorization is denied and has no open request to decide"),
            AuthorizationWorkflow.DecisionProblem(s.State, new DecisionData(DecisionOutcome.Approve, null, "staff-17")));

        var done = s.When(AuthorizationEvents.NoticesSent, new NoticesSentData("staff-17"));
        var output = Assert.Single(done.OfType<CompleteWorkflow>()).Output!.Value;
        Assert.Equal("denied", output.GetProperty("status").GetString());
        Assert.Empty(s.ArmedTimers);
    }

    [Fact]
    public void Pending_for_information_never_stops_or_resets_the_decision_clock()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.Advance(TimeSpan.FromDays(2));

        var actions = s.Decide(DecisionOutcome.Pend, "hospital discharge summary");

        Assert.Equal(AuthorizationStatus.PendingInformation, s.State.Status);
        Assert.Equal("hospital discharge summary", s.State.PendReason);
        Assert.DoesNotContain(actions, a => a is ScheduleTimer or CancelTimer);
        Assert.Equal(RoutineDue, s.State.Clock("decision")!.DueAt);
        Assert.Equal([AuthorizationWorkflow.DeadlineApproaching, AuthorizationWorkflow.DeadlineBreached], NoticeTypes(s.AdvanceTo(RoutineDue)));
        Assert.Equal(new AuthorizationCommandProblem("reason", "is required to pend: state the information needed"),
            AuthorizationWorkflow.DecisionProblem(s.State, new DecisionData(DecisionOutcome.Pend, "", "staff-17")));
    }

    [Fact]
    public void The_one_extension_moves_the_deadline_to_14_calendar_days_from_receipt_with_a_notice()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.Advance(TimeSpan.FromDays(3));

        var actions = s.When(AuthorizationEvents.Extension, new ExtensionData("awaiting specialist records", "staff-17"));

        var extendedDue = At("2026-05-19T00:00:00-07:00");
        Assert.Equal([AuthorizationWorkflow.Extended], NoticeTypes(actions));
        Assert.Contains(new ScheduleTimer("decision:due", extendedDue), actions);
        Assert.True(s.State.Clock("decision")!.Extended);

        // The timer armed for the original due time may still arrive: it is stale and changes nothing.
        Assert.Empty(s.FireTimer("decision:due", RoutineDue));
        Assert.Null(s.State.Clock("decision")!.BreachedAt);

        Assert.Equal(new AuthorizationCommandProblem(null, $"the decision clock was already extended once, to {extendedDue:O}; only one extension is allowed"),
            s.Workflow.ExtensionProblem(s.State, new ExtensionData("again", "staff-17"), s.Time.GetUtcNow()));
        Assert.Empty(s.When(AuthorizationEvents.Extension, new ExtensionData("again", "staff-17")));

        Assert.Equal([AuthorizationWorkflow.DeadlineApproaching, AuthorizationWorkflow.DeadlineBreached], NoticeTypes(s.AdvanceTo(extendedDue)));
        Assert.Equal(extendedDue, s.State.Clock("decision")!.BreachedAt);
    }

    [Fact]
    public void An_extension_after_the_deadline_is_refused()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.AdvanceTo(RoutineDue);

        Assert.Equal(new AuthorizationCommandProblem(null, $"the decision deadline {RoutineDue:O} has passed; an extension must be taken before it"),
            s.Workflow.ExtensionProblem(s.State, new ExtensionData("late", "staff-17"), s.Time.GetUtcNow()));
        Assert.Empty(s.When(AuthorizationEvents.Extension, new ExtensionData("late", "staff-17")));
        Assert.Equal(RoutineDue, s.State.Clock("decision")!.DueAt);
    }

    [Fact]
    public void An_expedited_request_cannot_be_extended_and_breaches_72_hours_after_receipt_across_the_weekend()
    {
        var friday = At("2026-05-08T16:00:00-07:00");
        var s = new AuthorizationScenario(friday);
        s.Start(Request(RequestedService.CommunitySupports(CommunitySupports.RecuperativeCare), Urgency.Expedited,
            facts: [CommunitySupports.EligibilityCriterionCode(CommunitySupports.RecuperativeCare)]));

        Assert.Equal(new AuthorizationCommandProblem(null, "an expedited request cannot be extended: it must be decided within 72 hours of receipt"),
            s.Workflow.ExtensionProblem(s.State, new ExtensionData("x", "staff-17"), friday));
        Assert.Equal(At("2026-05-11T04:00:00-07:00"), s.ArmedTimers["decision:reminder"]);
        s.Advance(TimeSpan.FromDays(4));
        Assert.Equal(At("2026-05-11T16:00:00-07:00"), s.State.Clock("decision")!.BreachedAt);
    }

    [Fact]
    public void Justice_involved_ECM_is_authorized_presumptively_on_receipt()
    {
        var s = new AuthorizationScenario(Monday);

        var actions = s.Start(Request(RequestedService.Ecm(PopulationsOfFocus.JusticeInvolved), Urgency.Expedited, facts: ["transitioning-from-incarceration"]));

        Assert.Equal(AuthorizationStatus.Authorized, s.State.Status);
        Assert.Equal("justice-involved-population-of-focus", s.State.PresumptiveBasis);
        Assert.Equal([AuthorizationWorkflow.Received, AuthorizationWorkflow.Decided], NoticeTypes(actions));
        var decision = Assert.Single(s.State.Decisions);
        Assert.Equal(("presumptive", Monday), (decision.DecidedBy, decision.DecidedAt));
        Assert.Equal(Monday, s.State.Clock("decision")!.SatisfiedAt);
        Assert.False(s.ArmedTimers.ContainsKey("decision:due"));
    }

    [Fact]
    public void A_trusted_provider_gets_presumptive_authorization_only_when_eligibility_is_shown()
    {
        var trusted = new AuthorizationScenario(Monday);
        trusted.Start(Request(npi: TrustedNpi));
        Assert.Equal(("trusted-provider", AuthorizationStatus.Authorized), (trusted.State.PresumptiveBasis, trusted.State.Status));

        var incomplete = new AuthorizationScenario(Monday);
        incomplete.Start(Request(npi: TrustedNpi, facts: ["experiencing-homelessness"]));
        Assert.Equal(AuthorizationStatus.InReview, incomplete.State.Status);
        Assert.Equal(["complex-need-unable-to-self-manage"], incomplete.State.Eligibility!.MissingCriteria);

        var untrusted = new AuthorizationScenario(Monday);
        untrusted.Start(Request(npi: OtherNpi));
        Assert.Equal(AuthorizationStatus.InReview, untrusted.State.Status);
    }

    [Fact]
    public void Part_2_information_without_consent_pends_and_approval_needs_the_consent()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request(RequestedService.Ecm(PopulationsOfFocus.JusticeInvolved), facts: ["transitioning-from-incarceration", AuthorizationRequest.Part2Information], consent: null));

        Assert.Equal(AuthorizationStatus.PendingInformation, s.State.Status);
        Assert.StartsWith("consent-required", s.State.PendReason, StringComparison.Ordinal);
        Assert.Equal(new AuthorizationCommandProblem("consentReference", "is required to approve: the request shares 42 CFR Part 2 information and no consent is on file"),
            AuthorizationWorkflow.DecisionProblem(s.State, new DecisionData(DecisionOutcome.Approve, null, "staff-17")));

        s.Decide(DecisionOutcome.Approve, consent: "ascmi-2026-0042");
        Assert.Equal(AuthorizationStatus.Authorized, s.State.Status);
        Assert.Equal("ascmi-2026-0042", s.State.Request!.ConsentReference);
    }

    [Fact]
    public void Reauthorizations_chain_6_month_periods_from_the_end_of_the_period_in_force()
    {
        var s = new AuthorizationScenario(At("2026-03-10T10:00:00-07:00"));
        s.Start(Request(npi: TrustedNpi));
        var firstEnd = At("2027-03-10T00:00:00-08:00");
        Assert.Equal(firstEnd, s.State.Period!.EndsAt);
        s.When(AuthorizationEvents.NoticesSent, new NoticesSentData("staff-17"));

        Assert.Equal([AuthorizationWorkflow.Expiring], NoticeTypes(s.AdvanceTo(firstEnd.AddDays(-30))));

        s.When(AuthorizationEvents.ReauthorizationRequested, new ReauthorizationRequestData("provider-portal"));
        Assert.Equal(ReviewStatus.InReview, s.State.Reauthorization);
        Assert.NotNull(s.State.Clock("reauthorization-1-decision"));
        Assert.Equal(new AuthorizationCommandProblem(null, "a reauthorization request is already in review"), AuthorizationWorkflow.ReauthorizationProblem(s.State));
        s.Advance(TimeSpan.FromDays(2));
        s.Decide(DecisionOutcome.Approve);
        var secondEnd = At("2027-09-10T00:00:00-07:00");
        Assert.Equal(new AuthorizedPeriod(firstEnd, secondEnd, 2), s.State.Period);
        Assert.False(s.ArmedTimers.ContainsKey("period-1:due"));

        s.AdvanceTo(secondEnd.AddDays(-20));
        s.When(AuthorizationEvents.ReauthorizationRequested, new ReauthorizationRequestData("provider-portal"));
        s.Decide(DecisionOutcome.Approve);
        Assert.Equal(new AuthorizedPeriod(secondEnd, At("2028-03-10T00:00:00-08:00"), 3), s.State.Period);
        Assert.Equal(AuthorizationStatus.Authorized, s.State.Status);
        Assert.Equal(2, s.State.Reauthorizations);
        Assert.Equal(["initial", "reauthorization-1", "reauthorization-2"], s.State.Decisions.Select(d => d.Review));
    }

    [Fact]
    public void Expiry_without_reauthorization_closes_the_authorization()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request(RequestedService.CommunitySupports("transitional-rent"), npi: TrustedNpi, facts: [CommunitySupports.EligibilityCriterionCode("transitional-rent")]));
        s.When(AuthorizationEvents.NoticesSent, new NoticesSentData("staff-17"));
        var end = At("2026-11-04T00:00:00-08:00");
        Assert.Equal(end, s.State.Period!.EndsAt);

        var actions = s.AdvanceTo(end);

        Assert.Equal(AuthorizationStatus.Expired, s.State.Status);
        Assert.Equal([AuthorizationWorkflow.Expiring], NoticeTypes(actions));
        Assert.Equal("expired", Assert.Single(actions.OfType<CompleteWorkflow>()).Output!.Value.GetProperty("status").GetString());
        Assert.Empty(s.When(AuthorizationEvents.ReauthorizationRequested, new ReauthorizationRequestData("provider-portal")));
    }

    [Fact]
    public void A_denied_reauthorization_leaves_the_period_in_force_until_it_expires()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request(npi: TrustedNpi));
        var end = s.State.Period!.EndsAt;
        s.AdvanceTo(end.AddDays(-40));
        s.When(AuthorizationEvents.ReauthorizationRequested, new ReauthorizationRequestData("provider-portal"));

        s.Decide(DecisionOutcome.Deny, "no longer meets the Population of Focus");

        Assert.Equal((AuthorizationStatus.Authorized, ReviewStatus.Denied), (s.State.Status, s.State.Reauthorization));
        Assert.Equal("reauthorization-1", s.State.Decisions[^1].Review);
        Assert.True(s.State.Clock("reauthorization-1-notices")!.Open);
        s.AdvanceTo(end);
        Assert.Equal(AuthorizationStatus.Expired, s.State.Status);
        Assert.Equal(end, s.State.Clock("period-1")!.SatisfiedAt);
    }

    [Fact]
    public void Late_decision_notices_breach_their_own_clock()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.Decide(DecisionOutcome.Approve);

        var actions = s.AdvanceTo(At("2026-05-07T00:00:00-07:00"));

        Assert.Equal(["deadline-approaching:notices", "deadline-breached:notices"], Notices(actions).Select(n => n.ActionKey));
        Assert.Equal(At("2026-05-07T00:00:00-07:00"), s.State.Clock("notices")!.BreachedAt);
        Assert.Equal(new AuthorizationCommandProblem(null, "no decision notices are due"), AuthorizationWorkflow.NoticesProblem(new AuthorizationScenario(Monday).State));
    }

    [Fact]
    public void Duplicate_timers_unknown_events_and_events_before_start_change_nothing()
    {
        var s = new AuthorizationScenario(Monday);
        Assert.Empty(s.Decide(DecisionOutcome.Approve));
        Assert.Equal(AuthorizationStatus.New, s.State.Status);
        s.Start(Request());
        Assert.Empty(s.Start(Request()));
        Assert.Empty(s.When("no-such-event", new { x = 1 }));

        s.AdvanceTo(RoutineDue);
        Assert.Empty(s.FireTimer("decision:due", RoutineDue));
        Assert.Empty(s.FireTimer("decision:reminder", RoutineDue.AddDays(-1)));
        Assert.Single(s.AllActions.OfType<SendNotification>(), n => n.Type == AuthorizationWorkflow.DeadlineBreached);
    }

    [Fact]
    public void Notices_carry_the_authorization_id_and_status_and_nothing_about_the_member()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        s.AdvanceTo(RoutineDue);
        s.Decide(DecisionOutcome.Approve);

        foreach (var notice in Notices(s.AllActions))
        {
            Assert.Equal(("auth-1", "auth-1"), (notice.Subject, notice.Data!.Value.GetProperty("authorizationId").GetString()));
            var json = notice.Data!.Value.GetRawText();
            Assert.DoesNotContain("91234567A", json, StringComparison.Ordinal);
            Assert.DoesNotContain("county-hospital", json, StringComparison.Ordinal);
            Assert.All(notice.Data!.Value.EnumerateObject(), p => Assert.Contains(p.Name, new[] { "authorizationId", "status", "reauthorization", "clock", "dueAt", "outcome", "escalated" }));
        }

        Assert.All(s.AllActions.OfType<SetCustomStatus>(), c => Assert.DoesNotContain("91234567A", c.Status!.Value.GetRawText(), StringComparison.Ordinal));
    }

    [Fact]
    public void The_housing_trio_is_one_joint_request_needing_every_service_criterion()
    {
        var trio = RequestedService.CommunitySupports([.. CommunitySupports.HousingTrio]);
        Assert.True(CommunitySupports.IsJointRequest(trio.Services));
        Assert.Equal(CommunitySupports.HousingTrio, trio.ServiceKeys);

        var s = new AuthorizationScenario(Monday);
        s.Start(Request(trio, npi: TrustedNpi, facts: [.. CommunitySupports.HousingTrio.Take(2).Select(CommunitySupports.EligibilityCriterionCode)]));
        Assert.Equal(AuthorizationStatus.InReview, s.State.Status);
        Assert.Equal(["housing-tenancy-sustaining.meets-dhcs-criteria"], s.State.Eligibility!.MissingCriteria);
    }

    [Fact]
    public void State_is_stored_as_camel_case_json_with_readable_statuses()
    {
        var s = new AuthorizationScenario(Monday);
        s.Start(Request());
        var json = JsonSerializer.Serialize(s.State, WorkflowJson.Options);
        Assert.Contains("\"status\":\"in-review\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"decision\"", json, StringComparison.Ordinal);
        Assert.Contains("\"program\":\"ecm\"", json, StringComparison.Ordinal);
    }
}
