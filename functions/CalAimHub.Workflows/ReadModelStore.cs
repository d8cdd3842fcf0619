using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>
/// Table I/O of the read models (<see cref="WorkflowProjection"/>). In each partition of a read-model table: the items'
/// rows (keys chosen by the projection), one version row per item (<c>~v|{item}</c>: the version applied, the row keys
/// and counts it holds) and one counter row (<c>~counts</c>: the sum of the items' counts). An update changes the three
/// in one entity-group transaction guarded by the ETags of the version and counter rows, and is skipped when the
/// stored version is the same or newer: applying an update twice, late or after a crash leaves exact counts.
/// </summary>
public sealed class ReadModelStore(TableServiceClient tables)
{
    public const string CounterRow = "~counts";
    public const string VersionPrefix = "~v|";
    private const string CountPrefix = "c_";
    private const int MaxAttempts = 12;

    /// <summary>Test-only fault point: called after the reads and before the transaction of every update.</summary>
    public Func<ProjectionUpdate, Task>? BeforeWrite { get; set; }

    public TableClient Table(string name) => tables.GetTableClient(name);

    /// <summary>Applies the updates of one commit: one partition after another per partition, partitions in parallel.</summary>
    public Task ApplyAsync(IReadOnlyList<ProjectionUpdate> updates, CancellationToken cancellationToken) =>
        updates.Count == 1
            ? ApplyAsync(updates[0], cancellationToken)
            : Task.WhenAll(updates.GroupBy(u => (u.Table, u.Partition)).Select(async group =>
            {
                foreach (var update in group)
                {
                    await ApplyAsync(update, cancellationToken);
                }
            }));

    /// <summary>Applies one update; false when the partition already had this version of the item or a newer one.</summary>
    public async Task<bool> ApplyAsync(ProjectionUpdate update, CancellationToken cancellationToken)
    {
        var table = Table(update.Table);
        var partition = Key(update.Partition);
        var versionKey = VersionPrefix + Key(update.Item);
        for (var attempt = 1; ; attempt++)
        {
            // Point reads only (a filter query is a table scan on Azurite); counter rows only when counts are involved,
            // those the new counts name read alongside the version row.
            var counterReads = update.Counts.Keys.Select(CounterRowOf).Distinct(StringComparer.Ordinal)
                .ToDictionary(k => k, k => table.GetEntityIfExistsAsync<TableEntity>(partition, k, cancellationToken: cancellationToken), StringComparer.Ordinal);
            var versionRow = Value(await table.GetEntityIfExistsAsync<TableEntity>(partition, versionKey, cancellationToken: cancellationToken));
            if (versionRow?.GetInt64("Version") is { } stored && stored >= update.Version)
            {
                return false;
            }

            var oldRows = versionRow?.GetString("Rows") is { } rows ? JsonSerializer.Deserialize<string[]>(rows)! : [];
            var oldCounts = versionRow?.GetString("Counts") is { } counts ? JsonSerializer.Deserialize<Dictionary<string, long>>(counts)! : [];
            var delta = Delta(oldCounts, update.Counts);
            foreach (var rowKey in delta.Keys.Select(CounterRowOf).Where(k => !counterReads.ContainsKey(k)).Distinct(StringComparer.Ordinal).ToList())
            {
                counterReads[rowKey] = table.GetEntityIfExistsAsync<TableEntity>(partition, rowKey, cancellationToken: cancellationToken);
            }

            var newRows = update.Rows.Select(r => Key(r.RowKey)).ToArray();
            var version = new TableEntity(partition, versionKey)
            {
                ["Version"] = update.Version,
                ["Rows"] = JsonSerializer.Serialize(newRows),
                ["Counts"] = JsonSerializer.Serialize(NonZero(update.Counts)),
            };
            var actions = new List<TableTransactionAction>
            {
                versionRow is null ? new(TableTransactionActionType.Add, version) : new(TableTransactionActionType.UpdateReplace, version, versionRow.ETag),
            };
            actions.AddRange(oldRows.Except(newRows, StringComparer.Ordinal).Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k), ETag.All)));
            actions.AddRange(update.Rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, Row(partition, r))));
            foreach (var group in delta.GroupBy(d => CounterRowOf(d.Key), StringComparer.Ordinal))
            {
                var counter = Value(await counterReads[group.Key]);
                var sums = new TableEntity(partition, group.Key);
                if (CounterName(group.First().Key) is { } bucket)
                {
                    sums["Name"] = bucket;
                }

                var current = counter is null ? new Dictionary<string, long>() : ReadCounts(counter);
                var changes = group.ToDictionary(d => CountName(d.Key), d => d.Value, StringComparer.Ordinal);
                foreach (var name in current.Keys.Union(changes.Keys))
                {
                    sums[CountPrefix + name] = current.GetValueOrDefault(name) + changes.GetValueOrDefault(name);
                }

                actions.Add(counter is null ? new(TableTransactionActionType.Add, sums) : new(TableTransactionActionType.UpdateReplace, sums, counter.ETag));
            }

            if (BeforeWrite is { } fault)
            {
                await fault(update);
            }

            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken);
                return true;
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another update of this partition's counter or of this item won: read again (jitter so they do not collide again).
                await Task.Delay(Random.Shared.Next(1, 5 << Math.Min(attempt, 5)), cancellationToken);
            }
        }
    }

    /// <summary>
    /// The counter row of a partition (empty when it has none), as name → count; <paramref name="row"/> names one of the
    /// partition's other counter rows (counts named <c>{row}/{name}</c>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> CountsAsync(string table, string partition, CancellationToken cancellationToken, string? row = null)
    {
        var entity = Value(await Table(table).GetEntityIfExistsAsync<TableEntity>(Key(partition), row is null ? CounterRow : CounterRowOf(row + "/"), cancellationToken: cancellationToken));
        return entity is null ? new Dictionary<string, long>() : ReadCounts(entity);
    }

    /// <summary>
    /// Every counter row of the partitions from <paramref name="fromPartition"/> to <paramref name="toPartition"/>
    /// (inclusive): one query; the row's name (null for the partition's main counter row) and its counts.
    /// </summary>
    public async Task<IReadOnlyList<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)>> CounterRowsAsync(
        string table, string fromPartition, string toPartition, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {Key(fromPartition)} and PartitionKey le {Key(toPartition)} and RowKey ge {CounterRow} and RowKey lt {"~counts}"}");
        var rows = new List<(string, string?, IReadOnlyDictionary<string, long>)>();
        await foreach (var row in Table(table).QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            rows.Add((row.PartitionKey, row.RowKey == CounterRow ? null : row.GetString("Name") ?? row.RowKey[(CounterRow.Length + 1)..], ReadCounts(row)));
        }

        return rows;
    }

    /// <summary>The data of one page of item rows of one partition (row keys in [<paramref name="from"/>, <paramref name="to"/>)), with the next page's token.</summary>
    public async Task<(IReadOnlyList<JsonElement> Items, string? Continuation)> PageAsync(
        string table, string partition, string from, string to, string? filter, int top, string? continuation, CancellationToken cancellationToken)
    {
        var query = TableClient.CreateQueryFilter($"PartitionKey eq {Key(partition)} and RowKey ge {from} and RowKey lt {to}") + (filter is null ? "" : " and " + filter);
        await foreach (var page in Table(table).QueryAsync<TableEntity>(query, maxPerPage: top, select: ["Data"], cancellationToken: cancellationToken).AsPages(continuation, top))
        {
            return ([.. page.Values.Select(r => JsonDocument.Parse(r.GetString("Data")).RootElement.Clone())], page.ContinuationToken);
        }

        return ([], null);
    }

    /// <summary>Deletes every row of <paramref name="table"/> (rebuild); the table itself stays.</summary>
    public async Task<int> ClearAsync(string table, CancellationToken cancellationToken)
    {
        var client = Table(table);
        await client.CreateIfNotExistsAsync(cancellationToken);
        var keys = new List<(string Partition, string Row)>();
        await foreach (var row in client.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            keys.Add((row.PartitionKey, row.RowKey));
        }

        await Parallel.ForEachAsync(
            keys.GroupBy(k => k.Partition).SelectMany(p => p.Chunk(100)),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (chunk, ct) => await client.SubmitTransactionAsync(chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(k.Partition, k.Row), ETag.All)), ct));
        return keys.Count;
    }

    /// <summary>
    /// Writes entries into partitions that hold none of them yet (after <see cref="ClearAsync"/>, or a fresh load):
    /// item and version rows in batches of 100, the partition's counter row with the last batch. A crash part-way is
    /// repaired by running the rebuild again (it clears first).
    /// </summary>
    public async Task<int> LoadAsync(IEnumerable<(ReadModelEntry Entry, long Version)> entries, int parallelism, CancellationToken cancellationToken)
    {
        var partitions = entries.GroupBy(e => (e.Entry.Table, Partition: Key(e.Entry.Partition))).ToList();
        var written = 0;
        await Parallel.ForEachAsync(partitions, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (group, ct) =>
        {
            var (table, partition) = group.Key;
            var rows = new List<TableEntity>();
            var sums = new Dictionary<string, long>(StringComparer.Ordinal); // by count key ("name" or "row/name")
            foreach (var (entry, version) in group)
            {
                rows.AddRange(entry.Rows.Select(r => Row(partition, r)));
                rows.Add(new TableEntity(partition, VersionPrefix + Key(entry.Item))
                {
                    ["Version"] = version,
                    ["Rows"] = JsonSerializer.Serialize(entry.Rows.Select(r => Key(r.RowKey)).ToArray()),
                    ["Counts"] = JsonSerializer.Serialize(NonZero(entry.Counts)),
                });
                foreach (var (name, count) in entry.Counts)
                {
                    sums[name] = sums.GetValueOrDefault(name) + count;
                }
            }

            foreach (var counter in sums.Where(s => s.Value != 0).GroupBy(s => CounterRowOf(s.Key), StringComparer.Ordinal))
            {
                var row = new TableEntity(partition, counter.Key);
                if (CounterName(counter.First().Key) is { } bucket)
                {
                    row["Name"] = bucket;
                }

                foreach (var (name, sum) in counter)
                {
                    row[CountPrefix + CountName(name)] = sum;
                }

                rows.Add(row);
            }

            var client = Table(table);
            foreach (var chunk in rows.Chunk(100))
            {
                await client.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), ct);
            }

            Interlocked.Add(ref written, rows.Count);
        });
        return written;
    }

    /// <summary>
    /// A partition or row key the service accepts: the text itself, or a hash of it when it is long or holds a character
    /// keys may not (<c>/ \ # ?</c>, control characters).
    /// </summary>
    public static string Key(string text) =>
        text.Length <= 250 && !text.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            ? text
            : "~" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>The counter row a count belongs to: <c>~counts</c>, or <c>~counts|{row}</c> for a count named <c>{row}/{name}</c>.</summary>
    private static string CounterRowOf(string count) =>
        count.LastIndexOf('/') is var slash and > 0 ? CounterRow + "|" + Key(count[..slash]) : CounterRow;

    private static string? CounterName(string count) => count.LastIndexOf('/') is var slash and > 0 ? count[..slash] : null;

    private static string CountName(string count) => count[(count.LastIndexOf('/') + 1)..];

    public static IReadOnlyDictionary<string, long> ReadCounts(TableEntity row) =>
        row.Keys.Where(k => k.StartsWith(CountPrefix, StringComparison.Ordinal)).ToDictionary(k => k[CountPrefix.Length..], k => row.GetInt64(k) ?? 0, StringComparer.Ordinal);

    private static TableEntity Row(string partition, ReadModelRow row)
    {
        var entity = new TableEntity(partition, Key(row.RowKey)) { ["Data"] = row.Data.GetRawText() };
        foreach (var (name, value) in row.Properties)
        {
            entity[name] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number when value.TryGetInt64(out var whole) => whole,
                JsonValueKind.Number => value.GetDouble(),
                _ => throw new InvalidOperationException($"read-model property '{name}' must be a string, boolean or number, not {value.ValueKind}"),
            };
        }

        return entity;
    }

    private static Dictionary<string, long> Delta(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after)
    {
        var delta = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in before.Keys.Union(after.Keys))
        {
            var change = after.GetValueOrDefault(name) - before.GetValueOrDefault(name);
            if (change != 0)
            {
                delta[name] = change;
            }
        }

        return delta;
    }

    private static SortedDictionary<string, long> NonZero(IReadOnlyDictionary<string, long> counts) =>
        new(counts.Where(c => c.Value != 0).ToDictionary(), StringComparer.Ordinal);

    private static TableEntity? Value(NullableResponse<TableEntity> response) => response.HasValue ? response.Value : null;

    /// <summary>A sortable UTC time key (<c>yyyyMMddTHHmmssZ</c>).</summary>
    public static string TimeKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
}
