using System.Text;
using Sylvan.Data.Csv;

namespace CalAimHub.Ingestion.Reading;

/// <summary>
/// CSV (comma, tab or pipe; UTF-8 with or without BOM; CRLF, LF, lone CR or mixed; RFC 4180 quoting), streamed with
/// Sylvan.Data.Csv; lone CRs reach the parser as LF (<see cref="LoneCarriageReturnReader"/>).
/// </summary>
public sealed class CsvRecordReader : RecordReader
{
    /// <summary>A record longer than this is a runaway quoted field (an unbalanced quote), not data.</summary>
    public const int MaxRecordChars = 1 << 20;

    private readonly ReplacementWatch _text;
    private readonly CsvDataReader _csv;
    private readonly string[] _headers;

    private CsvRecordReader(ReplacementWatch text, CsvDataReader csv)
    {
        _text = text;
        _csv = csv;
        _headers = Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetName(i).Trim()).ToArray();
    }

    public override IReadOnlyList<string> Headers => _headers;

    public override int FieldCount => _csv.RowFieldCount;

    public override string this[int index]
    {
        get
        {
            if (index >= _csv.RowFieldCount)
            {
                return "";
            }

            var field = _csv.GetFieldSpan(index);
            var trimmed = field.Trim();
            return trimmed.Length == 0 ? "" : trimmed.Length == field.Length ? _csv.GetString(index) : new string(trimmed);
        }
    }

    public override ReadOnlySpan<char> Field(int index) => index >= _csv.RowFieldCount ? default : _csv.GetFieldSpan(index).Trim();

    public override bool MayHoldReplacementCharacter => _text.SawReplacement;

    public override bool IsBlank()
    {
        for (var i = 0; i < _csv.RowFieldCount; i++)
        {
            if (!_csv.GetFieldSpan(i).IsWhiteSpace())
            {
                return false;
            }
        }

        return true;
    }

    /// <param name="byteOrderMark">The file starts with a UTF-8 BOM (skipped).</param>
    public static async Task<CsvRecordReader> OpenAsync(Stream stream, char delimiter, bool byteOrderMark, CancellationToken cancellationToken)
    {
        // Invalid UTF-8 after the sniffed prefix decodes to U+FFFD, which the validator rejects in exactly the row and column
        // that hold it (a throwing decoder would fail a whole 64 KiB buffer of rows at once).
        if (byteOrderMark)
        {
            stream.Position = 3;
        }

        var decoded = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var text = new ReplacementWatch(new LoneCarriageReturnReader(decoded, delimiter));

        try
        {
            var csv = await CsvDataReader.CreateAsync(text, new CsvDataReaderOptions
            {
                HasHeaders = true,
                Delimiter = delimiter,
                BufferSize = 1 << 16,
                MaxBufferSize = MaxRecordChars,
                ResultSetMode = ResultSetMode.SingleResult,
            }, cancellationToken);
            return new CsvRecordReader(text, csv);
        }
        catch (Exception e) when (Structure(e, 1) is { } structure)
        {
            text.Dispose();
            throw structure;
        }
    }

    public override async ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!await _csv.ReadAsync(cancellationToken))
            {
                return false;
            }
        }
        catch (Exception e) when (Structure(e, RowNumber + 1) is { } structure)
        {
            throw structure;
        }

        RowNumber++;
        return true;
    }

    private static FileStructureException? Structure(Exception e, int row) => e switch
    {
        CsvRecordTooLargeException => new FileStructureException(Rules.CsvUnbalancedQuote, row, $"a record is longer than {MaxRecordChars / 1024} KiB: a quote opened here is never closed"),
        CsvFormatException => new FileStructureException(Rules.CsvUnbalancedQuote, row, "a quoted field is not closed or is followed by other characters"),
        _ => null,
    };

    public override ValueTask DisposeAsync()
    {
        _csv.Dispose();
        _text.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Passes text through and notes whether any of it was U+FFFD. The CSV parser reads ahead of the record it returns, so
    /// while this is false no record returned so far can hold one; the validator then skips its per-field search.
    /// </summary>
    private sealed class ReplacementWatch(TextReader inner) : TextReader
    {
        public bool SawReplacement { get; private set; }

        private int Saw(ReadOnlySpan<char> read)
        {
            if (!SawReplacement && read.Contains('\uFFFD'))
            {
                SawReplacement = true;
            }

            return read.Length;
        }

        public override int Peek() => inner.Peek();

        public override int Read()
        {
            var c = inner.Read();
            if (c == '\uFFFD')
            {
                SawReplacement = true;
            }

            return c;
        }

        public override int Read(char[] buffer, int index, int count) => Saw(buffer.AsSpan(index, inner.Read(buffer, index, count)));

        public override int Read(Span<char> buffer) => Saw(buffer[..inner.Read(buffer)]);

        public override int ReadBlock(char[] buffer, int index, int count) => Saw(buffer.AsSpan(index, inner.ReadBlock(buffer, index, count)));

        public override int ReadBlock(Span<char> buffer) => Saw(buffer[..inner.ReadBlock(buffer)]);

        public override async Task<int> ReadAsync(char[] buffer, int index, int count)
        {
            var read = await inner.ReadAsync(buffer, index, count).ConfigureAwait(false);
            return Saw(buffer.AsSpan(index, read));
        }

        public override async ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Saw(buffer.Span[..read]);
        }

        public override async Task<int> ReadBlockAsync(char[] buffer, int index, int count)
        {
            var read = await inner.ReadBlockAsync(buffer, index, count).ConfigureAwait(false);
            return Saw(buffer.AsSpan(index, read));
        }

        public override async ValueTask<int> ReadBlockAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadBlockAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Saw(buffer.Span[..read]);
        }

        public override string? ReadLine()
        {
            var line = inner.ReadLine();
            Saw(line);
            return line;
        }

        public override string ReadToEnd()
        {
            var all = inner.ReadToEnd();
            Saw(all);
            return all;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
