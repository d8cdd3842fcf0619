using System.Diagnostics;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using CalAimHub.Domain;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Storage;

/// <summary>What one ingest attempt produced.</summary>
/// <param name="Resumed">The run had already been reported by an earlier attempt; its report was read back, nothing re-processed.</param>
/// <param name="AlreadyCompleted">The run was completed (report written, partner notified) by an earlier attempt.</param>
public sealed record IngestResult(IngestReport Report, PartnerProfile? Partner, string ReportJsonBlob, string ReportCsvBlob, bool Resumed, bool AlreadyCompleted);

/// <summary>
/// A blob in <c>inbound</c> through the <see cref="PartnerFileChannel"/>: run record, streamed read (the original is never
/// changed or deleted), rows and events stored, result report written next to the file in <c>results</c>.
/// The caller notifies the partner, then calls <see cref="CompleteAsync"/>.
/// </summary>
public sealed class BlobFileIngestion(
    PartnerFileChannel channel,
    BlobServiceClient blobs,
    TableServiceClient tables,
    QueueServiceClient queues,
    IngestionOptions options,
    TimeProvider time,
    string inboundContainer = InboundPath.Container)
{
    private readonly IngestRuns _runs = new(tables);

    /// <summary>Deterministic per blob version: the same blob and ETag always continue the same run.</summary>
    public static string RunId(string blobName, string? etag) =>
        "run-" + StableHash.Hex(blobName + "\n" + etag?.Trim('"'), 12);

    /// <summary>Null when the blob no longer exists (deleted after the event was raised).</summary>
    public async Task<IngestResult?> IngestAsync(string blobName, Func<string, PartnerProfile?> partners, int attempt, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var blob = blobs.GetBlobContainerClient(inboundContainer).GetBlobClient(blobName);
        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }

        var path = InboundPath.TryParse(blobName);
        var partnerId = path?.PartnerId ?? "_unrouted";
        var partner = path is null ? null : partners(path.PartnerId);
        var runId = RunId(blobName, properties.ETag.ToString());
        var (jsonName, csvName) = InboundPath.ReportNames(blobName);
        var results = blobs.GetBlobContainerClient(InboundPath.ResultsContainer);

        var existing = await _runs.FindAsync(partnerId, runId, cancellationToken);
        var status = existing?.GetString("Status");
        if (status is IngestRuns.Status.Reported or IngestRuns.Status.Completed)
        {
            var saved = await results.GetBlobClient(jsonName).DownloadContentAsync(cancellationToken);
            return new IngestResult(IngestReport.FromJson(saved.Value.Content.ToString()), partner, jsonName, csvName, Resumed: true, status == IngestRuns.Status.Completed);
        }

        var submission = new FileSubmission(runId, partnerId, path?.Kind ?? "", path?.FileName ?? blobName, partner, time.GetUtcNow());
        await _runs.StartAsync(submission, blobName, properties.ETag.ToString(), properties.ContentLength, attempt, cancellationToken);

        var processing = Stopwatch.StartNew();
        IngestReport report;
        if (path is null)
        {
            report = PartnerFileChannel.Rejected(submission, Problem.File(Rules.FilePath, "the file is not under inbound/{partnerId}/{kind}/{file}",
                $"upload to inbound/<your partner id>/<kind>/<file name>, kind one of: {string.Join(", ", FileKind.All)}"));
        }
        else if (channel.Precheck(submission, properties.ContentLength) is { } problem)
        {
            report = PartnerFileChannel.Rejected(submission, problem);
        }
        else
        {
            // Streamed in 4 MiB ranges; If-Match pins the version this run is for (a concurrent overwrite fails the attempt).
            await using var content = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
            {
                BufferSize = 4 * 1024 * 1024,
                Conditions = new BlobRequestConditions { IfMatch = properties.ETag },
            }, cancellationToken);
            var destination = new TableRowDestination(tables, queues, submission, options.WriteParallelism);
            report = await channel.RunAsync(submission, content, properties.ContentLength, destination, cancellationToken);
            var lines = destination.EventsEmittedOf(DomainEvent.InvoiceLineReceived);
            if (DomainEvent.FileStoredQueue(submission.Kind) is { } storedQueue && !report.DryRun && (lines > 0 || report.RowsAccepted > 0))
            {
                // The run's one completion event, after every row and row event is stored and before the run is reported: a crash
                // in between re-runs the file and sends this again (same id); a crash after it leaves it on the consumer's queue.
                foreach (var message in TableRowDestination.EventMessages([DomainEvent.FileStored(submission, lines, report)]))
                {
                    await queues.GetQueueClient(storedQueue).SendMessageAsync(message, cancellationToken);
                }
            }
        }

        processing.Stop();
        await results.GetBlobClient(jsonName).UploadAsync(new BinaryData(report.ToJsonBytes()), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, cancellationToken);
        await results.GetBlobClient(csvName).UploadAsync(new BinaryData(ReportCsv.ToBytes(report)), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "text/csv; charset=utf-8" },
        }, cancellationToken);
        await _runs.ReportedAsync(report, $"{InboundPath.ResultsContainer}/{jsonName}", processing.Elapsed, total.Elapsed, cancellationToken);
        return new IngestResult(report, partner, jsonName, csvName, Resumed: false, AlreadyCompleted: false);
    }

    public Task CompleteAsync(IngestResult result, CancellationToken cancellationToken) =>
        _runs.CompletedAsync(result.Report.PartnerId, result.Report.RunId, time.GetUtcNow(), cancellationToken);
}
