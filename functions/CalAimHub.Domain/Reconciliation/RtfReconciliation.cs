using System.Globalization;
using CalAimHub.Domain.Consent;

namespace CalAimHub.Domain.Reconciliation;

/// <summary>One member row of a provider's Return Transmission File, as far as reconciliation reads it.</summary>
/// <param name="Row">The row number in the file (as the ingestion report numbers rows).</param>
/// <param name="AuthorizationStart">ECM Benefit Start Date (RTF version B) or ECM Enrollment Start Date (version A).</param>
public sealed record RtfMemberRow(int Row, string Cin, string? AuthorizationNumber, DateOnly? AuthorizationStart,
    DateOnly? AuthorizationEnd, string? ReferralStatus);

/// <summary>The kinds of disagreement between what the plan sent and the provider's RTF.</summary>
public static class MismatchKinds
{
    /// <summary>A member the plan assigned (in a MIF or mini-MIF of the period) has no row in the RTF.</summary>
    public const string AssignedMemberMissing = "assigned-member-missing";

    /// <summary>The RTF has a member the plan never sent the provider for the period.</summary>
    public const string MemberNeverAssigned = "member-never-assigned";

    public const string AuthorizationNumberDiffers = "authorization-number-differs";
    public const string AuthorizationStartDiffers = "authorization-start-differs";
    public const string AuthorizationEndDiffers = "authorization-end-differs";

    /// <summary>A Referral Status row for a member the plan sent the provider no referral for.</summary>
    public const string ReferralNeverSent = "referral-never-sent";

    public static readonly IReadOnlyList<string> All =
        [AssignedMemberMissing, MemberNeverAssigned, AuthorizationNumberDiffers, AuthorizationStartDiffers, AuthorizationEndDiffers, ReferralNeverSent];
}

/// <summary>One disagreement. <see cref="Row"/> is the RTF row (0 when the member has none); values are as sent and as returned.</summary>
public sealed record ReconciliationMismatch(string Kind, int Row, string Cin, string? Column, string? Sent, string? Returned, string? SentIn);

/// <summary>The outcome for one provider and period.</summary>
public sealed record ReconciliationResult(string ProviderId, string Period, int MembersSent, int MembersReturned,
    IReadOnlyList<string> FilesCompared, IReadOnlyList<ReconciliationMismatch> Mismatches)
{
    public bool Reconciled => Mismatches.Count == 0;

    public IReadOnlyDictionary<string, int> ByKind => MismatchKinds.All.ToDictionary(k => k, k => Mismatches.Count(m => m.Kind == k), StringComparer.Ordinal);
}

/// <summary>
/// Compares a provider's RTF for a period with the union of the member files the plan sent it for that period (the MIF
/// and any mini-MIFs). Pure. A member in several files counts once: its authorization is the one of the latest file sent,
/// its referrals those of every file.
/// </summary>
public static class RtfReconciliation
{
    public const string AuthorizationNumberColumn = "Authorization Number";
    public const string AuthorizationStartColumn = "Authorization Start Date";
    public const string AuthorizationEndColumn = "Authorization End Date";
    public const string ReferralStatusColumn = "Referral Status";
    public const string CinColumn = "Member Client Index Number (CIN)";

    public static ReconciliationResult Compare(string providerId, string period, IReadOnlyList<SentMemberFile> sent, IReadOnlyList<RtfMemberRow> rtf)
    {
        var members = new Dictionary<string, (SentMemberLine Line, string Path, HashSet<string> Referrals)>(StringComparer.Ordinal);
        foreach (var file in sent.OrderBy(f => f.SentAt).ThenBy(f => f.DocumentPath, StringComparer.Ordinal))
        {
            foreach (var line in file.Members)
            {
                var referrals = members.TryGetValue(line.Cin, out var earlier) ? earlier.Referrals : new HashSet<string>(StringComparer.Ordinal);
                referrals.UnionWith(line.ReferralIds);
                members[line.Cin] = (line, file.DocumentPath, referrals);
            }
        }

        var mismatches = new List<ReconciliationMismatch>();
        var seen = new HashSet<(string, string, string?)>();
        void Add(ReconciliationMismatch mismatch)
        {
            if (seen.Add((mismatch.Kind, mismatch.Cin, mismatch.Returned)))
            {
                mismatches.Add(mismatch);
            }
        }

        foreach (var row in rtf.OrderBy(r => r.Row))
        {
            if (!members.TryGetValue(row.Cin, out var member))
            {
                Add(new(MismatchKinds.MemberNeverAssigned, row.Row, row.Cin, CinColumn, null, row.Cin, null));
                if (row.ReferralStatus is { Length: > 0 } orphanStatus)
                {
                    Add(new(MismatchKinds.ReferralNeverSent, row.Row, row.Cin, ReferralStatusColumn, null, orphanStatus, null));
                }

                continue;
            }

            var line = member.Line;
            if (row.AuthorizationNumber is { Length: > 0 } number && line.AuthorizationId is { Length: > 0 } sentNumber
                && !string.Equals(number.Trim(), sentNumber.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                Add(new(MismatchKinds.AuthorizationNumberDiffers, row.Row, row.Cin, AuthorizationNumberColumn, sentNumber, number, member.Path));
            }

            if (row.AuthorizationStart is { } start && line.AuthorizationStart is { } sentStart && start != sentStart)
            {
                Add(new(MismatchKinds.AuthorizationStartDiffers, row.Row, row.Cin, AuthorizationStartColumn, Text(sentStart), Text(start), member.Path));
            }

            if (row.AuthorizationEnd is { } end && line.AuthorizationEnd is { } sentEnd && end != sentEnd)
            {
                Add(new(MismatchKinds.AuthorizationEndDiffers, row.Row, row.Cin, AuthorizationEndColumn, Text(sentEnd), Text(end), member.Path));
            }

            if (row.ReferralStatus is { Length: > 0 } status && member.Referrals.Count == 0)
            {
                Add(new(MismatchKinds.ReferralNeverSent, row.Row, row.Cin, ReferralStatusColumn, null, status, member.Path));
            }
        }

        var returned = rtf.Select(r => r.Cin).ToHashSet(StringComparer.Ordinal);
        foreach (var (cin, member) in members.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            if (!returned.Contains(cin))
            {
                Add(new(MismatchKinds.AssignedMemberMissing, 0, cin, CinColumn, cin, null, member.Path));
            }
        }

        return new ReconciliationResult(providerId, period, members.Count, returned.Count,
            [.. sent.Select(f => f.DocumentPath)], mismatches);
    }

    private static string Text(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
