using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// How long an approval lasts, per program and service, as versioned data; and when the reauthorization reminder fires.
/// </summary>
/// <remarks>
/// ECM: initial 12 months, each reauthorization 6 months (DHCS ECM Policy Guide, effective 1 July 2023 — marked [U]
/// in calaim-standards.md §6.2: no public text found; the newer RTF's "Reauthorization Request" field supports it).
/// Community Supports: DHCS sets no common period; Transitional Rent runs 6 months (CHG auth table, §4.2/§6.2). Other
/// services use the plan-configured default until a plan sets its own; plans override through configuration.
/// </remarks>
public sealed record AuthorizationPeriods(
    string Version,
    DateOnly EffectiveFrom,
    string Source,
    ServicePeriod Ecm,
    IReadOnlyDictionary<string, ServicePeriod> CommunitySupports,
    ServicePeriod CommunitySupportsDefault,
    TimeSpan ReauthorizationReminderLead)
{
    public static readonly AuthorizationPeriods Dhcs2023 = new(
        Version: "2023-07-01",
        EffectiveFrom: new DateOnly(2023, 7, 1),
        Source: "DHCS ECM Policy Guide (July 2023) for ECM; CHG Transitional Rent auth table for Transitional Rent; plan default for other CS (calaim-standards.md §6.2)",
        Ecm: new ServicePeriod(InitialMonths: 12, ReauthorizationMonths: 6),
        CommunitySupports: new Dictionary<string, ServicePeriod>
        {
            ["transitional-rent"] = new(InitialMonths: 6, ReauthorizationMonths: 6),
        },
        CommunitySupportsDefault: new ServicePeriod(InitialMonths: 6, ReauthorizationMonths: 6),
        ReauthorizationReminderLead: TimeSpan.FromDays(30));

    public static AuthorizationPeriods Current => Dhcs2023;

    /// <summary>The period for a request; a joint housing-trio request takes the shortest of its services.</summary>
    public ServicePeriod For(RequestedService service)
    {
        if (service.Program == ServiceProgram.Ecm)
        {
            return Ecm;
        }

        return service.Services.Select(s => CommunitySupports.GetValueOrDefault(s, CommunitySupportsDefault))
            .MinBy(p => p.InitialMonths) ?? CommunitySupportsDefault;
    }

    /// <summary>The end of a period of <paramref name="months"/> starting on <paramref name="start"/>'s Pacific date: the day before the same date N months later ends.</summary>
    public static DateTimeOffset EndOf(DateTimeOffset start, int months, CaliforniaWorkingDays calendar) =>
        calendar.StartOf(calendar.DateOf(start).AddMonths(months));
}

public sealed record ServicePeriod(int InitialMonths, int ReauthorizationMonths);
