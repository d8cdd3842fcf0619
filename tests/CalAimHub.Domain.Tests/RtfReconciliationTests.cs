using CalAimHub.Domain.Consent;
using CalAimHub.Domain.Reconciliation;

namespace CalAimHub.Domain.Tests;

/// <summary>Given the files sent to a provider for a period, when its RTF arrives, then each disagreement is found once.</summary>
public class RtfReconciliationTests
{
    private const string Provider = "prov-ecm-1";
    private const string Period = "2026-11";
    private static readonly DateOnly Start = new(2026, 11, 1);
    private static readonly DateOnly End = new(2027, 10, 31);
    private static readonly DateTimeOffset Sent = new(2026, 11, 1, 14, 0, 0, TimeSpan.Zero);

    private static SentMemberFile Mif(params SentMemberLine[] lines) =>
        new(Provider, Period, SentFileKinds.Mif, $"outbound/{Provider}/mif/{Period}/mif.csv", Sent, lines);

    private static SentMemberLine Line(string cin, string auth = "A-1", params string[] referrals) => new(cin, auth, Start, End, referrals);

    private static RtfMemberRow Row(int row, string cin, string? auth = "A-1", DateOnly? start = null, DateOnly? end = null, string? referralStatus = null) =>
        new(row, cin, auth, start ?? Start, end ?? End, referralStatus);

    private static ReconciliationResult Compare(IReadOnlyList<SentMemberFile> sent, params RtfMemberRow[] rows) =>
        RtfReconciliation.Compare(Provider, Period, sent, rows);

    [Fact]
    public void An_RTF_that_answers_every_assigned_member_with_the_same_authorization_reconciles()
    {
        var result = Compare([Mif(Line("91234567A"), Line("91234568B", "A-2", "ref-1"))], Row(2, "91234567A"), Row(3, "91234568B", "A-2", referralStatus: "accepted"));

        Assert.True(result.Reconciled);
        Assert.Equal((2, 2), (result.MembersSent, result.MembersReturned));
        Assert.All(result.ByKind.Values, count => Assert.Equal(0, count));
    }

    [Fact]
    public void An_assigned_member_missing_from_the_RTF_is_found()
    {
        var result = Compare([Mif(Line("91234567A"), Line("91234568B"))], Row(2, "91234567A"));

        var mismatch = Assert.Single(result.Mismatches);
        Assert.Equal(new ReconciliationMismatch(MismatchKinds.AssignedMemberMissing, 0, "91234568B", RtfReconciliation.CinColumn, "91234568B", null,
            $"outbound/{Provider}/mif/{Period}/mif.csv"), mismatch);
    }

    [Fact]
    public void An_RTF_member_never_assigned_is_found()
    {
        var result = Compare([Mif(Line("91234567A"))], Row(2, "91234567A"), Row(3, "99999999Z"));

        var mismatch = Assert.Single(result.Mismatches);
        Assert.Equal((MismatchKinds.MemberNeverAssigned, 3, "99999999Z"), (mismatch.Kind, mismatch.Row, mismatch.Cin));
    }

    [Fact]
    public void A_different_authorization_number_is_found_with_both_values()
    {
        var result = Compare([Mif(Line("91234567A", "A-1"))], Row(2, "91234567A", "A-9"));

        var mismatch = Assert.Single(result.Mismatches);
        Assert.Equal((MismatchKinds.AuthorizationNumberDiffers, "A-1", "A-9"), (mismatch.Kind, mismatch.Sent, mismatch.Returned));
    }

    [Fact]
    public void Different_authorization_start_and_end_dates_are_found_each()
    {
        var result = Compare([Mif(Line("91234567A"))], Row(2, "91234567A", start: Start.AddDays(1), end: End.AddMonths(-1)));

        Assert.Equal([MismatchKinds.AuthorizationStartDiffers, MismatchKinds.AuthorizationEndDiffers], result.Mismatches.Select(m => m.Kind));
        Assert.Equal(("2026-11-01", "2026-11-02"), (result.Mismatches[0].Sent, result.Mismatches[0].Returned));
        Assert.Equal(("2027-10-31", "2027-09-30"), (result.Mismatches[1].Sent, result.Mismatches[1].Returned));
    }

    [Fact]
    public void A_blank_RTF_value_is_not_a_difference()
    {
        var result = Compare([Mif(Line("91234567A"))], new RtfMemberRow(2, "91234567A", null, null, null, null));

        Assert.True(result.Reconciled);
    }

    [Fact]
    public void A_Referral_Status_row_for_a_member_the_plan_sent_no_referral_for_is_found()
    {
        var result = Compare([Mif(Line("91234567A"), Line("91234568B", "A-2", "ref-1"))],
            Row(2, "91234567A", referralStatus: "accepted"), Row(3, "91234568B", "A-2", referralStatus: "accepted"));

        var mismatch = Assert.Single(result.Mismatches);
        Assert.Equal((MismatchKinds.ReferralNeverSent, 2, "accepted"), (mismatch.Kind, mismatch.Row, mismatch.Returned));
    }

    [Fact]
    public void The_period_is_the_union_of_the_MIF_and_its_mini_MIFs_with_the_latest_authorization()
    {
        var mif = Mif(Line("91234567A", "A-1"));
        var mini = new SentMemberFile(Provider, Period, SentFileKinds.MiniMif, $"outbound/{Provider}/mini-mif/{Period}/mini-1.csv", Sent.AddDays(9),
            [Line("91234568B", "A-2", "ref-7"), Line("91234567A", "A-1b")]);

        var result = Compare([mini, mif], Row(2, "91234567A", "A-1b"), Row(3, "91234568B", "A-2", referralStatus: "accepted"));

        Assert.True(result.Reconciled, string.Join("; ", result.Mismatches));
        Assert.Equal(2, result.MembersSent);
        Assert.Equal(2, result.FilesCompared.Count);
    }

    [Fact]
    public void Several_RTF_rows_of_one_member_report_the_same_difference_once()
    {
        var result = Compare([Mif(Line("91234567A", "A-1"))], Row(2, "91234567A", "A-9"), Row(3, "91234567A", "A-9"));

        Assert.Single(result.Mismatches);
    }
}
