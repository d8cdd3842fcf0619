using System.Globalization;
using System.Text.Json.Serialization;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using MiniExcelLibs.Attributes;

namespace CalAimHub.Functions.Monitoring;

/// <summary>
/// The DHCS monitoring extract of one month (issue 12): the closed-loop referral tracking data the plan keeps and the
/// ECM/CS implementation figures the hub holds, shaped after the tabs of DHCS's quarterly ECM/CS implementation
/// monitoring report (calaim-standards.md §9). No member data: referrals appear by their hub id, members only as counts.
/// It also carries the month's invoice payment timeliness (issue 13). Its JSON form follows
/// docs/schemas/monitoring-extract-1.1.schema.json, which marks per field whether it follows a DHCS source or is the hub's own
/// baseline (1.0 had no invoice section; extracts made before stay as they were).
/// </summary>
public sealed record MonitoringExtract(
    [property: JsonPropertyName("$schema")] string Schema,
    string SchemaVersion,
    string Month,
    string PeriodStart,
    string PeriodEnd,
    DateTimeOffset GeneratedAt,
    IReadOnlyList<ReferralTrackingRow> ReferralTracking,
    IReadOnlyList<MembersAndServicesRow> MembersAndServices,
    IReadOnlyList<CsRequestsAndDenialsRow> CsRequestsAndDenials,
    IReadOnlyList<ProviderCapacityRow> ProviderCapacity,
    IReadOnlyList<InvoiceTimelinessRow> InvoiceTimeliness)
{
    public const string Version = "1.1.0";
    public const string SchemaId = "https://calaimhub/schemas/monitoring-extract-1.1.schema.json";

    /// <summary>The provider column of the row that counts every billing provider.</summary>
    public const string AllProviders = "all";

    /// <summary>DHCS dates are Pacific: the month, receipt dates (Tab 6 converts UTC to Pacific) and status dates.</summary>
    public static TimeZoneInfo Pacific { get; } = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");

    /// <summary>Builds the extract of <paramref name="month"/> from what the hub holds. Pure: same inputs, same extract.</summary>
    public static MonitoringExtract Build(MonitoringMonth month, MonitoringInputs inputs, DateTimeOffset generatedAt)
    {
        bool InMonth(DateTimeOffset at) => at >= month.Start && at < month.End;

        var tracking = inputs.StatusUpdates
            .Where(u => InMonth(u.UpdatedAt))
            .OrderBy(u => u.ReferralId, StringComparer.Ordinal).ThenBy(u => u.UpdatedAt)
            .Select(u => new ReferralTrackingRow(
                u.ReferralId, u.Service, u.ReferringEntity, u.ReceivingProviderNpi, u.Status.DhcsName(), DhcsDate(u.UpdatedAt),
                u.Status == ReferralStatus.ReferralLoopClosed ? u.LoopClosureReason : null))
            .ToList();

        // Members with an authorized period overlapping the month, per service (and Population of Focus for ECM).
        var members = inputs.Authorizations
            .Where(a => a.AuthorizedFrom is { } from && from < month.End && (a.AuthorizedThrough ?? DateTimeOffset.MaxValue) >= month.Start)
            .SelectMany(a => a.Services.SelectMany(s => (s == "ecm" && a.PopulationsOfFocus.Count > 0 ? a.PopulationsOfFocus : [""]).Select(p => (Service: s, Pof: p, Auth: a))))
            .GroupBy(x => (x.Service, x.Pof))
            .OrderBy(g => g.Key.Service == "ecm" ? 0 : 1).ThenBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Pof, StringComparer.Ordinal)
            .Select(g => new MembersAndServicesRow(
                g.Key.Service,
                g.Key.Pof.Length == 0 ? null : g.Key.Pof,
                g.Select(x => x.Auth.MemberKey).Distinct(StringComparer.Ordinal).Count(),
                g.Count(x => InMonth(x.Auth.AuthorizedFrom!.Value))))
            .ToList();

        // Tab 6: Community Supports requests and denials by receipt date (Pacific).
        var requests = inputs.Authorizations
            .Where(a => InMonth(a.ReceivedAt))
            .SelectMany(a => a.Services.Where(s => s != "ecm").Select(s => (Service: s, Denied: a.Status == AuthorizationStatus.Denied)))
            .GroupBy(x => x.Service, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new CsRequestsAndDenialsRow(g.Key, g.Count(), g.Count(x => x.Denied)))
            .ToList();

        // Tab 5: Community Supports provider capacity (the directory as it stands when the extract is made).
        var capacity = inputs.Providers
            .Where(p => p.Services.Any(s => s != "ecm"))
            .OrderBy(p => p.Npi, StringComparer.Ordinal)
            .Select(p => new ProviderCapacityRow(p.Npi, p.Name, string.Join(";", p.Services.Where(s => s != "ecm").Order(StringComparer.Ordinal)), p.Capacity.Serving, p.Capacity.AbleToServe))
            .ToList();

        // Invoice payment timeliness of the month's receipts, from the invoice read models: all providers, then each.
        var invoices = inputs.Invoices is { } figures
            ? [Timeliness(AllProviders, figures), .. (figures.ByProvider ?? []).OrderBy(p => p.Provider, StringComparer.Ordinal).Select(p => Timeliness(p.Provider!, p))]
            : new List<InvoiceTimelinessRow>();

        return new MonitoringExtract(SchemaId, Version, month.Text, DhcsDate(month.Start), DhcsDate(month.End.AddTicks(-1)), generatedAt, tracking, members, requests, capacity, invoices);
    }

    private static InvoiceTimelinessRow Timeliness(string provider, Invoices.TimelinessFigures figures)
    {
        Invoices.TargetFigure? Target(int days) => figures.Targets.FirstOrDefault(t => t.CalendarDays == days);
        var within30 = Target(30);
        var within90 = Target(90);
        return new InvoiceTimelinessRow(
            provider, figures.Invoices, figures.CleanInvoices,
            within30?.PaidWithin ?? 0, within30?.Share, within30?.Target ?? 0.90m, within30?.Met,
            within90?.PaidWithin ?? 0, within90?.Share, within90?.Target ?? 0.99m, within90?.Met,
            figures.WorkingDayBreaches, figures.InterestOwed,
            string.Join("; ", figures.ContestReasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}: {r.Value.ToString(CultureInfo.InvariantCulture)}")));
    }

    /// <summary>MM/DD/YYYY in Pacific time, as DHCS asks for the Date of Referral Status Update.</summary>
    public static string DhcsDate(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, Pacific).ToString("MM/dd/yyyy", CultureInfo.InvariantCulture);
}

/// <summary>A calendar month in Pacific time, <c>yyyy-MM</c>.</summary>
public sealed record MonitoringMonth(int Year, int MonthOfYear)
{
    public string Text => $"{Year:D4}-{MonthOfYear:D2}";

    public DateTimeOffset Start => StartOf(Year, MonthOfYear);

    public DateTimeOffset End => MonthOfYear == 12 ? StartOf(Year + 1, 1) : StartOf(Year, MonthOfYear + 1);

    public static bool TryParse(string? text, out MonitoringMonth month)
    {
        month = null!;
        if (text is not { Length: 7 } || !DateTime.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed) || parsed.Year < 2020)
        {
            return false;
        }

        month = new MonitoringMonth(parsed.Year, parsed.Month);
        return true;
    }

    /// <summary>The month before the one <paramref name="now"/> falls in (Pacific): what the monthly timer reports.</summary>
    public static MonitoringMonth Previous(DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, MonitoringExtract.Pacific);
        var first = new DateTime(local.Year, local.Month, 1).AddMonths(-1);
        return new MonitoringMonth(first.Year, first.Month);
    }

    private static DateTimeOffset StartOf(int year, int month)
    {
        var local = new DateTime(year, month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, MonitoringExtract.Pacific.GetUtcOffset(local));
    }
}

/// <summary>What the extract is built from (the read models the hub keeps); see <see cref="IMonitoringFigures"/>.</summary>
/// <param name="Invoices">The month's invoice timeliness figures (all providers, with <c>ByProvider</c>); null = none kept.</param>
public sealed record MonitoringInputs(
    IReadOnlyList<ReferralStatusUpdate> StatusUpdates,
    IReadOnlyList<AuthorizationFact> Authorizations,
    IReadOnlyList<ProviderDirectoryEntry> Providers,
    Invoices.TimelinessFigures? Invoices = null);

/// <summary>One Referral Status a referral took, with when (a referral has several, each with its own date).</summary>
public sealed record ReferralStatusUpdate(
    string ReferralId, string Service, string? ReferringEntity, string? ReceivingProviderNpi, ReferralStatus Status, DateTimeOffset UpdatedAt, string? LoopClosureReason);

/// <summary>One authorization as the extract counts it.</summary>
/// <param name="MemberKey">A keyed hash of the member (never the CIN), so members are counted once across services.</param>
/// <param name="Status">The status now; null where the read model does not keep it (a month other than the receipt month, where no figure reads it).</param>
public sealed record AuthorizationFact(
    string AuthorizationId,
    string MemberKey,
    IReadOnlyList<string> Services,
    IReadOnlyList<string> PopulationsOfFocus,
    AuthorizationStatus? Status,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? AuthorizedFrom,
    DateTimeOffset? AuthorizedThrough);

/// <summary>The figures the extract needs for a month. The console's read models answer it (no table scans per request).</summary>
public interface IMonitoringFigures
{
    Task<MonitoringInputs> ReadAsync(MonitoringMonth month, CancellationToken cancellationToken);
}

/// <summary>Closed-loop referral tracking: one Referral Status update (DHCS CLR minimum data elements on the RTF).</summary>
public sealed record ReferralTrackingRow(
    [property: ExcelColumn(Name = "Referral ID", Index = 0, Width = 36)] string ReferralId,
    [property: ExcelColumn(Name = "Service", Index = 1, Width = 28)] string Service,
    [property: ExcelColumn(Name = "Referring Entity", Index = 2, Width = 30)] string? ReferringEntity,
    [property: ExcelColumn(Name = "Receiving Provider NPI", Index = 3, Width = 22)] string? ReceivingProviderNpi,
    [property: ExcelColumn(Name = "Referral Status", Index = 4, Width = 22)] string ReferralStatus,
    [property: ExcelColumn(Name = "Date of Referral Status Update", Index = 5, Width = 30)] string DateOfReferralStatusUpdate,
    [property: ExcelColumn(Name = "Reason for Referral Loop Closure", Index = 6, Width = 32)] string? ReasonForReferralLoopClosure);

/// <summary>ECM/CS members and services (after Tabs 1 and 4), counted: members with an authorization active in the month.</summary>
public sealed record MembersAndServicesRow(
    [property: ExcelColumn(Name = "Service", Index = 0, Width = 28)] string Service,
    [property: ExcelColumn(Name = "Population of Focus", Index = 1, Width = 40)] string? PopulationOfFocus,
    [property: ExcelColumn(Name = "Members Authorized", Index = 2, Width = 20)] int MembersAuthorized,
    [property: ExcelColumn(Name = "New Authorizations", Index = 3, Width = 20)] int NewAuthorizations);

/// <summary>CS requests and denials (after Tab 6), by receipt date in Pacific time.</summary>
public sealed record CsRequestsAndDenialsRow(
    [property: ExcelColumn(Name = "Community Support", Index = 0, Width = 28)] string CommunitySupport,
    [property: ExcelColumn(Name = "Authorization Requests", Index = 1, Width = 24)] int AuthorizationRequests,
    [property: ExcelColumn(Name = "Denials", Index = 2, Width = 12)] int Denials);

/// <summary>CS provider capacity (after Tab 5).</summary>
public sealed record ProviderCapacityRow(
    [property: ExcelColumn(Name = "CS Provider NPI", Index = 0, Width = 18)] string ProviderNpi,
    [property: ExcelColumn(Name = "Provider Name", Index = 1, Width = 36)] string ProviderName,
    [property: ExcelColumn(Name = "CS Offered", Index = 2, Width = 40)] string CsOffered,
    [property: ExcelColumn(Name = "Number of Members Serving", Index = 3, Width = 26)] int MembersServing,
    [property: ExcelColumn(Name = "Number of Members Able to Serve", Index = 4, Width = 30)] int MembersAbleToServe);

/// <summary>
/// Invoice payment timeliness of the month's receipts (issue 13): clean invoices paid in full within 30 and 90 calendar days
/// against 90% / 99%, pay-or-contest clocks past their last working day (H&amp;SC §1371.35), interest owed, contest reasons.
/// </summary>
/// <param name="Provider">The billing provider's NPI or atypical id; <see cref="MonitoringExtract.AllProviders"/> for the total.</param>
/// <param name="ShareWithin30Days">Of clean invoices, the share paid within 30 days (4 decimals); null without clean invoices.</param>
/// <param name="ContestReasons">"reason-code: lines; …" in code order.</param>
public sealed record InvoiceTimelinessRow(
    [property: ExcelColumn(Name = "Billing Provider", Index = 0, Width = 20)] string Provider,
    [property: ExcelColumn(Name = "Invoices Received", Index = 1, Width = 18)] long Invoices,
    [property: ExcelColumn(Name = "Clean Invoices", Index = 2, Width = 16)] long CleanInvoices,
    [property: ExcelColumn(Name = "Paid Within 30 Days", Index = 3, Width = 20)] long PaidWithin30Days,
    [property: ExcelColumn(Name = "Share Within 30 Days", Index = 4, Width = 20)] decimal? ShareWithin30Days,
    [property: ExcelColumn(Name = "Target 30 Days", Index = 5, Width = 16)] decimal Target30Days,
    [property: ExcelColumn(Name = "Met 30 Days", Index = 6, Width = 14)] bool? Met30Days,
    [property: ExcelColumn(Name = "Paid Within 90 Days", Index = 7, Width = 20)] long PaidWithin90Days,
    [property: ExcelColumn(Name = "Share Within 90 Days", Index = 8, Width = 20)] decimal? ShareWithin90Days,
    [property: ExcelColumn(Name = "Target 90 Days", Index = 9, Width = 16)] decimal Target90Days,
    [property: ExcelColumn(Name = "Met 90 Days", Index = 10, Width = 14)] bool? Met90Days,
    [property: ExcelColumn(Name = "Working-Day Breaches", Index = 11, Width = 22)] long WorkingDayBreaches,
    [property: ExcelColumn(Name = "Interest Owed", Index = 12, Width = 16)] decimal InterestOwed,
    [property: ExcelColumn(Name = "Contest Reasons", Index = 13, Width = 60)] string ContestReasons);
