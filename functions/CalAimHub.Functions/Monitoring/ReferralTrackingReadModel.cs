using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Monitoring;

/// <summary>
/// The referral status updates of the monitoring extract, kept per month (issue 12): table <c>MonitoringReferralUpdates</c>,
/// partition <c>yyyy-MM</c> (the Pacific month of the update), a row per ledger event (<c>{referral}|{event}</c>) holding
/// the <see cref="ReferralStatusUpdate"/> (ids, service, statuses, no member data). Written by <c>ReferralEvents</c> as it
/// takes each ledger event off the queue (an upsert by the event's own key: a redelivery writes the same row), so the
/// extract reads one partition instead of every event of the <c>Referrals</c> ledger. <see cref="RebuildAsync"/> writes
/// it again from the ledger (the console's read-model rebuild).
/// </summary>
public sealed class ReferralTrackingReadModel(StorageAccount storage) : IReadModelSource
{
    public const string TableName = "MonitoringReferralUpdates";

    public string Name => "monitoring-referral-updates";

    public IReadOnlyList<string> Tables { get; } = [TableName];

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    /// <summary>The extract's row of one ledger event.</summary>
    public static ReferralStatusUpdate Update(ReferralEvent e) =>
        new(e.ReferralId, e.Service?.Code ?? "unknown", e.ReferringEntity?.Name, e.ReceivingProviderNpi, e.Status, e.OccurredAt, e.Reason);

    public static string MonthPartition(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, MonitoringExtract.Pacific).ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public async Task RecordAsync(ReferralEvent e, CancellationToken cancellationToken) =>
        await Table.UpsertEntityAsync(Row(e), TableUpdateMode.Replace, cancellationToken);

    /// <summary>The month's status updates: one partition.</summary>
    public async Task<IReadOnlyList<ReferralStatusUpdate>> MonthAsync(MonitoringMonth month, CancellationToken cancellationToken)
    {
        var updates = new List<ReferralStatusUpdate>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {month.Text}"), select: ["Data"], cancellationToken: cancellationToken))
        {
            updates.Add(JsonSerializer.Deserialize<ReferralStatusUpdate>(row.GetString("Data"), WorkflowJson.Options)!);
        }

        return updates;
    }

    /// <summary>Empties the table and writes a row for every event of the ledger (a scan, as a rebuild from history must).</summary>
    public async Task<(int Deleted, int Written)> RebuildAsync(ReadModelStore readModels, CancellationToken cancellationToken)
    {
        var deleted = await readModels.ClearAsync(TableName, cancellationToken);
        var rows = new Dictionary<(string, string), TableEntity>();
        var ledger = storage.Tables.GetTableClient(TableReferralLedger.TableName);
        await ledger.CreateIfNotExistsAsync(cancellationToken);
        await foreach (var row in ledger.QueryAsync<TableEntity>("RowKey ge 'event|' and RowKey lt 'event}'", select: ["Event"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Event") is { } json && JsonSerializer.Deserialize<ReferralEvent>(json, ReferralJson.Options) is { } e)
            {
                var entity = Row(e);
                rows[(entity.PartitionKey, entity.RowKey)] = entity;
            }
        }

        await Parallel.ForEachAsync(
            rows.Values.GroupBy(r => r.PartitionKey).SelectMany(p => p.Chunk(100)),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (chunk, ct) => await Table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), ct));
        return (deleted, rows.Count);
    }

    private static TableEntity Row(ReferralEvent e) =>
        new(MonthPartition(e.OccurredAt), ReadModelStore.Key($"{e.ReferralId}|{e.EventId}"))
        {
            ["Data"] = JsonSerializer.Serialize(Update(e), WorkflowJson.Options),
        };
}
