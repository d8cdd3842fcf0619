using System.Text.Json;
using System.Text.Json.Serialization;
using MiniExcelLibs;
using MiniExcelLibs.OpenXml;

namespace CalAimHub.Functions.Monitoring;

/// <summary>The extract as files: one XLSX workbook (a sheet per tab, the first naming the period and schema) and JSON.</summary>
public static class MonitoringExtractFiles
{
    public const string XlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    public const string JsonContentType = "application/json";

    public const string AboutSheet = "About";
    public const string ReferralTrackingSheet = "Referral Tracking";
    public const string MembersAndServicesSheet = "Members and Services";
    public const string CsRequestsAndDenialsSheet = "CS Requests and Denials";
    public const string ProviderCapacitySheet = "CS Provider Capacity";
    public const string InvoiceTimelinessSheet = "Invoice Timeliness";

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never, // absent values are explicit nulls, as the schema says
    };

    public static byte[] ToJson(MonitoringExtract extract) => JsonSerializer.SerializeToUtf8Bytes(extract, Json);

    public static byte[] ToXlsx(MonitoringExtract extract)
    {
        var sheets = new Dictionary<string, object>
        {
            [AboutSheet] = new[]
            {
                new AboutRow("Extract", "CalAimHub DHCS monitoring extract"),
                new AboutRow("Month", extract.Month),
                new AboutRow("Period", $"{extract.PeriodStart} - {extract.PeriodEnd} (Pacific time)"),
                new AboutRow("Generated at (UTC)", extract.GeneratedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)),
                new AboutRow("Schema", $"{extract.Schema} (version {extract.SchemaVersion}); it says which columns follow a DHCS source and which are the hub's baseline"),
            },
            [ReferralTrackingSheet] = extract.ReferralTracking,
            [MembersAndServicesSheet] = extract.MembersAndServices,
            [CsRequestsAndDenialsSheet] = extract.CsRequestsAndDenials,
            [ProviderCapacitySheet] = extract.ProviderCapacity,
            [InvoiceTimelinessSheet] = extract.InvoiceTimeliness,
        };
        using var stream = new MemoryStream();
        stream.SaveAs(sheets, configuration: new OpenXmlConfiguration { FastMode = true, AutoFilter = false });
        return stream.ToArray();
    }

    private sealed record AboutRow(
        [property: MiniExcelLibs.Attributes.ExcelColumn(Name = "Field", Index = 0, Width = 22)] string Field,
        [property: MiniExcelLibs.Attributes.ExcelColumn(Name = "Value", Index = 1, Width = 90)] string Value);
}
