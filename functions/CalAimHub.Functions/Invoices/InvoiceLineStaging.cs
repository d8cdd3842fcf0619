using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Invoices;

/// <summary>A checked line waiting in <see cref="InvoiceLineStaging"/> for its file to be complete; <see cref="Line"/> null = the row could not be read (counted, not raised).</summary>
public sealed record StagedLine(string InvoiceId, string InvoiceNumber, string ProviderId, string PartnerId, string EventId, DateTimeOffset ReceivedAt, ReceivedLine? Line);

/// <summary>
/// <c>InvoiceLineStaging</c>: the checked lines of one ingest run, partition = the run, row = invoice id + the line event's id,
/// so an invoice's lines are one contiguous row range and a redelivered message rewrites the same rows (upsert). Written in
/// entity-group transactions of up to 100; read back once, in key order, when the file is complete. A <see cref="CompletedRow"/>
/// marks a run whose invoices were started: a line staged after it is raised at once. No member data (lines hold hashes).
/// </summary>
public sealed class InvoiceLineStaging(StorageAccount storage)
{
    public const string TableName = "InvoiceLineStaging";

    /// <summary>Sorts after every invoice row ("inv-…"), so reading the lines in order never meets it first.</summary>
    public const string CompletedRow = "~completed";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public async Task StageAsync(string runId, IReadOnlyList<StagedLine> lines, CancellationToken cancellationToken)
    {
        foreach (var chunk in lines.DistinctBy(l => RowKey(l)).Chunk(100))
        {
            await Table.SubmitTransactionAsync(chunk.Select(l => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(runId, RowKey(l))
            {
                ["InvoiceNumber"] = l.InvoiceNumber,
                ["ProviderId"] = l.ProviderId,
                ["PartnerId"] = l.PartnerId,
                ["ReceivedAt"] = l.ReceivedAt,
                ["Line"] = l.Line is null ? null : JsonSerializer.Serialize(l.Line, WorkflowJson.Options),
            })), cancellationToken);
        }
    }

    /// <summary>The run's lines in key order (invoice by invoice).</summary>
    public async Task<List<StagedLine>> ReadAsync(string runId, CancellationToken cancellationToken)
    {
        var lines = new List<StagedLine>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey lt {CompletedRow}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            var separator = row.RowKey.IndexOf('~', StringComparison.Ordinal);
            lines.Add(new StagedLine(
                row.RowKey[..separator], row.GetString("InvoiceNumber") ?? "", row.GetString("ProviderId") ?? "", row.GetString("PartnerId") ?? "", row.RowKey[(separator + 1)..],
                row.GetDateTimeOffset("ReceivedAt") ?? default,
                row.GetString("Line") is { Length: > 0 } json ? JsonSerializer.Deserialize<ReceivedLine>(json, WorkflowJson.Options) : null));
        }

        return lines;
    }

    public async Task<bool> CompletedAsync(string runId, CancellationToken cancellationToken) =>
        (await Table.GetEntityIfExistsAsync<TableEntity>(runId, CompletedRow, select: ["PartitionKey"], cancellationToken: cancellationToken)).HasValue;

    public Task MarkCompletedAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(new TableEntity(runId, CompletedRow) { ["CompletedAt"] = at }, TableUpdateMode.Replace, cancellationToken);

    private static string RowKey(StagedLine line) => $"{line.InvoiceId}~{line.EventId}";
}
