using System.Text;
using Sylvan.Data.Csv;

namespace CalAimHub.Ingestion.Reading;

/// <summary>
/// CSV (comma, tab or pipe; UTF-8 with or without BOM, or the single-byte encoding a partner declared; CRLF, LF, lone CR or
/// mixed; RFC 4180 quoting), streamed with Sylvan.Data.Csv; lone CRs reach the parser as LF (<see cref="LoneCarriageReturnReader"/>).
/// A record over <see cref="MaxRecordChars"/> is skipped to its end and returned as <see cref="RecordReader.IsTooLong"/>; reading
/// goes on with the next record (a new parser over the rest of the text, since Sylvan cannot continue after its limit).
/// </summary>
public sealed class CsvRecordReader : RecordReader
{
    /// <summary>The longest record read as a row; a longer one is a <c>csv.record-too-long</c> row problem.</summary>
    public const int MaxRecordChars = 1 << 20;

    private readonly ReplacementWatch _text;
    private readonly LoneCarriageReturnReader _lines;
    private readonly char _delimiter;
    private CsvDataReader? _csv;
    private readonly string[] _headers;
    private bool _tooLong;

    private CsvRecordReader(ReplacementWatch text, LoneCarriageReturnReader lines, char delimiter, CsvDataReader csv)
    {
        _text = text;
        _lines = lines;
        _delimiter = delimiter;
        _csv = csv;
        _headers = Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetName(i).Trim()).ToArray();
    }

    public override IReadOnlyList<string> Headers => _headers;

    public override int FieldCount => _tooLong ? 0 : _csv!.RowFieldCount;

    public override bool IsTooLong => _tooLong;

    public override string this[int index]
    {
        get
        {
            if (index >= FieldCount)
            {
                return "";
            }

            var field = _csv!.GetFieldSpan(index);
            var trimmed = field.Trim();
            return trimmed.Length == 0 ? "" : trimmed.Length == field.Length ? _csv.GetString(index) : new string(trimmed);
        }
    }

    public override ReadOnlySpan<char> Field(int index) => index >= FieldCount ? default : _csv!.GetFieldSpan(index).Trim();

    public override bool MayHoldInvalidCharacters => _text.SawSuspect;

    public override bool IsBlank()
    {
        if (_tooLong)
        {
            return false;
        }

        for (var i = 0; i < _csv!.RowFieldCount; i++)
        {
            if (!_csv.GetFieldSpan(i).IsWhiteSpace())
            {
                return false;
            }
        }

        return true;
    }

    /// <param name="byteOrderMark">The file starts with a UTF-8 BOM (skipped).</param>
    /// <param name="encoding">The partner's declared single-byte encoding; null = UTF-8.</param>
    public static async Task<CsvRecordReader> OpenAsync(Stream stream, char delimiter, bool byteOrderMark, Encoding? encoding, CancellationToken cancellationToken)
    {
        // Invalid UTF-8 after the sniffed prefix decodes to U+FFFD, which the validator rejects in exactly the row and column
        // that hold it (a throwing decoder would fail a whole 64 KiB buffer of rows at once).
        if (byteOrderMark)
        {
            stream.Position = 3;
        }

        var decoded = new StreamReader(stream, encoding ?? new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var lines = new LoneCarriageReturnReader(decoded, delimiter);
        var text = new ReplacementWatch(lines);

        try
        {
            var csv = await CsvDataReader.CreateAsync(text, Options(delimiter, headers: true), cancellationToken);
            return new CsvRecordReader(text, lines, delimiter, csv);
        }
        catch (CsvRecordTooLargeException)
        {
            text.Dispose();
            throw new FileStructureException(Rules.CsvRecordTooLong, 1, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"record too long: the header row is longer than {MaxRecordChars:N0} characters, the most one row may hold"));
        }
        catch (Exception e) when (Structure(e, 1) is { } structure)
        {
            text.Dispose();
            throw structure;
        }
    }

    // The parser never owns the text: after a record over the limit a new parser reads on from the same text.
    private static CsvDataReaderOptions Options(char delimiter, bool headers) => new()
    {
        HasHeaders = headers,
        Delimiter = delimiter,
        BufferSize = 1 << 16,
        MaxBufferSize = MaxRecordChars,
        ResultSetMode = ResultSetMode.SingleResult,
        OwnsReader = false,
    };

    public override async ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        _tooLong = false;
        try
        {
            _csv ??= await CsvDataReader.CreateAsync(_text, Options(_delimiter, headers: false), cancellationToken);
            if (!await _csv.ReadAsync(cancellationToken))
            {
                return false;
            }
        }
        catch (CsvRecordTooLargeException)
        {
            // Everything the parser read so far is the start of this record: skip the rest of it, then read on with a new parser.
            if (!await _lines.SkipRecordAsync(cancellationToken))
            {
                throw new FileStructureException(Rules.CsvUnbalancedQuote, RowNumber + 1, "a quoted field opened in this row is never closed");
            }

            _csv?.Dispose();
            _csv = null;
            _tooLong = true;
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
        CsvFormatException => new FileStructureException(Rules.CsvUnbalancedQuote, row, "a quoted field is not closed or is followed by other characters"),
        _ => null,
    };

    public override ValueTask DisposeAsync()
    {
        _csv?.Dispose();
        _text.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Passes text through and notes whether any of it was U+FFFD (what invalid UTF-8 decodes to) or NUL. The CSV parser reads
    /// ahead of the record it returns, so while this is false no record returned so far can hold one; the validator then skips
    /// its per-field search.
    /// </summary>
    private sealed class ReplacementWatch(TextReader inner) : TextReader
    {
        public bool SawSuspect { get; private set; }

        private int Saw(ReadOnlySpan<char> read)
        {
            if (!SawSuspect && read.IndexOfAny('\uFFFD', '\0') >= 0)
            {
                SawSuspect = true;
            }

            return read.Length;
        }

        public override int Peek() => inner.Peek();

        public override int Read()
        {
            var c = inner.Read();
            if (c is '\uFFFD' or '\0')
            {
                SawSuspect = true;
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
