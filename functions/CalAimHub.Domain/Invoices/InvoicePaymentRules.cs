using CalAimHub.Domain.Calendar;

namespace CalAimHub.Domain.Invoices;

/// <summary>
/// The payment-timeliness rules for ECM and Community Supports invoices as versioned data, and the arithmetic that
/// turns them into dates on the one California working-day calendar and into interest in cents.
/// </summary>
/// <remarks>
/// Source: calaim-standards.md §3.2. H&amp;SC §1371.35: pay or contest each complete claim within 30 working days of
/// receipt (45 for an HMO-type plan); a late uncontested claim accrues the greater of $15 a year or 15% a year,
/// beginning with the first calendar day after the window. "$15 per year" is prorated like the rate (28 CCR
/// §1300.71(i)(1): "for each 12-month period or portion thereof on a prorated basis"), so both are per day over 365.
/// Clean-claim targets (90% within 30 days, 99% within 90, calendar days from receipt): 42 CFR 447.45 via 447.46.
/// </remarks>
public sealed record InvoicePaymentRules(
    string Version,
    DateOnly EffectiveFrom,
    string Source,
    IReadOnlyDictionary<PlanType, int> PayOrContestWorkingDays,
    decimal InterestAnnualRate,
    decimal InterestAnnualMinimum,
    int InterestDaysPerYear,
    string InterestSource,
    int ReminderLeadWorkingDays,
    IReadOnlyList<CleanClaimTarget> CleanClaimTargets,
    int CorrectionCalendarDays)
{
    public static readonly InvoicePaymentRules Hsc1371_35 = new(
        Version: "2026-01-01",
        EffectiveFrom: new DateOnly(2026, 1, 1),
        Source: "California Health and Safety Code §1371.35(a) (30 working days; 45 for a health maintenance organization); DHCS APL on timely claims payment (July 2024) — calaim-standards.md §3.2",
        PayOrContestWorkingDays: new Dictionary<PlanType, int> { [PlanType.Standard] = 30, [PlanType.HmoType] = 45 },
        InterestAnnualRate: 0.15m,
        InterestAnnualMinimum: 15m,
        InterestDaysPerYear: 365,
        InterestSource: "H&SC §1371.35(b): the greater of $15 per year or 15% per annum from the first calendar day after the window; 28 CCR §1300.71(i)(1): prorated for a portion of a year",
        // Plan operations, not regulation: a plan may change these in configuration.
        ReminderLeadWorkingDays: 5,
        CleanClaimTargets: [new(30, 0.90m), new(90, 0.99m)],
        // [U] No text names the provider's time to answer a contest; 365 days follows Medi-Cal's 12-month billing limit.
        CorrectionCalendarDays: 365);

    public static InvoicePaymentRules Current => Hsc1371_35;

    public int WorkingDays(PlanType planType) => PayOrContestWorkingDays[planType];

    /// <summary>The last working day of the window that starts on the Pacific date of <paramref name="receivedAt"/> (receipt day not counted).</summary>
    public DateOnly LastDay(DateTimeOffset receivedAt, PlanType planType, CaliforniaWorkingDays calendar) =>
        calendar.WorkingDayAfter(receivedAt, WorkingDays(planType));

    /// <summary>The instant the window closes: midnight Pacific after its last working day.</summary>
    public DateTimeOffset DueAt(DateTimeOffset receivedAt, PlanType planType, CaliforniaWorkingDays calendar) =>
        calendar.EndOfWorkingDays(receivedAt, WorkingDays(planType));

    /// <summary>The reminder: when only <see cref="ReminderLeadWorkingDays"/> working days are left; null when the window is shorter.</summary>
    public DateTimeOffset? ReminderAt(DateTimeOffset receivedAt, PlanType planType, CaliforniaWorkingDays calendar)
    {
        var days = WorkingDays(planType) - ReminderLeadWorkingDays;
        return days > 0 ? calendar.EndOfWorkingDays(receivedAt, days) : null;
    }

    /// <summary>Calendar days of interest for a payment on <paramref name="paidOn"/>: from the first day after <paramref name="lastDay"/> through the payment date.</summary>
    public static int InterestDays(DateOnly lastDay, DateOnly paidOn) => Math.Max(0, paidOn.DayNumber - lastDay.DayNumber);

    /// <summary>
    /// Interest on <paramref name="amount"/> paid <paramref name="days"/> calendar days late: the greater of the annual
    /// rate and the annual minimum, both prorated per day, rounded to the cent (half away from zero).
    /// </summary>
    public decimal Interest(decimal amount, int days)
    {
        if (days <= 0 || amount <= 0)
        {
            return 0m;
        }

        var byRate = amount * InterestAnnualRate * days / InterestDaysPerYear;
        var minimum = InterestAnnualMinimum * days / InterestDaysPerYear;
        return Math.Round(Math.Max(byRate, minimum), 2, MidpointRounding.AwayFromZero);
    }
}

/// <summary>The plan's licence type, which sets the working days to pay or contest.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(Authorizations.KebabCaseEnumConverter<PlanType>))]
public enum PlanType
{
    /// <summary>30 working days.</summary>
    Standard,

    /// <summary>A health maintenance organization: 45 working days.</summary>
    HmoType,
}

/// <summary>Share of clean invoices to pay within <paramref name="CalendarDays"/> of receipt.</summary>
public sealed record CleanClaimTarget(int CalendarDays, decimal Share);
