using System.ComponentModel;
using System.Text.Json.Serialization;

namespace CalAimHub.Functions.Consent;

// The request and answer bodies of the consent and disclosure routes as the OpenAPI document shows them. The handlers
// read bodies field by field (ConsentRequestReader) so each problem names its field; the contract tests keep these true.

[Description("A consent document to record: an ASCMI form (kind grant) or the ASCMI revocation form (kind revocation).")]
public sealed record ConsentBody
{
    [Description("The member's Medi-Cal CIN: 8 digits followed by a letter. PHI: it goes in the body, never in a URL.")]
    public required string Cin { get; init; }

    [Description("grant (an ASCMI form on file) or revocation (the ASCMI revocation form: every choice becomes do-not-share, Part 2 consent withdrawn).")]
    public required string Kind { get; init; }

    [Description("The form and its version, e.g. ascmi-ab133-2024, ascmi-non-ab133-2024, ascmi-revocation-2024.")]
    public required string FormVersion { get; init; }

    [Description("Where the signed form is kept (document management reference); with kind, it identifies the consent, so recording it again is idempotent.")]
    public required string SourceDocument { get; init; }

    [Description("First day it applies (yyyy-MM-dd). A revocation applies to every file decided on or after this day.")]
    public required DateOnly EffectiveOn { get; init; }

    [Description("Last day it applies (yyyy-MM-dd, inclusive); leave out when the form sets none.")]
    public DateOnly? ExpiresOn { get; init; }

    [Description("Per consent-controlled category: share or do-not-share. Categories not named follow the hub baseline (shared under HIPAA TPO, Part 2 withheld). Not with a revocation.")]
    public IReadOnlyDictionary<string, string>? Choices { get; init; }

    [Description("42 CFR Part 2: the recipients (provider ids) the member consents to receive substance use disorder information, or [\"any\"]. Empty or left out: no Part 2 consent. Not with a revocation.")]
    public IReadOnlyList<string>? Part2Recipients { get; init; }

    [Description("The recipients (provider ids) this consent is about, or [\"any\"] (the default).")]
    public IReadOnlyList<string>? Recipients { get; init; }
}

[Description("Whose consents or disclosure history to read: the CIN in the body, never in the URL.")]
public sealed record MemberSearchBody
{
    [Description("The member's Medi-Cal CIN: 8 digits followed by a letter.")]
    public required string Cin { get; init; }
}

[Description("A member's accounting of disclosures, optionally within a period, paged.")]
public sealed record DisclosureSearchBody
{
    [Description("The member's Medi-Cal CIN: 8 digits followed by a letter.")]
    public required string Cin { get; init; }

    [Description("Disclosures at or after this instant (ISO 8601).")]
    public DateTimeOffset? From { get; init; }

    [Description("Disclosures at or before this instant (ISO 8601).")]
    public DateTimeOffset? To { get; init; }

    [Description("Page size, 1 to 200 (default 50).")]
    public int? Top { get; init; }

    [Description("The continuation of the previous page of the same search.")]
    public string? Continuation { get; init; }
}

[Description("A recorded consent.")]
public sealed record ConsentView(
    string ConsentId,
    string Cin,
    string Kind,
    string FormVersion,
    string SourceDocument,
    DateOnly EffectiveOn,
    DateOnly? ExpiresOn,
    IReadOnlyDictionary<string, string> Choices,
    IReadOnlyList<string> Part2Recipients,
    IReadOnlyList<string> Recipients,
    DateTimeOffset RecordedAt);

[Description("A member's consents, newest effective first, and the categories as the hub knows them.")]
public sealed record MemberConsentsView(string Cin, IReadOnlyList<ConsentView> Consents, string CategoriesVersion, IReadOnlyList<CategoryView> Categories);

[Description("A disclosure category.")]
public sealed record CategoryView(string Id, string Title, bool ConsentControlled, bool SharedWithoutConsent, bool Part2);

[Description("One line of a member's accounting of disclosures: which categories went to whom, when, why and in which document.")]
public sealed record DisclosureView(
    string RecipientId,
    string Purpose,
    string DocumentPath,
    DateTimeOffset DisclosedAt,
    IReadOnlyList<string> CategoriesDisclosed,
    IReadOnlyList<string> CategoriesWithheld);

public sealed record DisclosurePage(
    IReadOnlyList<DisclosureView> Items,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Continuation);
