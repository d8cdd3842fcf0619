using Azure;
using Azure.Data.Tables;

namespace CalAimHub.Workflows;

/// <summary>
/// What a reader of a read-model table may trust, kept in marker rows of the table itself: a sharded table's layout row
/// (<see cref="ReadModelStore.LayoutRow"/>: its shard count and layout revision) and a counter table's roll-up mark
/// (<see cref="ReadModelStore.RollUpsRow"/>). Each is written by the rebuild, or by the first writer of a table that is
/// still empty; a table with rows but no mark (or another layout) was written by an earlier version, and its readers are
/// refused (<see cref="ReadModelLayoutException"/>) until the rebuild. What this process has checked or marked is
/// remembered per table, so each costs a point read (and a one-row query while unmarked) once per process.
/// </summary>
internal sealed class ReadModelLayouts(TableServiceClient tables, ReadModelShards shards)
{
    private const string LayoutRow = ReadModelStore.LayoutRow;
    private const string RollUpsRow = ReadModelStore.RollUpsRow;

    private TableClient Table(string name) => tables.GetTableClient(name);

    /// <summary>Forgets what this process checked or marked of <paramref name="table"/> (the rebuild is emptying it).</summary>
    public void Forget(string table)
    {
        layoutsRead.TryRemove(table, out _);
        layoutsMarked.TryRemove(table, out _);
        shardTablesCreated.TryRemove(table, out _);
        rollUpsRead.TryRemove(table, out _);
        rollUpsMarked.TryRemove(table, out _);
    }

    /// <summary>Creates the shard tables of <paramref name="table"/> that do not exist yet: once per table and process (a failure is tried again next time).</summary>
    public async Task CreateShardTablesAsync(string table, int shardCount, CancellationToken cancellationToken)
    {
        var creating = shardTablesCreated.GetOrAdd(table, t => new Lazy<Task>(() =>
            Task.WhenAll(Enumerable.Range(0, shardCount).Select(shard => Table(ReadModelShards.TableOf(t, shard, shardCount)).CreateIfNotExistsAsync(CancellationToken.None)))));
        try
        {
            await creating.Value.WaitAsync(cancellationToken);
        }
        catch (RequestFailedException)
        {
            shardTablesCreated.TryRemove(new(table, creating));
            throw;
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task>> shardTablesCreated = new(StringComparer.Ordinal);

    /// <summary>A sharded table's layout row: its shard count, and its layout revision when past the first.</summary>
    public TableEntity LayoutEntity(string table)
    {
        var layout = new TableEntity(LayoutRow, LayoutRow) { ["Shards"] = shards.Of(table) };
        if (shards.RevisionOf(table) is var revision and not ReadModelShards.FirstRevision)
        {
            layout["Revision"] = revision;
        }

        return layout;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> layoutsRead = new(StringComparer.Ordinal);

    /// <summary>
    /// The shard count a reader may use for <paramref name="table"/>: 1 for an unsharded table; for a sharded one, its
    /// layout row must name the configured count and layout revision (read once per process). The readers of a table call
    /// it; so does a reader of rows that moved out of <paramref name="table"/> (its revision says where they are now).
    /// </summary>
    /// <exception cref="ReadModelLayoutException">
    /// The table has no layout row but rows (of the unsharded layout), or a layout row naming another count or revision:
    /// it needs the rebuild.
    /// </exception>
    public async Task<int> RequireLayoutAsync(string table, CancellationToken cancellationToken)
    {
        var shardCount = shards.Of(table);
        if (shardCount == 1 || layoutsRead.ContainsKey(table))
        {
            return shardCount;
        }

        var found = await LayoutAsync(table, cancellationToken);
        if (found is null)
        {
            if (!await HoldsRowsAsync(Table(table), cancellationToken))
            {
                // Nothing written yet: empty in every layout (its first writer writes the layout row). The shard tables may
                // not exist yet (a new deployment provisions the table the projection names, not its shards).
                await CreateShardTablesAsync(table, shardCount, cancellationToken);
                return shardCount;
            }

            found = await LayoutAsync(table, cancellationToken); // a first writer marks the table before its first row
        }

        var revision = shards.RevisionOf(table);
        if (found?.Shards != shardCount || found.Value.Revision != revision)
        {
            throw new ReadModelLayoutException(table, shardCount, revision, found?.Shards, found?.Revision ?? ReadModelShards.FirstRevision);
        }

        layoutsRead[table] = shardCount;
        return shardCount;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> rollUpsRead = new(StringComparer.Ordinal);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task>> rollUpsMarked = new(StringComparer.Ordinal);

    /// <summary>
    /// A reader of roll-up rows: the counter table must carry the marker row (written by the rebuild, or by the first
    /// writer of an empty table), else its roll-ups miss the changes made before the version that keeps them. Once per
    /// table and process; an empty table passes (not remembered).
    /// </summary>
    public async Task RequireRollUpsAsync(string table, CancellationToken cancellationToken)
    {
        if (rollUpsRead.ContainsKey(table))
        {
            return;
        }

        if (!await HoldsRollUpsAsync(table, cancellationToken))
        {
            if (!await HoldsRowsAsync(Table(table), cancellationToken))
            {
                return;
            }

            if (!await HoldsRollUpsAsync(table, cancellationToken)) // a first writer marks the table before its first row
            {
                throw new ReadModelLayoutException(table, "counters with weekly roll-ups; the table holds counts written without them");
            }
        }

        rollUpsRead[table] = true;
    }

    private async Task<bool> HoldsRollUpsAsync(string table, CancellationToken cancellationToken) =>
        (await Table(table).GetEntityIfExistsAsync<TableEntity>(RollUpsRow, RollUpsRow, select: ["PartitionKey"], cancellationToken: cancellationToken)).HasValue;

    /// <summary>
    /// Before this process first writes counter table <paramref name="table"/> (with roll-ups or not: a partition without
    /// any may come first): an empty one gets the marker row, so readers trust its roll-ups; one with rows but no
    /// marker was written by a version without roll-ups, and stays unmarked until the rebuild (which marks every
    /// counter table it loads). Once per table and process.
    /// </summary>
    public async Task MarkRollUpsAsync(string table)
    {
        var marking = rollUpsMarked.GetOrAdd(table, t => new Lazy<Task>(() => MarkIfEmptyAsync(Table(t), new TableEntity(RollUpsRow, RollUpsRow))));
        try
        {
            await marking.Value;
        }
        catch (RequestFailedException)
        {
            rollUpsMarked.TryRemove(new(table, marking)); // look again next time; the write goes on
        }
    }

    private async Task<(int? Shards, int Revision)?> LayoutAsync(string table, CancellationToken cancellationToken)
    {
        var found = await Table(table).GetEntityIfExistsAsync<TableEntity>(LayoutRow, LayoutRow, cancellationToken: cancellationToken);
        return found.HasValue && found.Value is { } row ? (row.GetInt32("Shards"), row.GetInt32("Revision") ?? ReadModelShards.FirstRevision) : null;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task>> layoutsMarked = new(StringComparer.Ordinal);

    /// <summary>
    /// Before this process first writes a sharded table: its shard tables are created if missing, and a table with neither
    /// a layout row nor any other row is new, so it gets the layout row (readers then accept it). A table with rows but no
    /// layout row holds the unsharded layout: the writer adds its rows to the shard tables all the same (so nothing waits
    /// on the upgrade), and readers refuse the table until the rebuild clears it and writes the layout row. Once per table
    /// and process: S table creations, a point read, and a one-row query only while the table has no layout row.
    /// </summary>
    public async Task MarkNewTableAsync(string table)
    {
        var shardCount = shards.Of(table);
        if (shardCount == 1)
        {
            return;
        }

        // Lazy: GetOrAdd may run its factory more than once when writers race.
        var marking = layoutsMarked.GetOrAdd(table, t => new Lazy<Task>(() => MarkAsync(t, shardCount)));
        try
        {
            await marking.Value;
        }
        catch (RequestFailedException)
        {
            // Look again next time; the write goes on (it fails by itself if a shard table is missing, and is retried from the outbox).
            layoutsMarked.TryRemove(new(table, marking));
        }

        async Task MarkAsync(string table, int shardCount)
        {
            await CreateShardTablesAsync(table, shardCount, CancellationToken.None);
            await MarkIfEmptyAsync(Table(table), LayoutEntity(table)); // rows of the unsharded layout: the rebuild writes the layout row
        }
    }

    /// <summary>
    /// Adds <paramref name="mark"/> (its partition and row key the same) to a table that holds neither it nor any other
    /// row; a table with rows but no mark was written by an earlier version, and only the rebuild marks it.
    /// </summary>
    private static async Task MarkIfEmptyAsync(TableClient client, TableEntity mark)
    {
        if ((await client.GetEntityIfExistsAsync<TableEntity>(mark.PartitionKey, mark.RowKey, select: ["PartitionKey"])).HasValue
            || await HoldsRowsAsync(client, CancellationToken.None))
        {
            return;
        }

        try
        {
            await client.AddEntityAsync(mark);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // Another process marked it first.
        }
    }

    /// <summary>Whether the table holds any row: a query for one (the service may answer with an empty page and a continuation).</summary>
    private static async Task<bool> HoldsRowsAsync(TableClient client, CancellationToken cancellationToken)
    {
        await foreach (var page in client.QueryAsync<TableEntity>(maxPerPage: 1, select: ["PartitionKey"], cancellationToken: cancellationToken).AsPages(null, 1))
        {
            if (page.Values.Count > 0)
            {
                return true;
            }
        }

        return false;
    }
}
