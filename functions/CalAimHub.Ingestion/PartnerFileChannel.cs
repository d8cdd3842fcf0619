using System.Diagnostics;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reading;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion;

/// <summary>
/// One partner file through the hub, read like a Mirth channel:
/// <b>source</b> (<see cref="FileSniffer"/> → <see cref="CsvRecordReader"/> / <see cref="XlsxRecordReader"/>, streamed) →
/// <b>filter</b> (<see cref="SchemaMatch"/> picks the layout, <see cref="RowValidator"/> checks each row, duplicates across rows) →
/// <b>transformer</b> (normalized values, deterministic row key, domain events) →
/// <b>destinations</b> (<see cref="IRowDestination"/>: tables and queues, or nothing in a dry run).
/// Returns the result report. Pure: no storage types, no clock but the submission's.
/// </summary>
public sealed class PartnerFileChannel(FormatCatalog catalog, IngestionOptions options)
{
    public FormatCatalog Catalog => catalog;

    /// <param name="content">The file, seekable (a blob read stream or a spooled request body); read once, front to back.</param>
    /// <param name="length">The file's size in bytes, as stored.</param>
    public async Task<IngestReport> RunAsync(FileSubmission submission, Stream content, long length, IRowDestination destination, CancellationToken cancellationToken)
    {
        var started = submission.ReceivedAt;
        var watch = Stopwatch.StartNew();
        var log = new ProblemLog();
        var state = new RunState();
        IngestReport Report(string outcome) => new()
        {
            RunId = submission.RunId,
            PartnerId = submission.PartnerId,
            Kind = submission.Kind,
            File = submission.FileName,
            DryRun = submission.DryRun,
            Schema = state.Schema?.Name,
            SchemaVersion = state.Schema?.Version,
            Format = state.Format,
            Outcome = outcome,
            RowsRead = state.Read,
            RowsAccepted = state.Accepted,
            RowsRejected = state.Rejected,
            EventsEmitted = destination.EventsEmitted,
            StartedAt = started,
            CompletedAt = started + watch.Elapsed,
            ProblemCount = log.Count,
            ProblemsByRule = log.ByRule,
            Problems = log.Listed,
        };
        IngestReport Reject(Problem problem)
        {
            log.Add(problem);
            return Report(IngestOutcome.Rejected);
        }

        if (Precheck(submission, length) is { } precheck)
        {
            return Reject(precheck);
        }

        var partner = submission.Partner!;
        if (partner.TextEncoding() is not { } encoding)
        {
            return Reject(Problem.File(Rules.FileEncoding, $"the partner profile names the encoding '{partner.Encoding}', which the hub cannot read",
                "ask the hub team to set the profile's encoding to a single-byte encoding such as windows-1252 or iso-8859-1, or to remove it (UTF-8)"));
        }

        var declared = encoding.IsSingleByte ? encoding : null;
        var prefix = new byte[(int)Math.Min(FileSniffer.PrefixLength, Math.Max(length, 0))];
        var got = await content.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, cancellationToken);
        var sniff = FileSniffer.Sniff(prefix.AsSpan(0, got), complete: got >= length, singleByteEncoding: declared is not null);
        content.Position = 0;
        state.Format = sniff.Format switch { FileFormat.Xlsx => "xlsx", FileFormat.Csv => DelimiterName(sniff.Delimiter), _ => null };
        switch (sniff.Format)
        {
            case FileFormat.Empty:
                return Reject(Problem.File(Rules.FileEmpty, "the file is empty", "export the file again; it must have a header row and at least one data row"));
            case FileFormat.Binary:
                return Reject(Problem.File(Rules.FileBinary, "the file is not text (CSV) and not an XLSX workbook",
                    "send CSV (UTF-8, comma, tab or pipe delimited) or an XLSX workbook; not XLS, PDF or a zipped file"));
            case FileFormat.UnsupportedEncoding:
                return Reject(Problem.File(Rules.FileEncoding, "the file is UTF-16 encoded", "save the file as 'CSV UTF-8' (UTF-8, with or without BOM)"));
            case FileFormat.NotUtf8:
                // Rejected whole: every accented letter of the file would otherwise be its own row problem.
                return Reject(Problem.File(Rules.FileEncoding,
                    $"the file is not UTF-8: line {sniff.FirstBadRow} holds byte 0x{sniff.FirstBadByte:X2}, as Latin-1 and Windows-1252 files write accented letters",
                    "save the file as 'CSV UTF-8 (Comma delimited)', or ask the hub team to set your partner profile's encoding (e.g. windows-1252)", sniff.FirstBadRow));
        }

        var candidates = catalog.ForKind(submission.Kind).Select(partner.Apply).ToArray();
        RecordReader reader;
        try
        {
            reader = sniff.Format == FileFormat.Xlsx
                ? XlsxRecordReader.Open(content, PickSheet(XlsxRecordReader.SheetNames(content), candidates))
                : await CsvRecordReader.OpenAsync(content, sniff.Delimiter, sniff.HasByteOrderMark, declared, cancellationToken);
        }
        catch (FileStructureException e)
        {
            return Reject(Problem.File(e.Rule, e.Message, StructureHint(e.Rule), e.Row));
        }

        await using (reader)
        {
            var match = SchemaMatch.Choose(candidates, reader.Headers, sniff.Format == FileFormat.Csv ? sniff.Delimiter : null);
            state.Schema = match.Schema;
            foreach (var p in match.Problems)
            {
                log.Add(p);
            }

            if (match.Rejected)
            {
                return Report(IngestOutcome.Rejected);
            }

            var validator = new RowValidator(match, catalog.CodeSets, catalog.ServiceCodes, Today(submission.ReceivedAt), reader.Headers.Count, partner.WritesIsoDates(submission.Kind));
            var transformer = new RowTransformer(submission, validator);
            // A dry run stores nothing: no row object, no events (only counted), and only the values that rules, the key and
            // event conditions read are copied out of the record; the rest are checked in place.
            var dryRun = destination as DryRunDestination;
            if (dryRun is not null)
            {
                validator.KeepOnly(validator.ColumnsReadByRules().Concat(transformer.ColumnsRead));
            }

            using var seen = new KeyIndex(EstimateRows(prefix.AsSpan(0, got), length, sniff.Format), options.DuplicateIndexCapacity, options.SpillFolder);
            var rowProblems = new List<Problem>();
            var reused = dryRun is not null ? new string[match.Schema.Columns.Count] : null;
            var hash = new byte[32];
            try
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    if (reader.IsBlank())
                    {
                        continue;
                    }

                    state.Read++;
                    rowProblems.Clear();
                    var values = reused ?? new string[match.Schema.Columns.Count];
                    if (validator.Validate(reader, values, rowProblems))
                    {
                        if (dryRun is not null)
                        {
                            transformer.Fingerprint(values, hash);
                        }
                        else
                        {
                            transformer.KeyHash(values, hash);
                        }

                        if (!seen.TryAdd(hash, reader.RowNumber, out var first))
                        {
                            rowProblems.Add(new Problem(reader.RowNumber, null, null, Rules.Duplicate,
                                $"row repeats row {first}: same {string.Join(" + ", match.Schema.Key)}",
                                $"remove one of rows {first} and {reader.RowNumber}, or correct the key columns"));
                        }
                        else
                        {
                            if (dryRun is not null)
                            {
                                dryRun.Count(transformer.CountEvents(values));
                            }
                            else
                            {
                                await destination.AcceptAsync(transformer.Transform(reader.RowNumber, values, hash), cancellationToken);
                            }

                            state.Accepted++;
                            continue;
                        }
                    }

                    state.Rejected++;
                    foreach (var p in rowProblems)
                    {
                        log.Add(p);
                    }
                }
            }
            catch (FileStructureException e)
            {
                state.Stopped = true;
                log.Add(Problem.File(e.Rule, e.Message + "; rows from here on were not read", StructureHint(e.Rule), e.Row));
            }
        }

        await destination.CompleteAsync(cancellationToken);
        if (state.Read == 0 && !state.Stopped)
        {
            log.Add(Problem.File(Rules.FileNoRows, "the file has a header but no data rows", "add the data rows under the header", 2));
        }

        return Report(state.Accepted == 0 ? IngestOutcome.Rejected
            : state.Rejected > 0 || state.Stopped ? IngestOutcome.PartiallyAccepted
            : IngestOutcome.Accepted);
    }

    /// <summary>The file-level checks that need no content: kind, partner, size. Null when the file may be read.</summary>
    public Problem? Precheck(FileSubmission submission, long length)
    {
        if (!FileKind.IsKnown(submission.Kind))
        {
            return Problem.File(Rules.FileUnknownKind, $"'{submission.Kind}' is not a file kind the hub takes",
                $"put the file under inbound/{{partnerId}}/{{kind}}/ with kind one of: {string.Join(", ", FileKind.All)}");
        }

        if (submission.Partner is not { } partner)
        {
            return Problem.File(Rules.FileUnknownPartner, $"partner '{submission.PartnerId}' is not registered with the hub",
                "check the partner id in the path (inbound/{partnerId}/…) or ask the hub team to register the partner");
        }

        if (!partner.Sends(submission.Kind))
        {
            return Problem.File(Rules.FileKindNotAllowed, $"partner '{partner.Id}' is not set up to send '{submission.Kind}' files",
                $"send only: {string.Join(", ", partner.Kinds)}; or ask the hub team to enable '{submission.Kind}'");
        }

        return length > options.MaxFileBytes
            ? Problem.File(Rules.FileTooLarge, $"the file is {length:N0} bytes; the limit is {options.MaxFileBytes:N0}",
                "split the file into smaller files (one per reporting period or provider) and send each")
            : null;
    }

    /// <summary>A report that rejects the whole file for one reason, without reading it.</summary>
    public static IngestReport Rejected(FileSubmission submission, Problem problem) => new()
    {
        RunId = submission.RunId,
        PartnerId = submission.PartnerId,
        Kind = submission.Kind,
        File = submission.FileName,
        DryRun = submission.DryRun,
        Outcome = IngestOutcome.Rejected,
        StartedAt = submission.ReceivedAt,
        CompletedAt = submission.ReceivedAt,
        ProblemCount = 1,
        ProblemsByRule = new Dictionary<string, int> { [problem.Rule] = 1 },
        Problems = [problem],
    };

    private DateOnly Today(DateTimeOffset now)
    {
        try
        {
            return DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone)).DateTime);
        }
        catch (TimeZoneNotFoundException)
        {
            return DateOnly.FromDateTime(now.UtcDateTime);
        }
    }

    private static string PickSheet(IReadOnlyList<string> sheets, IReadOnlyList<FileSchema> candidates) =>
        sheets.FirstOrDefault(s => candidates.Any(c => string.Equals(c.Sheet, s.Trim(), StringComparison.OrdinalIgnoreCase)))
        ?? sheets.FirstOrDefault()
        ?? throw new FileStructureException(Rules.FileEmpty, 1, "the workbook has no worksheets");

    /// <summary>
    /// Rows to expect in a CSV, from the line length in the sniffed prefix (sizes the duplicate index so it need not grow up to
    /// its in-memory capacity); 0 when unknown (XLSX, or no complete line in the prefix).
    /// </summary>
    private const long MaxPresizedRows = 2_000_000;

    private static long EstimateRows(ReadOnlySpan<byte> prefix, long length, FileFormat format)
    {
        if (format != FileFormat.Csv)
        {
            return 0;
        }

        // Data lines only (the header is usually much longer), plus 10 %: an estimate just under the real count costs a resize.
        // Capped: a prefix of short (or blank) lines must not make a large file reserve gigabytes; past the cap the index grows.
        var lines = prefix.Count((byte)'\n') - 1;
        var header = prefix.IndexOf((byte)'\n');
        var dataBytes = prefix.LastIndexOf((byte)'\n') - header;
        return lines < 1 ? 0 : Math.Min(length / Math.Max(1, dataBytes / lines) * 11 / 10, MaxPresizedRows);
    }

    private static string DelimiterName(char delimiter) => delimiter switch { '\t' => "csv-tab", '|' => "csv-pipe", _ => "csv-comma" };

    private static string StructureHint(string rule) => rule switch
    {
        Rules.CsvUnbalancedQuote => "close the quote: a value that contains the delimiter, a quote or a line break is wrapped in \"…\" and inner quotes are doubled (\"\")",
        Rules.FileEncoding => "save the file as 'CSV UTF-8'",
        Rules.CsvRecordTooLong => "check the header row for a missing line break: it must hold the column names only",
        _ => "export the file again from the source system",
    };

    private sealed class RunState
    {
        public FileSchema? Schema;
        public string? Format;
        public int Read;
        public int Accepted;
        public int Rejected;
        public bool Stopped;
    }
}

/// <summary>The transformer step: a validated row's values → its deterministic key and its domain events.</summary>
internal sealed class RowTransformer
{
    private readonly FileSubmission _submission;
    private readonly RowValidator _validator;
    private readonly int[] _keyColumns;
    private readonly (EventDefinition Definition, int[] Data, int When)[] _events;
    private readonly string _source;

    public RowTransformer(FileSubmission submission, RowValidator validator)
    {
        _submission = submission;
        _validator = validator;
        _keyColumns = validator.Schema.Key.Select(validator.ColumnOf).ToArray();
        _events = validator.Schema.Events
            .Select(e => (e, e.Data.Select(validator.ColumnOf).ToArray(), e.When is { } when ? validator.ColumnOf(when.Column) : -1))
            .ToArray();
        _source = $"/calaimhub/ingestion/{submission.PartnerId}/{submission.Kind}";
    }

    /// <summary>The columns the key and the events read.</summary>
    public IEnumerable<int> ColumnsRead => _keyColumns.Concat(_events.SelectMany(e => e.When >= 0 ? e.Data.Append(e.When) : e.Data));

    private readonly long _seed = Random.Shared.NextInt64();
    private char[] _keyChars = new char[256];
    private byte[] _keyBytes = new byte[1024];

    /// <summary>The row's key hash (32 bytes; the row key is its first 16), see <see cref="AcceptedRow.KeyHash"/>.</summary>
    public void KeyHash(string[] values, Span<byte> hash) => SHA256.HashData(KeyText(values), hash);

    /// <summary>
    /// For a dry run, which needs no row key: a 128-bit XxHash128 of the same key bytes <see cref="KeyHash"/> hashes, seeded at
    /// random per run, into the first 16 bytes of <paramref name="hash"/>. Equal keys always give equal fingerprints, so every
    /// duplicate is found; two different keys share one with probability ~n²/2^129 for n rows (≈ 1.5e-27 at 1M rows), and the
    /// random seed keeps a file from being built to collide. SHA-256 cost ~0.4–0.5 µs a row here, a fifth of the dry run.
    /// </summary>
    public void Fingerprint(string[] values, Span<byte> hash) => XxHash128.Hash(KeyText(values), hash, _seed);

    /// <summary>UTF-8 of kind + (U+001F + upper-cased value) per key column, in a buffer reused from row to row.</summary>
    private ReadOnlySpan<byte> KeyText(string[] values)
    {
        var kind = _validator.Schema.Kind;
        var length = kind.Length;
        foreach (var i in _keyColumns)
        {
            length += 1 + values[i].Length;
        }

        if (_keyChars.Length < length)
        {
            _keyChars = new char[length * 2];
        }

        var text = _keyChars.AsSpan();
        kind.CopyTo(text);
        var at = kind.Length;
        foreach (var i in _keyColumns)
        {
            text[at++] = '\u001f';
            at += values[i].AsSpan().ToUpperInvariant(text[at..]);
        }

        var most = Encoding.UTF8.GetMaxByteCount(at);
        if (_keyBytes.Length < most)
        {
            _keyBytes = new byte[most];
        }

        return _keyBytes.AsSpan(0, Encoding.UTF8.GetBytes(text[..at], _keyBytes));
    }

    /// <summary>How many events <see cref="Transform"/> would raise for these values, without building them.</summary>
    public int CountEvents(string[] values)
    {
        var count = 0;
        foreach (var (definition, _, when) in _events)
        {
            if (definition.When is not { } condition || RowValidator.Holds(condition, when, values))
            {
                count++;
            }
        }

        return count;
    }

    public AcceptedRow Transform(int rowNumber, string[] values)
    {
        Span<byte> hash = stackalloc byte[32];
        KeyHash(values, hash);
        return Transform(rowNumber, values, hash);
    }

    /// <param name="hash">From <see cref="KeyHash"/> over the same values.</param>
    public AcceptedRow Transform(int rowNumber, string[] values, ReadOnlySpan<byte> hash)
    {
        var schema = _validator.Schema;
        var (rowKey, bucket) = AcceptedRow.KeyOf(hash);
        var partitionKey = AcceptedRow.Partition(_submission.PartnerId, _submission.Kind, bucket);
        List<DomainEvent>? events = null;
        foreach (var (definition, data, when) in _events)
        {
            if (definition.When is { } condition && !RowValidator.Holds(condition, when, values))
            {
                continue;
            }

            var payload = new Dictionary<string, string>(data.Length + 5, StringComparer.Ordinal)
            {
                ["partnerId"] = _submission.PartnerId,
                ["kind"] = _submission.Kind,
                ["runId"] = _submission.RunId,
                ["partitionKey"] = partitionKey,
                ["rowKey"] = rowKey,
            };
            foreach (var i in data)
            {
                if (values[i].Length > 0)
                {
                    payload[schema.Columns[i].Field] = values[i];
                }
            }

            var id = DomainEvent.StableId(definition.Type, partitionKey, rowKey, data, values);
            (events ??= []).Add(new DomainEvent(id, definition.Type, _source, $"{partitionKey}/{rowKey}", _submission.ReceivedAt, payload));
        }

        return new AcceptedRow(schema, rowNumber, partitionKey, rowKey, values, events ?? (IReadOnlyList<DomainEvent>)[]);
    }
}

/// <summary>Problems of a run: all counted by rule, the first <see cref="IngestReport.MaxListedProblems"/> listed (memory stays flat).</summary>
internal sealed class ProblemLog
{
    private readonly List<Problem> _listed = [];
    private readonly Dictionary<string, int> _byRule = new(StringComparer.Ordinal);

    public int Count { get; private set; }
    public IReadOnlyList<Problem> Listed => _listed;
    public IReadOnlyDictionary<string, int> ByRule => _byRule;

    public void Add(Problem problem)
    {
        Count++;
        _byRule[problem.Rule] = _byRule.GetValueOrDefault(problem.Rule) + 1;
        if (_listed.Count < IngestReport.MaxListedProblems)
        {
            _listed.Add(problem);
        }
    }
}
