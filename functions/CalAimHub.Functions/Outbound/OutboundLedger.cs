using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Outbound;

/// <summary>One generation of an outbound file (per provider, period, kind and unit: the period, a status day, a mini-MIF's member set).</summary>
public sealed record OutboundFileRecord(
    string ProviderId, string Period, string Kind, string Unit, string Status, IReadOnlyList<string> Paths, IReadOnlyList<string> Hashes,
    int Members, IReadOnlyDictionary<string, int> WithheldFields, string Layout, DateTimeOffset? GeneratedAt, DateTimeOffset? DeliveredAt, DateTimeOffset? FetchedAt,
    bool? Reconciled = null)
{
    public const string Generating = "generating";
    public const string Committed = "committed";
    public const string Delivered = "delivered";

    public string RowKey => OutboundLedger.RowKey(ProviderId, Kind, Unit);
}

/// <summary>
/// Table <c>OutboundFiles</c>, the generation ledger and the console's read model: partition = period (<c>yyyy-MM</c>), row
/// <c>{providerId}~{kind}~{unit}</c>, so the console's list of a period is one partition range and a provider's files a
/// row-key prefix. A row is written <c>generating</c> before the members are read and moves to <c>committed</c> (the blobs
/// are in place) and <c>delivered</c> (notices queued); a crash leaves it where it was and the retried message re-runs the
/// generation, which gives the same bytes.
/// </summary>
public sealed class OutboundLedger(StorageAccount storage)
{
    public const string TableName = "OutboundFiles";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public static string RowKey(string providerId, string kind, string unit) => $"{providerId}~{kind}~{unit}";

    public async Task<OutboundFileRecord?> FindAsync(string period, string rowKey, CancellationToken cancellationToken)
    {
        var found = await Table.GetEntityIfExistsAsync<TableEntity>(period, rowKey, cancellationToken: cancellationToken);
        return found.HasValue ? Read(found.Value!) : null;
    }

    public Task SaveAsync(OutboundFileRecord record, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(Entity(record), TableUpdateMode.Merge, cancellationToken);

    /// <summary>
    /// Writes <paramref name="generating"/> unless the row exists, and returns the row that existed (null when this call
    /// wrote it). An insert first: a first generation, the usual case, costs one round trip instead of a read and a write.
    /// </summary>
    public async Task<OutboundFileRecord?> StartAsync(OutboundFileRecord generating, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await Table.AddEntityAsync(Entity(generating), cancellationToken);
                return null;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // Null only when the row was deleted in between: insert again.
                if (await FindAsync(generating.Period, generating.RowKey, cancellationToken) is { } existing)
                {
                    return existing;
                }
            }
        }
    }

    private static TableEntity Entity(OutboundFileRecord record) =>
        new(record.Period, record.RowKey)
        {
            ["ProviderId"] = record.ProviderId,
            ["Kind"] = record.Kind,
            ["Unit"] = record.Unit,
            ["Status"] = record.Status,
            ["Paths"] = JsonSerializer.Serialize(record.Paths),
            ["Hashes"] = JsonSerializer.Serialize(record.Hashes),
            ["Members"] = record.Members,
            ["WithheldFields"] = JsonSerializer.Serialize(record.WithheldFields),
            ["Layout"] = record.Layout,
            ["GeneratedAt"] = record.GeneratedAt,
            ["DeliveredAt"] = record.DeliveredAt,
        };

    /// <summary>Records a provider's fetch (merge: nothing else changes).</summary>
    public Task MarkFetchedAsync(string period, string rowKey, DateTimeOffset at, CancellationToken cancellationToken) =>
        Table.UpdateEntityAsync(new TableEntity(period, rowKey) { ["FetchedAt"] = at }, ETag.All, TableUpdateMode.Merge, cancellationToken);

    /// <summary>
    /// Stores an RTF reconciliation's result on every ledger row of the provider's period (merge: the generation's columns stay),
    /// with the run that produced it; returns how many rows there were.
    /// </summary>
    public async Task<int> MarkReconciledAsync(string providerId, string period, bool reconciled, int mismatches, string report, string runId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var rows = 0;
        await foreach (var row in Table.QueryAsync<TableEntity>(ProviderFilter(period, providerId), select: ["RowKey"], cancellationToken: cancellationToken))
        {
            await Table.UpdateEntityAsync(new TableEntity(period, row.RowKey)
            {
                ["Reconciled"] = reconciled,
                ["ReconciliationMismatches"] = mismatches,
                ["ReconciliationReport"] = report,
                ["ReconciledRun"] = runId,
                ["ReconciledAt"] = at,
            }, ETag.All, TableUpdateMode.Merge, cancellationToken);
            rows++;
        }

        return rows;
    }

    /// <summary>True when the provider has ledger rows in these periods and every one carries this run's reconciliation.</summary>
    public async Task<bool> ReconciledByAsync(string providerId, IReadOnlyList<string> periods, string runId, CancellationToken cancellationToken)
    {
        var rows = 0;
        foreach (var period in periods)
        {
            await foreach (var row in Table.QueryAsync<TableEntity>(ProviderFilter(period, providerId), select: ["ReconciledRun"], cancellationToken: cancellationToken))
            {
                if (row.GetString("ReconciledRun") != runId)
                {
                    return false;
                }

                rows++;
            }
        }

        return rows > 0;
    }

    private static string ProviderFilter(string period, string providerId) =>
        TableClient.CreateQueryFilter($"PartitionKey eq {period} and RowKey gt {providerId + "~"} and RowKey lt {providerId + "~~"}");

    /// <summary>One page of a period's files, optionally of one provider (row-key prefix) and kind; in provider, kind, unit order.</summary>
    public async Task<(IReadOnlyList<OutboundFileRecord> Items, string? Continuation)> PageAsync(
        string period, string? providerId, string? kind, int top, string? continuation, CancellationToken cancellationToken)
    {
        var filter = providerId is null ? TableClient.CreateQueryFilter($"PartitionKey eq {period}") : ProviderFilter(period, providerId);
        if (kind is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Kind eq {kind}");
        }

        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: top, cancellationToken: cancellationToken).AsPages(continuation, top))
        {
            return ([.. page.Values.Select(Read)], page.ContinuationToken);
        }

        return ([], null);
    }

    private static OutboundFileRecord Read(TableEntity e) => new(
        e.GetString("ProviderId") ?? "", e.PartitionKey, e.GetString("Kind") ?? "", e.GetString("Unit") ?? "", e.GetString("Status") ?? "",
        JsonSerializer.Deserialize<string[]>(e.GetString("Paths") ?? "[]") ?? [], JsonSerializer.Deserialize<string[]>(e.GetString("Hashes") ?? "[]") ?? [],
        e.GetInt32("Members") ?? 0, JsonSerializer.Deserialize<Dictionary<string, int>>(e.GetString("WithheldFields") ?? "{}") ?? [],
        e.GetString("Layout") ?? "", e.GetDateTimeOffset("GeneratedAt"), e.GetDateTimeOffset("DeliveredAt"), e.GetDateTimeOffset("FetchedAt"), e.GetBoolean("Reconciled"));
}
