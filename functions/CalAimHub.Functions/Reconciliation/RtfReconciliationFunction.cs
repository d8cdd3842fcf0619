using System.Text.Json;
using CalAimHub.Functions.Invocations;
using CalAimHub.Ingestion;

namespace CalAimHub.Functions.Reconciliation;

/// <summary>
/// <c>RtfReconciliation</c> (queue <c>reconciliation-events</c>): an RTF run's <c>file-stored</c> event, sent by ingestion once
/// the run's rows are stored and before it is reported, so a handler killed anywhere after the store still leaves the event
/// for this consumer. Each event is reconciled by <see cref="RtfReconciler"/>, which does a redelivered run's work once.
/// </summary>
public sealed partial class RtfReconciliationFunction(RtfReconciler reconciler, ILogger<RtfReconciliationFunction> logger) : IQueueFunction
{
    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        List<StoredFile> stored = [];
        try
        {
            using var document = JsonDocument.Parse(invocation.Message);
            var items = document.RootElement.ValueKind == JsonValueKind.Array ? [.. document.RootElement.EnumerateArray()] : new[] { document.RootElement };
            foreach (var e in items)
            {
                if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == DomainEvent.FileStoredType
                    && e.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                    && e.TryGetProperty("time", out var time) && time.ValueKind == JsonValueKind.String && time.TryGetDateTimeOffset(out var at)
                    && StoredFile.FromEvent(data, at) is { } file)
                {
                    stored.Add(file);
                }
            }
        }
        catch (JsonException)
        {
            LogIgnored(logger, invocation.Metadata.MessageId);
            return $"Ignored message {invocation.Metadata.MessageId}: not CloudEvents JSON.";
        }

        var summary = new List<string>();
        foreach (var file in stored)
        {
            var report = await reconciler.ReconcileAsync(file, cancellationToken);
            summary.Add(report is null ? $"run {file.RunId}: nothing to reconcile" : $"run {file.RunId}: {report.Outcome}, {report.ProblemCount} mismatches");
        }

        return summary.Count == 0 ? "Reconciliation: no file-stored event in this message." : "Reconciliation: " + string.Join("; ", summary) + ".";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored reconciliation-events message {MessageId}: not CloudEvents JSON")]
    private static partial void LogIgnored(ILogger logger, string? messageId);
}
