using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// A request for ECM or Community Supports authorization: the start input of an <c>authorization</c> workflow,
/// whether it came from the API, a referral file or a webhook.
/// </summary>
/// <param name="AuthorizationId">The workflow instance id; carried in the state because notices name it.</param>
/// <param name="MemberCin">Medi-Cal Client Index Number. PHI: stored, never logged, never in a notice.</param>
/// <param name="ReceivedAt">First receipt by any delegated entity: the clock starts here and forwarding never resets it.</param>
/// <param name="SupportingFacts">Criterion codes the referrer attests to (<see cref="CodeSets.Criterion.Code"/>), plus <see cref="Part2Information"/>.</param>
/// <param name="ConsentReference">ASCMI (or other) consent on file, by reference; required when 42 CFR Part 2 information is shared.</param>
/// <param name="ParentInstanceId">The workflow instance (e.g. a <c>referral</c>) that started this one and is told each decision.</param>
public sealed record AuthorizationRequest(
    string AuthorizationId,
    string MemberCin,
    RequestedService Service,
    string RequestingProviderNpi,
    string ReferringEntity,
    Urgency Urgency,
    IReadOnlyList<string> SupportingFacts,
    string? ConsentReference,
    DateTimeOffset ReceivedAt,
    string? ParentInstanceId = null)
{
    /// <summary>The supporting fact saying the referral carries SUD records from a 42 CFR Part 2 program.</summary>
    public const string Part2Information = "includes-42-cfr-part-2-information";

    [JsonIgnore]
    public bool SharesPart2Information => SupportingFacts.Contains(Part2Information);
}

[JsonConverter(typeof(KebabCaseEnumConverter<ServiceProgram>))]
public enum ServiceProgram
{
    Ecm,
    CommunitySupports,
}

/// <summary>ECM with its Population(s) of Focus, or one Community Supports service (or the housing trio, jointly).</summary>
public sealed record RequestedService(ServiceProgram Program, IReadOnlyList<string> PopulationsOfFocus, IReadOnlyList<string> Services)
{
    public static RequestedService Ecm(params string[] populationsOfFocus) => new(ServiceProgram.Ecm, populationsOfFocus, []);

    public static RequestedService CommunitySupports(params string[] services) => new(ServiceProgram.CommunitySupports, [], services);

    /// <summary>The keys one member may hold only one open or active authorization for: "ecm", or each CS service.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> ServiceKeys => Program == ServiceProgram.Ecm ? [EcmKey] : Services;

    public const string EcmKey = "ecm";
}

/// <summary>Enum values as kebab-case strings ("community-supports", "pending-information") in requests, state and notices.</summary>
public sealed class KebabCaseEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false)
    where T : struct, Enum;
