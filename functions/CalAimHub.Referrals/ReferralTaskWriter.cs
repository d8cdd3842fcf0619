using CalAimHub.Domain.Referrals;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;
using FhirTask = Hl7.Fhir.Model.Task;

namespace CalAimHub.Referrals;

/// <summary>
/// The referral's current state as an SDOHCC Task For Referral Management, for FHIR platforms that read it back
/// (<c>GET /api/referrals/{id}/fhir</c>). The DHCS status travels in <c>businessStatus</c>, the FHIR status comes from
/// <see cref="ReferralStatusMap"/> (or is the one the platform itself sent).
/// </summary>
public static class ReferralTaskWriter
{
    public const string ReferralIdSystem = "urn:calaimhub:referral";
    public const string DhcsStatusSystem = "urn:calaimhub:dhcs-referral-status";
    public const string TaskProfile = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement";

    private static readonly FhirJsonSerializer Serializer = new();

    /// <param name="ownerName">The receiving provider's directory name, shown as <c>owner.display</c> beside its NPI.</param>
    public static FhirTask ToTask(ReferralSnapshot referral, string? ownerName = null)
    {
        var status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(referral.TaskStatus)
            ?? EnumUtility.ParseLiteral<FhirTask.TaskStatus>(ReferralStatusMap.ToTaskStatus(referral.Status, referral.Reason));
        var fhirId = $"{referral.Platform}.{referral.PlatformReferralId}";
        var task = new FhirTask
        {
            Id = fhirId.Length <= 64 ? fhirId : null,
            Meta = new Meta { Profile = [TaskProfile], LastUpdatedElement = new Instant(referral.UpdatedAt) },
            Identifier = [new Identifier(ReferralIdSystem, referral.ReferralId)],
            Status = status,
            BusinessStatus = new CodeableConcept(DhcsStatusSystem, referral.Status.DhcsName(), referral.Status.DhcsName()),
            Intent = FhirTask.TaskIntent.Order,
            Code = new CodeableConcept(FhirReferralAdapter.TaskCodeSystem, "fulfill"),
            Focus = new ResourceReference($"ServiceRequest/{referral.PlatformReferralId}"),
            AuthoredOnElement = new FhirDateTime(referral.CreatedAt),
            LastModifiedElement = new FhirDateTime(referral.UpdatedAt),
            Priority = referral.Urgency == ReferralUrgency.Routine ? RequestPriority.Routine : RequestPriority.Urgent,
        };
        if (referral.Member is { } member)
        {
            task.For = new ResourceReference { Identifier = new Identifier(FhirReferralAdapter.CinSystem, member.Cin) };
        }

        if (referral.ReferringEntity is { } referrer)
        {
            task.Requester = new ResourceReference
            {
                Display = referrer.Name,
                Identifier = referrer.Npi is null ? null : new Identifier(FhirReferralAdapter.NpiSystem, referrer.Npi),
            };
        }

        if (referral.ReceivingProviderNpi is { } receiving)
        {
            task.Owner = new ResourceReference { Identifier = new Identifier(FhirReferralAdapter.NpiSystem, receiving), Display = ownerName };
        }

        if (referral.Reason is { } reason)
        {
            task.StatusReason = new CodeableConcept { Text = reason };
        }

        return task;
    }

    public static string ToJson(ReferralSnapshot referral) => Serializer.SerializeToString(ToTask(referral));

    /// <summary>
    /// The Task as sent in a notice (CloudEvent data, <c>application/fhir+json</c>) to a FHIR platform: the same Task
    /// without <c>for</c>, so no member identifier (CIN) or name leaves the hub in a notice. The platform knows the
    /// patient through <c>focus</c> (its own ServiceRequest) and the hub's referral id in <c>identifier</c>; a client that
    /// needs <c>for</c> reads <c>GET /api/referrals/{id}/fhir</c>.
    /// </summary>
    public static FhirTask ToNoticeTask(ReferralSnapshot referral, string? ownerName = null) => ToTask(referral with { Member = null }, ownerName);

    public static string ToNoticeJson(ReferralSnapshot referral, string? ownerName = null) => Serializer.SerializeToString(ToNoticeTask(referral, ownerName));
}
