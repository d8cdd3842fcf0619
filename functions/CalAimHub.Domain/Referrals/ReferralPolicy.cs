using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Referrals;

/// <summary>What the referral workflow decides with besides the referral: deadlines, calendar, authorization needs, subscribers.</summary>
/// <param name="AcknowledgementBusinessDays">A receiving provider answers within this many California working days (default 2).</param>
/// <param name="DischargeAcknowledgement">The answer deadline for a hospital discharge referral (default 24 hours).</param>
/// <param name="AuthorizationServices">Services (<c>ecm</c>, Community Supports ids) whose referrals start an <c>authorization</c> workflow first.</param>
/// <param name="MemberSubscriber">Notification subscriber that reaches members (member portal / messaging).</param>
/// <param name="PlanStaffSubscriber">Notification subscriber of plan staff: escalations.</param>
/// <param name="ReferrerSubscribers">Platform → subscriber that reaches the referring entity; a platform not listed is its own subscriber id.</param>
public sealed record ReferralPolicy(
    int AcknowledgementBusinessDays,
    TimeSpan DischargeAcknowledgement,
    CaliforniaWorkingDays Calendar,
    IReadOnlySet<string> AuthorizationServices,
    string MemberSubscriber,
    string PlanStaffSubscriber,
    IReadOnlyDictionary<string, string> ReferrerSubscribers,
    int MaxCandidates = 10)
{
    /// <summary>ECM and every Community Supports service except sobering centers (exempt from tracking) need authorization.</summary>
    public static IReadOnlySet<string> DefaultAuthorizationServices { get; } = new HashSet<string>(
        CodeSets.CommunitySupports.Current.Ids.Where(id => id != "sobering-centers").Prepend(ReferralService.Ecm), StringComparer.Ordinal);

    public static ReferralPolicy Default(IReadOnlySet<string>? authorizationServices = null) => new(
        2, TimeSpan.FromHours(24), CaliforniaWorkingDays.Current, authorizationServices ?? DefaultAuthorizationServices,
        "members", "plan-staff", new Dictionary<string, string>(StringComparer.Ordinal));

    /// <summary>When a provider offered the referral at <paramref name="offeredAt"/> must answer.</summary>
    public DateTimeOffset AcknowledgementDue(DateTimeOffset offeredAt, ReferralUrgency urgency) =>
        urgency == ReferralUrgency.Discharge ? offeredAt + DischargeAcknowledgement : Calendar.EndOfBusinessDays(offeredAt, AcknowledgementBusinessDays);

    public string ReferrerSubscriber(string platform) => ReferrerSubscribers.GetValueOrDefault(platform) ?? platform;

    public bool NeedsAuthorization(ReferralService service) => AuthorizationServices.Contains(service.Code);
}
