using CalAimHub.Domain.Referrals;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Where accepted referral events go and where the current status of a referral comes from. The seam the referral
/// workflow takes over: today <see cref="TableReferralLedger"/> (a small <c>Referrals</c> table and the
/// <c>referral-events</c> queue); then an implementation that raises the event into the referral workflow instance
/// (whose commit does the dedupe and the transition check). The webhook intake and the referral queries only see this.
/// </summary>
public interface IReferralLedger
{
    /// <summary>
    /// Applies the event once: a new event is checked against the referral's current status, recorded and durably
    /// queued before this returns; an event id the platform used before with the same body (<paramref name="bodyHash"/>)
    /// returns <see cref="LedgerOutcome.Duplicate"/>, with another body <see cref="LedgerOutcome.IdReused"/>; both change nothing.
    /// </summary>
    Task<LedgerResult> AcceptAsync(ReferralEvent referralEvent, string bodyHash, CancellationToken cancellationToken);

    /// <summary>The referral and its accepted events in order, or null when the hub has never accepted it.</summary>
    Task<ReferralHistory?> GetAsync(string referralId, CancellationToken cancellationToken);
}

public enum LedgerOutcome
{
    Accepted,
    Duplicate,
    Conflict,

    /// <summary>The platform used the event's webhook-id before for a different body (whatever referral it named).</summary>
    IdReused,
}

/// <param name="Event">The event as accepted (for a duplicate: as first accepted).</param>
/// <param name="Problem">Why the event is refused (409 detail), for <see cref="LedgerOutcome.Conflict"/> and <see cref="LedgerOutcome.IdReused"/>.</param>
/// <param name="Current">The referral's status when the event conflicted.</param>
public sealed record LedgerResult(LedgerOutcome Outcome, ReferralEvent Event, string? Problem = null, ReferralStatus? Current = null);

public sealed record ReferralHistory(ReferralSnapshot Referral, IReadOnlyList<ReferralEvent> Events);
