using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Storage;

namespace CalAimHub.Functions.Outbound;

/// <summary>
/// <c>AssignmentEvents</c> (queue <c>assignment-events</c>): accepted assignment rows from ingestion (the events carry no
/// member data: the row is read back from <c>IngestedRows</c>) → <see cref="OutboundAssignments"/>, keyed per provider and
/// period. When that provider's MIF of the period has already gone out, a mini-MIF is queued for it: the generator sends
/// the members no file has carried yet (a member assigned between cycles, e.g. released from incarceration).
/// </summary>
public sealed partial class AssignmentEventsFunction(
    StorageAccount storage, OutboundAssignments assignments, OutboundLedger ledger, OutboundGenerationQueue generation, ILogger<AssignmentEventsFunction> logger) : IQueueFunction
{
    private static readonly string[] Fields = [.. FormatCatalog.Default.Schema(FileKind.Assignment).Columns.Select(c => c.Field)];

    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        List<(string Partition, string Row)> keys = [];
        try
        {
            foreach (var e in TableRowDestination.ReadEvents(invocation.Message))
            {
                if (e.TryGetProperty("type", out var type) && type.GetString() == DomainEvent.AssignmentReceived
                    && e.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                    && data.TryGetProperty("partitionKey", out var partition) && data.TryGetProperty("rowKey", out var row))
                {
                    keys.Add((partition.GetString()!, row.GetString()!));
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return $"Ignored message {invocation.Metadata.MessageId}: not a CloudEvents JSON batch.";
        }

        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        var rows = new AssignmentRow?[keys.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(keys[i].Partition, keys[i].Row, cancellationToken: ct);
            if (stored.HasValue)
            {
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var field in Fields)
                {
                    if (stored.Value!.GetString(field) is { Length: > 0 } value)
                    {
                        values[field] = value;
                    }
                }

                rows[i] = AssignmentRow.From(values);
            }
        });

        var groups = rows.OfType<AssignmentRow>().Where(r => r.Values.ContainsKey("ProviderId") && r.Values.ContainsKey("AssignmentPeriod"))
            .GroupBy(r => (Provider: r.Values["ProviderId"], Period: r.Values["AssignmentPeriod"], r.Program)).ToList();
        var minis = 0;
        foreach (var group in groups)
        {
            await assignments.AddAsync(group.Key.Provider, group.Key.Period, group.Key.Program, [.. group], cancellationToken);
            var mifKind = group.Key.Program == OutboundAssignments.Cs ? Domain.Consent.SentFileKinds.CsMif : Domain.Consent.SentFileKinds.Mif;
            if (await ledger.FindAsync(group.Key.Period, OutboundLedger.RowKey(group.Key.Provider, mifKind, group.Key.Period), cancellationToken) is not null)
            {
                await generation.EnqueueAsync(new OutboundRequest(group.Key.Provider, group.Key.Period, Domain.Consent.SentFileKinds.MiniMif, group.Key.Program, null), cancellationToken);
                minis++;
            }
        }

        LogBatch(logger, invocation.Metadata.MessageId, rows.Count(r => r is not null), groups.Count, minis);
        return $"Assignments: {rows.Count(r => r is not null)} rows for {groups.Count} provider periods; {minis} mini-MIF checks queued.";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Assignment events {MessageId}: {Rows} rows, {Groups} provider periods, {Minis} mini-MIF checks queued")]
    private static partial void LogBatch(ILogger logger, string? messageId, int rows, int groups, int minis);
}
