using System.Globalization;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using static CalAimHub.Domain.Tests.InvoiceScenario;
using static CalAimHub.Testing.DecidedNotices;

namespace CalAimHub.Domain.Tests;

public class InvoiceWorkflowTests
{
    // Friday 20 Nov 2026, 10:00 Pacific. Thirty working days skip Thanksgiving and the day after (26, 27 Nov),
    // Christmas (Fri 25 Dec) and New Year's Day (Fri 1 Jan 2027): the last day is Thursday 7 January 2027.
    private static readonly DateTimeOffset Friday = At("2026-11-20T10:00:00-08:00");
    private static readonly DateOnly LastDay = new(2027, 1, 7);
    private static readonly DateTimeOffset Due = At("2027-01-08T00:00:00-08:00");
    private static readonly DateTimeOffset Reminder = At("2026-12-31T00:00:00-08:00"); // 5 working days left

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    private static readonly ContestReason NoAuthorization = new(ContestReasons.NoAuthorization, "an approved authorization for G9012-U2 covering 2026-10-05");

    [Fact]
    public void A_clean_invoice_is_received_with_its_30_working_day_clock_and_paid_on_time_without_interest()
    {
        var s = new InvoiceScenario(Friday);

        var received = s.Receive(Line(1, 250m), Line(2, 150m));

        Assert.Equal([InvoiceWorkflow.Received], NoticeTypes(received));
        var notice = Assert.Single(Notices(received));
        Assert.Equal(("received", "cbo-1", Id), (notice.ActionKey, notice.Subscriber, notice.Subject));
        Assert.Equal("2026-11-20", notice.Data!.Value.GetProperty("receivedOn").GetString());
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["receipt:due"] = Due, ["receipt:reminder"] = Reminder }, s.ArmedTimers);
        var clock = Assert.Single(s.State.Clocks);
        Assert.Equal((LastDay, Due), (clock.LastDay, clock.DueAt));
        Assert.Equal(InvoiceStatus.Received, s.State.Status);

        s.Advance(TimeSpan.FromDays(20));
        var paid = s.Remit("rem-1", Pay(1, 250m, new DateOnly(2026, 12, 10)), Pay(2, 150m, new DateOnly(2026, 12, 10)));

        Assert.Equal([InvoiceWorkflow.Paid], NoticeTypes(paid));
        var data = Assert.Single(Notices(paid)).Data!.Value;
        Assert.Equal((400m, 0m), (data.GetProperty("amount").GetDecimal(), data.GetProperty("interest").GetDecimal()));
        Assert.Equal(InvoiceStatus.Paid, s.State.Status);
        Assert.True(s.Completed);
        Assert.Empty(s.ArmedTimers);
        Assert.Null(s.State.Clock("receipt")!.BreachedAt);
        Assert.True(s.State.Clean);
        Assert.Equal(0m, s.State.InterestOwed);
    }

    [Fact]
    public void A_staged_invoice_started_with_its_lines_receives_and_contests_them_in_the_start_commit_and_a_repeat_changes_nothing()
    {
        var s = new InvoiceScenario(Friday);

        var started = s.StartWith(Line(1, 250m), Line(2, 150m, NoAuthorization));

        Assert.Equal([InvoiceWorkflow.Received, InvoiceWorkflow.Contested], NoticeTypes(started));
        Assert.Equal([(1, LineStatus.Received), (2, LineStatus.Contested)], s.State.Lines.Select(l => (l.Number, l.Status)));
        Assert.Equal(["receipt", "receipt"], s.State.Lines.Select(l => l.ClockId));
        Assert.Null(s.State.Header!.Lines);
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["receipt:due"] = Due, ["receipt:reminder"] = Reminder }, s.ArmedTimers);

        var repeat = s.Resubmit(Line(1, 250m), Line(2, 150m, NoAuthorization));

        Assert.Empty(repeat);
        Assert.Equal([1, 1], s.State.Lines.Select(l => l.Submissions));
    }

    [Fact]
    public void An_unpaid_invoice_reminds_the_plan_then_escalates_at_the_end_of_the_last_working_day()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1));

        var reminder = s.AdvanceTo(Due.AddSeconds(-1));
        Assert.Equal([InvoiceWorkflow.DeadlineApproaching], NoticeTypes(reminder));
        Assert.Equal("invoices", Assert.Single(Notices(reminder)).Subscriber);
        Assert.False(s.State.Escalated);

        var breach = s.AdvanceTo(Due.AddDays(1));
        var notice = Assert.Single(Notices(breach));
        Assert.Equal((InvoiceWorkflow.DeadlineBreached, "deadline-breached:receipt"), (notice.Type, notice.ActionKey));
        Assert.True(notice.Data!.Value.GetProperty("escalated").GetBoolean());
        Assert.Equal(Due, s.State.Clock("receipt")!.BreachedAt);
        Assert.True(s.State.Clock("receipt")!.Open);
        Assert.True(s.State.Escalated);
    }

    [Fact]
    public void A_late_payment_owes_interest_exact_to_the_cent_counting_calendar_days_after_the_holiday_shortened_window()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1, 1000m), Line(2, 50m));
        s.AdvanceTo(Due.AddDays(14));

        // Paid Friday 22 Jan 2027: 15 calendar days after Thursday 7 Jan. Line 1: 15% a year on $1,000 for 15 days
        // = $6.1643… → $6.16. Line 2, paid separately: 15% on $50 = $0.31 < the $15-a-year minimum = $0.6164… → $0.62.
        var first = s.Remit("rem-1", Pay(1, 1000m, new DateOnly(2027, 1, 22)));
        var second = s.Remit("rem-2", Pay(2, 50m, new DateOnly(2027, 1, 22)));

        Assert.Equal([(15, 6.16m), (15, 0.62m)], s.State.Payments.Select(p => (p.InterestDays, p.Interest)));
        Assert.Equal(6.78m, s.State.InterestOwed);
        Assert.Equal(6.16m, Assert.Single(Notices(first)).Data!.Value.GetProperty("interest").GetDecimal());
        Assert.Equal(0.62m, Assert.Single(Notices(second)).Data!.Value.GetProperty("interest").GetDecimal());
        Assert.Equal((6.16m, 0.62m), (s.State.Line(1)!.Interest, s.State.Line(2)!.Interest));
        Assert.Equal(Due, s.State.Clock("receipt")!.BreachedAt);
        Assert.True(s.Completed);
    }

    [Fact]
    public void A_payment_on_the_last_working_day_is_on_time_and_one_the_next_calendar_day_owes_one_day()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1, 1000m), Line(2, 1000m));

        s.Remit("rem-1", Pay(1, 1000m, LastDay), Pay(2, 1000m, LastDay.AddDays(1)));

        // 1000 × 15% / 365 = 0.4109… → 0.41; the minimum ($15 / 365 = 0.04) is smaller.
        Assert.Equal([(0, 0m), (1, 0.41m)], s.State.Payments.Select(p => (p.InterestDays, p.Interest)));
        Assert.Equal(Due, s.State.Clock("receipt")!.BreachedAt);
    }

    [Fact]
    public void An_hmo_type_plan_has_45_working_days()
    {
        var s = new InvoiceScenario(Friday, InvoicePolicy.Default(PlanType.HmoType));
        s.Receive(Line(1));

        // 30 working days end 7 Jan 2027; 15 more skip Martin Luther King Jr. Day (18 Jan): Friday 29 January.
        Assert.Equal(new DateOnly(2027, 1, 29), s.State.Clock("receipt")!.LastDay);
        Assert.Equal(At("2027-01-30T00:00:00-08:00"), s.ArmedTimers["receipt:due"]);
    }

    [Fact]
    public void A_line_without_an_authorization_is_contested_naming_what_is_missing_then_corrected_and_paid()
    {
        var s = new InvoiceScenario(Friday);

        var received = s.Receive(Line(1, 100m), Line(2, 80m, NoAuthorization), Line(3, 60m, NoAuthorization));

        Assert.Equal([InvoiceWorkflow.Received, InvoiceWorkflow.Contested, InvoiceWorkflow.Contested], NoticeTypes(received));
        Assert.Equal(["received", "contested:2:evt-2", "contested:3:evt-2"], NoticeKeys(received));
        var contest = Notices(received)[1].Data!.Value;
        var line = Assert.Single(contest.GetProperty("lines").EnumerateArray());
        Assert.Equal(2, line.GetProperty("line").GetInt32());
        var reason = Assert.Single(line.GetProperty("reasons").EnumerateArray());
        Assert.Equal((ContestReasons.NoAuthorization, NoAuthorization.Missing), (reason.GetProperty("code").GetString(), reason.GetProperty("missing").GetString()));
        Assert.Equal("2027-11-20", contest.GetProperty("correctBy").GetString());
        Assert.Equal(LineStatus.Contested, s.State.Line(2)!.Status);
        Assert.False(s.State.Clean);

        // The same file dropped again changes nothing and says nothing.
        Assert.Empty(s.Resubmit(Line(2, 80m, NoAuthorization)));

        s.Remit("rem-1", Pay(1, 100m, new DateOnly(2026, 12, 1)), new LineOutcome(3, LineOutcomeKind.Denied, new DateOnly(2026, 12, 1), Reason: "not-a-covered-service"));
        Assert.Equal(InvoiceStatus.Contested, s.State.Status);
        Assert.NotNull(s.State.Clock("receipt")!.SatisfiedAt);
        Assert.Null(s.State.Clock("receipt")!.BreachedAt);

        // Corrected after the first window closed: a new submission on its own 30-working-day clock.
        s.AdvanceTo(At("2027-02-01T09:00:00-08:00"));
        var corrected = s.Resubmit(Line(2, 80m));
        Assert.Equal(LineStatus.Received, s.State.Line(2)!.Status);
        Assert.Equal(("receipt-2", 2), (s.State.Line(2)!.ClockId, s.State.Line(2)!.Submissions));
        Assert.Contains(corrected.OfType<ScheduleTimer>(), t => t.TimerId == "receipt-2:due");
        Assert.Empty(Notices(corrected));

        var paid = s.Remit("rem-2", Pay(2, 80m, new DateOnly(2027, 2, 10)));
        Assert.Equal([InvoiceWorkflow.Paid], NoticeTypes(paid));
        Assert.Equal(0m, s.State.InterestOwed);
        Assert.Equal(InvoiceStatus.Settled, s.State.Status);
        Assert.Equal([ContestReasons.NoAuthorization, ContestReasons.NoAuthorization], s.State.ContestCodes);
        Assert.True(s.Completed);
    }

    [Fact]
    public void The_plan_contests_a_line_with_what_is_missing_and_the_clock_is_met_by_the_contest()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1));

        var contested = s.Remit("rem-1", new LineOutcome(1, LineOutcomeKind.Contested, new DateOnly(2026, 12, 1), Reason: "missing-documentation", Missing: "the signed service log"));

        var line = Assert.Single(Assert.Single(Notices(contested)).Data!.Value.GetProperty("lines").EnumerateArray());
        Assert.Equal("the signed service log", line.GetProperty("reasons")[0].GetProperty("missing").GetString());
        Assert.Equal(InvoiceStatus.Contested, s.State.Status);
        Assert.NotNull(s.State.Clock("receipt")!.SatisfiedAt);
        Assert.Contains(contested, a => a is CancelTimer { TimerId: "receipt:due" });
    }

    [Fact]
    public void A_denied_invoice_tells_the_provider_why_and_closes()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1));

        var denied = s.Remit("rem-1", new LineOutcome(1, LineOutcomeKind.Denied, new DateOnly(2026, 12, 3), Reason: "member-not-eligible-on-date-of-service"));

        var notice = Assert.Single(Notices(denied));
        Assert.Equal(InvoiceWorkflow.Denied, notice.Type);
        Assert.Equal("member-not-eligible-on-date-of-service", notice.Data!.Value.GetProperty("lines")[0].GetProperty("reason").GetString());
        Assert.Equal(InvoiceStatus.Denied, s.State.Status);
        Assert.True(s.Completed);
        Assert.False(s.State.Clean);
    }

    [Fact]
    public void Bad_remittances_are_refused_naming_the_field_and_change_nothing()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1, 100m));
        s.Remit("rem-1", Pay(1, 100m, new DateOnly(2026, 12, 1)));
        var t = new InvoiceScenario(Friday);
        t.Receive(Line(1, 100m));

        Assert.Equal(new InvoiceCommandProblem("lines[0].amount", "100.01 is larger than the 100.00 billed on line 1"),
            InvoiceWorkflow.RemittanceProblem(t.State, new Remittance("r", [Pay(1, 100.01m, new DateOnly(2026, 12, 1))])));
        Assert.Equal(new InvoiceCommandProblem("lines[0].on", "2026-11-19 is before the invoice was received (2026-11-20)"),
            InvoiceWorkflow.RemittanceProblem(t.State, new Remittance("r", [Pay(1, 10m, new DateOnly(2026, 11, 19))])));
        Assert.Equal(new InvoiceCommandProblem("lines[0].line", "invoice INV-2026-0042 has no line 7"),
            InvoiceWorkflow.RemittanceProblem(t.State, new Remittance("r", [Pay(7, 10m, new DateOnly(2026, 12, 1))])));
        Assert.Equal(new InvoiceCommandProblem("lines[0].line", "line 1 was already paid (100.00 on 2026-12-01); a second payment is refused", IsConflict: true),
            InvoiceWorkflow.RemittanceProblem(s.State, new Remittance("r", [Pay(1, 10m, new DateOnly(2026, 12, 2))])));

        // Raised anyway (a stray event), it is ignored by the decider.
        Assert.Empty(t.Remit("rem-x", Pay(1, 100.01m, new DateOnly(2026, 12, 1))));
        Assert.Equal((LineStatus.Received, null), (t.State.Line(1)!.Status, t.State.Line(1)!.PaidAmount));
        Assert.Empty(t.State.Payments);
    }

    [Fact]
    public void A_repeated_remittance_event_and_a_stale_timer_do_nothing()
    {
        var s = new InvoiceScenario(Friday);
        s.Receive(Line(1), Line(2));
        s.Remit("rem-1", Pay(1, 100m, new DateOnly(2026, 12, 1)));

        Assert.Empty(s.FireTimer("receipt:due", Due.AddDays(-3)));
        Assert.Empty(s.FireTimer("nothing:due", Due));
        Assert.Single(s.State.Payments);
    }
}
