using System.Text.Json;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Notifications;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// Queue <c>blob-created</c> (Event Grid BlobCreated events for the <c>inbound</c> container) → one partner file ingested.
/// Channel: source = the event's blob, streamed → filter = schema and row validation → transformer = keys and domain events →
/// destinations = <c>IngestedRows</c> table, <c>domain-events</c> queue, result report in <c>results</c>, notice to the partner.
/// Logs carry run ids, partner ids, kinds and counts only — never file contents or file names.
/// </summary>
public sealed partial class IngestPartnerFile(
    BlobFileIngestion ingestion,
    PartnerDirectory partners,
    NotificationQueue notifications,
    ExchangeInbound exchange,
    ILogger<IngestPartnerFile> logger) : IQueueFunction
{
    public const string FileProcessedType = "calaimhub.file.processed";

    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        var blobEvent = BlobCreatedEvent.Parse(invocation.Message, out var reason);
        if (blobEvent is null)
        {
            // Not a BlobCreated event for us: retrying cannot help, and nothing is lost by completing.
            LogIgnored(invocation.Metadata.MessageId, reason!);
            return $"Ignored message {invocation.Metadata.MessageId}: {reason}.";
        }

        if (ExchangeContainers.PartnerOfInbound(blobEvent.Container) is not null)
        {
            // Dropped over SFTP on the exchange account: copied into inbound/{partner}/…, whose own event ingests it.
            if (ExchangeContainers.ToInbound(blobEvent.Container, blobEvent.BlobName) is not { } target)
            {
                LogIgnored(invocation.Metadata.MessageId, $"exchange blob in '{blobEvent.Container}' is not {{kind}}/{{file}}");
                return $"Ignored event {blobEvent.Id}: an exchange blob that is not {{kind}}/{{file}}.";
            }

            return await exchange.ForwardAsync(blobEvent, target, cancellationToken);
        }

        if (blobEvent.Container != InboundPath.Container)
        {
            LogIgnored(invocation.Metadata.MessageId, $"blob is in container '{blobEvent.Container}', not '{InboundPath.Container}'");
            return $"Ignored event {blobEvent.Id}: not in '{InboundPath.Container}'.";
        }

        var result = await ingestion.IngestAsync(blobEvent.BlobName, partners.Find, invocation.Metadata.DequeueCount ?? 1, cancellationToken);
        if (result is null)
        {
            LogGone(blobEvent.Id);
            return $"Event {blobEvent.Id}: the blob no longer exists; nothing to ingest.";
        }

        var report = result.Report;
        if (result.AlreadyCompleted)
        {
            LogAlreadyDone(report.RunId);
            return $"Run {report.RunId} was already completed; not processed again.";
        }

        await NotifyAsync(result, cancellationToken);
        await ingestion.CompleteAsync(result, cancellationToken);
        LogIngested(report.RunId, report.PartnerId, report.Kind, report.SchemaVersion ?? "-", report.Outcome, report.RowsRead, report.RowsAccepted, report.RowsRejected,
            string.Join(",", report.ProblemsByRule.Select(p => $"{p.Key}={p.Value}")));
        return $"Run {report.RunId}: {report.Summary()}";
    }

    private async Task NotifyAsync(IngestResult result, CancellationToken cancellationToken)
    {
        var report = result.Report;
        if (result.Partner is not { Subscriber: { Length: > 0 } subscriber, NotificationUrl: { Length: > 0 } url })
        {
            LogNoSubscriber(report.RunId, report.PartnerId);
            return;
        }

        var data = JsonSerializer.SerializeToElement(new
        {
            runId = report.RunId,
            partnerId = report.PartnerId,
            kind = report.Kind,
            file = report.File,
            outcome = report.Outcome,
            schemaVersion = report.SchemaVersion,
            rowsRead = report.RowsRead,
            rowsAccepted = report.RowsAccepted,
            rowsRejected = report.RowsRejected,
            problemsByRule = report.ProblemsByRule,
            report = $"{InboundPath.ResultsContainer}/{result.ReportJsonBlob}",
            reportCsv = $"{InboundPath.ResultsContainer}/{result.ReportCsvBlob}",
        });
        // The delivery id is the run's: a retried attempt enqueues the same delivery, which Notify sends once.
        await notifications.EnqueueAsync(new NotificationMessage(
            "ingest-" + report.RunId, subscriber, url, FileProcessedType, "/calaimhub/ingestion",
            $"{InboundPath.ResultsContainer}/{result.ReportJsonBlob}", report.CompletedAt, data), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest run {RunId}: partner {PartnerId}, kind {Kind}, schema {SchemaVersion}, {Outcome}: {RowsRead} rows read, {RowsAccepted} accepted, {RowsRejected} rejected; problems {ProblemsByRule}")]
    private partial void LogIngested(string runId, string partnerId, string kind, string schemaVersion, string outcome, int rowsRead, int rowsAccepted, int rowsRejected, string problemsByRule);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored blob-created message {MessageId}: {Reason}")]
    private partial void LogIgnored(string? messageId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "BlobCreated event {EventId}: the blob is gone; nothing to ingest")]
    private partial void LogGone(string eventId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest run {RunId} was already completed; skipping")]
    private partial void LogAlreadyDone(string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest run {RunId}: partner {PartnerId} has no notification subscriber; report written, no notice sent")]
    private partial void LogNoSubscriber(string runId, string partnerId);
}
