using System.Text;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;
using MiniExcelLibs;

namespace CalAimHub.Ingestion.Tests;

/// <summary>Valid rows per layout (fictional members), and builders for CSV and XLSX files made of them.</summary>
internal static class Samples
{
    /// <summary>"Now" for every in-memory run: 15 Jan 2026, 12:00 in California.</summary>
    public static readonly DateTimeOffset Now = new(2026, 1, 15, 20, 0, 0, TimeSpan.Zero);

    public const string Npi = "1234567893";
    public static readonly string Npi2 = "987654321" + Identifiers.NpiCheckDigit("987654321");

    public static string Cin(int n) => (91000000 + n).ToString(System.Globalization.CultureInfo.InvariantCulture) + (char)('A' + (n % 26));

    public static Dictionary<string, string> RtfA(int n = 1) => new()
    {
        ["Primary Payer (MCP) Identifier"] = "MCP001",
        ["MCP Name"] = "Example Health Plan",
        ["Member Client Index Number (CIN)"] = Cin(n),
        ["Member Last Name"] = "Quillfeather" + n,
        ["Member First Name"] = "Rosalind",
        ["Member New Address Indicator"] = "N",
        ["Member Homelessness Indicator"] = "N",
        ["Member Residential Address"] = "",
        ["Member Residential City"] = "",
        ["Member Residential State"] = "",
        ["Member Residential Zip"] = "",
        ["Member New Phone Number Indicator"] = "N",
        ["Member Phone Number"] = "",
        ["Member POF Indicator"] = "Y",
        ["Member POF"] = "1a",
        ["Member ECM Status"] = "Enrolled",
        ["Member Acuity Level"] = "High",
        ["ECM Enrollment Start Date"] = "07/01/2025",
        ["ECM Enrollment End Date"] = "",
        ["Date of Latest Care Plan Revision"] = "11/20/2025",
        ["Date of Most Recent Care Conference"] = "",
        ["Date Assessment Started"] = "07/02/2025",
        ["Date of Most Recent Completed Assessment"] = "07/09/2025",
        ["Date of Most Recent Encounter with Member"] = "12/18/2025",
        ["ECM Lead Care Manager Name"] = "Casey Caremanager",
        ["ECM Lead Care Manager Phone Number"] = "(555) 555-0100",
        ["ECM Lead Care Manager Email"] = "casey@provider.example",
        ["Discontinuation Date"] = "",
        ["Discontinuation Reason Code"] = "",
        ["Discontinuation Reason"] = "",
        ["In Person"] = "2",
        ["Telephonic/Video"] = "1",
        ["Member Information Return Transmission File Production Date"] = "01/05/2026",
        ["Member Information File Reporting Period"] = "12/2025",
        ["ECM Provider Name"] = "Example ECM Provider",
        ["ECM Provider NPI"] = Npi,
        ["ECM Provider TIN"] = "12-3456789",
        ["ECM Provider Phone Number"] = "555-555-0101",
        ["Referral Status"] = "Accepted",
        ["Date of Referral Status Update"] = "12/10/2025",
        ["Reason for Referral Loop Closure"] = "",
    };

    public static Dictionary<string, string> RtfB(int n = 1)
    {
        var row = new Dictionary<string, string>
        {
            ["Member Client Index Number (CIN)"] = Cin(n),
            ["Medical Record Number (MRN)"] = "MRN" + n,
            ["Member Residential Address"] = "",
            ["Member Residential City"] = "",
            ["Member Residential Zip Code"] = "",
            ["Member Phone Number"] = "",
            ["Age Group"] = "Adult",
            ["Status of Member Engagement"] = "Engaged",
            ["ECM Benefit Start Date"] = "08/01/2025",
            ["ECM Benefit End Date"] = "07/31/2026",
            ["Authorization Number"] = "AUTH-" + n,
            ["ECM Lead Care Manager Name"] = "Casey Caremanager",
            ["ECM Lead Care Manager Phone Number"] = "5555550100",
            ["Date of Outreach Attempt"] = "08/03/2025",
            ["Outreach Attempt Method"] = "Telephone",
            ["Contact Reason"] = "Initial outreach",
            ["Contact Outcome"] = "Reached",
            ["Time Spent Performing Outreach"] = "15",
            ["Recommendation for Discontinuation Date"] = "",
            ["Discontinuation Reason Code"] = "",
            ["Member New Address Indicator"] = "N",
            ["Member New Phone Number Indicator"] = "N",
            ["Member Dually Enrolled in Medicare"] = "N",
            ["Member Preferred Language (Spoken)"] = "Spanish",
            ["Member Preferred Language (Written)"] = "English",
            ["Reauthorization Request"] = "N",
            ["Has Member Been Housed"] = "Y",
            ["Housing Type"] = "Permanent supportive housing",
            ["Date Housed"] = "11/01/2025",
        };
        foreach (var pof in FormatCatalog.Default.Schema("rtf-b").Columns.Where(c => c.Field.StartsWith("Pof", StringComparison.Ordinal)))
        {
            row[pof.Name] = pof.Field == "PofHomelessness" ? "Y" : "N";
        }

        row["Provider Type"] = "CBO";
        row["ECM Provider Name"] = "Example ECM Provider";
        row["ECM Provider NPI"] = Npi;
        row["ECM Provider Phone Number"] = "5555550101";
        row["Member Information RTF Production Date"] = "01/05/2026";
        row["Member Information RTF Reporting Period"] = "12/2025";
        row["Referral Status"] = "Referral Loop Closed";
        row["Date of Referral Status Update"] = "12/28/2025";
        row["Reason for Referral Loop Closure"] = "Services Received";
        return row;
    }

    public static Dictionary<string, string> Otf(int n = 1) => new()
    {
        ["Primary Payer (MCP) Identifier"] = "MCP001",
        ["MCP Name"] = "Example Health Plan",
        ["ECM Provider Name"] = "Example ECM Provider",
        ["ECM Provider NPI"] = Npi,
        ["ECM Provider TIN"] = "123456789",
        ["Client Name"] = "Rosalind Quillfeather" + n,
        ["Member Client Index Number"] = Cin(n),
        ["Provider Type"] = "CBO",
        ["Date of Outreach Attempt"] = "12/0" + ((n % 9) + 1) + "/2025",
        ["Outreach Attempt Method"] = "In Person",
        ["Outreach Attempt Successful"] = "Yes",
        ["Time Spent Performing Outreach"] = "30",
    };

    public static Dictionary<string, string> Invoice(int line = 1) => new()
    {
        ["Invoice Number"] = "INV-2026-0001",
        ["Invoice Date"] = "01/10/2026",
        ["Line Number"] = line.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Member CIN"] = Cin(line),
        ["Member Last Name"] = "Quillfeather" + line,
        ["Member First Name"] = "Rosalind",
        ["Member Date of Birth"] = "03/14/1961",
        ["Service Start Date"] = "12/01/2025",
        ["Service End Date"] = "12/31/2025",
        ["HCPCS Code"] = "G9012",
        ["Modifier 1"] = "U2",
        ["Modifier 2"] = "GQ",
        ["Modifier 3"] = "",
        ["Modifier 4"] = "",
        ["Units"] = "4",
        ["Charge Amount"] = "$250.00",
        ["Rendering Provider NPI"] = Npi2,
        ["Rendering Provider Atypical ID"] = "",
        ["Billing Provider Name"] = "Example CS Provider",
        ["Billing Provider NPI"] = "",
        ["Billing Provider Atypical ID"] = "ATYP-778",
        ["Billing Provider TIN"] = "12-3456789",
    };

    public static Dictionary<string, string> Referral(int n = 1) => new()
    {
        ["Referral ID"] = "REF-" + n,
        ["Referral Date"] = "01/12/2026",
        ["Member CIN"] = Cin(n),
        ["Member Last Name"] = "Quillfeather" + n,
        ["Member First Name"] = "Rosalind",
        ["Member Date of Birth"] = "03/14/1961",
        ["Member Phone Number"] = "(555) 555-0199",
        ["Member Address"] = "100 Example Way",
        ["Member City"] = "Sacramento",
        ["Member Zip"] = "95814",
        ["Population of Focus"] = "",
        ["Community Support Service"] = "Recuperative Care",
        ["Referring Entity Name"] = "Example Hospital",
        ["Referring Entity NPI"] = Npi,
        ["Referring Contact Name"] = "Dana Discharge",
        ["Referring Contact Phone"] = "",
        ["Referring Contact Email"] = "dana@hospital.example",
        ["Urgency"] = "Expedited",
    };

    public static Dictionary<string, string> With(this Dictionary<string, string> row, string column, string value)
    {
        Assert.True(row.ContainsKey(column), $"sample has no column '{column}'");
        row[column] = value;
        return row;
    }

    public static string Csv(IEnumerable<Dictionary<string, string>> rows, char delimiter = ',', string newline = "\r\n")
    {
        var list = rows.ToList();
        var text = new StringBuilder();
        text.Append(string.Join(delimiter, list[0].Keys.Select(k => Quote(k, delimiter)))).Append(newline);
        foreach (var row in list)
        {
            text.Append(string.Join(delimiter, row.Values.Select(v => Quote(v, delimiter)))).Append(newline);
        }

        return text.ToString();
    }

    public static string Quote(string value, char delimiter) =>
        value.Contains(delimiter, StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal)
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;

    public static byte[] Utf8(string text, bool bom = false) => bom ? [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)] : Encoding.UTF8.GetBytes(text);

    /// <summary>An XLSX workbook with the given sheets (each a list of rows; header = keys of the first row).</summary>
    public static byte[] Xlsx(params (string Sheet, IEnumerable<Dictionary<string, string>> Rows)[] sheets)
    {
        using var stream = new MemoryStream();
        var data = new Dictionary<string, object>();
        foreach (var (sheet, rows) in sheets)
        {
            data[sheet] = rows.Select(r => r.ToDictionary(p => p.Key, p => (object)p.Value)).ToList();
        }

        stream.SaveAs(data, excelType: ExcelType.XLSX);
        return stream.ToArray();
    }

    public static PartnerProfile Partner(string id = "mcp-one") => new() { Id = id, Subscriber = "sub-" + id, NotificationUrl = "http://127.0.0.1:9/hook" };

    public static FileSubmission Submission(string kind, PartnerProfile? partner = null, string file = "file.csv") =>
        new("run-test", partner?.Id ?? "mcp-one", kind, file, partner ?? Partner(), Now, DryRun: true);

    /// <summary>Runs the channel in memory; accepted rows are collected.</summary>
    /// <param name="bytesPerRead">At most this many bytes per read of the file, as a network stream hands them out: the readers'
    /// buffers then end at places a whole-file read never shows.</param>
    public static async Task<(IngestReport Report, List<AcceptedRow> Rows)> RunAsync(string kind, byte[] file, PartnerProfile? partner = null, long maxBytes = 1 << 26, FileSubmission? submission = null, int bytesPerRead = int.MaxValue)
    {
        var destination = new CollectingDestination();
        var channel = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions { MaxFileBytes = maxBytes });
        using var stream = new ShortReadStream(file, bytesPerRead);
        var report = await channel.RunAsync(submission ?? Submission(kind, partner), stream, file.Length, destination, CancellationToken.None);
        return (report, destination.Rows);
    }

    public static Problem Single(this IngestReport report)
    {
        var errors = report.Problems.Where(p => p.Severity == Problem.Error).ToArray();
        Assert.True(errors.Length == 1, $"expected one problem, got {errors.Length}: {string.Join(" | ", errors.Select(p => $"{p.Row}/{p.Column}/{p.Rule}: {p.Message}"))}");
        return errors[0];
    }
}

internal sealed class CollectingDestination : IRowDestination
{
    public List<AcceptedRow> Rows { get; } = [];

    public int EventsEmitted => Rows.Sum(r => r.Events.Count);

    public ValueTask AcceptAsync(AcceptedRow row, CancellationToken cancellationToken)
    {
        Rows.Add(row);
        return ValueTask.CompletedTask;
    }

    public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A seekable in-memory file that answers every read with at most <c>bytesPerRead</c> bytes.</summary>
internal sealed class ShortReadStream(byte[] file, int bytesPerRead) : MemoryStream(file, writable: false)
{
    public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, bytesPerRead));

    public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, bytesPerRead)]);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        base.ReadAsync(buffer, offset, Math.Min(count, bytesPerRead), cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        base.ReadAsync(buffer[..Math.Min(buffer.Length, bytesPerRead)], cancellationToken);
}
