using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// The referral ledger on Azure Storage until the referral workflow replaces it. Table <c>Referrals</c>: one partition
/// per referral with a <c>referral</c> row (the current <see cref="ReferralSnapshot"/>, ETag-guarded) and one
/// <c>event|{eventId}</c> row per accepted event (the event, its sequence number and whether it is queued yet).
/// The event row is the referral's idempotency record: it is inserted (AddEntity) in the same entity-group transaction as
/// the new state, so a redelivery finds it and a concurrent duplicate loses the insert. Whether the event is on the queue
/// yet is kept on its webhook-id claim in <c>WebhookEvents</c> (below), where the marks can be batched.
/// </summary>
/// <remarks>
/// Why record-then-queue, and why nothing is lost or doubled:
/// <list type="bullet">
/// <item>Commit first (state + event row, one transaction), then send to the <c>referral-events</c> queue; answer 202
/// only after the send succeeded. The claim is marked dispatched after the answer (<see cref="ReferralDispatchMarker"/>).</item>
/// <item>Crash after the commit, before the send: the platform got no 2xx, so it redelivers with the same
/// <c>webhook-id</c>; the redelivery finds the event recorded and its claim not marked, and sends it then. If the platform
/// gives up instead, <see cref="ReferralDispatchSweeper"/> sends it once the claim is older than its grace period.</item>
/// <item>Crash (or a failed mark) after the send, before the mark: a redelivery or the sweeper sends the same event
/// again. The record holds it once; the queue may hold it twice with the same event id, which the consumer drops
/// (queues are at-least-once anyway, so the consumer must dedupe on the event id regardless). A redelivery reaching
/// this process while its mark is still waiting does not send again.</item>
/// <item>Queue-then-dedupe would double events on every such crash with no record to tell; dedupe-row-first without
/// a dispatched flag would answer a redelivery 202 for an event that was never queued: both rejected.</item>
/// </list>
/// <para>The <c>webhook-id</c> is unique per platform (Standard Webhooks: one id per message), not per referral. Table
/// <c>WebhookEvents</c> holds one claim per platform (partition) and id (row) with the SHA-256 of the body it came with:
/// the same id with the same body is a redelivery (duplicate, 202); with another body, whichever referral it names, it is
/// refused (<see cref="LedgerOutcome.IdReused"/>, 409) and nothing changes. The claim cannot share an entity-group
/// transaction with the referral (another partition), so it runs <em>beside</em> the first step: a status change reads
/// both referral rows beside its claim and commits only once the claim is settled; a created event commits blind beside
/// its claim, and if the claim is refused (or fails) takes exactly its rows back, ETag-guarded. A handler stopped between
/// such a commit and its undo leaves an orphan (recorded, never queued, nobody answered 2xx), which the next create of
/// that referral removes (its only event's claim holds another body's hash). The claim also carries <c>Dispatched</c>: false when
/// inserted, set after the answer in batches per platform (one partition), which is why it lives there and not on the
/// event row (one partition per referral, one write per webhook). A claim whose event was never recorded (the handler
/// stopped between the two) is released by the sweeper.</para>
/// Round trips before the 202: 2. A <c>created</c> event's claim and blind transaction go together (a new referral has
/// nothing to read; a 409 means the referral or the event exists, and the read path decides), then the send. Other events
/// read both rows in one query beside the claim, commit, send: 3 (plus the workflow's status lookup once the referral has
/// one). Storage operations per new referral: transaction, send, and shares of a batched claim (<see cref="WebhookIdClaims"/>, group
/// commit per platform) and of a batched mark.
/// (Stop 17 tried claim-first, 3 round trips, to avoid the undo; its intake p99 regressed against the code before the
/// claim existed, so the claim went back beside the commit: docs/performance.md, "webhook p99".)
/// The event rows stay as the referral's history (longer than any platform's retry horizon).
/// <para>Once the referral workflow runs, it is the source of truth for the status: the transition check asks it first
/// (<see cref="IReferralStatusSource"/>; a re-routed referral is Pending again there while this snapshot still says Declined).</para>
/// </remarks>
public sealed class TableReferralLedger(StorageAccount storage, ReferralDispatchMarker marker, WebhookIdClaims claims, IReferralStatusSource? statusSource = null) : IReferralLedger
{
    public const string TableName = "Referrals";
    public const string QueueName = "referral-events";
    public const string ClaimsTableName = "WebhookEvents";

    /// <summary>On a claim: whether its event is known to be on the queue (absent on claims written before it was kept there).</summary>
    public const string DispatchedProperty = "Dispatched";
    /// <summary>On an event row: queued by a redelivery or the sweeper, so no undo of the blind commit that wrote it may take it back.</summary>
    private const string ConfirmedProperty = "Confirmed";
    private const string ReferralRow = "referral";
    private const string EventPrefix = "event|";
    private const int MaxAttempts = 5;

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    private TableClient Claims => storage.Tables.GetTableClient(ClaimsTableName);

    /// <summary>The body fingerprint a claim compares: SHA-256 of the exact bytes (the signed content), hex.</summary>
    public static string BodyHash(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body));

    public async Task<LedgerResult> AcceptAsync(ReferralEvent referralEvent, string bodyHash, CancellationToken cancellationToken)
    {
        // The claim always goes beside the first step, never before it. A created event expects no referral yet, so its
        // first step is the blind commit; any other event's is the read of both rows its decision needs.
        var claim = ClaimAsync(referralEvent, bodyHash, cancellationToken);
        if (referralEvent.Kind != ReferralEventKind.Created)
        {
            return await AcceptAsync(referralEvent, bodyHash, claim, cancellationToken);
        }

        BlindCommit? committed;
        try
        {
            committed = await CommitCreatedBlindAsync(referralEvent, bodyHash, cancellationToken);
        }
        catch
        {
            await ObserveAsync(claim); // an unanswered claim without its event is released by the sweeper
            throw;
        }

        ClaimOutcome claimed;
        try
        {
            claimed = await claim;
        }
        catch when (committed is not null)
        {
            // Not answered, so nothing may stay recorded without a claim the sweeper can find.
            await UndoBlindAsync(committed, CancellationToken.None);
            throw;
        }

        if (claimed.Reused)
        {
            if (committed is not null)
            {
                await UndoBlindAsync(committed, CancellationToken.None);
            }

            return new LedgerResult(LedgerOutcome.IdReused, referralEvent, claimed.Problem);
        }

        if (committed is null)
        {
            return await AcceptAsync(referralEvent, bodyHash, Task.FromResult(claimed), cancellationToken);
        }

        await DispatchAsync(referralEvent, cancellationToken);
        return new LedgerResult(LedgerOutcome.Accepted, referralEvent);
    }

    /// <summary>The rows a blind commit added, with their ETags, so a refused claim can take exactly them back.</summary>
    private sealed record BlindCommit(string ReferralId, string EventRow, ETag State, ETag Event);

    /// <summary>The blind insert of a created event; null when the referral or the event exists (the read path decides).</summary>
    private async Task<BlindCommit?> CommitCreatedBlindAsync(ReferralEvent referralEvent, string bodyHash, CancellationToken cancellationToken)
    {
        var next = ReferralSnapshot.Start(referralEvent);
        var (state, row) = Rows(referralEvent, next, bodyHash);
        TableTransactionAction[] commit = [new(TableTransactionActionType.Add, state), new(TableTransactionActionType.Add, row)];
        try
        {
            var responses = (await Table.SubmitTransactionAsync(commit, cancellationToken)).Value;
            return new BlindCommit(referralEvent.ReferralId, row.RowKey, responses[0].Headers.ETag ?? ETag.All, responses[1].Headers.ETag ?? ETag.All);
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            return null;
        }
    }

    /// <summary>
    /// Takes back a blind commit whose claim was refused (or failed), ETag-guarded so nothing written after it is touched.
    /// If the handler stops before this, the rows stay as an orphan: no claim of its own, never queued, never answered 2xx;
    /// the next create of that referral or redelivery under that id finds and removes it (<see cref="RemoveOrphanAsync"/>).
    /// </summary>
    private async Task UndoBlindAsync(BlindCommit committed, CancellationToken cancellationToken)
    {
        TableTransactionAction[] undo =
        [
            new(TableTransactionActionType.Delete, new TableEntity(committed.ReferralId, ReferralRow), committed.State),
            new(TableTransactionActionType.Delete, new TableEntity(committed.ReferralId, committed.EventRow), committed.Event),
        ];
        try
        {
            await Table.SubmitTransactionAsync(undo, cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            // Changed or removed since: then it was not only ours to take back, and the read path's orphan check decides.
        }
    }

    /// <summary>
    /// Before an event found recorded but not queued is queued by someone other than its writer (a redelivery, the sweeper):
    /// rewrites its row, ETag-guarded, so a blind commit's undo still on its way (the writer's claim lookup failed after
    /// this read) finds the row changed and leaves it. Without this the undo took back a referral already queued (the full
    /// chaos run: a created event answered Duplicate and started, its ledger rows deleted a minute later, GET 404). False
    /// when the row changed or went since it was read.
    /// </summary>
    private async Task<bool> ConfirmRecordedAsync(TableEntity eventRow, CancellationToken cancellationToken)
    {
        try
        {
            await Table.UpdateEntityAsync(new TableEntity(eventRow.PartitionKey, eventRow.RowKey) { [ConfirmedProperty] = true }, eventRow.ETag, TableUpdateMode.Merge, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    private async Task<bool> MarkedDispatchedAsync(ReferralEvent recorded, CancellationToken cancellationToken)
    {
        var claim = await Claims.GetEntityIfExistsAsync<TableEntity>(recorded.Platform, recorded.EventId, select: [DispatchedProperty], cancellationToken: cancellationToken);
        return claim.HasValue && claim.Value!.GetBoolean(DispatchedProperty) == true;
    }

    private static async Task ObserveAsync(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // The original failure is the one reported.
        }
    }

    private async Task<LedgerResult> AcceptAsync(ReferralEvent referralEvent, string bodyHash, Task<ClaimOutcome> claim, CancellationToken cancellationToken)
    {
        var partition = referralEvent.ReferralId;
        var eventRow = EventPrefix + referralEvent.EventId;
        for (var attempt = 1; ; attempt++)
        {
            var (seen, stored) = await ReadRowsAsync(partition, eventRow, cancellationToken);
            if (await claim is { Reused: true } reused)
            {
                return new LedgerResult(LedgerOutcome.IdReused, referralEvent, reused.Problem);
            }

            if (seen is not null)
            {
                if (seen.GetString("BodyHash") is { } firstHash && firstHash != bodyHash)
                {
                    // This id is claimed for this body, so another body's row under it is a refused blind commit being
                    // taken back: read again shortly. Still there after that, it is an orphan or a row older than claims.
                    if (attempt < MaxAttempts)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(25 * attempt), cancellationToken);
                        continue;
                    }

                    await ReleaseAsync(referralEvent, await claim, cancellationToken);
                    return new LedgerResult(LedgerOutcome.IdReused, referralEvent, ReusedProblem(referralEvent));
                }

                // Queued already when its claim says so (or, recorded before claims kept it, its own row does), or when this
                // process sent it and its mark is still on the way.
                var first = ReadEvent(seen);
                var dispatched = (await claim).Dispatched || seen.GetBoolean(DispatchedProperty) == true;
                if (!dispatched && !marker.IsPending(first.Platform, first.EventId))
                {
                    // The claim was read beside this request's first step; its mark may have landed since (a marker drops its
                    // pending entry only after writing the mark, and another instance's marker is not seen here at all).
                    if (await MarkedDispatchedAsync(first, cancellationToken))
                    {
                        return new LedgerResult(LedgerOutcome.Duplicate, first);
                    }

                    if (!await ConfirmRecordedAsync(seen, cancellationToken) && attempt < MaxAttempts)
                    {
                        continue; // taken back (or confirmed by another redelivery) since the read: read again
                    }

                    await DispatchAsync(first, cancellationToken);
                }

                return new LedgerResult(LedgerOutcome.Duplicate, first);
            }

            var current = stored is not null ? ReadSnapshot(stored) : null;
            var status = current is not null && statusSource is not null
                ? await statusSource.CurrentAsync(referralEvent.ReferralId, cancellationToken) ?? current.Status
                : current?.Status;
            if (ReferralTransitions.Problem(status, referralEvent.Kind, referralEvent.Status, referralEvent.ReferralId) is { } problem)
            {
                if (referralEvent.Kind == ReferralEventKind.Created && stored is not null && attempt < MaxAttempts
                    && await RemoveOrphanAsync(stored, cancellationToken))
                {
                    continue;
                }

                // Refused: the claim goes too, so the platform may send the corrected event under the same id.
                await ReleaseAsync(referralEvent, await claim, cancellationToken);
                return new LedgerResult(LedgerOutcome.Conflict, referralEvent, problem, status);
            }

            var next = current is null ? ReferralSnapshot.Start(referralEvent) : current.Apply(referralEvent);
            var (state, row) = Rows(referralEvent, next, bodyHash);
            TableTransactionAction[] commit =
            [
                stored is not null
                    ? new(TableTransactionActionType.UpdateReplace, state, stored.ETag)
                    : new(TableTransactionActionType.Add, state),
                new(TableTransactionActionType.Add, row),
            ];
            try
            {
                await Table.SubmitTransactionAsync(commit, cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another writer got there first (same event redelivered concurrently, or another event for this
                // referral): read again; the dedupe or the transition check decides on the current state.
                continue;
            }

            await DispatchAsync(referralEvent, cancellationToken);
            return new LedgerResult(LedgerOutcome.Accepted, referralEvent);
        }
    }

    /// <summary>
    /// Removes the referral when all it holds is an orphan: one event whose webhook-id is claimed by another body, left by
    /// a handler that stopped between a refused blind commit and its undo. Such a referral was never queued and nobody was
    /// answered 2xx for it; left in place it would refuse the real create. Only on the rare 409 path: two reads.
    /// </summary>
    private async Task<bool> RemoveOrphanAsync(TableEntity stored, CancellationToken cancellationToken)
    {
        if (stored.GetInt32("EventCount") != 1)
        {
            return false;
        }

        TableEntity? only = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {stored.PartitionKey} and RowKey gt {EventPrefix} and RowKey lt {EventPrefix + char.MaxValue}");
        await foreach (var entity in Table.QueryAsync<TableEntity>(filter, maxPerPage: 2, select: ["PartitionKey", "RowKey", "Event", "BodyHash"], cancellationToken: cancellationToken))
        {
            only = entity;
            break;
        }

        if (only?.GetString("BodyHash") is not { } rowHash)
        {
            return false;
        }

        var recorded = ReadEvent(only);
        var claim = await Claims.GetEntityIfExistsAsync<TableEntity>(recorded.Platform, recorded.EventId, select: ["BodyHash"], cancellationToken: cancellationToken);
        if (!claim.HasValue || claim.Value!.GetString("BodyHash") == rowHash)
        {
            return false;
        }

        TableTransactionAction[] remove =
        [
            new(TableTransactionActionType.Delete, stored, stored.ETag),
            new(TableTransactionActionType.Delete, only, only.ETag),
        ];
        try
        {
            await Table.SubmitTransactionAsync(remove, cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            // Taken back or changed meanwhile: the caller reads again either way.
        }

        return true;
    }

    public async Task<ReferralHistory?> GetAsync(string referralId, CancellationToken cancellationToken)
    {
        ReferralSnapshot? snapshot = null;
        var events = new List<(int Seq, ReferralEvent Event)>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {referralId}");
        await foreach (var entity in Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (entity.RowKey == ReferralRow)
            {
                snapshot = ReadSnapshot(entity);
            }
            else if (entity.RowKey.StartsWith(EventPrefix, StringComparison.Ordinal))
            {
                events.Add((entity.GetInt32("Seq") ?? 0, ReadEvent(entity)));
            }
        }

        return snapshot is null ? null : new ReferralHistory(snapshot, [.. events.OrderBy(e => e.Seq).Select(e => e.Event)]);
    }

    /// <summary>
    /// Claims whose event is not (known to be) on the queue, last written before <paramref name="claimedBefore"/> (storage
    /// time), at most <paramref name="max"/>; those this process queued and is about to mark are left out.
    /// </summary>
    /// <remarks>A filter on non-key properties: Table storage scans for it server-side, page by page.</remarks>
    public async Task<IReadOnlyList<UndispatchedClaim>> UndispatchedAsync(DateTimeOffset claimedBefore, int max, CancellationToken cancellationToken)
    {
        var found = new List<UndispatchedClaim>();
        var filter = TableClient.CreateQueryFilter($"Dispatched eq false and Timestamp lt {claimedBefore}");
        await foreach (var entity in Claims.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), select: ["PartitionKey", "RowKey", "ReferralId"], cancellationToken: cancellationToken))
        {
            if (!marker.IsPending(entity.PartitionKey, entity.RowKey) && entity.GetString("ReferralId") is { } referralId)
            {
                found.Add(new UndispatchedClaim(entity.PartitionKey, entity.RowKey, referralId, entity.ETag));
                if (found.Count == max)
                {
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>
    /// The sweeper's path: queues the claim's recorded event again and marks the claim dispatched before returning it.
    /// A claim whose event was never recorded (the handler stopped between the claim and the commit; nobody was answered
    /// 2xx) is released instead, ETag-guarded, and null is returned: the id is free again, as after a refused transition.
    /// </summary>
    public async Task<ReferralEvent?> RedispatchAsync(UndispatchedClaim claim, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            // The whole row, not a $select of it: its ETag guards the confirm (with $select, Azurite's answer made the guarded
            // update fail and the sweep answer 500).
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(claim.ReferralId, EventPrefix + claim.EventId, cancellationToken: cancellationToken);
            if (!row.HasValue)
            {
                try
                {
                    await Claims.DeleteEntityAsync(claim.Platform, claim.EventId, claim.ETag, cancellationToken);
                }
                catch (RequestFailedException e) when (e.Status is 404 or 412)
                {
                    // Gone already, or marked since: nothing to release.
                }

                return null;
            }

            if (!await ConfirmRecordedAsync(row.Value!, cancellationToken) && attempt < MaxAttempts)
            {
                continue; // taken back by its blind commit's undo (or confirmed by a redelivery) since the read: read again
            }

            var referralEvent = ReadEvent(row.Value!);
            await SendAsync(referralEvent, cancellationToken);
            var mark = new TableEntity(claim.Platform, claim.EventId) { [DispatchedProperty] = true };
            await Claims.UpdateEntityAsync(mark, ETag.All, TableUpdateMode.Merge, cancellationToken);
            return referralEvent;
        }
    }

    /// <summary>
    /// Claims the event's webhook-id for the platform with this body's hash, not yet dispatched. A claim that exists with
    /// the same hash is this event's (a redelivery, or an earlier attempt): fine, and it tells whether the event was
    /// queued. With another hash: reused.
    /// </summary>
    private async Task<ClaimOutcome> ClaimAsync(ReferralEvent referralEvent, string bodyHash, CancellationToken cancellationToken)
    {
        var claim = new TableEntity(referralEvent.Platform, referralEvent.EventId)
        {
            ["BodyHash"] = bodyHash,
            ["ReferralId"] = referralEvent.ReferralId,
            [DispatchedProperty] = false,
        };
        for (var attempt = 1; ; attempt++)
        {
            if (await claims.InsertAsync(claim) is { } inserted)
            {
                return new ClaimOutcome(false, Inserted: inserted);
            }

            // The id is claimed already: by this body (a redelivery, or an earlier attempt) or by another.
            var existing = await Claims.GetEntityIfExistsAsync<TableEntity>(referralEvent.Platform, referralEvent.EventId, select: ["BodyHash", DispatchedProperty], cancellationToken: cancellationToken);
            if (!existing.HasValue && attempt < MaxAttempts)
            {
                continue; // released between the two calls: claim it again, never record an event without a claim
            }

            return !existing.HasValue || existing.Value!.GetString("BodyHash") == bodyHash
                ? new ClaimOutcome(false, Dispatched: existing.Value?.GetBoolean(DispatchedProperty) == true)
                : new ClaimOutcome(true, ReusedProblem(referralEvent));
        }
    }

    /// <summary>Removes a claim this request inserted (best effort: a claim left behind only refuses a different body later).</summary>
    private async Task ReleaseAsync(ReferralEvent referralEvent, ClaimOutcome claim, CancellationToken cancellationToken)
    {
        if (claim.Inserted is not { } etag)
        {
            return;
        }

        try
        {
            await Claims.DeleteEntityAsync(referralEvent.Platform, referralEvent.EventId, etag, cancellationToken);
        }
        catch (RequestFailedException)
        {
        }
    }

    private static string ReusedProblem(ReferralEvent referralEvent) =>
        $"webhook-id '{referralEvent.EventId}' was already used by platform '{referralEvent.Platform}' for a different event; " +
        "a redelivery must repeat the same body, and a new or corrected event needs a new webhook-id";

    private static (TableEntity State, TableEntity Event) Rows(ReferralEvent referralEvent, ReferralSnapshot next, string bodyHash)
    {
        var state = new TableEntity(referralEvent.ReferralId, ReferralRow)
        {
            ["Snapshot"] = JsonSerializer.Serialize(next, ReferralJson.Options),
            ["Status"] = next.Status.DhcsName(),
            ["Platform"] = next.Platform,
            ["EventCount"] = next.EventCount,
        };
        var row = new TableEntity(referralEvent.ReferralId, EventPrefix + referralEvent.EventId)
        {
            ["Seq"] = next.EventCount,
            ["Event"] = JsonSerializer.Serialize(referralEvent, ReferralJson.Options),
            ["BodyHash"] = bodyHash,
        };
        return (state, row);
    }

    /// <param name="Inserted">The ETag of the claim when this request inserted it (so a refusal can take it back).</param>
    /// <param name="Dispatched">The claim existed and says its event is on the queue.</param>
    private sealed record ClaimOutcome(bool Reused, string? Problem = null, ETag? Inserted = null, bool Dispatched = false);

    private async Task<(TableEntity? Event, TableEntity? Referral)> ReadRowsAsync(string partition, string eventRow, CancellationToken cancellationToken)
    {
        TableEntity? seen = null, stored = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and (RowKey eq {ReferralRow} or RowKey eq {eventRow})");
        await foreach (var entity in Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (entity.RowKey == ReferralRow)
            {
                stored = entity;
            }
            else
            {
                seen = entity;
            }
        }

        return (seen, stored);
    }

    /// <summary>The send is on the request path (the 202 promises it); the mark is not.</summary>
    private async Task DispatchAsync(ReferralEvent referralEvent, CancellationToken cancellationToken)
    {
        await SendAsync(referralEvent, cancellationToken);
        marker.Enqueue(referralEvent.Platform, referralEvent.EventId);
    }

    private Task SendAsync(ReferralEvent referralEvent, CancellationToken cancellationToken) =>
        storage.Queues.GetQueueClient(QueueName).SendMessageAsync(JsonSerializer.Serialize(referralEvent, ReferralJson.Options), cancellationToken);

    private static ReferralSnapshot ReadSnapshot(TableEntity entity) =>
        JsonSerializer.Deserialize<ReferralSnapshot>(entity.GetString("Snapshot"), ReferralJson.Options)!;

    private static ReferralEvent ReadEvent(TableEntity entity) =>
        JsonSerializer.Deserialize<ReferralEvent>(entity.GetString("Event"), ReferralJson.Options)!;
}

/// <summary>A webhook-id claim the sweeper found unmarked: its platform, id, the referral it names, and its ETag (to release it safely).</summary>
public sealed record UndispatchedClaim(string Platform, string EventId, string ReferralId, ETag ETag);
