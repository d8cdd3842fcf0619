namespace CalAimHub.Domain.Consent;

/// <summary>
/// What the consent gate decided for one member and one recipient: the categories asked about, split into those that
/// may go out and those that must be withheld (<c>Withheld ∪ Shared</c> = the categories asked about, disjoint).
/// <see cref="ConsentId"/> is the consent the decision rests on, or null when none applied (the hub baseline did).
/// </summary>
public sealed record ConsentDecision(string Cin, string RecipientId, IReadOnlySet<string> Shared,
    IReadOnlySet<string> Withheld, string? ConsentId);

/// <summary>
/// One member's information sent to one recipient in one document: the line of an accounting of disclosures.
/// <see cref="DisclosureId"/> is deterministic (<see cref="IdFor"/>: <c>{documentPath}|{cin}</c>), so a re-run of the
/// same document overwrites its disclosures instead of adding more.
/// </summary>
/// <param name="Purpose">Why it was disclosed: <c>ecm-mif</c>, <c>cs-mif</c>, <c>mini-mif</c>, <c>cs-authorization-status</c>.</param>
public sealed record Disclosure(string DisclosureId,
    string Cin, string RecipientId, string Purpose,
    string DocumentPath, DateTimeOffset DisclosedAt,
    IReadOnlyList<string> CategoriesDisclosed, IReadOnlyList<string> CategoriesWithheld)
{
    public static string IdFor(string documentPath, string cin) => $"{documentPath}|{cin}";
}

/// <summary>One member line of a file sent to a provider, as reconciliation compares it with the provider's RTF.</summary>
public sealed record SentMemberLine(string Cin, string? AuthorizationId, DateOnly? AuthorizationStart,
    DateOnly? AuthorizationEnd, IReadOnlyList<string> ReferralIds);

/// <summary>A file of member lines sent to a provider for a period (idempotent on <see cref="DocumentPath"/>).</summary>
/// <param name="Period">The reporting month, <c>yyyy-MM</c>.</param>
/// <param name="Kind">One of <see cref="SentFileKinds"/>.</param>
public sealed record SentMemberFile(string ProviderId, string Period, string Kind,
    string DocumentPath, DateTimeOffset SentAt, IReadOnlyList<SentMemberLine> Members);

/// <summary>The kinds of <see cref="SentMemberFile"/>, which are also the disclosure purposes.</summary>
public static class SentFileKinds
{
    public const string Mif = "mif";
    public const string CsMif = "cs-mif";
    public const string MiniMif = "mini-mif";
    public const string CsAuthorizationStatus = "cs-authorization-status";

    public static readonly IReadOnlyList<string> All = [Mif, CsMif, MiniMif, CsAuthorizationStatus];

    /// <summary>The disclosure purpose for a file kind: the ECM MIF is <c>ecm-mif</c>, the others keep their kind.</summary>
    public static string PurposeOf(string kind) => kind == Mif ? "ecm-mif" : kind;
}
