using System.Globalization;
using MiniExcelLibs;

namespace CalAimHub.Ingestion.Reading;

/// <summary>
/// One worksheet of an XLSX workbook, streamed row by row with MiniExcel (the stream must be seekable: a ZIP is read from its
/// central directory; blob read streams and spooled request bodies are). Dates become MM/DD/YYYY text, numbers invariant text.
/// </summary>
public sealed class XlsxRecordReader : RecordReader
{
    private readonly IEnumerator<IDictionary<string, object?>> _rows;
    private readonly string[] _headers;
    private readonly string[] _current;
    private int _fieldCount;

    private XlsxRecordReader(IEnumerator<IDictionary<string, object?>> rows, string[] headers)
    {
        _rows = rows;
        _headers = headers;
        _current = new string[headers.Length];
    }

    public override IReadOnlyList<string> Headers => _headers;
    public override int FieldCount => _fieldCount;
    public override string this[int index] => index < _fieldCount ? _current[index] : "";

    /// <summary>Sheets of the workbook; throws <see cref="FileStructureException"/> when it is not a readable workbook.</summary>
    public static IReadOnlyList<string> SheetNames(Stream stream)
    {
        try
        {
            stream.Position = 0;
            return MiniExcel.GetSheetNames(stream);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException or System.Xml.XmlException or NullReferenceException or KeyNotFoundException)
        {
            throw new FileStructureException(Rules.FileBinary, 1, "the file starts like an XLSX workbook but cannot be opened as one");
        }
    }

    public static XlsxRecordReader Open(Stream stream, string sheet)
    {
        try
        {
            stream.Position = 0;
            var rows = MiniExcel.Query(stream, useHeaderRow: false, sheetName: sheet, excelType: ExcelType.XLSX)
                .Cast<IDictionary<string, object?>>()
                .GetEnumerator();
            if (!rows.MoveNext())
            {
                rows.Dispose();
                return new XlsxRecordReader(Enumerable.Empty<IDictionary<string, object?>>().GetEnumerator(), []);
            }

            var headerRow = rows.Current;
            var width = headerRow.Count;
            while (width > 0 && string.IsNullOrWhiteSpace(Text(headerRow.Values.ElementAt(width - 1))))
            {
                width--;
            }

            var headers = headerRow.Values.Take(width).Select(v => Text(v)).ToArray();
            return new XlsxRecordReader(rows, headers);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Xml.XmlException)
        {
            throw new FileStructureException(Rules.FileBinary, 1, "the workbook cannot be read");
        }
    }

    public override ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        bool more;
        try
        {
            more = _rows.MoveNext();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Xml.XmlException)
        {
            throw new FileStructureException(Rules.FileBinary, RowNumber + 1, "the workbook cannot be read from here on");
        }

        if (!more)
        {
            return ValueTask.FromResult(false);
        }

        RowNumber++;
        var row = _rows.Current;
        var i = 0;
        foreach (var value in row.Values)
        {
            if (i < _current.Length)
            {
                _current[i] = Text(value);
            }
            else if (!string.IsNullOrWhiteSpace(Text(value)))
            {
                _fieldCount = i + 1; // a value right of the last header: wrong column count
                return ValueTask.FromResult(true);
            }

            i++;
        }

        for (var j = i; j < _current.Length; j++)
        {
            _current[j] = "";
        }

        _fieldCount = _current.Length;
        return ValueTask.FromResult(true);
    }

    private static string Text(object? value) => value switch
    {
        null => "",
        string s => s.Trim(),
        DateTime d => d.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture),
        double d => d.ToString("0.############", CultureInfo.InvariantCulture),
        bool b => b ? "Y" : "N",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()?.Trim() ?? "",
    };

    public override ValueTask DisposeAsync()
    {
        _rows.Dispose();
        return ValueTask.CompletedTask;
    }
}
