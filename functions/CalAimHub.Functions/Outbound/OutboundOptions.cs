using CalAimHub.Domain.Consent;
using CalAimHub.Ingestion.Outbound;

namespace CalAimHub.Functions.Outbound;

/// <summary>
/// Configuration section <c>Outbound</c>: the plan's outbound profile. File names per kind (pattern tokens in
/// <see cref="OutboundFileNames"/>), the formats each file is written in, the layout per kind, the day of the month the
/// period's MIFs go out and the days the CS authorization status files go out (Health Net's 15th and 29th by default).
/// </summary>
public sealed class OutboundOptions
{
    public const string Section = "Outbound";

    /// <summary>The plan's code in file names.</summary>
    public string PlanCode { get; set; } = "PLAN";

    /// <summary>Per kind (<c>mif</c>, <c>cs-mif</c>, <c>mini-mif</c>, <c>cs-authorization-status</c>): the file name pattern.</summary>
    public Dictionary<string, string> FileNames { get; set; } = new(StringComparer.Ordinal)
    {
        [SentFileKinds.Mif] = "{plan}_ECM_MIF_{provider}_{period}.{ext}",
        [SentFileKinds.CsMif] = "{plan}_CS_MIF_{provider}_{period}.{ext}",
        [SentFileKinds.MiniMif] = "{plan}_MINI_MIF_{provider}_{date}_{seq}.{ext}",
        [SentFileKinds.CsAuthorizationStatus] = "{plan}_CSASF_{provider}_{date}.{ext}",
    };

    /// <summary><c>csv</c>, <c>xlsx</c> or both; the first is the file the disclosure log's sent-file record names.</summary>
    public List<string> Formats { get; set; } = ["csv"];

    /// <summary>Per program: the layout of its MIF (and mini-MIF).</summary>
    public string EcmLayout { get; set; } = "ecm-mif";
    public string CsLayout { get; set; } = "cs-mif";
    public string CsStatusLayout { get; set; } = "cs-authorization-status";

    /// <summary>The day of the month the period's MIFs are generated (the timer runs daily).</summary>
    public int MifDay { get; set; } = 1;

    /// <summary>Days of the month CS authorization status files go out; a day past the month's end means its last day.</summary>
    public List<int> CsStatusDays { get; set; } = [15, 29];

    /// <summary>The plan's notification subscribers (<c>Notifications:Subscribers:{id}</c>) for RTF reconciliation notices; none set = "reconciliations".</summary>
    /// <remarks>No default items in the list: the configuration binder appends to a list, it does not replace it.</remarks>
    public List<string> PlanSubscribers { get; set; } = [];

    public IReadOnlyList<string> PlanSubscriberIds() => PlanSubscribers.Count > 0 ? [.. PlanSubscribers.Distinct(StringComparer.Ordinal)] : ["reconciliations"];

    public string FileName(string kind, string provider, string period, DateOnly date, string seq, string extension) =>
        OutboundFileNames.Expand(FileNames.GetValueOrDefault(kind) ?? OutboundFileNames.DefaultPattern, PlanCode, provider, kind, period, date, seq, extension);

    /// <summary>True when <paramref name="day"/> is a CS status day of its month (days past the month's end fall on its last day).</summary>
    public bool IsCsStatusDay(DateOnly day)
    {
        var last = DateTime.DaysInMonth(day.Year, day.Month);
        return CsStatusDays.Any(d => Math.Min(d, last) == day.Day);
    }

    public void Validate()
    {
        if (Formats.Count == 0 || Formats.Any(f => f is not ("csv" or "xlsx")) || Formats.Distinct().Count() != Formats.Count)
        {
            throw new InvalidOperationException("Outbound:Formats must list 'csv', 'xlsx' or both, once each");
        }

        if (MifDay is < 1 or > 28 || CsStatusDays.Any(d => d is < 1 or > 31))
        {
            throw new InvalidOperationException("Outbound:MifDay must be 1-28 and Outbound:CsStatusDays days 1-31");
        }

        foreach (var layout in new[] { EcmLayout, CsLayout, CsStatusLayout })
        {
            _ = OutboundLayouts.Default[layout];
        }

        foreach (var kind in SentFileKinds.All)
        {
            _ = FileName(kind, "provider", "2026-01", new DateOnly(2026, 1, 1), "0", "csv");
        }
    }
}
