using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Invoices;

/// <summary>A checked line waiting in <see cref="InvoiceLineStaging"/> for its file to be complete; <see cref="Line"/> null = the row could not be read (counted, not raised).</summary>
public sealed record StagedLine(string InvoiceId, string InvoiceNumber, string ProviderId, string PartnerId, string EventId, DateTimeOffset ReceivedAt, ReceivedLine? Line);

/// <summary>
/// <c>InvoiceLineStaging</c>: the checked lines of one ingest run, one partition per message (<c>{run}|{hash of its lines' row
/// keys}</c>, so a redelivered message rewrites the same rows), row = invoice id + the line event's id. Read back once, every
/// partition of the run in one range query, and put in key order (invoice by invoice) in memory. A <see cref="CompletedRow"/>
/// in partition <c>{run}</c> marks a run whose invoices were started: a line staged after it is raised at once. No member
/// data (lines hold hashes).
/// </summary>
/// <remarks>
/// Not one partition per run: a partition takes its writes one after another (in Azure, about 2,000 entities a second per
/// partition; in Azurite, each write looks its row up by a walk over the partition's rows), so a 100,000-line file staged
/// into one partition became the file's bottleneck, and on Azurite its cost grew with the square of the file. Rows staged
/// in partition <c>{run}</c> before this layout are still read.
/// </remarks>
public sealed class InvoiceLineStaging(StorageAccount storage)
{
    public const string TableName = "InvoiceLineStaging";

    /// <summary>Sorts after every invoice row ("inv-…"), so reading the lines in order never meets it first.</summary>
    public const string CompletedRow = "~completed";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    /// <summary>The partition of one message's lines of a run: the same lines always give the same partition.</summary>
    public static string PartitionOf(string runId, IEnumerable<string> rowKeys) =>
        runId + "|" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', rowKeys.Order(StringComparer.Ordinal))))).AsSpan(0, 16).ToString();

    public async Task StageAsync(string runId, IReadOnlyList<StagedLine> lines, CancellationToken cancellationToken)
    {
        var distinct = lines.DistinctBy(l => RowKey(l)).ToList();
        var partition = PartitionOf(runId, distinct.Select(RowKey));
        foreach (var chunk in distinct.Chunk(100))
        {
            await Table.SubmitTransactionAsync(chunk.Select(l => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(partition, RowKey(l))
            {
                ["InvoiceNumber"] = l.InvoiceNumber,
                ["ProviderId"] = l.ProviderId,
                ["PartnerId"] = l.PartnerId,
                ["ReceivedAt"] = l.ReceivedAt,
                ["Line"] = l.Line is null ? null : JsonSerializer.Serialize(l.Line, WorkflowJson.Options),
            })), cancellationToken);
        }
    }

    /// <summary>The run's lines in key order (invoice by invoice), each once.</summary>
    public async Task<List<StagedLine>> ReadAsync(string runId, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, StagedLine>(StringComparer.Ordinal);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey lt {CompletedRow}") + " or " +
            TableClient.CreateQueryFilter($"PartitionKey gt {runId + "|"} and PartitionKey lt {runId + "|~"}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            var separator = row.RowKey.IndexOf('~', StringComparison.Ordinal);
            rows.TryAdd(row.RowKey, new StagedLine(
                row.RowKey[..separator], row.GetString("InvoiceNumber") ?? "", row.GetString("ProviderId") ?? "", row.GetString("PartnerId") ?? "", row.RowKey[(separator + 1)..],
                row.GetDateTimeOffset("ReceivedAt") ?? default,
                row.GetString("Line") is { Length: > 0 } json ? JsonSerializer.Deserialize<ReceivedLine>(json, WorkflowJson.Options) : null));
        }

        return [.. rows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value)];
    }

    public async Task<bool> CompletedAsync(string runId, CancellationToken cancellationToken) =>
        (await Table.GetEntityIfExistsAsync<TableEntity>(runId, CompletedRow, select: ["PartitionKey"], cancellationToken: cancellationToken)).HasValue;

    public Task MarkCompletedAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(new TableEntity(runId, CompletedRow) { ["CompletedAt"] = at }, TableUpdateMode.Replace, cancellationToken);

    private static string RowKey(StagedLine line) => $"{line.InvoiceId}~{line.EventId}";
}
