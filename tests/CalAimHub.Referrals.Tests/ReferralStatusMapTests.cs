using CalAimHub.Domain.Referrals;

namespace CalAimHub.Referrals.Tests;

public sealed class ReferralStatusMapTests
{
    [Theory]
    [InlineData("requested", ReferralStatus.Pending, false)]
    [InlineData("accepted", ReferralStatus.Accepted, false)]
    [InlineData("rejected", ReferralStatus.Declined, true)]
    [InlineData("in-progress", ReferralStatus.OutreachInitiated, false)]
    [InlineData("on-hold", ReferralStatus.OutreachInitiated, true)]
    [InlineData("completed", ReferralStatus.ReferralLoopClosed, false)]
    [InlineData("cancelled", ReferralStatus.ReferralLoopClosed, true)]
    [InlineData("failed", ReferralStatus.ReferralLoopClosed, true)]
    [InlineData("entered-in-error", ReferralStatus.ReferralLoopClosed, false)]
    public void Every_actionable_task_status_maps_to_one_DHCS_status(string taskStatus, ReferralStatus dhcs, bool reasonRequired)
    {
        var row = ReferralStatusMap.FromTaskStatus(taskStatus);

        Assert.NotNull(row);
        Assert.Equal(dhcs, row.DhcsStatus);
        Assert.Equal(reasonRequired, row.ReasonRequired);
    }

    [Fact]
    public void Draft_means_no_referral_yet_and_ready_and_received_are_not_in_the_SDOHCC_value_set()
    {
        Assert.Null(ReferralStatusMap.FromTaskStatus("draft")!.DhcsStatus);
        Assert.Null(ReferralStatusMap.FromTaskStatus("ready"));
        Assert.Null(ReferralStatusMap.FromTaskStatus("received"));
        Assert.Equal(["ready", "received"], ReferralStatusMap.ExcludedByProfile);
        Assert.Equal(10, ReferralStatusMap.Rows.Count);
    }

    [Theory]
    [InlineData(ReferralStatus.Pending, null, "requested")]
    [InlineData(ReferralStatus.Accepted, null, "accepted")]
    [InlineData(ReferralStatus.Declined, "no capacity", "rejected")]
    [InlineData(ReferralStatus.OutreachInitiated, null, "in-progress")]
    [InlineData(ReferralStatus.ReferralLoopClosed, "Services Received", "completed")]
    [InlineData(ReferralStatus.ReferralLoopClosed, "services received", "completed")]
    [InlineData(ReferralStatus.ReferralLoopClosed, "member moved out of county", "cancelled")]
    public void Every_DHCS_status_maps_back_to_one_task_status(ReferralStatus status, string? reason, string taskStatus) =>
        Assert.Equal(taskStatus, ReferralStatusMap.ToTaskStatus(status, reason));

    [Fact]
    public void Outbound_rows_round_trip_through_the_table()
    {
        foreach (var row in ReferralStatusMap.Rows.Where(r => r.Outbound))
        {
            Assert.Equal(row.TaskStatus, ReferralStatusMap.ToTaskStatus(row.DhcsStatus!.Value, row.ImpliedReason ?? "some reason"));
        }
    }

    [Theory]
    [InlineData("Outreach Initiated", ReferralStatus.OutreachInitiated)]
    [InlineData(" referral loop closed ", ReferralStatus.ReferralLoopClosed)]
    public void DHCS_text_parses(string text, ReferralStatus status) => Assert.Equal(status, ReferralStatuses.Parse(text));

    [Fact]
    public void Unknown_DHCS_text_does_not_parse() => Assert.Null(ReferralStatuses.Parse("Closed"));
}

public sealed class ReferralTransitionTests
{
    public static TheoryData<ReferralStatus, ReferralStatus> Legal() => new()
    {
        { ReferralStatus.Pending, ReferralStatus.Pending },
        { ReferralStatus.Pending, ReferralStatus.Accepted },
        { ReferralStatus.Pending, ReferralStatus.Declined },
        { ReferralStatus.Pending, ReferralStatus.ReferralLoopClosed },
        { ReferralStatus.Accepted, ReferralStatus.Accepted },
        { ReferralStatus.Accepted, ReferralStatus.OutreachInitiated },
        { ReferralStatus.Accepted, ReferralStatus.ReferralLoopClosed },
        { ReferralStatus.Declined, ReferralStatus.Declined },
        { ReferralStatus.Declined, ReferralStatus.Pending },
        { ReferralStatus.Declined, ReferralStatus.ReferralLoopClosed },
        { ReferralStatus.OutreachInitiated, ReferralStatus.OutreachInitiated },
        { ReferralStatus.OutreachInitiated, ReferralStatus.ReferralLoopClosed },
    };

    [Theory]
    [MemberData(nameof(Legal))]
    public void Legal_transitions_have_no_problem(ReferralStatus from, ReferralStatus to) =>
        Assert.Null(ReferralTransitions.Problem(from, ReferralEventKind.StatusChanged, to, "p:R-1"));

    [Fact]
    public void Every_other_pair_is_illegal_with_the_exact_reason()
    {
        var legal = Legal().Select(row => ((ReferralStatus)row[0], (ReferralStatus)row[1])).ToHashSet();
        var illegal = 0;
        foreach (var from in Enum.GetValues<ReferralStatus>())
        {
            foreach (var to in Enum.GetValues<ReferralStatus>().Where(to => !legal.Contains((from, to))))
            {
                var problem = ReferralTransitions.Problem(from, ReferralEventKind.StatusChanged, to, "p:R-1");
                var expected = from == ReferralStatus.ReferralLoopClosed
                    ? "referral 'p:R-1' is closed ('Referral Loop Closed'); no further status is accepted"
                    : $"referral 'p:R-1' cannot go from '{from.DhcsName()}' to '{to.DhcsName()}'; allowed next: {string.Join(", ", ReferralTransitions.Allowed[from].Select(s => $"'{s.DhcsName()}'"))}";
                Assert.Equal(expected, problem);
                illegal++;
            }
        }

        Assert.Equal(25 - 12, illegal);
    }

    [Fact]
    public void Accepted_to_pending_names_what_is_allowed() => Assert.Equal(
        "referral 'p:R-1' cannot go from 'Accepted' to 'Pending'; allowed next: 'Accepted', 'Outreach Initiated', 'Referral Loop Closed'",
        ReferralTransitions.Problem(ReferralStatus.Accepted, ReferralEventKind.StatusChanged, ReferralStatus.Pending, "p:R-1"));

    [Fact]
    public void A_status_change_for_an_unknown_referral_is_refused() => Assert.Equal(
        "referral 'p:R-9' is not known to the hub; send the referral ('referral.created', or a FHIR ServiceRequest with its Task) first",
        ReferralTransitions.Problem(null, ReferralEventKind.StatusChanged, ReferralStatus.Accepted, "p:R-9"));

    [Fact]
    public void A_second_creation_is_refused() => Assert.Equal(
        "referral 'p:R-1' already exists (status 'Pending'); send a status change instead",
        ReferralTransitions.Problem(ReferralStatus.Pending, ReferralEventKind.Created, ReferralStatus.Pending, "p:R-1"));

    [Fact]
    public void A_creation_of_an_unknown_referral_is_fine() =>
        Assert.Null(ReferralTransitions.Problem(null, ReferralEventKind.Created, ReferralStatus.Pending, "p:R-1"));
}
