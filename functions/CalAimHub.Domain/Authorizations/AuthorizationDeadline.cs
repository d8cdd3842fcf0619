using CalAimHub.Domain.Calendar;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// The authorization turnaround rules as versioned data, and the arithmetic that turns them into instants on the
/// California working-day calendar. Every clock in the authorization workflow is computed here and nowhere else.
/// </summary>
/// <remarks>
/// Source: calaim-standards.md §6.1 — Health Net PPG standards (routine 5 working days, extension to 14 calendar days
/// from receipt with written notice, expedited 72 hours, clock starts at first receipt and forwarding does not reset
/// it) and the NEMS MSO Medi-Cal table (written notice within 2 business days of the decision, never beyond the
/// 14-day / 72-hour cap).
/// </remarks>
public sealed record AuthorizationDeadline(
    string Version,
    DateOnly EffectiveFrom,
    string Source,
    int RoutineDecisionWorkingDays,
    int ExtendedDecisionCalendarDays,
    int MaxExtensions,
    TimeSpan ExpeditedDecision,
    int DecisionNoticeBusinessDays,
    TimeSpan RoutineReminderLead,
    TimeSpan ExpeditedReminderLead,
    TimeSpan NoticeReminderLead)
{
    public static readonly AuthorizationDeadline Medi_Cal2023 = new(
        Version: "2023-07-01",
        EffectiveFrom: new DateOnly(2023, 7, 1),
        Source: "Medi-Cal managed care UM timeframes: Health Net PPG authorization and referral timelines; NEMS MSO Medi-Cal prior authorization table (calaim-standards.md §6.1)",
        RoutineDecisionWorkingDays: 5,
        ExtendedDecisionCalendarDays: 14,
        MaxExtensions: 1,
        ExpeditedDecision: TimeSpan.FromHours(72),
        DecisionNoticeBusinessDays: 2,
        // Reminder lead times are plan operations, not regulation: defaults a plan may change in configuration.
        RoutineReminderLead: TimeSpan.FromDays(1),
        ExpeditedReminderLead: TimeSpan.FromHours(12),
        NoticeReminderLead: TimeSpan.FromHours(12));

    public static AuthorizationDeadline Current => Medi_Cal2023;

    /// <summary>Routine: end of the 5th working day after receipt. Expedited: 72 clock hours, weekends and holidays included.</summary>
    public DateTimeOffset DecisionDue(DateTimeOffset receivedAt, Urgency urgency, CaliforniaWorkingDays calendar) => urgency switch
    {
        Urgency.Expedited => receivedAt + ExpeditedDecision,
        _ => calendar.EndOfWorkingDays(receivedAt, RoutineDecisionWorkingDays),
    };

    /// <summary>The extended routine deadline: end of the 14th calendar day after receipt (from receipt, not from the extension).</summary>
    public DateTimeOffset ExtendedDecisionDue(DateTimeOffset receivedAt, CaliforniaWorkingDays calendar) =>
        calendar.StartOf(calendar.DateOf(receivedAt).AddDays(ExtendedDecisionCalendarDays + 1));

    /// <summary>The longest a decision may take: the cap decision notices may not pass either.</summary>
    public DateTimeOffset DecisionCap(DateTimeOffset receivedAt, Urgency urgency, CaliforniaWorkingDays calendar) =>
        urgency == Urgency.Expedited ? receivedAt + ExpeditedDecision : ExtendedDecisionDue(receivedAt, calendar);

    /// <summary>
    /// Decision notices: end of the 2nd business day after the decision, but never past the decision cap. When the
    /// decision itself came after the cap, the cap is already lost (and recorded as the decision clock's breach), so the
    /// notice gets its own 2 business days instead of a deadline in the past.
    /// </summary>
    public DateTimeOffset NoticeDue(DateTimeOffset decidedAt, DateTimeOffset receivedAt, Urgency urgency, CaliforniaWorkingDays calendar)
    {
        var due = calendar.EndOfBusinessDays(decidedAt, DecisionNoticeBusinessDays);
        var cap = DecisionCap(receivedAt, urgency, calendar);
        return cap > decidedAt && cap < due ? cap : due;
    }

    public TimeSpan DecisionReminderLead(Urgency urgency) => urgency == Urgency.Expedited ? ExpeditedReminderLead : RoutineReminderLead;
}

public enum Urgency
{
    Routine,
    Expedited,
}
