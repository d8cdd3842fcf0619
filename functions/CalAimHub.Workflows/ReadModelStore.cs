using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>
/// Table I/O of the read models (<see cref="WorkflowProjection"/>). In each partition of a read-model table: the items'
/// rows (keys chosen by the projection), one version row per item (<c>~v|{item}</c>: the version applied, the row keys
/// and counts it holds) and one counter row (<c>~counts</c>: the sum of the items' counts). An update changes the three
/// in one entity-group transaction guarded by the ETags of the version and counter rows, and is skipped when the
/// stored version is the same or newer: applying an update twice, late or after a crash leaves exact counts.
/// </summary>
/// <remarks>
/// A read model whose counter rows live in a table of their own (<see cref="ProjectionUpdate.CounterTable"/>, so a
/// query over them meets no version rows) cannot change them in the same transaction. There, the partition's
/// transaction writes the item and version rows and a journal row (<c>~counter-journal</c>: a sequence number and the
/// counter changes), and a second transaction in the counter table's partition applies the changes to every counter
/// row they touch, stamping each with the journal's number. The journal is the commit: before writing the next one,
/// and before skipping a replayed update, the writer applies a journal whose number the counter rows do not carry yet.
/// A kill -9 between the two transactions leaves the outbox row (the update's dispatch did not finish), so the
/// sweeper's replay completes it; the stamp makes applying it a second time (a replay, another process) a no-op.
/// <para>
/// Shards (<see cref="ReadModelShards"/>): a table may spread its items over S tables <c>{table}{shard:D2}</c>, an item's
/// shard being a stable hash of its id, its partition and row keys unchanged. Everything above then holds per shard: each
/// has its own version rows and counter rows (or journal), an update is one transaction in one partition of its shard,
/// and readers sum the shards' counter rows and merge their item rows in row-key order (pages continue after the last row
/// key given). The journals of a logical partition's shards all feed its counter rows in the counter table, each stamping
/// them in a column of its own (<c>JournalSeq_{shard:D2}</c>), so each shard's journal is applied exactly once.
/// </para>
/// <para>
/// Layout: the table named by the projection keeps a layout row (<c>~layout</c>, columns <c>Shards</c> and, past the
/// first, <c>Revision</c>), written by the rebuild (<see cref="ClearAsync"/>, <see cref="LoadAsync"/>) or by the first
/// writer when the table is empty. Rows of the unsharded layout (written there before the table was sharded) cannot be
/// merged with sharded ones (an item changed since would count twice), nor rows of an earlier revision (some of them now
/// belong elsewhere), so readers refuse a sharded table without a layout row naming its S and revision
/// (<see cref="ReadModelLayoutException"/>) until the read-model rebuild (<c>POST /api/console/read-models/rebuild</c>)
/// clears it and the shards and rewrites them (docs/deploy.md).
/// </para>
/// </remarks>
public sealed class ReadModelStore(TableServiceClient tables, ReadModelShards? shards = null)
{
    public const string CounterRow = "~counts";

    /// <summary>Partition and row key of a sharded table's layout row (its <c>Shards</c> column: the S its rows were written with).</summary>
    public const string LayoutRow = "~layout";
    public const string VersionPrefix = "~v|";
    public const string CounterJournalRow = "~counter-journal";

    /// <summary>Partition and row key of a counter table's marker row: its roll-up rows hold every change since the table was empty.</summary>
    public const string RollUpsRow = "~roll-ups";
    private const string JournalStamp = "JournalSeq";
    private const string RollUpColumn = "RollUp";
    private const string CountPrefix = "c_";
    private const int MaxAttempts = 12;

    /// <summary>Test-only fault point: called after the reads and before the transaction, for every update in it.</summary>
    public Func<ProjectionUpdate, Task>? BeforeWrite { get; set; }

    /// <summary>
    /// Test-only fault point: called after a partition's journal transaction, before each counter-table transaction it
    /// leads to (its own counter partition's, then its roll-up partition's), with that counter partition.
    /// </summary>
    public Func<string, Task>? BeforeCounterWrite { get; set; }

    public TableClient Table(string name) => tables.GetTableClient(name);

    private readonly ReadModelLayouts layouts = new(tables, shards ?? ReadModelShards.Hub);

    /// <summary>How many shards each table's logical partitions have (<see cref="ReadModelShards.Hub"/> unless a test says otherwise).</summary>
    public ReadModelShards Shards { get; } = shards ?? ReadModelShards.Hub;

    /// <summary>Applies the updates of one commit, each with its partition's next batch.</summary>
    public Task ApplyAsync(IReadOnlyList<ProjectionUpdate> updates, CancellationToken cancellationToken) =>
        Task.WhenAll(updates.Select(u => ApplyAsync(u, cancellationToken)));

    /// <summary>
    /// Rows a batch's updates may bring (their item rows and a version row each), so that with the partition's counter or
    /// journal row, and an old row or two to delete, they usually fit one transaction's 100; a batch that does not fit is
    /// split in halves before it is sent. A batch start hands a partition its instances' updates at once: 48 listing
    /// updates (item + version row) or 96 timeliness updates (version row only) then go in one transaction.
    /// </summary>
    public const int MaxBatchRows = 96;

    /// <summary>Entity-group transactions submitted so far (benchmarks report transactions per update).</summary>
    public long Transactions => Interlocked.Read(ref transactions);

    private long transactions;

    /// <summary>
    /// Applies one update; false when the partition already had this version of the item or a newer one (or a newer
    /// version of it was written in the same batch).
    /// </summary>
    /// <remarks>
    /// One writer per partition in this process (group commit): updates that arrive while the partition's previous
    /// transaction is in flight wait, and go together in the next one, the counter rows they share written once with
    /// the sum of their changes. Every deadline due the same day shares one counter row; writers racing for its ETag
    /// would serialise anyway, by retry and back-off. Another process can still win a race: the ETag check and a
    /// re-read retry handle that, as for a single update.
    /// </remarks>
    public Task<bool> ApplyAsync(ProjectionUpdate update, CancellationToken cancellationToken)
    {
        var shardCount = Shards.Of(update.Table);
        var key = (ReadModelShards.TableOf(update.Table, ReadModelShards.ShardOf(update.Item, shardCount), shardCount), Key(update.Partition));
        var waiting = new WaitingUpdate(update);
        while (true)
        {
            var queue = partitionQueues.GetOrAdd(key, _ => new PartitionQueue());
            bool write;
            lock (queue)
            {
                if (queue.Closed)
                {
                    continue; // its writer just retired it: take the partition's new queue
                }

                queue.Waiting.Enqueue(waiting);
                write = !queue.Writing;
                queue.Writing = true;
            }

            if (write)
            {
                _ = Task.Run(() => WriteQueueAsync(key, queue), CancellationToken.None);
            }

            return waiting.Done.Task.WaitAsync(cancellationToken);
        }
    }

    private sealed record WaitingUpdate(ProjectionUpdate Update)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PartitionQueue
    {
        public Queue<WaitingUpdate> Waiting { get; } = new();

        public bool Writing { get; set; }

        public bool Closed { get; set; }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Table, string Partition), PartitionQueue> partitionQueues = new();

    private async Task WriteQueueAsync((string Table, string Partition) key, PartitionQueue queue)
    {
        while (true)
        {
            var batch = new List<WaitingUpdate>();
            lock (queue)
            {
                var rows = 0;
                // One counter table per batch: an update written before its read model got a counter table of its own (an
                // outbox row of the previous version) goes in a batch of its own, not against the newer ones.
                while (queue.Waiting.TryPeek(out var next)
                       && (batch.Count == 0 || (rows + next.Update.Rows.Count + 1 <= MaxBatchRows && next.Update.CounterTable == batch[0].Update.CounterTable
                                                && next.Update.CounterRollUp == batch[0].Update.CounterRollUp)))
                {
                    batch.Add(queue.Waiting.Dequeue());
                    rows += next.Update.Rows.Count + 1;
                }

                if (batch.Count == 0)
                {
                    // Retired, so idle partitions cost no memory; an update that still finds it takes a new one.
                    queue.Writing = false;
                    queue.Closed = true;
                    partitionQueues.TryRemove(new(key, queue));
                    return;
                }
            }

            try
            {
                await layouts.MarkNewTableAsync(batch[0].Update.Table);
                await WriteBatchAsync(Table(key.Table), key.Partition, batch);
            }
            catch (Exception e)
            {
                // Not written: each caller's dispatch fails and its outbox row stays for the sweeper.
                foreach (var waiting in batch)
                {
                    waiting.Done.TrySetException(e);
                }
            }
        }
    }

    private async Task WriteBatchAsync(TableClient table, string partition, IReadOnlyList<WaitingUpdate> batch)
    {
        // The newest update of each item; an older one in the same batch is superseded, as if written and overwritten.
        var items = new List<(WaitingUpdate Waiting, string VersionKey)>();
        foreach (var ofItem in batch.GroupBy(w => VersionPrefix + Key(w.Update.Item), StringComparer.Ordinal))
        {
            var newest = ofItem.MaxBy(w => w.Update.Version)!;
            items.Add((newest, ofItem.Key));
            foreach (var older in ofItem.Where(w => w != newest))
            {
                older.Done.TrySetResult(false);
            }
        }

        var counterTable = batch[0].Update.CounterTable is { } separate ? Table(separate) : null;
        if (batch.Any(w => w.Update.CounterTable != counterTable?.Name))
        {
            throw new InvalidOperationException($"updates of table '{table.Name}' name different counter tables");
        }

        var rollUp = batch[0].Update.CounterRollUp is { } rolledInto ? Key(rolledInto) : null;
        if (batch.Any(w => w.Update.CounterRollUp != batch[0].Update.CounterRollUp))
        {
            throw new InvalidOperationException($"updates of partition '{partition}' of table '{table.Name}' name different roll-up partitions");
        }

        if (counterTable is not null)
        {
            await layouts.MarkRollUpsAsync(counterTable.Name);
        }

        // A sharded table's counter table holds one counter partition per logical partition, fed by every shard's journal:
        // each shard stamps the counter rows in a column of its own.
        var shardCount = Shards.Of(batch[0].Update.Table);
        var stamp = shardCount == 1 ? JournalStamp : JournalStamp + "_" + table.Name[^2..];
        for (var attempt = 1; ; attempt++)
        {
            // Point reads only (a filter query is a table scan on Azurite). The first attempt takes what this process
            // wrote or read last (an item it never saw as new): a wrong guess fails the transaction's ETag or insert, and
            // the next attempt reads.
            var guess = attempt == 1;
            TableEntity? journal = null;
            if (counterTable is not null)
            {
                // The previous commit's counter changes first (a kill -9 may have stopped them), also when this batch turns out to be replays.
                var cached = guess && known.ContainsKey((table.Name, partition, CounterJournalRow));
                journal = await ReadAsync(table, partition, CounterJournalRow, guess, CancellationToken.None);
                if (journal is not null)
                {
                    await ApplyJournalAsync(counterTable, partition, stamp, journal, cached);
                }
            }

            var versionRows = await Task.WhenAll(items.Select(i => guess && !known.ContainsKey((table.Name, partition, i.VersionKey))
                ? Task.FromResult<TableEntity?>(null)
                : ReadAsync(table, partition, i.VersionKey, guess, CancellationToken.None)));
            var live = new List<(WaitingUpdate Waiting, string VersionKey, TableEntity? VersionRow)>();
            for (var i = 0; i < items.Count; i++)
            {
                if (versionRows[i]?.GetInt64("Version") is { } stored && stored >= items[i].Waiting.Update.Version)
                {
                    items[i].Waiting.Done.TrySetResult(false);
                }
                else
                {
                    live.Add((items[i].Waiting, items[i].VersionKey, versionRows[i]));
                }
            }

            if (live.Count == 0)
            {
                return;
            }

            var actions = new List<TableTransactionAction>();
            var delta = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (waiting, versionKey, versionRow) in live)
            {
                var update = waiting.Update;
                var oldRows = versionRow?.GetString("Rows") is { } rows ? JsonSerializer.Deserialize<string[]>(rows)! : [];
                var oldCounts = versionRow?.GetString("Counts") is { } counts ? JsonSerializer.Deserialize<Dictionary<string, long>>(counts)! : [];
                foreach (var (name, change) in Delta(oldCounts, update.Counts))
                {
                    delta[name] = delta.GetValueOrDefault(name) + change;
                }

                var newRows = update.Rows.Select(r => Key(r.RowKey)).ToArray();
                var version = new TableEntity(partition, versionKey)
                {
                    ["Version"] = update.Version,
                    ["Rows"] = JsonSerializer.Serialize(newRows),
                    ["Counts"] = JsonSerializer.Serialize(NonZero(update.Counts)),
                };
                actions.Add(versionRow is null ? new(TableTransactionActionType.Add, version) : new(TableTransactionActionType.UpdateReplace, version, versionRow.ETag));
                actions.AddRange(oldRows.Except(newRows, StringComparer.Ordinal).Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k), ETag.All)));
                // An item without a version row has no rows here yet: inserted, where Azurite looks a row up once (an upsert:
                // twice). Guessed wrong, the insert fails the transaction (409) and the next attempt, having read, replaces.
                var rowAction = versionRow is null && guess ? TableTransactionActionType.Add : TableTransactionActionType.UpsertReplace;
                actions.AddRange(update.Rows.Select(r => new TableTransactionAction(rowAction, Row(partition, r))));
            }

            List<string> counterKeys = [];
            TableEntity? nextJournal = null;
            if (counterTable is null)
            {
                counterKeys = [.. delta.Where(d => d.Value != 0).Select(d => CounterRowOf(d.Key)).Distinct(StringComparer.Ordinal)];
                var counterRows = await Task.WhenAll(counterKeys.Select(k => ReadAsync(table, partition, k, guess, CancellationToken.None)));
                actions.AddRange(counterKeys.Zip(counterRows).Select(c => CounterAction(partition, c.First, c.Second, delta, null)));
            }
            else if (delta.Any(d => d.Value != 0))
            {
                counterKeys = [CounterJournalRow];
                nextJournal = new TableEntity(partition, CounterJournalRow)
                {
                    ["Seq"] = (journal?.GetInt64("Seq") ?? 0) + 1,
                    ["Delta"] = JsonSerializer.Serialize(NonZero(delta)),
                };
                if (rollUp is not null)
                {
                    nextJournal[RollUpColumn] = rollUp;
                }
                actions.Add(journal is null ? new(TableTransactionActionType.Add, nextJournal) : new(TableTransactionActionType.UpdateReplace, nextJournal, journal.ETag));
            }

            // A transaction takes at most 100 entities, each once: a batch that does not fit (or whose items touch the
            // same row) is written in halves.
            if (live.Count > 1 && (actions.Count > 100 || actions.Select(a => a.Entity.RowKey).Distinct(StringComparer.Ordinal).Count() < actions.Count))
            {
                var half = live.Count / 2;
                await WriteBatchAsync(table, partition, [.. live.Take(half).Select(l => l.Waiting)]);
                await WriteBatchAsync(table, partition, [.. live.Skip(half).Select(l => l.Waiting)]);
                return;
            }

            if (BeforeWrite is { } fault)
            {
                foreach (var (waiting, _, _) in live)
                {
                    await fault(waiting.Update);
                }
            }

            try
            {
                Interlocked.Increment(ref transactions);
                var response = await table.SubmitTransactionAsync(actions, CancellationToken.None);
                for (var i = 0; i < actions.Count; i++)
                {
                    if (actions[i].Entity.RowKey.StartsWith('~') && actions[i].ActionType != TableTransactionActionType.Delete && response.Value[i].Headers.ETag is { } etag)
                    {
                        Remember(table.Name, partition, actions[i].Entity.RowKey, new TableEntity((IDictionary<string, object>)actions[i].Entity) { ETag = etag });
                    }
                }
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412 && attempt < MaxAttempts)
            {
                // 404: a remembered row is gone (a rebuild emptied the table). 409/412: another process wrote one of
                // these rows first. Read again (jitter so they do not collide again).
                Forget(table.Name, partition, [.. live.Select(l => l.VersionKey), .. counterKeys]);
                await Task.Delay(Random.Shared.Next(1, 5 << Math.Min(attempt, 5)));
                continue;
            }
            catch (RequestFailedException) when (live.Count > 1)
            {
                // Something else refused the transaction (too large a payload, a bad row): halves, so one bad update
                // does not hold back the others.
                var half = live.Count / 2;
                await WriteBatchAsync(table, partition, [.. live.Take(half).Select(l => l.Waiting)]);
                await WriteBatchAsync(table, partition, [.. live.Skip(half).Select(l => l.Waiting)]);
                return;
            }

            if (nextJournal is not null)
            {
                // Committed: the counters follow. Should this fail or the process die here, the callers' outbox rows
                // stay and their replay applies the journal first.
                await ApplyJournalAsync(counterTable!, partition, stamp, nextJournal, true, BeforeCounterWrite);
            }

            foreach (var (waiting, _, _) in live)
            {
                waiting.Done.TrySetResult(true);
            }

            return;
        }
    }

    /// <summary>
    /// Applies a partition's counter journal to its counter rows in <paramref name="counters"/> unless they carry its
    /// number already: one transaction in which every row it touches gets the journal's number (in the shard's own
    /// column <paramref name="stamp"/>: the shards of a logical partition feed the same counter rows, each with its own
    /// sequence), so one row carrying it means all do. Guarded by the rows' ETags, so two writers completing the same
    /// journal apply it once; in this process the shards of one counter partition take turns (no ETag races among them).
    /// </summary>
    /// <param name="guess">Trust this process's copies of the counter rows first (only when the journal came from the same memory).</param>
    /// <remarks>
    /// A journal naming a roll-up partition (<see cref="ProjectionUpdate.CounterRollUp"/>) is then applied there too, in
    /// a transaction of its own, stamped in a column of its source partition's own (a week's rows are fed by seven days'
    /// journals, each numbered apart). Each of the two is skipped when already applied, so a kill between them is
    /// finished by the next writer or replay of the partition, and neither is counted twice.
    /// </remarks>
    private async Task ApplyJournalAsync(TableClient counters, string partition, string stamp, TableEntity journal, bool guess, Func<string, Task>? before = null)
    {
        await ApplyInTurnAsync(partition, stamp);
        if (journal.GetString(RollUpColumn) is { } rollUp)
        {
            await ApplyInTurnAsync(rollUp, RollUpStamp(stamp, partition));
        }

        async Task ApplyInTurnAsync(string counterPartition, string counterStamp)
        {
            if (before is not null)
            {
                await before(counterPartition);
            }

            var turn = counterTurns.GetOrAdd((counters.Name, counterPartition), _ => new SemaphoreSlim(1, 1));
            await turn.WaitAsync();
            try
            {
                await ApplyJournalInTurnAsync(counters, counterPartition, counterStamp, journal, guess);
            }
            finally
            {
                turn.Release();
            }
        }
    }

    /// <summary>The stamp column of a journal from <paramref name="partition"/> in its roll-up's rows: the shard's stamp and a hash of the partition.</summary>
    private static string RollUpStamp(string stamp, string partition) =>
        stamp + "_" + StableHash.Hex(partition, 8);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Table, string Partition), SemaphoreSlim> counterTurns = new();

    private async Task ApplyJournalInTurnAsync(TableClient counters, string partition, string stamp, TableEntity journal, bool guess)
    {
        var seq = journal.GetInt64("Seq") ?? 0;
        var delta = JsonSerializer.Deserialize<Dictionary<string, long>>(journal.GetString("Delta") ?? "{}")!;
        var keys = delta.Where(d => d.Value != 0).Select(d => CounterRowOf(d.Key)).Distinct(StringComparer.Ordinal).ToList();
        for (var attempt = 1; keys.Count > 0; attempt++)
        {
            var rows = await Task.WhenAll(keys.Select(k => ReadAsync(counters, partition, k, guess && attempt == 1, CancellationToken.None)));
            if (rows.Any(r => r?.GetInt64(stamp) >= seq))
            {
                return;
            }

            var actions = keys.Zip(rows).Select(c => CounterAction(partition, c.First, c.Second, delta, (stamp, seq))).ToList();
            try
            {
                Interlocked.Increment(ref transactions);
                var response = await counters.SubmitTransactionAsync(actions, CancellationToken.None);
                for (var i = 0; i < actions.Count; i++)
                {
                    Remember(counters.Name, partition, actions[i].Entity.RowKey, new TableEntity((IDictionary<string, object>)actions[i].Entity) { ETag = response.Value[i].Headers.ETag ?? default });
                }

                return;
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412 && attempt < MaxAttempts)
            {
                Forget(counters.Name, partition, keys);
                await Task.Delay(Random.Shared.Next(1, 5 << Math.Min(attempt, 5)));
            }
        }
    }

    /// <summary>Counter row <paramref name="rowKey"/> with <paramref name="delta"/>'s changes to it added (insert when new, else replace guarded by its ETag).</summary>
    /// <param name="journal">The stamp column and number of the journal being applied; the row's other stamps are kept.</param>
    private static TableTransactionAction CounterAction(string partition, string rowKey, TableEntity? counter, IReadOnlyDictionary<string, long> delta, (string Stamp, long Seq)? journal)
    {
        var changes = delta.Where(d => d.Value != 0 && CounterRowOf(d.Key) == rowKey).ToList();
        var sums = new TableEntity(partition, rowKey);
        if (CounterName(changes[0].Key) is { } bucket)
        {
            sums["Name"] = bucket;
        }

        foreach (var other in counter?.Keys.Where(k => k.StartsWith(JournalStamp, StringComparison.Ordinal)) ?? [])
        {
            sums[other] = counter![other];
        }

        if (journal is { } applied)
        {
            sums[applied.Stamp] = applied.Seq;
        }

        var current = counter is null ? new Dictionary<string, long>() : ReadCounts(counter);
        var byName = changes.ToDictionary(d => CountName(d.Key), d => d.Value, StringComparer.Ordinal);
        foreach (var name in current.Keys.Union(byName.Keys))
        {
            sums[CountPrefix + name] = current.GetValueOrDefault(name) + byName.GetValueOrDefault(name);
        }

        return counter is null ? new(TableTransactionActionType.Add, sums) : new(TableTransactionActionType.UpdateReplace, sums, counter.ETag);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Table, string Partition, string Row), TableEntity?> known = new();

    /// <summary>A version or counter row: as this process last wrote or read it when <paramref name="guess"/>, else read.</summary>
    private async Task<TableEntity?> ReadAsync(TableClient table, string partition, string row, bool guess, CancellationToken cancellationToken)
    {
        if (guess && known.TryGetValue((table.Name, partition, row), out var cached))
        {
            return cached;
        }

        var read = Value(await table.GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: cancellationToken));
        Remember(table.Name, partition, row, read);
        return read;
    }

    private void Remember(string table, string partition, string row, TableEntity? entity)
    {
        // Bounded without bookkeeping: a full cache starts over (a miss costs one read).
        if (known.Count >= 100_000)
        {
            known.Clear();
        }

        known[(table, partition, row)] = entity;
    }

    private void Forget(string table, string partition, IEnumerable<string> rows)
    {
        foreach (var row in rows)
        {
            known.TryRemove((table, partition, row), out _);
        }
    }

    /// <summary>
    /// The counter row of a partition (empty when it has none), as name → count; <paramref name="row"/> names one of the
    /// partition's other counter rows (counts named <c>{row}/{name}</c>). Sharded: one point read per shard, summed.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> CountsAsync(string table, string partition, CancellationToken cancellationToken, string? row = null)
    {
        var shardCount = await RequireLayoutAsync(table, cancellationToken);
        var rowKey = row is null ? CounterRow : CounterRowOf(row + "/");
        var entities = await Task.WhenAll(ShardTables(table, shardCount).Select(async shard =>
            Value(await shard.GetEntityIfExistsAsync<TableEntity>(Key(partition), rowKey, cancellationToken: cancellationToken))));
        return Sum(entities.OfType<TableEntity>().Select(ReadCounts));
    }

    /// <summary>Item-row queries over shard tables in flight at once, over every <see cref="ShardRowsAsync"/> of this store.</summary>
    public const int ShardQueriesInFlight = 8;

    private readonly SemaphoreSlim shardQueries = new(ShardQueriesInFlight);

    /// <summary>
    /// The rows of every shard table of <paramref name="table"/> that match <paramref name="filter"/> (an item lives in one
    /// shard, so none comes twice), for a reader that checked the layout (<see cref="RequireLayoutAsync"/> gave
    /// <paramref name="shardCount"/>). At most <see cref="ShardQueriesInFlight"/> queries run at once: a reader of every row
    /// of 32 shards (the monthly extract) would otherwise spend a storage account's per-second budget in one burst.
    /// </summary>
    public async Task<IReadOnlyList<TableEntity>> ShardRowsAsync(string table, int shardCount, string filter, IReadOnlyList<string> select, CancellationToken cancellationToken)
    {
        var ofShards = await Task.WhenAll(ShardTables(table, shardCount).Select(async shard =>
        {
            await shardQueries.WaitAsync(cancellationToken);
            try
            {
                var rows = new List<TableEntity>();
                await foreach (var row in shard.QueryAsync<TableEntity>(filter, select: select, cancellationToken: cancellationToken))
                {
                    rows.Add(row);
                }

                return rows;
            }
            finally
            {
                shardQueries.Release();
            }
        }));
        return [.. ofShards.SelectMany(rows => rows)];
    }

    /// <summary>
    /// Every counter row of the partitions from <paramref name="fromPartition"/> to <paramref name="toPartition"/>
    /// (inclusive): one query per shard; the row's name (null for the partition's main counter row) and its counts, summed
    /// over the shards, in partition order.
    /// </summary>
    /// <param name="rollUps">The partitions are roll-ups (<see cref="ReadModelEntry.CounterRollUp"/>): the table must hold every change in them.</param>
    /// <param name="namesBelow">Only the counter rows whose names sort below this (null: all).</param>
    /// <exception cref="ReadModelLayoutException">Roll-ups asked of a table written without them (before the version that keeps them): it needs the rebuild.</exception>
    public async Task<IReadOnlyList<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)>> CounterRowsAsync(
        string table, string fromPartition, string toPartition, CancellationToken cancellationToken, bool rollUps = false, string? namesBelow = null)
    {
        var shardCount = await RequireLayoutAsync(table, cancellationToken);
        if (rollUps)
        {
            await layouts.RequireRollUpsAsync(table, cancellationToken);
        }

        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {Key(fromPartition)} and PartitionKey le {Key(toPartition)} and RowKey ge {CounterRow} and RowKey lt {(namesBelow is null ? "~counts}" : CounterRow + "|" + namesBelow)}");
        var shards = await Task.WhenAll(ShardTables(table, shardCount).Select(async shard =>
        {
            var rows = new List<TableEntity>();
            await foreach (var row in shard.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
            {
                rows.Add(row);
            }

            return rows;
        }));

        // Keyed by partition and row key, so the shards' rows of one counter meet (in the order the service gives: partition, then row).
        var counters = new SortedDictionary<(string Partition, string Row), (string? Name, List<IReadOnlyDictionary<string, long>> Counts)>(
            Comparer<(string Partition, string Row)>.Create((x, y) => string.CompareOrdinal(x.Partition, y.Partition) is var c and not 0 ? c : string.CompareOrdinal(x.Row, y.Row)));
        foreach (var row in shards.SelectMany(s => s))
        {
            var key = (row.PartitionKey, row.RowKey);
            var counter = counters.TryGetValue(key, out var found) ? found : counters[key] = (row.RowKey == CounterRow ? null : row.GetString("Name") ?? row.RowKey[(CounterRow.Length + 1)..], []);
            counter.Counts.Add(ReadCounts(row));
        }

        return [.. counters.Select(c => (c.Key.Partition, c.Value.Name, Sum(c.Value.Counts)))];
    }

    /// <summary>
    /// The named counter rows of one partition (counts named <c>{row}/{name}</c>), by name: one query per shard on the row
    /// range <c>~counts|…</c>, which holds counter rows only (item rows sort before <c>~</c>, version rows after it).
    /// </summary>
    public async Task<IReadOnlyList<(string Name, IReadOnlyDictionary<string, long> Counts)>> NamedCounterRowsAsync(string table, string partition, CancellationToken cancellationToken)
    {
        var shardCount = await RequireLayoutAsync(table, cancellationToken);
        var rows = new SortedDictionary<string, (string Name, List<IReadOnlyDictionary<string, long>> Counts)>(StringComparer.Ordinal);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Key(partition)} and RowKey gt {CounterRow + "|"} and RowKey lt {"~counts}"}");
        foreach (var shard in ShardTables(table, shardCount))
        {
            await foreach (var row in shard.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
            {
                var named = rows.TryGetValue(row.RowKey, out var found) ? found : rows[row.RowKey] = (row.GetString("Name") ?? row.RowKey[(CounterRow.Length + 1)..], []);
                named.Counts.Add(ReadCounts(row));
            }
        }

        return [.. rows.Values.Select(r => (r.Name, Sum(r.Counts)))];
    }

    /// <summary>
    /// The data of one page (at most <paramref name="top"/>) of item rows of one partition with row keys in
    /// [<paramref name="from"/>, <paramref name="to"/>), in row-key order across the partition's shards, with the next
    /// page's continuation: the last row key given (keyset, so it holds across shards; null when no row is left).
    /// </summary>
    /// <remarks>
    /// A shard holds about <c>top / S</c> of a page, so each is first asked for twice its share and 4 more, not for a
    /// whole page (32 shards × 51 rows of item data were read to give 50). The merge is exact up to the lowest last key of
    /// the shards that may hold more; a shard whose rows run out before the page's <c>top + 1</c>-th row is asked again,
    /// for twice as many, after its last key. The 4 make that second round rare (on Azurite every query scans and sorts
    /// its whole shard table, so a round costs as much as a page): at 100,000 authorizations with 2·share + 1, the
    /// open-referrals page's p50 went from 149 to 234 ms.
    /// <para>
    /// One shard is read first, and the others only up to the last key it gave (<see cref="MergedShard.ReadAsync"/>'s
    /// bound): items are spread over the shards by a hash, so each holds about as many rows below that key, and the page
    /// usually ends before it. Azurite sorts every row that matches a query before it takes the first few, so an unbounded
    /// ask of a 100,000-item partition sorted each shard's thousands of matches: 40 % of the in-review list's time. The
    /// price is one query's latency before the others; a shard whose rows below the bound fall short is read on, as above.
    /// </para>
    /// </remarks>
    public async Task<(IReadOnlyList<JsonElement> Items, string? Continuation)> PageAsync(
        string table, string partition, string from, string to, string? filter, int top, string? continuation, CancellationToken cancellationToken)
    {
        var shardCount = await RequireLayoutAsync(table, cancellationToken);
        var shards = ShardTables(table, shardCount).Select(client => new MergedShard(client, continuation)).ToList();
        var ask = shardCount == 1 ? top + 1 : Math.Min(top + 1, 2 * ((top + shardCount - 1) / shardCount) + 4);
        var wanted = shards;
        string? bound = null;
        if (shards.Count > 1)
        {
            await shards[0].ReadAsync(partition, from, to, filter, ask, null, cancellationToken);
            bound = shards[0].Exhausted ? null : shards[0].After;
            wanted = shards[1..];
        }

        List<(string RowKey, string Data)> merged;
        while (true)
        {
            await Task.WhenAll(wanted.Select(shard => shard.ReadAsync(partition, from, to, filter, ask, bound, cancellationToken)));
            bound = null;
            merged = [.. shards.SelectMany(s => s.Rows).OrderBy(r => r.RowKey, StringComparer.Ordinal).Take(top + 1)];

            // Rows not read yet sort after their shard's last key: the merge holds while no such key sorts before its end.
            var end = merged.Count > top ? merged[top].RowKey : null;
            wanted = [.. shards.Where(s => !s.Exhausted && (end is null || string.CompareOrdinal(s.After, end) < 0))];
            if (wanted.Count == 0)
            {
                break;
            }

            ask = Math.Min(top + 1, ask * 2);
        }

        var items = merged.Take(top).Select(r => JsonDocument.Parse(r.Data).RootElement.Clone()).ToList();
        return (items, merged.Count > top ? merged[top - 1].RowKey : null);
    }

    /// <summary>
    /// One shard table's part of a merged page: the rows read so far, in key order, whether more may follow, and the key
    /// up to which (inclusive) every row has been read (<see cref="After"/>).
    /// </summary>
    private sealed class MergedShard(TableClient client, string? continuation)
    {
        public List<(string RowKey, string Data)> Rows { get; } = [];

        public bool Exhausted { get; private set; }

        public string? After { get; private set; } = continuation;

        /// <param name="bound">Read no row key above it (null: up to <paramref name="to"/>); when the rows up to it run out, <see cref="After"/> is the bound.</param>
        public async Task ReadAsync(string partition, string from, string to, string? filter, int ask, string? bound, CancellationToken cancellationToken)
        {
            var lower = After is null ? TableClient.CreateQueryFilter($"RowKey ge {from}") : TableClient.CreateQueryFilter($"RowKey ge {from} and RowKey gt {After}");
            var upper = bound is null ? TableClient.CreateQueryFilter($"RowKey lt {to}") : TableClient.CreateQueryFilter($"RowKey lt {to} and RowKey le {bound}");
            var query = TableClient.CreateQueryFilter($"PartitionKey eq {Key(partition)}") + " and " + upper + " and " + lower + (filter is null ? "" : " and " + filter);
            var read = 0;
            string? token = null;
            await foreach (var page in client.QueryAsync<TableEntity>(query, maxPerPage: ask, select: ["RowKey", "Data"], cancellationToken: cancellationToken).AsPages(null, ask))
            {
                Rows.AddRange(page.Values.Select(r => (r.RowKey, r.GetString("Data"))));
                read += page.Values.Count;
                token = page.ContinuationToken;
                if (read >= ask)
                {
                    break;
                }
            }

            After = Rows.Count > 0 ? Rows[^1].RowKey : After;
            if (token is null && bound is not null)
            {
                After = bound; // every row up to the bound is read; rows above it may follow
                return;
            }

            Exhausted = token is null;
        }
    }

    /// <summary>
    /// Deletes every row of <paramref name="table"/> and of every shard table it has (rebuild: whatever S they were written
    /// with); the tables themselves stay, and a sharded table gets its layout row anew (its shard tables created).
    /// </summary>
    public async Task<int> ClearAsync(string table, CancellationToken cancellationToken)
    {
        known.Clear();
        layouts.Forget(table);
        await Table(table).CreateIfNotExistsAsync(cancellationToken);
        var names = new List<string> { table };
        var shardNames = ReadModelShards.ShardTablesFilter(table);
        await foreach (var shard in tables.QueryAsync(shardNames, cancellationToken: cancellationToken))
        {
            if (ReadModelShards.IsShardTableOf(shard.Name, table))
            {
                names.Add(shard.Name);
            }
        }

        var deleted = 0;
        foreach (var name in names)
        {
            deleted += await DeleteRowsAsync(Table(name), cancellationToken);
        }

        if (Shards.Of(table) is var shardCount and > 1)
        {
            await layouts.CreateShardTablesAsync(table, shardCount, cancellationToken);
            await Table(table).UpsertEntityAsync(layouts.LayoutEntity(table), TableUpdateMode.Replace, cancellationToken);
        }

        return deleted;
    }

    private static async Task<int> DeleteRowsAsync(TableClient client, CancellationToken cancellationToken)
    {
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
    /// The shard count a reader may use for <paramref name="table"/>, once its layout row is checked
    /// (<see cref="ReadModelLayouts.RequireLayoutAsync"/>). A reader of rows that moved out of <paramref name="table"/>
    /// calls it too: the table's revision says where they are now.
    /// </summary>
    /// <exception cref="ReadModelLayoutException">The table needs the rebuild.</exception>
    public Task<int> RequireLayoutAsync(string table, CancellationToken cancellationToken) => layouts.RequireLayoutAsync(table, cancellationToken);

    /// <summary>The tables holding <paramref name="table"/>'s rows: its shard tables, or the table itself when it has one shard.</summary>
    private IEnumerable<TableClient> ShardTables(string table, int shardCount) =>
        Enumerable.Range(0, shardCount).Select(shard => Table(ReadModelShards.TableOf(table, shard, shardCount)));

    /// <summary>
    /// Writes entries into partitions that hold none of them yet (after <see cref="ClearAsync"/>, or a fresh load): item,
    /// version and counter rows in transactions of 100 per partition of each shard table (a counter table's rows summed over
    /// the shards that feed them), and a sharded table's layout row. A crash part-way is repaired by running the rebuild again (it clears first).
    /// </summary>
    public async Task<int> LoadAsync(IEnumerable<(ReadModelEntry Entry, long Version)> entries, int parallelism, CancellationToken cancellationToken)
    {
        known.Clear();
        var rows = new Dictionary<(string Table, string Partition), List<TableEntity>>();
        var sharded = new HashSet<string>(StringComparer.Ordinal);
        var counterTables = new HashSet<string>(StringComparer.Ordinal);
        var sums = new Dictionary<(string Table, string Partition), Dictionary<string, long>>(); // by count key ("name" or "row/name")
        List<TableEntity> RowsOf(string table, string partition) => rows.TryGetValue((table, partition), out var found) ? found : rows[(table, partition)] = [];
        foreach (var (entry, version) in entries)
        {
            var shardCount = Shards.Of(entry.Table);
            var partition = Key(entry.Partition);
            var table = ReadModelShards.TableOf(entry.Table, ReadModelShards.ShardOf(entry.Item, shardCount), shardCount);
            var ofPartition = RowsOf(table, partition);
            ofPartition.AddRange(entry.Rows.Select(r => Row(partition, r)));
            ofPartition.Add(new TableEntity(partition, VersionPrefix + Key(entry.Item))
            {
                ["Version"] = version,
                ["Rows"] = JsonSerializer.Serialize(entry.Rows.Select(r => Key(r.RowKey)).ToArray()),
                ["Counts"] = JsonSerializer.Serialize(NonZero(entry.Counts)),
            });

            // Counter rows of a read model with a counter table go there, summed over the shards (no journal: the table was just emptied).
            var counters = (entry.CounterTable ?? table, partition);
            if (shardCount > 1)
            {
                sharded.Add(entry.Table);
            }

            Add(counters, entry.Counts);
            if (entry.CounterTable is { } counterTable)
            {
                counterTables.Add(counterTable);
            }

            if (entry.CounterRollUp is { } rollUp)
            {
                Add((entry.CounterTable!, Key(rollUp)), entry.Counts);
            }
        }

        void Add((string Table, string Partition) counters, IReadOnlyDictionary<string, long> counts)
        {
            var sum = sums.TryGetValue(counters, out var found) ? found : sums[counters] = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (name, count) in counts)
            {
                sum[name] = sum.GetValueOrDefault(name) + count;
            }
        }

        foreach (var ((table, partition), sum) in sums)
        {
            foreach (var counter in sum.Where(s => s.Value != 0).GroupBy(s => CounterRowOf(s.Key), StringComparer.Ordinal))
            {
                var row = new TableEntity(partition, counter.Key);
                if (CounterName(counter.First().Key) is { } bucket)
                {
                    row["Name"] = bucket;
                }

                foreach (var (name, count) in counter)
                {
                    row[CountPrefix + CountName(name)] = count;
                }

                RowsOf(table, partition).Add(row);
            }
        }

        var written = rows.Values.Sum(r => r.Count);
        foreach (var table in sharded)
        {
            await layouts.CreateShardTablesAsync(table, Shards.Of(table), cancellationToken);
            RowsOf(table, LayoutRow).Add(layouts.LayoutEntity(table));
        }

        foreach (var table in counterTables)
        {
            RowsOf(table, RollUpsRow).Add(new TableEntity(RollUpsRow, RollUpsRow));
        }

        await Parallel.ForEachAsync(
            rows.SelectMany(p => p.Value.Chunk(100).Select(chunk => (p.Key.Table, Chunk: chunk))),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (batch, ct) => await Table(batch.Table).SubmitTransactionAsync(batch.Chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), ct));
        return written;
    }

    private static Dictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> counts)
    {
        var sum = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, count) in counts.SelectMany(c => c))
        {
            sum[name] = sum.GetValueOrDefault(name) + count;
        }

        return sum;
    }

    /// <summary>
    /// A partition or row key the service accepts: the text itself, or a hash of it when it is long or holds a character
    /// keys may not (<c>/ \ # ?</c>, control characters).
    /// </summary>
    public static string Key(string text) =>
        text.Length <= 250 && !text.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            ? text
            : "~" + StableHash.Hex(text, 32);

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
