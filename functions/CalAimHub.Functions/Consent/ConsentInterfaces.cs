using CalAimHub.Domain.Consent;

namespace CalAimHub.Functions.Consent;

/// <summary>
/// Asks the consent registry, once per outbound file, which categories may go to the recipient for each member.
/// One call per file, not one round trip per member: the implementation reads the members' partitions in parallel.
/// </summary>
public interface IConsentGate
{
    /// <summary>A decision for every CIN in <paramref name="cins"/> (keyed by CIN), over exactly <paramref name="categories"/>.</summary>
    Task<IReadOnlyDictionary<string, ConsentDecision>> DecideAsync(string recipientId, IReadOnlyCollection<string> cins,
        IReadOnlyCollection<string> categories, DateOnly asOf, CancellationToken ct);
}

/// <summary>What member information went to whom: per member (the accounting of disclosures) and per provider and period (reconciliation).</summary>
public interface IDisclosureLog
{
    /// <summary>Records disclosures; idempotent on <see cref="Disclosure.DisclosureId"/> (a re-run overwrites, never duplicates).</summary>
    Task RecordAsync(IReadOnlyList<Disclosure> disclosures, CancellationToken ct);

    /// <summary>Records the member lines of a file sent to a provider; idempotent on <see cref="SentMemberFile.DocumentPath"/>.</summary>
    /// <param name="firstRecording">
    /// The caller knows nothing was recorded for this path before (its generation's ledger row was new), so there are no
    /// lines of an earlier recording to look for and remove.
    /// </param>
    Task RecordSentFileAsync(SentMemberFile file, bool firstRecording, CancellationToken ct);
}
