using System.IO.Compression;
using System.Text;
using MiniExcelLibs;
using MiniExcelLibs.OpenXml;

namespace CalAimHub.Ingestion.Outbound;

/// <summary>
/// Writes an outbound file's rows as CSV (streamed) or XLSX. Both are deterministic: the same rows give the same bytes
/// on every run, which is what lets a re-run of a period be recognized (same content hash, no second notice).
/// </summary>
public static partial class OutboundFileWriter
{
    public const string CsvContentType = "text/csv";
    public const string XlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    /// <summary>The fixed entry time of every XLSX part: ZIP entries otherwise carry the time they were written.</summary>
    private static readonly DateTimeOffset FixedEntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>RFC 4180 CSV: header row, CRLF line ends, UTF-8 without a BOM (providers import MIFs by machine).</summary>
    public static async Task WriteCsvAsync(OutboundLayout layout, IAsyncEnumerable<string[]> rows, Stream output, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(output, Utf8NoBom, bufferSize: 64 * 1024, leaveOpen: true) { NewLine = "\r\n" };
        await WriteLineAsync(writer, layout.Columns.Select(c => c.Name).ToArray());
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            await WriteLineAsync(writer, row);
        }

        await writer.FlushAsync(cancellationToken);
    }

    public static string Csv(OutboundLayout layout, IEnumerable<string[]> rows)
    {
        using var stream = new MemoryStream();
        WriteCsvAsync(layout, rows.ToAsyncEnumerable(), stream, CancellationToken.None).GetAwaiter().GetResult();
        return Utf8NoBom.GetString(stream.ToArray());
    }

    /// <summary>One worksheet named by the layout, header row then the rows as text cells; ZIP entry times fixed.</summary>
    public static byte[] Xlsx(OutboundLayout layout, IEnumerable<string[]> rows)
    {
        var data = rows.Select(row =>
        {
            var cells = new Dictionary<string, object?>(layout.Columns.Count, StringComparer.Ordinal);
            for (var i = 0; i < layout.Columns.Count; i++)
            {
                cells[layout.Columns[i].Name] = row[i];
            }

            return cells;
        });
        using var raw = new MemoryStream();
        raw.SaveAs(new Dictionary<string, object> { [layout.Sheet] = data }, configuration: new OpenXmlConfiguration { FastMode = true, AutoFilter = false });
        return Normalize(raw.ToArray());
    }

    /// <summary>
    /// Rewrites the package with its entries in name order, a fixed time, and the random relationship ids MiniExcel gives
    /// each sheet (<c>R</c> + a GUID) replaced by numbered ones, so equal content gives equal bytes.
    /// </summary>
    private static byte[] Normalize(byte[] package)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        using var input = new ZipArchive(new MemoryStream(package), ZipArchiveMode.Read);
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in input.Entries.OrderBy(e => e.FullName == "[Content_Types].xml" ? "" : e.FullName, StringComparer.Ordinal))
            {
                var copy = zip.CreateEntry(entry.FullName, CompressionLevel.Optimal);
                copy.LastWriteTime = FixedEntryTime;
                using var from = entry.Open();
                using var to = copy.Open();
                if (entry.FullName.EndsWith(".rels", StringComparison.Ordinal) || entry.FullName == "xl/workbook.xml")
                {
                    using var reader = new StreamReader(from, Encoding.UTF8);
                    var text = RandomRelationshipId().Replace(reader.ReadToEnd(), m => ids.TryGetValue(m.Value, out var id) ? id : ids[m.Value] = $"rIdHub{ids.Count + 1}");
                    to.Write(Encoding.UTF8.GetBytes(text));
                }
                else
                {
                    from.CopyTo(to);
                }
            }
        }

        return output.ToArray();
    }

    [System.Text.RegularExpressions.GeneratedRegex("\\bR[0-9a-f]{32}\\b")]
    private static partial System.Text.RegularExpressions.Regex RandomRelationshipId();

    private static async Task WriteLineAsync(StreamWriter writer, string[] cells)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                await writer.WriteAsync(',');
            }

            await writer.WriteAsync(Cell(cells[i]));
        }

        await writer.WriteLineAsync();
    }

    /// <summary>A value quoted when it holds a comma, quote, CR or LF (RFC 4180); quotes doubled.</summary>
    public static string Cell(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}

/// <summary>
/// An outbound file's name from the plan profile's pattern. Tokens: <c>{plan}</c>, <c>{provider}</c>, <c>{kind}</c>,
/// <c>{period}</c> (yyyyMM), <c>{date}</c> (yyyyMMdd, the file's production date), <c>{seq}</c> (a mini-MIF's member-set
/// hash), <c>{ext}</c> (csv or xlsx).
/// </summary>
public static class OutboundFileNames
{
    public const string DefaultPattern = "{plan}_{kind}_{provider}_{period}.{ext}";

    public static string Expand(string pattern, string plan, string provider, string kind, string period, DateOnly date, string seq, string extension)
    {
        var name = pattern
            .Replace("{plan}", plan, StringComparison.Ordinal)
            .Replace("{provider}", provider, StringComparison.Ordinal)
            .Replace("{kind}", kind, StringComparison.Ordinal)
            .Replace("{period}", period.Replace("-", "", StringComparison.Ordinal), StringComparison.Ordinal)
            .Replace("{date}", date.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{seq}", seq, StringComparison.Ordinal)
            .Replace("{ext}", extension, StringComparison.Ordinal);
        return name.Length is > 0 and <= 200 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && !name.StartsWith('.')
            ? name
            : throw new InvalidOperationException($"outbound file name pattern '{pattern}' gives '{name}', which is not a file name (letters, digits, '-', '_', '.'; at most 200)");
    }
}
