using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Workflows;

/// <summary>A state row and the ETag that guards the next commit.</summary>
public sealed record StoredInstance(WorkflowInstance Instance, ETag ETag)
{
    /// <summary>
    /// The index partition the state row records its index row in: the type's own partition when the row records none
    /// (written before the index was sharded), null when it is the current one (<see cref="WorkflowStore.IndexPartition"/>).
    /// </summary>
    public string? IndexedIn { get; init; }

    /// <summary>Where the instance's index row may still be, other than its current partition (null: nowhere else).</summary>
    public string? IndexElsewhere => IndexedIn is { } at && at != WorkflowStore.IndexPartition(Instance.Type, Instance.InstanceId) ? at : null;
}

/// <summary>An outbox row: the outbound work of one commit (or of a batch start, <see cref="StartBatch"/>).</summary>
public sealed record OutboxRow(string InstanceId, string RowKey, IReadOnlyList<OutboundWork> Work, DateTimeOffset? Timestamp)
{
    /// <summary>The row's ETag as read (a batch row is removed only if no other run of its batch has claimed it since).</summary>
    public ETag ETag { get; init; }
}

/// <summary>One row of the <c>WorkflowIndex</c> table: what listings and the sweeper need, without loading partitions.</summary>
public sealed record WorkflowIndexEntry(
    string InstanceId,
    string Type,
    WorkflowRuntimeStatus Status,
    DateTimeOffset CreatedTime,
    DateTimeOffset LastUpdatedTime,
    DateTimeOffset? NextDeadline,
    long Seq)
{
    /// <summary>The partition the row was read from; null for an entry made from an instance (it belongs in its current partition).</summary>
    public string? Partition { get; init; }

    public bool IsTerminal => Status is WorkflowRuntimeStatus.Completed or WorkflowRuntimeStatus.Failed or WorkflowRuntimeStatus.Terminated;

    public static WorkflowIndexEntry Of(WorkflowInstance i) =>
        new(i.InstanceId, i.Type, i.Status, i.CreatedTime, i.LastUpdatedTime, i.NextDeadline, i.Seq);

    /// <summary>Whether a listing could tell the two apart (the update time and sequence alone do not count).</summary>
    public bool Lists(WorkflowIndexEntry other) =>
        other.InstanceId == InstanceId && other.Type == Type && other.Status == Status && other.CreatedTime == CreatedTime && other.NextDeadline == NextDeadline;
}

public enum PurgeOutcome
{
    Purged,
    NotFound,

    /// <summary>Pending, Running or Suspended: terminate it first.</summary>
    NotFinished,
}

/// <param name="Status">The status the instance had (null when there was none).</param>
public sealed record PurgeResult(PurgeOutcome Outcome, WorkflowRuntimeStatus? Status);

/// <summary>The commit lost: another writer changed the state row first (ETag) or created the instance.</summary>
public sealed class WorkflowConcurrencyException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Table I/O of the runtime. One instance = one partition of <c>Workflows</c>: row <c>state</c>, history rows
/// <c>h:{seq}</c>, dedupe rows <c>d:{eventId}</c>, outbox rows <c>o:{seq}</c>. A second table, <c>WorkflowIndex</c>
/// (partition = type and shard, <see cref="IndexPartition"/>; row = instance id), answers listings. It cannot join the partition's transaction, so the
/// runtime writes it just *before* a commit that changes what a listing shows: a committed change is never missing
/// from the index; a crash between the two leaves the index ahead of the instance until the sweeper reconciles it.
/// A batch start (<see cref="WorkflowRuntime.StartManyAsync"/>) adds one partition per batch, <c>~starts|{hash of type and ids}</c>,
/// holding one outbox row (<see cref="StartBatch"/>) and nothing else.
/// </summary>
public sealed class WorkflowStore(TableClient workflows, TableClient index)
{
    public const string StateRow = "state";
    private const string HistoryPrefix = "h:";
    private const string DedupePrefix = "d:";
    private const string OutboxPrefix = "o:";
    private const string StartBatchPrefix = "~starts|";
    private const string StartBatchRow = OutboxPrefix + "batch";
    private const string WorkColumn = "Work";
    private const string IndexedInColumn = "IndexedIn";

    /// <summary>
    /// Index partitions per workflow type. One partition per type was a hot partition: in Azure a partition server takes about
    /// 2,000 entities a second, and Azurite walks a partition's rows on every point write (a 100-row index transaction took
    /// 214 ms at 10,000 invoices, and a file's starts grew with its square). 16 shards take 16 times that, while a batch start
    /// of 100 instances still costs at most 16 transactions (about 6 rows each, sent together) instead of one; more shards
    /// would make those transactions smaller and listing a type cross more partitions for little gain.
    /// </summary>
    public const int IndexShards = 16;

    /// <summary>Between a type and its shard; no type name may hold it (<see cref="WorkflowRegistry"/>), so no type's partitions meet another's.</summary>
    public const char IndexShardSeparator = '|';

    public TableClient Workflows => workflows;
    public TableClient Index => index;

    /// <summary>The state row and whether <paramref name="eventId"/> was already applied.</summary>
    /// <remarks>
    /// Point reads, the two at the same time, not one query for both rows: Azurite (local runs, tests, benchmarks) answers
    /// every query by scanning the whole table, so a load would cost time in proportion to all instances' rows, while a
    /// point read is an index look-up there. In Azure both are look-ups in one partition; the dedupe read is one more
    /// request per event, not one more round trip (a duplicate costs a third read, below).
    /// </remarks>
    public async Task<(StoredInstance? Instance, bool Duplicate)> LoadAsync(string instanceId, string? eventId, CancellationToken cancellationToken)
    {
        var state = workflows.GetEntityIfExistsAsync<TableEntity>(instanceId, StateRow, cancellationToken: cancellationToken);
        var dedupe = eventId is null ? null : workflows.GetEntityIfExistsAsync<TableEntity>(instanceId, DedupeKey(eventId), select: ["PartitionKey"], cancellationToken: cancellationToken);
        var reads = await Task.WhenAll(dedupe is null ? new[] { state } : new[] { state, dedupe });
        var duplicate = reads is [_, { HasValue: true }];

        // The two reads are not one snapshot: the state may have been read just before the commit that wrote the dedupe row.
        // Read again after it, so a duplicate is answered with the state that includes its event (rare: duplicates only).
        var row = duplicate ? await workflows.GetEntityIfExistsAsync<TableEntity>(instanceId, StateRow, cancellationToken: cancellationToken) : reads[0];
        return (row.HasValue ? new StoredInstance(ReadInstance(row.Value!), row.Value!.ETag) { IndexedIn = row.Value!.GetString(IndexedInColumn) ?? row.Value!.GetString("Type") } : null, duplicate);
    }

    /// <summary>
    /// Commits one event in one entity-group transaction: state row (insert, or replace if the ETag still matches),
    /// history rows, dedupe rows (insert: a duplicate fails the whole batch) and the outbox row. Returns the outbox
    /// row to dispatch (null when the commit has nothing to publish) and the new ETag.
    /// </summary>
    /// <param name="startWorkOnDedupeRow">
    /// A batch start: the commit's outbound work goes on the start event's dedupe row instead of an outbox row (so nothing
    /// is deleted after the dispatch); the batch's <see cref="StartBatch"/> row stands for the outbox.
    /// </param>
    /// <exception cref="WorkflowConcurrencyException">Another writer won; reload and decide again.</exception>
    public async Task<(OutboxRow? Outbox, ETag ETag)> CommitAsync(WorkflowCommit commit, ETag? etag, CancellationToken cancellationToken, bool startWorkOnDedupeRow = false)
    {
        var after = commit.After;
        var id = after.InstanceId;
        var actions = new List<TableTransactionAction>(2 + commit.History.Count + commit.DedupeIds.Count)
        {
            commit.Before is null
                ? new TableTransactionAction(TableTransactionActionType.Add, WriteInstance(after))
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, WriteInstance(after), etag ?? throw new ArgumentNullException(nameof(etag))),
        };
        foreach (var entry in commit.History)
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(id, HistoryKey(entry.Seq))
            {
                ["EventId"] = entry.EventId,
                ["Name"] = entry.Name,
                ["Entry"] = JsonSerializer.Serialize(entry, WorkflowJson.Options),
            }));
        }

        var workOnDedupeRow = startWorkOnDedupeRow && commit.Before is null && commit.Outbound.Count > 0;
        foreach (var eventId in commit.DedupeIds)
        {
            var dedupe = new TableEntity(id, DedupeKey(eventId)) { ["EventId"] = eventId };
            if (workOnDedupeRow && eventId == WorkflowRuntime.StartEventId)
            {
                dedupe[WorkColumn] = JsonSerializer.Serialize(commit.Outbound, WorkflowJson.Options);
            }

            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, dedupe));
        }

        OutboxRow? outbox = null;
        if (commit.Outbound.Count > 0 && !workOnDedupeRow)
        {
            // Seq is unique per commit that has outbound work (only decider events produce it, and each adds history).
            outbox = new OutboxRow(id, OutboxPrefix + after.Seq.ToString("D10", CultureInfo.InvariantCulture), commit.Outbound, null);
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(id, outbox.RowKey)
            {
                ["Work"] = JsonSerializer.Serialize(commit.Outbound, WorkflowJson.Options),
            }));
        }

        try
        {
            var response = await workflows.SubmitTransactionAsync(actions, cancellationToken);
            return (outbox, response.Value[0].Headers.ETag ?? default);
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            throw new WorkflowConcurrencyException($"commit on workflow instance '{id}' lost to another writer ({e.Status} {e.ErrorCode})", e);
        }
    }

    /// <summary>
    /// The start work a batch start kept on the instance's start dedupe row: null when the instance was not started (no
    /// such row), empty when it was started on its own (its outbox row carried the work).
    /// </summary>
    public async Task<IReadOnlyList<OutboundWork>?> StartWorkAsync(string instanceId, CancellationToken cancellationToken)
    {
        var row = await workflows.GetEntityIfExistsAsync<TableEntity>(instanceId, DedupeKey(WorkflowRuntime.StartEventId), select: [WorkColumn], cancellationToken: cancellationToken);
        return !row.HasValue ? null
            : row.Value!.GetString(WorkColumn) is { } work ? JsonSerializer.Deserialize<List<OutboundWork>>(work, WorkflowJson.Options)! : [];
    }

    /// <summary>A batch start's row key: the same type and instances (in order) give the same row, so a redelivery finds its batch.</summary>
    public static string StartBatchKey(StartBatch batch) => StartBatchPrefix + StableHash.Hex(batch.Type + "\n" + string.Join('\n', batch.InstanceIds), 16);

    /// <summary>
    /// Writes (claims) the batch's row. Added: no run of this batch is unfinished. Already there: an earlier run stopped
    /// before removing it (a crash, or a run still going): the row is rewritten so its new ETag marks this run's claim, and
    /// the caller dispatches the start work of the batch's existing instances again.
    /// </summary>
    /// <returns>The row (with the ETag of this run's claim) and whether an earlier run left it.</returns>
    public async Task<(OutboxRow Row, bool Unfinished)> ClaimStartBatchAsync(StartBatch batch, CancellationToken cancellationToken)
    {
        var key = StartBatchKey(batch);
        var entity = new TableEntity(key, StartBatchRow) { [WorkColumn] = JsonSerializer.Serialize<List<OutboundWork>>([batch], WorkflowJson.Options) };
        try
        {
            var added = await workflows.AddEntityAsync(entity, cancellationToken);
            return (new OutboxRow(key, StartBatchRow, [batch], null) { ETag = added.Headers.ETag ?? default }, false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var claimed = await workflows.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
            return (new OutboxRow(key, StartBatchRow, [batch], null) { ETag = claimed.Headers.ETag ?? default }, true);
        }
    }

    /// <summary>
    /// Removes a batch row once its dispatch is done, unless another run of the batch claimed it since (its ETag changed):
    /// then that run removes it when it has dispatched, or the sweeper does.
    /// </summary>
    public async Task DeleteStartBatchAsync(OutboxRow row, CancellationToken cancellationToken)
    {
        try
        {
            await workflows.DeleteEntityAsync(row.InstanceId, row.RowKey, row.ETag == default ? ETag.All : row.ETag, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Gone already, or claimed by another run of the batch: it is that run's to remove.
        }
    }

    /// <summary>
    /// Index rows of new instances (nothing of theirs to move) in entity-group transactions, one per shard partition (up to
    /// 100 rows each), sent together: a batch of 100 starts of one type costs up to <see cref="IndexShards"/> requests.
    /// Inserted (<see cref="NewRows"/>): a redelivered batch finds its rows and replaces them.
    /// </summary>
    public async Task UpsertIndexAsync(IEnumerable<WorkflowIndexEntry> entries, CancellationToken cancellationToken) =>
        await Task.WhenAll(entries.DistinctBy(e => (e.Type, e.InstanceId))
            .GroupBy(e => IndexPartition(e.Type, e.InstanceId), StringComparer.Ordinal)
            .SelectMany(p => p.Chunk(100))
            .Select(chunk => NewRows.SubmitAsync(index, [.. chunk.Select(IndexRow)], cancellationToken)));

    /// <summary>Removes a dispatched outbox row (a missing row means another dispatcher finished it).</summary>
    public async Task DeleteOutboxAsync(OutboxRow row, CancellationToken cancellationToken) =>
        await workflows.DeleteEntityAsync(row.InstanceId, row.RowKey, ETag.All, cancellationToken);

    /// <summary>
    /// Deletes an index row that names no instance (left by a crash between index write and commit), or that is not in its
    /// instance's partition: where it was read (<see cref="WorkflowIndexEntry.Partition"/>), else in the entry's current partition.
    /// </summary>
    public async Task DeleteIndexAsync(WorkflowIndexEntry entry, CancellationToken cancellationToken) =>
        await index.DeleteEntityAsync(entry.Partition ?? IndexPartition(entry.Type, entry.InstanceId), entry.InstanceId, ETag.All, cancellationToken);

    /// <summary>
    /// Writes an instance's index row in its current partition and, at the same time, deletes its row in
    /// <paramref name="elsewhere"/> (<see cref="StoredInstance.IndexElsewhere"/>: a row of the layout before shards), so a
    /// listing never shows the instance twice.
    /// </summary>
    public async Task UpsertIndexAsync(WorkflowIndexEntry entry, CancellationToken cancellationToken, string? elsewhere = null)
    {
        var upsert = index.UpsertEntityAsync(IndexRow(entry), TableUpdateMode.Replace, cancellationToken);
        if (elsewhere is not null && elsewhere != IndexPartition(entry.Type, entry.InstanceId))
        {
            await Task.WhenAll(upsert, index.DeleteEntityAsync(elsewhere, entry.InstanceId, ETag.All, cancellationToken));
            return;
        }

        await upsert;
    }

    /// <summary>
    /// The index partition of an instance: <c>{type}|{shard}</c>, the shard two hex digits from the SHA-256 of the instance id
    /// (stable across processes and releases, unlike <see cref="string.GetHashCode()"/>). A type's partitions sort together,
    /// next to the partition <c>{type}</c> of the layout before shards, so one key range lists them all.
    /// </summary>
    public static string IndexPartition(string type, string instanceId)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(instanceId), hash);
        var shard = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(hash) % IndexShards;
        return string.Create(CultureInfo.InvariantCulture, $"{type}{IndexShardSeparator}{shard:x2}");
    }

    private static TableEntity IndexRow(WorkflowIndexEntry entry) => new(IndexPartition(entry.Type, entry.InstanceId), entry.InstanceId)
    {
        ["Status"] = entry.Status.ToString(),
        ["Created"] = entry.CreatedTime,
        ["Updated"] = entry.LastUpdatedTime,
        ["Deadline"] = entry.NextDeadline,
        ["Seq"] = entry.Seq,
    };

    /// <summary>
    /// Outbox rows across all instances, oldest first per partition. A RowKey range is a scan in Azure Tables; the
    /// sweeper runs every few minutes and retention purge keeps the table bounded, which keeps the scan affordable.
    /// </summary>
    public async IAsyncEnumerable<OutboxRow> OutboxRowsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey ge {OutboxPrefix} and RowKey lt {"o;"}");
        await foreach (var row in workflows.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return ReadOutbox(row);
        }
    }

    /// <summary>Every instance's state row (a scan of the whole table: for the read-model rebuild, never for a query).</summary>
    public async IAsyncEnumerable<WorkflowInstance> InstancesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var row in workflows.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {StateRow}"), cancellationToken: cancellationToken))
        {
            yield return ReadInstance(row);
        }
    }

    /// <summary>Outbox rows of one instance (a test or a repair looks at them).</summary>
    public async Task<IReadOnlyList<OutboxRow>> OutboxRowsAsync(string instanceId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {instanceId} and RowKey ge {OutboxPrefix} and RowKey lt {"o;"}");
        var rows = new List<OutboxRow>();
        await foreach (var row in workflows.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            rows.Add(ReadOutbox(row));
        }

        return rows;
    }

    public async Task<IReadOnlyList<WorkflowHistoryEntry>> HistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {instanceId} and RowKey ge {HistoryPrefix} and RowKey lt {"h;"}");
        var entries = new List<WorkflowHistoryEntry>();
        await foreach (var row in workflows.QueryAsync<TableEntity>(filter, select: ["Entry"], cancellationToken: cancellationToken))
        {
            entries.Add(JsonSerializer.Deserialize<WorkflowHistoryEntry>(row.GetString("Entry"), WorkflowJson.Options)!);
        }

        return entries;
    }

    /// <summary>
    /// Deletes every row of a finished instance's partition and its index row. An instance that is not finished
    /// (Pending, Running, Suspended) is left as it is: purging it would drop its timers and the events on their way to
    /// it, so it must be terminated first. Rows without a state row (a half-finished purge) are deleted.
    /// </summary>
    public async Task<PurgeResult> PurgeAsync(string instanceId, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        string? type = null;
        string? indexedIn = null;
        WorkflowRuntimeStatus? status = null;
        await foreach (var row in workflows.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {instanceId}"), select: ["RowKey", "Type", "Status", IndexedInColumn], cancellationToken: cancellationToken))
        {
            keys.Add(row.RowKey);
            if (row.RowKey == StateRow)
            {
                type = row.GetString("Type");
                indexedIn = row.GetString(IndexedInColumn) ?? type;
                status = Enum.Parse<WorkflowRuntimeStatus>(row.GetString("Status"));
            }
        }

        if (status is WorkflowRuntimeStatus.Pending or WorkflowRuntimeStatus.Running or WorkflowRuntimeStatus.Suspended)
        {
            return new PurgeResult(PurgeOutcome.NotFinished, status);
        }

        // The state row goes after the instance's other rows: while it exists, a half-finished purge is still visible and is
        // simply repeated.
        keys.Remove(StateRow);
        foreach (var chunk in keys.Chunk(100))
        {
            await workflows.SubmitTransactionAsync(chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(instanceId, k), ETag.All)), cancellationToken);
        }

        if (type is not null)
        {
            // The state row before the index rows: a purge that dies between them leaves an index row naming no instance,
            // which the sweeper deletes. The other way round it left the state row (member data) where no sweep looks.
            await workflows.DeleteEntityAsync(instanceId, StateRow, ETag.All, cancellationToken);

            // Its row in the current partition and, if the state row recorded another (the layout before shards), that one too.
            var current = IndexPartition(type, instanceId);
            await Task.WhenAll(new[] { current, indexedIn! }.Distinct(StringComparer.Ordinal).Select(p => index.DeleteEntityAsync(p, instanceId, ETag.All, cancellationToken)));
        }

        return type is null ? new PurgeResult(PurgeOutcome.NotFound, null) : new PurgeResult(PurgeOutcome.Purged, status);
    }

    /// <summary>One page of index rows (of one type, or of all types), with the service's continuation token.</summary>
    /// <remarks>
    /// A type is one key range, <c>{type}</c> (the partition of the layout before shards, still read) up to <c>{type}|~</c>
    /// (its shards): a range keeps the service's continuation token working and is a range scan in Azure, where an <c>or</c>
    /// of two partition conditions may scan the table. The range also holds the partitions of any type whose name starts
    /// with this one and goes on with a character below <c>|</c>; their rows are left out here, so a page may hold fewer
    /// entries than asked, or none, and still carry the token to the next one.
    /// </remarks>
    public async Task<(IReadOnlyList<WorkflowIndexEntry> Entries, string? Continuation)> IndexPageAsync(string? type, string? continuation, int pageSize, CancellationToken cancellationToken)
    {
        var filter = type is null ? null : TableClient.CreateQueryFilter($"PartitionKey ge {type} and PartitionKey lt {type + IndexShardSeparator + "~"}");
        await foreach (var page in index.QueryAsync<TableEntity>(filter, maxPerPage: pageSize, cancellationToken: cancellationToken).AsPages(continuation, pageSize))
        {
            return (page.Values.Select(ReadIndex).Where(e => type is null || e.Type == type).ToArray(), page.ContinuationToken);
        }

        return ([], null);
    }

    /// <summary>
    /// The index rows the sweeper has work for, filtered by the storage service, not paged through whole every sweep:
    /// finished instances last updated before <paramref name="purgeBefore"/>, and rows of any status updated inside
    /// (<paramref name="reconcileFrom"/>, <paramref name="reconcileTo"/>). The sweeper checks both again itself.
    /// </summary>
    /// <remarks>
    /// Still a scan in Azure (no key condition) but it returns only these rows; Azurite sorts its whole table for every
    /// page, so paging 100,000 rows a thousand at a time cost a hundred sorts of the table each sweep.
    /// </remarks>
    public async IAsyncEnumerable<WorkflowIndexEntry> SweepCandidatesAsync(DateTimeOffset purgeBefore, DateTimeOffset reconcileFrom, DateTimeOffset reconcileTo,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"(Updated lt {purgeBefore} and (Status eq {nameof(WorkflowRuntimeStatus.Completed)} or Status eq {nameof(WorkflowRuntimeStatus.Failed)} or Status eq {nameof(WorkflowRuntimeStatus.Terminated)})) or (Updated gt {reconcileFrom} and Updated lt {reconcileTo})");
        await foreach (var row in index.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken))
        {
            yield return ReadIndex(row);
        }
    }

    /// <summary>
    /// At most <paramref name="top"/> index rows matching an OData filter on the index's own columns (Status, Deadline):
    /// answers "which instances failed / are overdue" from <c>WorkflowIndex</c>, never from the Workflows partitions.
    /// </summary>
    public async Task<IReadOnlyList<WorkflowIndexEntry>> IndexWhereAsync(string filter, int top, CancellationToken cancellationToken)
    {
        var entries = new List<WorkflowIndexEntry>(Math.Min(top, 1000));
        await foreach (var row in index.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(top, 1000), cancellationToken: cancellationToken))
        {
            entries.Add(ReadIndex(row));
            if (entries.Count == top)
            {
                break;
            }
        }

        return entries;
    }

    public static string DedupeKey(string eventId) =>
        DedupePrefix + (eventId.Length <= 200 && !eventId.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c))
            ? eventId
            : "~" + StableHash.Hex(eventId, 32));

    private static string HistoryKey(long seq) => HistoryPrefix + seq.ToString("D10", CultureInfo.InvariantCulture);

    private static TableEntity WriteInstance(WorkflowInstance i) => new(i.InstanceId, StateRow)
    {
        ["Type"] = i.Type,
        ["Version"] = i.Version,
        ["Status"] = i.Status.ToString(),
        ["Seq"] = i.Seq,
        ["State"] = Json(i.State),
        ["Input"] = Json(i.Input),
        ["Output"] = Json(i.Output),
        ["CustomStatus"] = Json(i.CustomStatus),
        ["Reason"] = i.Reason,
        ["Created"] = i.CreatedTime,
        ["Updated"] = i.LastUpdatedTime,
        ["Deadline"] = i.NextDeadline,
        ["Timers"] = i.Timers.IsEmpty ? null : JsonSerializer.Serialize(i.Timers, WorkflowJson.Options),
        ["Held"] = i.Held.IsEmpty ? null : JsonSerializer.Serialize(i.Held, WorkflowJson.Options),
        // The runtime moves an instance's index row to its current partition before any commit (WorkflowRuntime.IndexBeforeCommitAsync).
        [IndexedInColumn] = IndexPartition(i.Type, i.InstanceId),
    };

    private static WorkflowInstance ReadInstance(TableEntity row) => new(
        row.PartitionKey,
        row.GetString("Type"),
        row.GetInt32("Version") ?? 1,
        Enum.Parse<WorkflowRuntimeStatus>(row.GetString("Status")),
        row.GetInt64("Seq") ?? 0,
        Json(row.GetString("State")),
        Json(row.GetString("Input")),
        Json(row.GetString("Output")),
        Json(row.GetString("CustomStatus")),
        row.GetString("Reason"),
        row.GetDateTimeOffset("Created") ?? default,
        row.GetDateTimeOffset("Updated") ?? default,
        row.GetDateTimeOffset("Deadline"),
        row.GetString("Timers") is { } timers
            ? JsonSerializer.Deserialize<Dictionary<string, DateTimeOffset>>(timers, WorkflowJson.Options)!.ToImmutableSortedDictionary(StringComparer.Ordinal)
            : ImmutableSortedDictionary<string, DateTimeOffset>.Empty.WithComparers(StringComparer.Ordinal),
        row.GetString("Held") is { } held ? [.. JsonSerializer.Deserialize<List<WorkflowEvent>>(held, WorkflowJson.Options)!] : []);

    private static OutboxRow ReadOutbox(TableEntity row) => new(
        row.PartitionKey,
        row.RowKey,
        JsonSerializer.Deserialize<List<OutboundWork>>(row.GetString(WorkColumn), WorkflowJson.Options)!,
        row.Timestamp)
    {
        ETag = row.ETag,
    };

    /// <summary>The type is the partition key up to its shard (the whole key in the layout before shards).</summary>
    private static WorkflowIndexEntry ReadIndex(TableEntity row) => new(
        row.RowKey,
        row.PartitionKey.IndexOf(IndexShardSeparator) is >= 0 and var separator ? row.PartitionKey[..separator] : row.PartitionKey,
        Enum.Parse<WorkflowRuntimeStatus>(row.GetString("Status")),
        row.GetDateTimeOffset("Created") ?? default,
        row.GetDateTimeOffset("Updated") ?? default,
        row.GetDateTimeOffset("Deadline"),
        row.GetInt64("Seq") ?? 0)
    {
        Partition = row.PartitionKey,
    };

    private static string? Json(JsonElement? value) => value is { ValueKind: not JsonValueKind.Undefined } v ? v.GetRawText() : null;

    private static JsonElement? Json(string? text) => text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
}
