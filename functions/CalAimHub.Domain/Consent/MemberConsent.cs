namespace CalAimHub.Domain.Consent;

/// <summary>An ASCMI form on file (<see cref="Grant"/>) or the ASCMI revocation form (<see cref="Revocation"/>).</summary>
public enum ConsentKind
{
    Grant,
    Revocation,
}

/// <summary>The member's choice for one category.</summary>
public enum ConsentChoice
{
    Share,
    DoNotShare,
}

/// <summary>
/// One consent document recorded for a member. The newest one in force for a recipient decides (see
/// <see cref="ConsentPolicy"/>); a revocation is a consent of kind <see cref="ConsentKind.Revocation"/> that sets every
/// choice to "do not share" and withdraws any Part 2 consent, from its effective date (the ASCMI revocation form).
/// </summary>
/// <param name="ConsentId">Deterministic from the source document and member, so a repeated POST is the same consent.</param>
/// <param name="FormVersion">The form, e.g. <c>ascmi-ab133-2024</c>, <c>ascmi-non-ab133-2024</c>, <c>ascmi-revocation-2024</c>.</param>
/// <param name="SourceDocument">Where the signed form is kept (a document reference, not its contents).</param>
/// <param name="EffectiveOn">The first day it applies.</param>
/// <param name="ExpiresOn">The last day it applies (inclusive); null when the form sets none.</param>
/// <param name="Choices">Per consent-controlled category; a category not named falls back to the hub baseline.</param>
/// <param name="Part2Recipients">Recipients the member's 42 CFR Part 2 consent names (or <c>any</c>); empty: no Part 2 consent.</param>
/// <param name="Recipients">The recipients this consent is about (provider ids), or <c>any</c>.</param>
public sealed record MemberConsent(
    string ConsentId,
    string Cin,
    ConsentKind Kind,
    string FormVersion,
    string SourceDocument,
    DateOnly EffectiveOn,
    DateOnly? ExpiresOn,
    IReadOnlyDictionary<string, ConsentChoice> Choices,
    IReadOnlyList<string> Part2Recipients,
    IReadOnlyList<string> Recipients,
    DateTimeOffset RecordedAt)
{
    public bool AppliesTo(string recipientId) =>
        Recipients.Any(recipient => recipient == DisclosureCategories.AnyRecipient || recipient == recipientId);

    public bool InForceOn(DateOnly asOf) => EffectiveOn <= asOf && (ExpiresOn is null || asOf <= ExpiresOn);
}
