using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using static CalAimHub.Referrals.Tests.ReferralScenario;
using static CalAimHub.Testing.DecidedNotices;

namespace CalAimHub.Referrals.Tests;

/// <summary>Given/when/then tests of the <c>referral</c> decider: every transition and every deadline.</summary>
public sealed class ReferralWorkflowTests
{
    // Monday 4 May 2026, 10:00 Pacific: two working days later ends Wednesday 6 May, i.e. Thursday 7 May 00:00 Pacific.
    private static readonly DateTimeOffset Monday = DateTimeOffset.Parse("2026-05-04T10:00:00-07:00");
    private static readonly DateTimeOffset MondayDue = DateTimeOffset.Parse("2026-05-07T00:00:00-07:00");

    [Fact]
    public void Created_referral_is_routed_to_the_best_candidate_with_a_two_working_day_acknowledgement_deadline()
    {
        var s = new ReferralScenario(Monday);

        var actions = s.Start(s.Referral());

        Assert.Equal(ReferralPhase.AwaitingAcknowledgement, s.State.Phase);
        Assert.Equal(ReferralStatus.Pending, s.State.Status);
        Assert.Equal([FirstNpi, SecondNpi, ThirdNpi], s.State.Candidates.Select(c => c.Npi));
        var attempt = Assert.Single(s.State.Attempts);
        Assert.Equal((1, FirstNpi, Monday, MondayDue), (attempt.Number, attempt.Npi, attempt.OfferedAt, attempt.DueAt));
        Assert.Contains(new ScheduleTimer("ack:1", MondayDue), actions);
        Assert.Equal(MondayDue, Assert.Single(actions.OfType<SetNextDeadline>()).Deadline);
        Assert.Empty(Notices(actions));
        Assert.Empty(actions.OfType<StartChildWorkflow>());
    }

    [Fact]
    public void Discharge_referral_must_be_acknowledged_within_24_hours()
    {
        var s = new ReferralScenario(Monday);

        var actions = s.Start(s.Referral(urgency: ReferralUrgency.Discharge));

        Assert.Contains(new ScheduleTimer("ack:1", Monday.AddHours(24)), actions);
    }

    [Fact]
    public void Acknowledgement_deadline_skips_weekends_and_california_holidays()
    {
        // Wednesday 25 Nov 2026: Thanksgiving and the day after are state holidays, then a weekend: due end of Tuesday 1 Dec.
        var s = new ReferralScenario(DateTimeOffset.Parse("2026-11-25T10:00:00-08:00"));

        s.Start(s.Referral());

        Assert.Equal(DateTimeOffset.Parse("2026-12-02T00:00:00-08:00"), s.State.Attempts[0].DueAt);
    }

    [Fact]
    public void Acknowledgement_deadline_is_configurable()
    {
        var s = new ReferralScenario(Monday, ReferralPolicy.Default(new HashSet<string>()) with { AcknowledgementBusinessDays = 1 });

        s.Start(s.Referral());

        Assert.Equal(DateTimeOffset.Parse("2026-05-06T00:00:00-07:00"), s.State.Attempts[0].DueAt);
    }

    [Fact]
    public void Accepted_cancels_the_clock_and_notifies_referrer_and_member_of_the_assignment()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        s.Time.Advance(TimeSpan.FromHours(3));

        var actions = s.Report(ReferralStatus.Accepted, npi: FirstNpi);

        Assert.Equal((ReferralPhase.Accepted, ReferralStatus.Accepted), (s.State.Phase, s.State.Status));
        Assert.Contains(new CancelTimer("ack:1"), actions);
        Assert.Null(Assert.Single(actions.OfType<SetNextDeadline>()).Deadline);
        Assert.Equal(["assigned:referrer", "assigned:member"], NoticeKeys(actions));
        var referrer = Notices(actions)[0];
        Assert.Equal((ReferralWorkflow.Assigned, "findhelp", ReferralId), (referrer.Type, referrer.Subscriber, referrer.Subject));
        Assert.Equal(FirstNpi, referrer.Data!.Value.GetProperty("providerNpi").GetString());
        Assert.Equal("First CBO", referrer.Data!.Value.GetProperty("providerName").GetString());
        Assert.Equal("members", Notices(actions)[1].Subscriber);
        Assert.Empty(s.ArmedTimers);
    }

    [Fact]
    public void Declined_with_reason_reroutes_to_the_next_provider_with_a_new_clock()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        s.Time.Advance(TimeSpan.FromHours(1));

        var actions = s.Report(ReferralStatus.Declined, "no capacity for new members", FirstNpi);

        var attempts = s.State.Attempts;
        Assert.Equal((AttemptOutcome.Declined, "no capacity for new members"), (attempts[0].Outcome, attempts[0].Reason));
        Assert.Equal((2, SecondNpi, Monday.AddHours(1)), (attempts[1].Number, attempts[1].Npi, attempts[1].OfferedAt));
        Assert.Equal((ReferralPhase.AwaitingAcknowledgement, ReferralStatus.Pending), (s.State.Phase, s.State.Status));
        Assert.Contains(new CancelTimer("ack:1"), actions);
        Assert.Contains(new ScheduleTimer("ack:2", MondayDue), actions);
        Assert.Equal(["declined:1:referrer", "declined:1:member"], NoticeKeys(actions));
        var data = Notices(actions)[0].Data!.Value;
        Assert.Equal("no capacity for new members", data.GetProperty("reason").GetString());
        Assert.True(data.GetProperty("rerouted").GetBoolean());
        Assert.Equal([ReferralStatus.Pending, ReferralStatus.Declined, ReferralStatus.Pending], s.State.History.Select(h => h.Status));
    }

    [Fact]
    public void Decline_without_a_reason_is_ignored()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        Assert.Empty(s.Report(ReferralStatus.Declined, "  "));
        Assert.Single(s.State.Attempts);
    }

    [Fact]
    public void No_answer_by_the_deadline_reroutes_at_the_due_instant()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        Assert.Empty(s.AdvanceTo(MondayDue.AddTicks(-1)));
        var actions = s.AdvanceTo(MondayDue);

        Assert.Equal(AttemptOutcome.TimedOut, s.State.Attempts[0].Outcome);
        Assert.Equal(MondayDue, s.State.Attempts[0].AnsweredAt);
        var second = s.State.Attempts[1];
        // Offered Thursday 00:00: the day of the offer never counts; Friday and Monday do; due Tuesday 00:00.
        Assert.Equal((SecondNpi, MondayDue, DateTimeOffset.Parse("2026-05-12T00:00:00-07:00")), (second.Npi, second.OfferedAt, second.DueAt));
        Assert.Contains(new ScheduleTimer("ack:2", second.DueAt), actions);
        Assert.DoesNotContain(actions, a => a is CancelTimer);
        Assert.Equal(["no-response:1:referrer"], NoticeKeys(actions));
    }

    [Fact]
    public void No_answer_by_the_deadline_tells_the_referrer_who_timed_out_and_that_the_referral_moved_on()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        var notice = Assert.Single(Notices(s.AdvanceTo(MondayDue)));

        Assert.Equal((ReferralWorkflow.NoResponse, "findhelp", ReferralId), (notice.Type, notice.Subscriber, notice.Subject));
        var data = notice.Data!.Value;
        Assert.Equal((FirstNpi, "First CBO"), (data.GetProperty("providerNpi").GetString(), data.GetProperty("providerName").GetString()));
        Assert.Equal("no answer by 2026-05-07T00:00:00-07:00", data.GetProperty("reason").GetString());
        Assert.Equal("Pending", data.GetProperty("status").GetString());
        Assert.True(data.GetProperty("rerouted").GetBoolean());
        Assert.False(data.TryGetProperty("escalated", out _));
    }

    [Fact]
    public void Each_timed_out_offer_gets_its_own_notice_once_even_when_its_timer_is_delivered_again()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        var first = s.AdvanceTo(MondayDue);

        Assert.Empty(s.When(WorkflowEvent.TimerFired, new TimerFiredData("ack:1", MondayDue)));
        var second = s.AdvanceTo(s.State.Attempts[1].DueAt);

        Assert.Equal(["no-response:1:referrer"], NoticeKeys(first));
        Assert.Equal(["no-response:2:referrer"], NoticeKeys(second));
        Assert.Equal("no answer by 2026-05-12T00:00:00-07:00", Notices(second)[0].Data!.Value.GetProperty("reason").GetString());
    }

    [Fact]
    public void A_deadline_in_winter_is_stated_in_pacific_standard_time()
    {
        var s = new ReferralScenario(DateTimeOffset.Parse("2026-12-07T10:00:00-08:00"));
        s.Start(s.Referral(urgency: ReferralUrgency.Discharge));

        var notice = Assert.Single(Notices(s.AdvanceTo(DateTimeOffset.Parse("2026-12-08T10:00:00-08:00"))));

        Assert.Equal("no answer by 2026-12-08T10:00:00-08:00", notice.Data!.Value.GetProperty("reason").GetString());
    }

    [Fact]
    public void End_of_the_list_escalates_to_plan_staff()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        s.Report(ReferralStatus.Declined, "not accepting", FirstNpi);
        s.Report(ReferralStatus.Declined, "outside service area", SecondNpi);

        var actions = s.AdvanceTo(s.State.Attempts[2].DueAt);

        Assert.Equal(ReferralPhase.Escalated, s.State.Phase);
        Assert.Equal(s.State.Attempts[2].DueAt, s.State.EscalatedAt);
        Assert.Equal(["no-response:3:referrer", "escalated"], NoticeKeys(actions));
        var noResponse = Notices(actions)[0].Data!.Value;
        Assert.Equal((ThirdNpi, false, true), (noResponse.GetProperty("providerNpi").GetString(), noResponse.GetProperty("rerouted").GetBoolean(), noResponse.GetProperty("escalated").GetBoolean()));
        var escalation = Notices(actions)[1];
        Assert.Equal((ReferralWorkflow.Escalated, "plan-staff"), (escalation.Type, escalation.Subscriber));
        Assert.Null(Assert.Single(actions.OfType<SetNextDeadline>()).Deadline);
        Assert.Empty(s.ArmedTimers);
        Assert.DoesNotContain(actions, a => a is CompleteWorkflow);
    }

    [Fact]
    public void Decline_by_the_last_provider_escalates_with_the_decline_notice_saying_not_rerouted()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral(directory: [Provider(FirstNpi, "Only CBO")]));

        var actions = s.Report(ReferralStatus.Declined, "not accepting");

        Assert.Equal(["declined:1:referrer", "declined:1:member", "escalated"], NoticeKeys(actions));
        Assert.False(Notices(actions)[0].Data!.Value.GetProperty("rerouted").GetBoolean());
        Assert.True(Notices(actions)[0].Data!.Value.GetProperty("escalated").GetBoolean());
    }

    [Fact]
    public void After_escalation_a_provider_found_by_staff_can_accept()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral(directory: []));
        Assert.Equal(ReferralPhase.Escalated, s.State.Phase);

        var actions = s.Report(ReferralStatus.Accepted, npi: ThirdNpi);

        Assert.Equal((ReferralPhase.Accepted, ThirdNpi), (s.State.Phase, s.State.CurrentAttempt!.Npi));
        Assert.Equal(["assigned:referrer", "assigned:member"], NoticeKeys(actions));
    }

    [Fact]
    public void No_candidates_escalates_at_creation()
    {
        var s = new ReferralScenario(Monday);

        var actions = s.Start(s.Referral(directory: [Provider(FirstNpi, "Full CBO", available: 0)]));

        Assert.Equal(ReferralPhase.Escalated, s.State.Phase);
        Assert.Equal(["escalated"], NoticeKeys(actions));
        Assert.Empty(s.ArmedTimers);
    }

    [Fact]
    public void Stale_and_superseded_timers_are_ignored()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        Assert.Empty(s.When(WorkflowEvent.TimerFired, new TimerFiredData("ack:1", MondayDue.AddHours(-1))));
        Assert.Empty(s.When(WorkflowEvent.TimerFired, new TimerFiredData("ack:7", MondayDue)));
        s.Report(ReferralStatus.Accepted);
        Assert.Empty(s.When(WorkflowEvent.TimerFired, new TimerFiredData("ack:1", MondayDue)));
        Assert.Equal(ReferralPhase.Accepted, s.State.Phase);
    }

    [Fact]
    public void An_answer_from_a_provider_no_longer_offered_the_referral_is_ignored()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        s.AdvanceTo(MondayDue);

        Assert.Empty(s.Report(ReferralStatus.Accepted, npi: FirstNpi));
        Assert.Equal(ReferralPhase.AwaitingAcknowledgement, s.State.Phase);
        Assert.NotEmpty(s.Report(ReferralStatus.Accepted, npi: SecondNpi));
    }

    [Fact]
    public void Outreach_then_services_received_closes_the_loop_with_notices_and_completion()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        s.Report(ReferralStatus.Accepted);

        var outreach = s.Report(ReferralStatus.OutreachInitiated, source: "rtf");
        Assert.Equal((ReferralPhase.OutreachInitiated, ReferralStatus.OutreachInitiated), (s.State.Phase, s.State.Status));
        Assert.Empty(Notices(outreach));

        var actions = s.Report(ReferralStatus.ReferralLoopClosed, ReferralStatuses.ServicesReceived);

        Assert.Equal((ReferralPhase.Closed, ReferralStatus.ReferralLoopClosed, "Services Received"), (s.State.Phase, s.State.Status, s.State.ClosureReason));
        Assert.Equal(["closed:referrer", "closed:member"], NoticeKeys(actions));
        Assert.Equal("Services Received", Notices(actions)[0].Data!.Value.GetProperty("closureReason").GetString());
        Assert.Equal("Referral Loop Closed", Notices(actions)[0].Data!.Value.GetProperty("status").GetString());
        Assert.Single(actions.OfType<CompleteWorkflow>());
        Assert.True(s.Completed);
        Assert.Equal(
            [ReferralStatus.Pending, ReferralStatus.Accepted, ReferralStatus.OutreachInitiated, ReferralStatus.ReferralLoopClosed],
            s.State.History.Select(h => h.Status));
    }

    [Fact]
    public void Closure_while_awaiting_an_answer_withdraws_the_offer_and_cancels_its_clock()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        var actions = s.Report(ReferralStatus.ReferralLoopClosed, "Member declined services");

        Assert.Equal(AttemptOutcome.Withdrawn, s.State.Attempts[0].Outcome);
        Assert.Contains(new CancelTimer("ack:1"), actions);
        Assert.Equal(["closed:referrer", "closed:member"], NoticeKeys(actions));
        Assert.Single(actions.OfType<CompleteWorkflow>());
    }

    [Fact]
    public void Closure_needs_a_reason()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        Assert.Empty(s.Report(ReferralStatus.ReferralLoopClosed));
        Assert.False(s.State.Closed);
    }

    [Theory]
    [InlineData(ReferralStatus.OutreachInitiated)]
    [InlineData(ReferralStatus.Pending)]
    public void Statuses_without_a_legal_transition_change_nothing(ReferralStatus status)
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        var before = JsonSerializer.Serialize(s.State, WorkflowJson.Options);

        Assert.Empty(s.Report(status));
        Assert.Equal(before, JsonSerializer.Serialize(s.State, WorkflowJson.Options));
    }

    [Fact]
    public void A_closed_referral_takes_nothing_more()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());
        s.Report(ReferralStatus.ReferralLoopClosed, "Member declined services");

        Assert.Empty(s.Report(ReferralStatus.Accepted));
        Assert.Empty(s.When(WorkflowEvent.TimerFired, new TimerFiredData("ack:1", MondayDue)));
    }

    [Fact]
    public void Unknown_events_are_ignored()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral());

        Assert.Empty(s.When("something-else", new { x = 1 }));
        Assert.Empty(s.When(ReferralWorkflowEvents.StatusReported, new { status = 12 }));
    }

    [Fact]
    public void Sobering_center_referrals_are_recorded_and_completed_at_once()
    {
        var s = new ReferralScenario(Monday, ReferralPolicy.Default());

        var actions = s.Start(s.Referral(service: "sobering-centers"));

        Assert.True(s.State.ExemptFromTracking);
        Assert.Equal((ReferralPhase.Closed, ReferralWorkflow.ExemptClosureReason), (s.State.Phase, s.State.ClosureReason));
        Assert.Single(actions.OfType<CompleteWorkflow>());
        Assert.Empty(Notices(actions));
        Assert.Empty(actions.OfType<ScheduleTimer>());
        Assert.Empty(actions.OfType<StartChildWorkflow>());
    }

    [Fact]
    public void A_service_needing_authorization_starts_an_authorization_child_and_waits_for_its_decision()
    {
        var s = new ReferralScenario(Monday, ReferralPolicy.Default());

        var actions = s.Start(s.Referral());

        var child = Assert.Single(actions.OfType<StartChildWorkflow>());
        Assert.Equal((ReferralWorkflow.AuthorizationInstanceId(ReferralId), AuthorizationWorkflow.TypeName), (child.InstanceId, child.Type));
        Assert.DoesNotContain("91234567A", child.InstanceId);
        var request = child.Input!.Value.Deserialize<AuthorizationRequest>(WorkflowJson.Options)!;
        Assert.Equal((ReferralId, "91234567A", ServiceProgram.Ecm, Monday), (request.ParentInstanceId, request.MemberCin, request.Service.Program, request.ReceivedAt));
        Assert.Equal(ReferralPhase.AwaitingAuthorization, s.State.Phase);
        Assert.Empty(s.State.Attempts);
        Assert.Empty(actions.OfType<ScheduleTimer>());

        // Status updates begin after the authorization decision.
        Assert.Empty(s.Report(ReferralStatus.Accepted));
        Assert.Empty(s.AuthorizationDecided(DecisionOutcome.Approve, id: "someone-else"));
        Assert.NotEmpty(s.AuthorizationDecided(DecisionOutcome.Pend, "records needed"));
        Assert.Equal(ReferralPhase.AwaitingAuthorization, s.State.Phase);
    }

    [Fact]
    public void Authorization_approved_notifies_and_routes()
    {
        var s = new ReferralScenario(Monday, ReferralPolicy.Default());
        s.Start(s.Referral());
        s.Time.Advance(TimeSpan.FromDays(1));

        var actions = s.AuthorizationDecided(DecisionOutcome.Approve);

        Assert.Equal(["authorization:referrer", "authorization:member"], NoticeKeys(actions));
        Assert.Equal("approve", Notices(actions)[0].Data!.Value.GetProperty("authorizationOutcome").GetString());
        Assert.Contains(new ScheduleTimer("ack:1", DateTimeOffset.Parse("2026-05-08T00:00:00-07:00")), actions);
        Assert.Equal(ReferralPhase.AwaitingAcknowledgement, s.State.Phase);
        Assert.Empty(s.AuthorizationDecided(DecisionOutcome.Approve));
    }

    [Fact]
    public void Authorization_denied_closes_the_loop_saying_why()
    {
        var s = new ReferralScenario(Monday, ReferralPolicy.Default());
        s.Start(s.Referral());

        var actions = s.AuthorizationDecided(DecisionOutcome.Deny, "criteria not met");

        Assert.Equal(["authorization:referrer", "authorization:member", "closed:referrer", "closed:member"], NoticeKeys(actions));
        Assert.Equal("Not authorized: criteria not met", s.State.ClosureReason);
        Assert.Equal("criteria not met", Notices(actions)[0].Data!.Value.GetProperty("reason").GetString());
        Assert.Single(actions.OfType<CompleteWorkflow>());
    }

    [Fact]
    public void Authorization_workflow_tells_its_parent_of_each_decision()
    {
        var workflow = new AuthorizationWorkflow(AuthorizationPolicy.Default());
        var definition = WorkflowDefinition.From(workflow);
        var request = new AuthorizationRequest("auth-9", "91234567A", RequestedService.Ecm("experiencing-homelessness-adults"), "1144221847", "County Hospital",
            Urgency.Routine, [], null, Monday, ParentInstanceId: ReferralId);
        var started = definition.Apply(null, 1, new WorkflowEvent("start", WorkflowEvent.Started, WorkflowJson.ToElement(request), Monday), Monday);
        Assert.Empty(started.Actions.OfType<RaiseWorkflowEvent>());

        var decided = definition.Apply(started.State, 1,
            new WorkflowEvent("d1", AuthorizationEvents.Decision, WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "staff-1")), Monday), Monday);

        var raise = Assert.Single(decided.Actions.OfType<RaiseWorkflowEvent>());
        Assert.Equal((ReferralId, ReferralWorkflowEvents.AuthorizationDecided, "parent-decided:1"), (raise.InstanceId, raise.EventName, raise.ActionKey));
        var data = raise.Data!.Value.Deserialize<AuthorizationDecidedData>(WorkflowJson.Options)!;
        Assert.Equal(("auth-9", DecisionOutcome.Approve), (data.AuthorizationId, data.Outcome));
    }

    [Fact]
    public void Notices_and_status_carry_no_member_data()
    {
        var s = new ReferralScenario(Monday, ReferralPolicy.Default());
        var all = new List<WorkflowAction>();
        all.AddRange(s.Start(s.Referral()));
        all.AddRange(s.AuthorizationDecided(DecisionOutcome.Approve));
        all.AddRange(s.Report(ReferralStatus.Declined, "full"));
        all.AddRange(s.Report(ReferralStatus.Accepted));
        all.AddRange(s.Report(ReferralStatus.ReferralLoopClosed, ReferralStatuses.ServicesReceived));

        foreach (var action in all.Where(a => a is SendNotification or SetCustomStatus or CompleteWorkflow))
        {
            Assert.DoesNotContain("91234567A", JsonSerializer.Serialize(action, WorkflowJson.Options));
            Assert.DoesNotContain("Alameda", JsonSerializer.Serialize(action, WorkflowJson.Options)); // the member's county
        }

        Assert.Equal(8, Notices(all).Count);
        Assert.Equal(Notices(all).Count, Notices(all).Select(n => n.ActionKey).Distinct().Count());
    }

    [Fact]
    public void The_members_county_decides_which_provider_is_offered()
    {
        IReadOnlyList<ProviderDirectoryEntry> directory =
        [
            Provider(FirstNpi, "Alameda CBO", available: 8, county: "Alameda"),
            Provider(SecondNpi, "Fresno CBO", available: 2, county: "Fresno"),
        ];
        var s = new ReferralScenario(Monday);

        s.Start(s.Referral(directory: directory, county: "Fresno"));

        Assert.Equal([SecondNpi], s.State.Candidates.Select(c => c.Npi));
        Assert.Equal(SecondNpi, Assert.Single(s.State.Attempts).Npi);
    }

    [Fact]
    public void A_provider_the_platform_chose_is_offered_first_even_outside_the_directory()
    {
        var s = new ReferralScenario(Monday);

        s.Start(s.Referral(preferredNpi: "1669482372"));

        Assert.Equal(["1669482372", FirstNpi, SecondNpi, ThirdNpi], s.State.Candidates.Select(c => c.Npi));
        Assert.Equal("1669482372", s.State.Attempts[0].Npi);
        Assert.Null(s.State.Attempts[0].Name); // not listed: no name, and never the NPI in its place
    }

    [Fact]
    public void A_provider_the_platform_chose_that_the_directory_lists_without_capacity_is_offered_under_its_directory_name()
    {
        var s = new ReferralScenario(Monday);

        s.Start(s.Referral(directory: [.. ThreeProviders, Provider("1669482372", "Full House ECM", available: 0)], preferredNpi: "1669482372"));
        var actions = s.Report(ReferralStatus.Accepted, npi: "1669482372");

        Assert.Equal(("1669482372", "Full House ECM"), (s.State.Attempts[0].Npi, s.State.Attempts[0].Name));
        var data = Notices(actions)[0].Data!.Value;
        Assert.Equal(("1669482372", "Full House ECM"), (data.GetProperty("providerNpi").GetString(), data.GetProperty("providerName").GetString()));
    }

    [Fact]
    public void A_provider_found_by_staff_after_escalation_is_named_from_the_directory_in_the_assigned_notice()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral(directory: []));

        var named = s.When(ReferralWorkflowEvents.StatusReported, new StatusReport(ReferralStatus.Accepted, null, ThirdNpi, new DateOnly(2026, 5, 4), "webhook", "Third CBO"));

        Assert.Equal("Third CBO", s.State.CurrentAttempt!.Name);
        Assert.All(Notices(named), n => Assert.Equal(("1003000126", "Third CBO"), (n.Data!.Value.GetProperty("providerNpi").GetString(), n.Data!.Value.GetProperty("providerName").GetString())));
    }

    [Fact]
    public void A_provider_the_directory_does_not_list_is_never_named_by_its_npi()
    {
        var s = new ReferralScenario(Monday);
        s.Start(s.Referral(directory: []));

        var actions = s.Report(ReferralStatus.Accepted, npi: ThirdNpi);

        Assert.Null(s.State.CurrentAttempt!.Name);
        Assert.All(Notices(actions), n =>
        {
            Assert.Equal(ThirdNpi, n.Data!.Value.GetProperty("providerNpi").GetString());
            Assert.False(n.Data!.Value.TryGetProperty("providerName", out _));
        });
    }

    [Fact]
    public void Status_event_id_is_the_same_from_webhook_and_file_and_differs_by_status_or_date()
    {
        var day = new DateOnly(2026, 5, 6);
        var id = ReferralWorkflowEvents.StatusEventId(ReferralId, ReferralStatus.Accepted, day);

        Assert.Equal(id, ReferralWorkflowEvents.StatusEventId(ReferralId, ReferralStatus.Accepted, day));
        Assert.NotEqual(id, ReferralWorkflowEvents.StatusEventId(ReferralId, ReferralStatus.Declined, day));
        Assert.NotEqual(id, ReferralWorkflowEvents.StatusEventId(ReferralId, ReferralStatus.Accepted, day.AddDays(1)));
        Assert.NotEqual(id, ReferralWorkflowEvents.StatusEventId("findhelp:ref-2", ReferralStatus.Accepted, day));
    }
}

public sealed class ReferralRoutingTests
{
    private static readonly ReferralService Ecm = new("ecm", ["experiencing-homelessness-adults", "serious-mental-health-sud-adults"]);

    [Fact]
    public void Only_providers_with_the_service_the_county_and_capacity_are_candidates()
    {
        IReadOnlyList<ProviderDirectoryEntry> directory =
        [
            Provider("1", "CS only", services: ["medically-tailored-meals"]),
            Provider("2", "Elsewhere", county: "Fresno"),
            Provider("3", "Full", available: 0),
            Provider("4", "Fits"),
        ];

        Assert.Equal(["4"], ReferralRouting.Rank(directory, Ecm, "Alameda").Select(c => c.Npi));
        Assert.Equal(["2", "4"], ReferralRouting.Rank(directory, Ecm, null).Select(c => c.Npi));
    }

    [Fact]
    public void Population_of_focus_specialty_ranks_before_capacity_then_npi_breaks_ties()
    {
        IReadOnlyList<ProviderDirectoryEntry> directory =
        [
            Provider("9", "Generalist, lots of room", available: 9, pofs: []),
            Provider("5", "Both specialties", available: 1, pofs: ["experiencing-homelessness-adults", "serious-mental-health-sud-adults"]),
            Provider("7", "One specialty", available: 4),
            Provider("6", "One specialty, same room", available: 4),
        ];

        Assert.Equal(["5", "6", "7", "9"], ReferralRouting.Rank(directory, Ecm, "Alameda").Select(c => c.Npi));
        Assert.Equal(["9", "5"], ReferralRouting.Rank(directory, Ecm, "Alameda", preferredNpi: "9", maxCandidates: 2).Select(c => c.Npi));
    }

    [Fact]
    public void The_county_changes_the_chosen_provider()
    {
        IReadOnlyList<ProviderDirectoryEntry> directory =
        [
            Provider("1", "Los Angeles, lots of room", available: 9, county: "Los Angeles"),
            Provider("2", "Kern, little room", available: 1, county: "Kern"),
        ];

        Assert.Equal("1", ReferralRouting.Rank(directory, Ecm, null)[0].Npi);
        Assert.Equal("1", ReferralRouting.Rank(directory, Ecm, "Los Angeles")[0].Npi);
        Assert.Equal(["2"], ReferralRouting.Rank(directory, Ecm, "Kern County").Select(c => c.Npi));
        Assert.Empty(ReferralRouting.Rank(directory, Ecm, "Fresno"));
    }
}
