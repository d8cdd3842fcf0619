namespace CalAimHub.Domain.Referrals;

/// <summary>
/// FHIR <c>Task.status</c> (Gravity SDOH Clinical Care, ValueSet SDOHCC Referral Task Status: R4 task-status minus
/// <c>ready</c> and <c>received</c>) ⇄ DHCS referral status, as one table. Both directions read these rows, so the
/// inbound FHIR adapter, the generic format and the outbound <c>Task</c> cannot disagree.
/// </summary>
/// <remarks>
/// The DHCS ⇄ Task mapping is not published by DHCS or HL7; this is the inference recorded in calaim-standards.md §7.2
/// (Pending→requested, Accepted→accepted, Outreach Initiated→in-progress, Declined→rejected, Referral Loop Closed +
/// "Services Received"→completed, other closures→cancelled/failed with statusReason.text). <c>on-hold</c> keeps the
/// DHCS status Outreach Initiated (work started, paused). <c>statusReason.text</c> is required by the IG for
/// rejected, cancelled, on-hold and failed.
/// </remarks>
public static class ReferralStatusMap
{
    public const string Source = "HL7 Gravity SDOH Clinical Care STU3 SDOHCCTaskForReferralManagement + DHCS CLR statuses; mapping per calaim-standards.md §7.2";

    /// <summary>The closure reason recorded for a Task marked <c>entered-in-error</c>.</summary>
    public const string EnteredInError = "Entered in error";

    public static readonly IReadOnlyList<TaskStatusMapping> Rows =
    [
        new("draft", null, ReasonRequired: false, ImpliedReason: null, Outbound: false, "not yet actionable: not a referral until the requester sets it to 'requested'"),
        new("requested", ReferralStatus.Pending, ReasonRequired: false, ImpliedReason: null, Outbound: true, "ready, action sought from the performer"),
        new("accepted", ReferralStatus.Accepted, ReasonRequired: false, ImpliedReason: null, Outbound: true, "the performer agreed, work not started"),
        new("rejected", ReferralStatus.Declined, ReasonRequired: true, ImpliedReason: null, Outbound: true, "the performer declined before any action"),
        new("in-progress", ReferralStatus.OutreachInitiated, ReasonRequired: false, ImpliedReason: null, Outbound: true, "started (outreach to the member), not complete"),
        new("on-hold", ReferralStatus.OutreachInitiated, ReasonRequired: true, ImpliedReason: null, Outbound: false, "started, paused"),
        new("completed", ReferralStatus.ReferralLoopClosed, ReasonRequired: false, ImpliedReason: ReferralStatuses.ServicesReceived, Outbound: true, "done: services received"),
        new("cancelled", ReferralStatus.ReferralLoopClosed, ReasonRequired: true, ImpliedReason: null, Outbound: true, "will not be completed"),
        new("failed", ReferralStatus.ReferralLoopClosed, ReasonRequired: true, ImpliedReason: null, Outbound: false, "attempted, could not be completed"),
        new("entered-in-error", ReferralStatus.ReferralLoopClosed, ReasonRequired: false, ImpliedReason: EnteredInError, Outbound: false, "should never have existed"),
    ];

    /// <summary>The R4 task-status codes the Gravity referral Task profile excludes.</summary>
    public static readonly IReadOnlyList<string> ExcludedByProfile = ["ready", "received"];

    /// <summary>The row for a <c>Task.status</c> code, or null when the code is not in the SDOHCC Referral Task Status value set.</summary>
    public static TaskStatusMapping? FromTaskStatus(string? code) => Rows.FirstOrDefault(r => string.Equals(r.TaskStatus, code, StringComparison.Ordinal));

    /// <summary>
    /// The <c>Task.status</c> to show for a DHCS status: the first outbound row for it whose implied reason (if any) is
    /// the referral's reason — a loop closed as "Services Received" is <c>completed</c>, any other closure <c>cancelled</c>.
    /// </summary>
    public static string ToTaskStatus(ReferralStatus status, string? reason) => Rows
        .First(r => r.Outbound && r.DhcsStatus == status && (r.ImpliedReason is null || string.Equals(r.ImpliedReason, reason, StringComparison.OrdinalIgnoreCase)))
        .TaskStatus;

    public static string AllTaskStatuses => string.Join(", ", Rows.Select(r => $"'{r.TaskStatus}'"));
}

/// <param name="TaskStatus">The FHIR <c>Task.status</c> code.</param>
/// <param name="DhcsStatus">The DHCS status it means; null when it means no referral yet (<c>draft</c>).</param>
/// <param name="ReasonRequired"><c>Task.statusReason.text</c> must be present (Gravity profile).</param>
/// <param name="ImpliedReason">The DHCS reason this code itself carries (closure reason), used when none is given.</param>
/// <param name="Outbound">Used when the hub writes a Task for a DHCS status (the preferred code for that status).</param>
/// <param name="Meaning">What the code means (SDOHCC Task for Referral Management).</param>
public sealed record TaskStatusMapping(string TaskStatus, ReferralStatus? DhcsStatus, bool ReasonRequired, string? ImpliedReason, bool Outbound, string Meaning);
