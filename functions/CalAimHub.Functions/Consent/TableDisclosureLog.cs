using System.Globalization;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Consent;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Consent;

/// <summary>
/// The disclosure log, two views written by upsert (so a re-run overwrites, never duplicates):
/// <list type="bullet">
/// <item>Table <c>MemberDisclosures</c>: partition = member CIN, row = the escaped document path (a disclosure id is
/// <c>{path}|{cin}</c>, so the path alone is unique in the member's partition): the accounting of disclosures.</item>
/// <item>Table <c>SentMemberFiles</c>: partition = <c>{providerId}|{period}</c>, a <c>file|{path}</c> row per file and a
/// <c>line|{path}|{cin}</c> row per member line: what reconciliation compares an RTF with.</item>
/// </list>
/// Both hold CINs at rest (storage encryption); none goes into a log line.
/// </summary>
public sealed class TableDisclosureLog(StorageAccount storage) : IDisclosureLog
{
    public const string MemberTableName = "MemberDisclosures";
    public const string SentFilesTableName = "SentMemberFiles";
    private const string FilePrefix = "file|";
    private const string LinePrefix = "line|";
    private const int ParallelWrites = 32;
    private const int TransactionSize = 100;

    private TableClient Members => storage.Tables.GetTableClient(MemberTableName);

    private TableClient SentFiles => storage.Tables.GetTableClient(SentFilesTableName);

    public async Task RecordAsync(IReadOnlyList<Disclosure> disclosures, CancellationToken ct)
    {
        // One member per partition: one upsert each, in parallel. Several disclosures of one member in one call share a
        // partition and could be batched, but a file discloses each member once.
        await Parallel.ForEachAsync(disclosures, new ParallelOptions { MaxDegreeOfParallelism = ParallelWrites, CancellationToken = ct },
            async (disclosure, token) => await Members.UpsertEntityAsync(DisclosureRow.From(disclosure), TableUpdateMode.Replace, token));
    }

    public async Task RecordSentFileAsync(SentMemberFile file, bool firstRecording, CancellationToken ct)
    {
        var partition = PartitionOf(file.ProviderId, file.Period);
        var path = TableKeys.Escape(file.DocumentPath);
        var linePrefix = LinePrefix + path + "|";

        // Lines of an earlier recording of the same path that this one no longer has are removed: the file is the truth.
        // A first recording has none, and skips the query (one round trip per file).
        var stale = new List<TableTransactionAction>();
        if (!firstRecording)
        {
            var current = file.Members.Select(m => linePrefix + m.Cin).ToHashSet(StringComparer.Ordinal);
            await foreach (var row in SentFiles.QueryAsync<TableEntity>(
                r => r.PartitionKey == partition && r.RowKey.CompareTo(linePrefix) >= 0 && r.RowKey.CompareTo(linePrefix + "\uffff") < 0,
                select: ["RowKey"], cancellationToken: ct))
            {
                if (!current.Contains(row.RowKey))
                {
                    stale.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, row.RowKey), ETag.All));
                }
            }
        }

        var actions = file.Members
            .DistinctBy(m => m.Cin, StringComparer.Ordinal)
            .Select(m => new TableTransactionAction(TableTransactionActionType.UpsertReplace, SentLineRow.From(partition, linePrefix + m.Cin, file, m)))
            .Concat(stale)
            .ToList();
        var fileRow = new SentFileRow
        {
            PartitionKey = partition,
            RowKey = FilePrefix + path,
            ProviderId = file.ProviderId,
            Period = file.Period,
            Kind = file.Kind,
            DocumentPath = file.DocumentPath,
            SentAt = file.SentAt,
            MemberCount = file.Members.Count,
        };

        // The file row last: a file row means all its lines are there. When they fit in one transaction, the file row goes
        // in it too (same partition, atomic); otherwise the line transactions run at the same time and the file row after.
        if (actions.Count < TransactionSize)
        {
            await SentFiles.SubmitTransactionAsync([.. actions, new TableTransactionAction(TableTransactionActionType.UpsertReplace, fileRow)], ct);
            return;
        }

        await Parallel.ForEachAsync(actions.Chunk(TransactionSize), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct },
            async (chunk, token) => await SentFiles.SubmitTransactionAsync(chunk, token));
        await SentFiles.UpsertEntityAsync(fileRow, TableUpdateMode.Replace, ct);
    }

    /// <summary>Every file recorded as sent to <paramref name="providerId"/> for <paramref name="period"/>, with its lines.</summary>
    public async Task<IReadOnlyList<SentMemberFile>> SentFilesAsync(string providerId, string period, CancellationToken ct)
    {
        var partition = PartitionOf(providerId, period);
        var files = new List<SentFileRow>();
        var lines = new Dictionary<string, List<SentMemberLine>>(StringComparer.Ordinal);
        await foreach (var row in SentFiles.QueryAsync<TableEntity>(r => r.PartitionKey == partition, cancellationToken: ct))
        {
            if (row.RowKey.StartsWith(FilePrefix, StringComparison.Ordinal))
            {
                files.Add(SentFileRow.From(row));
            }
            else if (row.RowKey.StartsWith(LinePrefix, StringComparison.Ordinal))
            {
                var documentPath = row.GetString(nameof(SentLineRow.DocumentPath));
                if (!lines.TryGetValue(documentPath, out var list))
                {
                    lines[documentPath] = list = [];
                }

                list.Add(SentLineRow.ToLine(row));
            }
        }

        return files
            .OrderBy(f => f.SentAt)
            .ThenBy(f => f.DocumentPath, StringComparer.Ordinal)
            .Select(f => new SentMemberFile(f.ProviderId, f.Period, f.Kind, f.DocumentPath, f.SentAt,
                lines.TryGetValue(f.DocumentPath, out var list) ? list : []))
            .ToList();
    }

    /// <summary>One page of a member's disclosures, optionally within [<paramref name="from"/>, <paramref name="to"/>], in document-path order.</summary>
    public async Task<(IReadOnlyList<Disclosure> Items, string? Continuation)> ForMemberAsync(string cin, DateTimeOffset? from, DateTimeOffset? to,
        int top, string? continuation, CancellationToken ct)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {cin}");
        if (from is { } start)
        {
            filter += " and " + TableClient.CreateQueryFilter($"DisclosedAt ge {start}");
        }

        if (to is { } end)
        {
            filter += " and " + TableClient.CreateQueryFilter($"DisclosedAt le {end}");
        }

        await foreach (var page in Members.QueryAsync<DisclosureRow>(filter, maxPerPage: top, cancellationToken: ct).AsPages(continuation, top))
        {
            return (page.Values.Select(r => r.ToDisclosure()).ToList(), page.ContinuationToken);
        }

        return ([], null);
    }

    public static string PartitionOf(string providerId, string period) => TableKeys.Escape(providerId) + "|" + period;

    private static DateOnly? Date(string? text) =>
        string.IsNullOrEmpty(text) ? null : DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string? Text(DateOnly? date) => date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private sealed class SentFileRow : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string ProviderId { get; set; } = "";
        public string Period { get; set; } = "";
        public string Kind { get; set; } = "";
        public string DocumentPath { get; set; } = "";
        public DateTimeOffset SentAt { get; set; }
        public int MemberCount { get; set; }

        public static SentFileRow From(TableEntity row) => new()
        {
            PartitionKey = row.PartitionKey,
            RowKey = row.RowKey,
            ProviderId = row.GetString(nameof(ProviderId)),
            Period = row.GetString(nameof(Period)),
            Kind = row.GetString(nameof(Kind)),
            DocumentPath = row.GetString(nameof(DocumentPath)),
            SentAt = row.GetDateTimeOffset(nameof(SentAt)) ?? default,
            MemberCount = row.GetInt32(nameof(MemberCount)) ?? 0,
        };
    }

    private sealed class SentLineRow : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string DocumentPath { get; set; } = "";
        public string Kind { get; set; } = "";
        public DateTimeOffset SentAt { get; set; }
        public string Cin { get; set; } = "";
        public string? AuthorizationId { get; set; }
        public string? AuthorizationStart { get; set; }
        public string? AuthorizationEnd { get; set; }

        /// <summary>Referral ids, newline-separated (ids hold no newline: strict input refuses control characters).</summary>
        public string ReferralIds { get; set; } = "";

        public static SentLineRow From(string partition, string rowKey, SentMemberFile file, SentMemberLine line) => new()
        {
            PartitionKey = partition,
            RowKey = rowKey,
            DocumentPath = file.DocumentPath,
            Kind = file.Kind,
            SentAt = file.SentAt,
            Cin = line.Cin,
            AuthorizationId = line.AuthorizationId,
            AuthorizationStart = Text(line.AuthorizationStart),
            AuthorizationEnd = Text(line.AuthorizationEnd),
            ReferralIds = string.Join('\n', line.ReferralIds),
        };

        public static SentMemberLine ToLine(TableEntity row) => new(
            row.GetString(nameof(Cin)),
            row.GetString(nameof(AuthorizationId)),
            Date(row.GetString(nameof(AuthorizationStart))),
            Date(row.GetString(nameof(AuthorizationEnd))),
            (row.GetString(nameof(ReferralIds)) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}

internal sealed class DisclosureRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string DisclosureId { get; set; } = "";
    public string RecipientId { get; set; } = "";
    public string Purpose { get; set; } = "";
    public string DocumentPath { get; set; } = "";
    public DateTimeOffset DisclosedAt { get; set; }

    /// <summary>Category ids, comma-separated (ids are lower-case words and hyphens).</summary>
    public string CategoriesDisclosed { get; set; } = "";

    public string CategoriesWithheld { get; set; } = "";

    public static DisclosureRow From(Disclosure disclosure) => new()
    {
        PartitionKey = disclosure.Cin,
        RowKey = TableKeys.Escape(disclosure.DocumentPath),
        DisclosureId = disclosure.DisclosureId,
        RecipientId = disclosure.RecipientId,
        Purpose = disclosure.Purpose,
        DocumentPath = disclosure.DocumentPath,
        DisclosedAt = disclosure.DisclosedAt,
        CategoriesDisclosed = string.Join(',', disclosure.CategoriesDisclosed),
        CategoriesWithheld = string.Join(',', disclosure.CategoriesWithheld),
    };

    public Disclosure ToDisclosure() => new(DisclosureId, PartitionKey, RecipientId, Purpose, DocumentPath, DisclosedAt,
        CategoriesDisclosed.Split(',', StringSplitOptions.RemoveEmptyEntries),
        CategoriesWithheld.Split(',', StringSplitOptions.RemoveEmptyEntries));
}
