using Azure;
using Azure.Data.Tables;
using CalAimHub.Ingestion.Reports;

namespace CalAimHub.Ingestion.Storage;

/// <summary>
/// The ingest-run record per blob version (table <see cref="TableName"/>, partition = partner id, row = run id): partner, kind,
/// file, blob ETag, schema version, counts, timings and outcome. <see cref="Status"/> moves running → reported → completed;
/// a retried message finds it and continues where the last attempt stopped.
/// </summary>
public sealed class IngestRuns(TableServiceClient tables)
{
    public const string TableName = "IngestRuns";

    public static class Status
    {
        public const string Running = "running";
        public const string Reported = "reported";
        public const string Completed = "completed";
    }

    private TableClient Table => tables.GetTableClient(TableName);

    public static string PartitionFor(string partnerId) => InboundPartition(partnerId);

    private static string InboundPartition(string partnerId) => Inbound.InboundPath.IsId(partnerId) ? partnerId : "_unrouted";

    public async Task<TableEntity?> FindAsync(string partnerId, string runId, CancellationToken cancellationToken)
    {
        var found = await Table.GetEntityIfExistsAsync<TableEntity>(PartitionFor(partnerId), runId, cancellationToken: cancellationToken);
        return found.HasValue ? found.Value : null;
    }

    public async Task StartAsync(FileSubmission submission, string blobName, string? etag, long length, int attempt, CancellationToken cancellationToken)
    {
        await Table.UpsertEntityAsync(new TableEntity(PartitionFor(submission.PartnerId), submission.RunId)
        {
            ["PartnerId"] = submission.PartnerId,
            ["Kind"] = submission.Kind,
            ["File"] = submission.FileName,
            ["Blob"] = $"{Inbound.InboundPath.Container}/{blobName}",
            ["BlobETag"] = etag,
            ["Bytes"] = length,
            ["Status"] = Status.Running,
            ["Attempt"] = attempt,
            ["StartedAt"] = submission.ReceivedAt,
        }, TableUpdateMode.Merge, cancellationToken);
    }

    public async Task ReportedAsync(IngestReport report, string reportBlob, TimeSpan readValidateStore, TimeSpan total, CancellationToken cancellationToken)
    {
        // The console's file list first: a crash before the run record below retries the run, which writes it again.
        if (!report.DryRun)
        {
            await new FileRunIndex(tables).WriteAsync(report, report.StartedAt, cancellationToken);
        }

        await Table.UpsertEntityAsync(new TableEntity(PartitionFor(report.PartnerId), report.RunId)
        {
            ["Status"] = Status.Reported,
            ["Outcome"] = report.Outcome,
            ["Schema"] = report.Schema,
            ["SchemaVersion"] = report.SchemaVersion,
            ["Format"] = report.Format,
            ["RowsRead"] = report.RowsRead,
            ["RowsAccepted"] = report.RowsAccepted,
            ["RowsRejected"] = report.RowsRejected,
            ["EventsEmitted"] = report.EventsEmitted,
            ["Problems"] = report.ProblemCount,
            ["Report"] = reportBlob,
            ["ProcessingMs"] = (long)readValidateStore.TotalMilliseconds,
            ["TotalMs"] = (long)total.TotalMilliseconds,
            ["ReportedAt"] = report.CompletedAt,
        }, TableUpdateMode.Merge, cancellationToken);
    }

    public Task CompletedAsync(string partnerId, string runId, DateTimeOffset at, CancellationToken cancellationToken) =>
        Table.UpdateEntityAsync(new TableEntity(PartitionFor(partnerId), runId) { ["Status"] = Status.Completed, ["CompletedAt"] = at }, ETag.All, TableUpdateMode.Merge, cancellationToken);
}
