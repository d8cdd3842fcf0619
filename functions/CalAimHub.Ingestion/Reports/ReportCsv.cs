using System.Globalization;
using System.Text;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Reports;

/// <summary>
/// The report's problems as CSV a partner can open in Excel (<c>.report.csv</c>): UTF-8 with BOM so Excel detects the encoding;
/// a cell that starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or CR is prefixed with <c>'</c> so Excel never runs it as a
/// formula (OWASP CSV injection).
/// </summary>
public static class ReportCsv
{
    public static readonly string[] Header = ["row", "column", "value", "rule", "severity", "message", "hint"];

    public static byte[] ToBytes(IngestReport report)
    {
        var text = new StringBuilder();
        text.Append(string.Join(',', Header)).Append("\r\n");
        foreach (var p in report.Problems)
        {
            AppendRow(text, p);
        }

        var preamble = Encoding.UTF8.GetPreamble();
        var body = Encoding.UTF8.GetBytes(text.ToString());
        return [.. preamble, .. body];
    }

    private static void AppendRow(StringBuilder text, Problem p)
    {
        string[] cells = [p.Row.ToString(CultureInfo.InvariantCulture), p.Column ?? "", p.Value ?? "", p.Rule, p.Severity, p.Message, p.Hint];
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(Cell(cells[i]));
        }

        text.Append("\r\n");
    }

    /// <summary>One CSV cell: formula-trigger characters neutralized, then quoted when it holds a delimiter, quote or line break.</summary>
    public static string Cell(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
