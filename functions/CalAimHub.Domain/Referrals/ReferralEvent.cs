using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Referrals;

/// <summary>
/// The one canonical referral event every platform adapter produces (generic JSON, FHIR R4, later RTF rows). It is what
/// is stored and queued for the referral workflow. It carries the member's CIN, so it is stored, never logged:
/// <see cref="MemberReference.ToString"/> masks it in case an event is ever formatted into a message.
/// </summary>
/// <param name="EventId">The platform's event id (Standard Webhooks <c>webhook-id</c>): the idempotency key.</param>
/// <param name="ReferralId">The hub's referral id: <c>{platform}:{platformReferralId}</c>, so two platforms' ids cannot collide.</param>
/// <param name="TaskStatus">The FHIR <c>Task.status</c> the event carried or implies (see <see cref="ReferralStatusMap"/>).</param>
/// <param name="Reason">Decline reason or loop-closure reason; required for Declined and Referral Loop Closed.</param>
/// <param name="Service">What is referred; required when the referral is created.</param>
/// <param name="Member">Who is referred (CIN, county when known); required when the referral is created.</param>
/// <param name="ReceivingProviderNpi">The provider the platform sent it to, when the platform routed it itself.</param>
/// <param name="SupportingFacts">
/// DHCS eligibility criterion codes the referrer attests to (created only; see <see cref="ReferralEligibility"/>), passed to
/// the authorization the referral starts: e.g. <c>transitioning-from-incarceration</c> makes Justice-Involved ECM
/// presumptive. Facts about the member: stored, never logged nor echoed.
/// </param>
public sealed record ReferralEvent(
    string EventId,
    string Platform,
    string ReferralId,
    string PlatformReferralId,
    ReferralEventKind Kind,
    ReferralStatus Status,
    string TaskStatus,
    string? Reason,
    ReferralService? Service,
    MemberReference? Member,
    ReferringEntity? ReferringEntity,
    string? ReceivingProviderNpi,
    ReferralUrgency Urgency,
    DateTimeOffset OccurredAt,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<string>? SupportingFacts = null)
{
    public static string HubReferralId(string platform, string platformReferralId) => $"{platform}:{platformReferralId}";
}

[JsonConverter(typeof(KebabCaseEnumConverter<ReferralEventKind>))]
public enum ReferralEventKind
{
    Created,
    StatusChanged,
    Cancelled,
}

/// <summary>Routine, urgent, or a hospital discharge (whose acknowledgement deadline is 24 hours, issue 6).</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<ReferralUrgency>))]
public enum ReferralUrgency
{
    Routine,
    Urgent,
    Discharge,
}

/// <summary>
/// The member: the CIN and, when the platform sends it, the county of residence (canonical name from
/// <see cref="CaliforniaCounties"/>), which routing uses to offer only providers serving it. Both are member data (a
/// county is a HIPAA geographic identifier), so they are masked in <see cref="ToString"/> and cannot reach a log by accident.
/// </summary>
public sealed record MemberReference(string Cin, string? County = null)
{
    public override string ToString() => "MemberReference { Cin = ***, County = *** }";
}

/// <summary>Who referred the member (a hospital, clinic, county, CBO): an organization, not member data.</summary>
public sealed record ReferringEntity(string Name, string? Npi);

/// <summary>
/// What is referred: ECM with the Populations of Focus the member is referred under, or one Community Supports service.
/// </summary>
/// <param name="Code"><c>ecm</c>, or a Community Supports service id from <see cref="CommunitySupports"/>.</param>
public sealed record ReferralService(string Code, IReadOnlyList<string> PopulationsOfFocus)
{
    public const string Ecm = "ecm";

    [JsonIgnore]
    public bool IsEcm => Code == Ecm;

    /// <summary>DHCS lets plans leave sobering-center referrals out of closed-loop tracking.</summary>
    [JsonIgnore]
    public bool ExemptFromTracking => Code == "sobering-centers";

    /// <summary>Null when valid, else (field suffix, message) for a problem naming the field.</summary>
    public static (string Field, string Message)? Problem(string? code, IReadOnlyList<string> populations)
    {
        if (string.IsNullOrEmpty(code))
        {
            return ("code", $"is required: '{Ecm}' or a Community Supports service ({string.Join(", ", CommunitySupports.Current.Ids)})");
        }

        if (code == Ecm)
        {
            if (populations.Count == 0)
            {
                return ("populationsOfFocus", "is required for ECM: at least one Population of Focus id");
            }

            for (var i = 0; i < populations.Count; i++)
            {
                if (CodeSets.PopulationsOfFocus.Current.Find(populations[i]) is null)
                {
                    return ($"populationsOfFocus[{i}]", $"'{populations[i]}' is not a Population of Focus; use one of {string.Join(", ", CodeSets.PopulationsOfFocus.Current.Ids)}");
                }
            }

            return null;
        }

        if (CommunitySupports.Current.Find(code) is null)
        {
            return ("code", $"'{code}' is not a service; use '{Ecm}' or a Community Supports service ({string.Join(", ", CommunitySupports.Current.Ids)})");
        }

        return populations.Count > 0 ? ("populationsOfFocus", "applies to ECM only; leave it out for a Community Supports service") : null;
    }
}

/// <summary>
/// The eligibility facts a referral may carry: the DHCS criterion codes of the Populations of Focus and Community
/// Supports services (<see cref="PopulationsOfFocus.Criteria"/>, <see cref="CommunitySupports.EligibilityCriterionCode"/>),
/// the same codes <c>POST /api/authorizations</c> takes as <c>supportingFacts</c>.
/// </summary>
public static class ReferralEligibility
{
    private static readonly HashSet<string> Known =
    [
        .. PopulationsOfFocus.Current.Entries.SelectMany(p => p.Criteria).Select(c => c.Code),
        .. CommunitySupports.Current.Entries.SelectMany(s => s.Criteria).Select(c => c.Code),
    ];

    public static bool IsCriterion(string code) => Known.Contains(code);

    /// <summary>Why a fact is refused, without its value (an attestation about the member is not echoed).</summary>
    public static string NotACriterion =>
        "is not a DHCS eligibility criterion code; use a criterion code of the referred Population of Focus or service " +
        $"(e.g. '{PopulationsOfFocus.Criteria.TransitioningFromIncarceration.Code}'), as listed in CalAimHub.Domain.CodeSets";
}

/// <summary>A bad field in a referral payload: the field's path in the payload and what is wrong with it.</summary>
public sealed record ReferralFieldError(string Field, string Message);

public static partial class ReferralIdentifiers
{
    /// <summary>Platform names appear in URLs, app setting names (Azure allows no hyphen there) and referral ids: lowercase letters and digits.</summary>
    public static bool IsPlatformName(string? value) => value is not null && PlatformPattern().IsMatch(value);

    /// <summary>A platform's own referral id: the FHIR id alphabet, so a ServiceRequest id fits as it is.</summary>
    public static bool IsPlatformReferralId(string? value) => value is not null && ReferralIdPattern().IsMatch(value);

    /// <summary>Event ids become table keys: no '/', '\', '#', '?' or control characters.</summary>
    public static bool IsEventId(string? value) => value is not null && EventIdPattern().IsMatch(value);

    /// <summary>The hub referral id, split back; null when it is not one.</summary>
    public static (string Platform, string PlatformReferralId)? Split(string hubReferralId)
    {
        var colon = hubReferralId.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return null;
        }

        var (platform, id) = (hubReferralId[..colon], hubReferralId[(colon + 1)..]);
        return IsPlatformName(platform) && IsPlatformReferralId(id) ? (platform, id) : null;
    }

    // \z, not $: in .NET '$' also matches before a final "\n", which would let "id%0A" through to storage and logs.
    [GeneratedRegex(@"^[a-z0-9]{1,32}\z")]
    private static partial Regex PlatformPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}\z")]
    private static partial Regex ReferralIdPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_:=+-]{0,127}\z")]
    private static partial Regex EventIdPattern();
}
