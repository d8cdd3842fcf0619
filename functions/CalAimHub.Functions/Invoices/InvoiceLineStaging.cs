using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Invoices;

/// <summary>A checked line waiting in <see cref="InvoiceLineStaging"/> for its file to be complete; <see cref="Line"/> null = the row could not be read (counted, not raised).</summary>
public sealed record StagedLine(string InvoiceId, string InvoiceNumber, string ProviderId, string PartnerId, string EventId, DateTimeOffset ReceivedAt, ReceivedLine? Line);

/// <summary>
/// <c>InvoiceLineStaging</c>: the checked lines of one ingest run, one partition per message (<c>{run}|{hash of its lines' row
/// keys}</c>, so a redelivered message rewrites the same rows). A message's lines are packed into one row (<see cref="PackedRowPrefix"/>,
/// more only past <see cref="PartsPerRow"/> × <see cref="PartLength"/> characters of JSON), written in one transaction. Read back once,
/// every partition of the run in one range query, each line once, put in key order (invoice by invoice, then event id) in memory.
/// A <see cref="CompletedRow"/> in partition <c>{run}</c> marks a run whose completion began: a line staged after it is raised
/// at once. Once every invoice of the run is started, the mark says so (<c>StartedAt</c>) and the run's staged rows are removed
/// (<see cref="RemoveRunAsync"/>): the invoices hold their lines, so the staged copy (600–1,100 characters of JSON a line)
/// would only grow the table with every file. The mark stays (a small row per file), so a late line is still raised at once and
/// a redelivered completion knows it is done. No member data (lines hold hashes).
/// </summary>
/// <remarks>
/// Not one partition per run: a partition takes its writes one after another (in Azure, about 2,000 entities a second per
/// partition; in Azurite, each write looks its row up by a walk over the partition's rows), so a 100,000-line file staged
/// into one partition became the file's bottleneck, and on Azurite its cost grew with the square of the file.
/// Not one row per line: staging is write once, read once, never queried by line, and each entity costs the store (and the SDK's
/// batch encoding) the same whatever its size, so packing cut the rows a file stages about a hundredfold.
/// Rows of both earlier layouts are still read: one row per line in the message's partition, and one row per line in partition <c>{run}</c>.
/// </remarks>
public sealed class InvoiceLineStaging(StorageAccount storage)
{
    public const string TableName = "InvoiceLineStaging";

    /// <summary>Sorts after every invoice row ("inv-…"), so reading the lines in order never meets it first.</summary>
    public const string CompletedRow = "~completed";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    /// <summary>The partition of one message's lines of a run: the same lines always give the same partition.</summary>
    public static string PartitionOf(string runId, IEnumerable<string> rowKeys) =>
        runId + "|" + StableHash.Hex(string.Join('\n', rowKeys.Order(StringComparer.Ordinal)), 8);

    /// <summary>Row keys of a message's packed lines: <c>lines|000</c>, <c>lines|001</c>… (a line row's key starts with its invoice id, <c>inv-</c>).</summary>
    public const string PackedRowPrefix = "lines|";

    /// <summary>Characters of JSON per string property: Table storage allows 64 KiB (32,768 UTF-16 characters) per string.</summary>
    public const int PartLength = 30_000;

    /// <summary>Properties per packed row: 12 × 30,000 characters ≈ 720 KB of UTF-16, under the 1 MiB an entity may hold.</summary>
    public const int PartsPerRow = 12;

    /// <summary>Packed rows per transaction: 8 rows of at most 360,000 characters stay under a transaction's 4 MiB.</summary>
    private const int RowsPerTransaction = 8;

    /// <summary>Stages a message's lines; the rows written (the same for a redelivery), for <see cref="RemoveAsync"/>.</summary>
    public async Task<StagedRows> StageAsync(string runId, IReadOnlyList<StagedLine> lines, CancellationToken cancellationToken)
    {
        // Sorted, so a redelivered message packs into the same rows however its lines were ordered.
        var distinct = lines.DistinctBy(RowKey).OrderBy(RowKey, StringComparer.Ordinal).ToList();
        var partition = PartitionOf(runId, distinct.Select(RowKey));
        var rows = Pack(distinct.Select(l => JsonSerializer.Serialize(l, WorkflowJson.Options)))
            .Select((json, i) => PackedRow(partition, i, json)).ToList();
        // Each row is a whole JSON array of whole lines: rows of a message staged by an interrupted earlier try read as they are.
        foreach (var chunk in rows.Chunk(RowsPerTransaction))
        {
            await Table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), cancellationToken);
        }

        return new StagedRows(partition, [.. rows.Select(r => r.RowKey)]);
    }

    /// <summary>Lines' JSON into arrays of at most <see cref="PartsPerRow"/> × <see cref="PartLength"/> characters, whole lines each.</summary>
    private static IEnumerable<string> Pack(IEnumerable<string> lines)
    {
        const int limit = PartsPerRow * PartLength;
        var array = new StringBuilder("[");
        foreach (var line in lines)
        {
            if (line.Length + 2 > limit)
            {
                throw new InvalidOperationException($"A staged invoice line's JSON is {line.Length} characters; a packed row holds at most {limit}.");
            }

            if (array.Length > 1 && array.Length + line.Length + 2 > limit)
            {
                yield return array.Append(']').ToString();
                array.Clear().Append('[');
            }

            array.Append(array.Length > 1 ? "," : "").Append(line);
        }

        if (array.Length > 1)
        {
            yield return array.Append(']').ToString();
        }
    }

    private static TableEntity PackedRow(string partition, int index, string json)
    {
        var row = new TableEntity(partition, PackedRowPrefix + index.ToString("D3", CultureInfo.InvariantCulture));
        for (var part = 0; part * PartLength < json.Length; part++)
        {
            row[PartName(part)] = json.Substring(part * PartLength, Math.Min(PartLength, json.Length - (part * PartLength)));
        }

        return row;
    }

    private static string PartName(int part) => "Part" + part.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>The run's lines in key order (invoice by invoice), each once.</summary>
    public async Task<List<StagedLine>> ReadAsync(string runId, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, StagedLine>(StringComparer.Ordinal);
        await foreach (var row in Table.QueryAsync<TableEntity>(RunRowsFilter(runId), cancellationToken: cancellationToken))
        {
            if (row.RowKey.StartsWith(PackedRowPrefix, StringComparison.Ordinal))
            {
                var packed = new StringBuilder();
                for (var part = 0; row.GetString(PartName(part)) is { } text; part++)
                {
                    packed.Append(text);
                }

                foreach (var line in JsonSerializer.Deserialize<List<StagedLine>>(packed.ToString(), WorkflowJson.Options) ?? [])
                {
                    rows.TryAdd(RowKey(line), line);
                }

                continue;
            }

            var separator = row.RowKey.IndexOf('~', StringComparison.Ordinal);
            rows.TryAdd(row.RowKey, new StagedLine(
                row.RowKey[..separator], row.GetString("InvoiceNumber") ?? "", row.GetString("ProviderId") ?? "", row.GetString("PartnerId") ?? "", row.RowKey[(separator + 1)..],
                row.GetDateTimeOffset("ReceivedAt") ?? default,
                row.GetString("Line") is { Length: > 0 } json ? JsonSerializer.Deserialize<ReceivedLine>(json, WorkflowJson.Options) : null));
        }

        return [.. rows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value)];
    }

    public async Task<bool> CompletedAsync(string runId, CancellationToken cancellationToken) =>
        await CompletionAsync(runId, cancellationToken) is not null;

    /// <summary>The run's completion mark, or null before its completion began.</summary>
    public async Task<RunCompletion?> CompletionAsync(string runId, CancellationToken cancellationToken)
    {
        var mark = await Table.GetEntityIfExistsAsync<TableEntity>(runId, CompletedRow, select: ["CompletedAt", "StartedAt", "Invoices"], cancellationToken: cancellationToken);
        return mark.HasValue
            ? new RunCompletion(mark.Value!.GetDateTimeOffset("CompletedAt") ?? default, mark.Value.GetDateTimeOffset("StartedAt"), mark.Value.GetInt32("Invoices"))
            : null;
    }

    /// <summary>
    /// Marks the run's completion begun. A merge: a second completion of the same run (a redelivery while the first still
    /// ran) never takes back the first one's <c>StartedAt</c>, so the run's staged rows stay removable.
    /// </summary>
    public Task MarkCompletedAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(new TableEntity(runId, CompletedRow) { ["CompletedAt"] = at }, TableUpdateMode.Merge, cancellationToken);

    /// <summary>Every invoice of the run is started (after <see cref="MarkCompletedAsync"/>): its staged rows may go.</summary>
    public Task MarkStartedAsync(string runId, DateTimeOffset at, int invoices, CancellationToken cancellationToken) =>
        Table.UpdateEntityAsync(new TableEntity(runId, CompletedRow) { ["StartedAt"] = at, ["Invoices"] = invoices }, ETag.All, TableUpdateMode.Merge, cancellationToken);

    /// <summary>
    /// Removes the staged rows of a run marked started (every layout; the mark stays); how many. Nothing for a run not marked
    /// started: its lines are still to be read.
    /// </summary>
    public async Task<int> RemoveRunAsync(string runId, CancellationToken cancellationToken)
    {
        if ((await CompletionAsync(runId, cancellationToken))?.StartedAt is null)
        {
            return 0;
        }

        var rows = await Table.QueryAsync<TableEntity>(RunRowsFilter(runId), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        foreach (var partition in rows.GroupBy(r => r.PartitionKey, StringComparer.Ordinal))
        {
            await RemoveAsync(new StagedRows(partition.Key, [.. partition.Select(r => r.RowKey)]), cancellationToken);
        }

        return rows.Count;
    }

    /// <summary>Removes staged rows (a late message's, once raised); rows already gone are no error (a redelivery removes again).</summary>
    public async Task RemoveAsync(StagedRows rows, CancellationToken cancellationToken)
    {
        foreach (var chunk in rows.RowKeys.Chunk(100))
        {
            if (chunk.Length == 1)
            {
                await Table.DeleteEntityAsync(rows.Partition, chunk[0], ETag.All, cancellationToken); // a 404 is success here
                continue;
            }

            try
            {
                await Table.SubmitTransactionAsync(chunk.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(rows.Partition, key), ETag.All)), cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status == 404)
            {
                // Some were removed already (an interrupted earlier removal): remove the rest one by one.
                foreach (var key in chunk)
                {
                    await Table.DeleteEntityAsync(rows.Partition, key, ETag.All, cancellationToken);
                }
            }
        }
    }

    /// <summary>Every staged row of a run, in every layout: its message partitions (<c>{run}|…</c>) and line rows of partition <c>{run}</c>, not the mark.</summary>
    private static string RunRowsFilter(string runId) =>
        TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey lt {CompletedRow}") + " or " +
        TableClient.CreateQueryFilter($"PartitionKey gt {runId + "|"} and PartitionKey lt {runId + "|~"}");

    private static string RowKey(StagedLine line) => $"{line.InvoiceId}~{line.EventId}";
}

/// <summary>The rows one message's lines were staged in: one partition, its row keys.</summary>
public sealed record StagedRows(string Partition, IReadOnlyList<string> RowKeys);

/// <summary>A run's completion mark: when its completion began, and when every invoice was started (with how many), if it was.</summary>
public sealed record RunCompletion(DateTimeOffset CompletedAt, DateTimeOffset? StartedAt, int? Invoices);
