namespace CalAimHub.Domain.Referrals;

/// <summary>
/// Which DHCS status may follow which, as data. A status may be re-reported (same status again: a platform and an RTF
/// file both report it, or a FHIR Task moves in-progress ⇄ on-hold); a closed loop takes nothing more.
/// </summary>
/// <remarks>
/// Declined → Pending is a re-route (the referral is sent to the next provider). Accepted → Declined is not allowed:
/// Gravity's <c>rejected</c> means declined before any action; a provider that gives up after accepting closes the
/// loop (<c>cancelled</c>/<c>failed</c> with a reason).
/// </remarks>
public static class ReferralTransitions
{
    public static readonly IReadOnlyDictionary<ReferralStatus, IReadOnlyList<ReferralStatus>> Allowed = new Dictionary<ReferralStatus, IReadOnlyList<ReferralStatus>>
    {
        [ReferralStatus.Pending] = [ReferralStatus.Pending, ReferralStatus.Accepted, ReferralStatus.Declined, ReferralStatus.ReferralLoopClosed],
        [ReferralStatus.Accepted] = [ReferralStatus.Accepted, ReferralStatus.OutreachInitiated, ReferralStatus.ReferralLoopClosed],
        [ReferralStatus.Declined] = [ReferralStatus.Declined, ReferralStatus.Pending, ReferralStatus.ReferralLoopClosed],
        [ReferralStatus.OutreachInitiated] = [ReferralStatus.OutreachInitiated, ReferralStatus.ReferralLoopClosed],
        [ReferralStatus.ReferralLoopClosed] = [],
    };

    /// <summary>Null when <paramref name="event"/> may be applied to a referral currently in <paramref name="current"/> (null: unknown referral), else why not (409 detail).</summary>
    public static string? Problem(ReferralStatus? current, ReferralEventKind kind, ReferralStatus next, string referralId)
    {
        if (current is null)
        {
            return kind == ReferralEventKind.Created
                ? null
                : $"referral '{referralId}' is not known to the hub; send the referral ('referral.created', or a FHIR ServiceRequest with its Task) first";
        }

        if (kind == ReferralEventKind.Created)
        {
            return $"referral '{referralId}' already exists (status '{current.Value.DhcsName()}'); send a status change instead";
        }

        if (current == ReferralStatus.ReferralLoopClosed)
        {
            return $"referral '{referralId}' is closed ('{current.Value.DhcsName()}'); no further status is accepted";
        }

        return Allowed[current.Value].Contains(next)
            ? null
            : $"referral '{referralId}' cannot go from '{current.Value.DhcsName()}' to '{next.DhcsName()}'; allowed next: {string.Join(", ", Allowed[current.Value].Select(s => $"'{s.DhcsName()}'"))}";
    }
}
