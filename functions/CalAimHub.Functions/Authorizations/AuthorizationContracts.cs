using System.ComponentModel;
using System.Text.Json.Serialization;
using CalAimHub.Functions.Extensions;

namespace CalAimHub.Functions.Authorizations;

// The request bodies of the authorization API as the OpenAPI document shows them. The handlers read bodies field by
// field (AuthorizationRequestReader) so each problem names its field; these records are the contract those readers
// implement, kept true by the contract tests (every documented example is accepted; every required field, left out,
// is refused naming it).

[Description("An ECM or Community Supports authorization request.")]
public sealed record AuthorizationRequestBody
{
    [Description("The member's Medi-Cal CIN: 8 digits followed by a letter. PHI: never put it in a URL.")]
    public required string MemberCin { get; init; }

    public required AuthorizationServiceBody Service { get; init; }

    [Description("NPI of the provider asking (10 digits, Luhn check).")]
    public required string RequestingProviderNpi { get; init; }

    [Description("Who referred the member (hospital, clinic, CBO, self).")]
    public required string ReferringEntity { get; init; }

    public required AuthorizationUrgency Urgency { get; init; }

    [Description("Reference of the member's consent document (ASCMI); required when 42 CFR Part 2 information is part of the request.")]
    public string? ConsentReference { get; init; }

    [Description("Eligibility criteria the requester attests to.")]
    [CodeList(CodeList.EligibilityCriteria)]
    public IReadOnlyList<string>? SupportingFacts { get; init; }
}

[Description("What is asked for: ECM with its Populations of Focus, or one or more Community Supports services (the housing trio may be asked jointly).")]
public sealed record AuthorizationServiceBody
{
    public required AuthorizationProgram Program { get; init; }

    [Description("For program 'ecm': the Populations of Focus the member belongs to.")]
    [CodeList(CodeList.PopulationsOfFocus)]
    public IReadOnlyList<string>? PopulationsOfFocus { get; init; }

    [Description("For program 'community-supports': the services asked for.")]
    [CodeList(CodeList.CommunitySupports)]
    public IReadOnlyList<string>? Services { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<AuthorizationProgram>))]
public enum AuthorizationProgram
{
    [JsonStringEnumMemberName("ecm")] Ecm,
    [JsonStringEnumMemberName("community-supports")] CommunitySupports,
}

[Description("routine: decision within 5 working days (extendable to 14 calendar days); expedited: within 72 hours.")]
[JsonConverter(typeof(JsonStringEnumConverter<AuthorizationUrgency>))]
public enum AuthorizationUrgency
{
    [JsonStringEnumMemberName("routine")] Routine,
    [JsonStringEnumMemberName("expedited")] Expedited,
}

[Description("A utilization-management decision.")]
public sealed record DecisionBody
{
    public required DecisionChoice Outcome { get; init; }

    [Description("Required to deny or pend: the reason given in the notice.")]
    public string? Reason { get; init; }

    [Description("Staff id of the decider (recorded in the history).")]
    public string? DecidedBy { get; init; }

    [Description("Consent reference, when the decision discloses 42 CFR Part 2 information.")]
    public string? ConsentReference { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<DecisionChoice>))]
public enum DecisionChoice
{
    [JsonStringEnumMemberName("approve")] Approve,
    [JsonStringEnumMemberName("deny")] Deny,
    [JsonStringEnumMemberName("pend")] Pend,
}

[Description("Extend a routine review once, to 14 calendar days from receipt, with a notice to the member.")]
public sealed record ExtensionBody
{
    [Description("Why more time is needed (stated in the notice).")]
    public required string Reason { get; init; }

    public string? ExtendedBy { get; init; }
}

[Description("The written decision notices were sent (stops the notice clock).")]
public sealed record NoticesSentBody
{
    [Description("Who sent the notices.")]
    public required string SentBy { get; init; }
}

[Description("Ask for the next authorized period before the current one ends.")]
public sealed record ReauthorizationBody
{
    [Description("The provider or staff id asking for reauthorization.")]
    public required string RequestedBy { get; init; }
}

[Description("Look up a member's authorizations with the CIN in the body, not the URL.")]
public sealed record MemberLookupBody
{
    [Description("The member's Medi-Cal CIN.")]
    public required string MemberCin { get; init; }
}
