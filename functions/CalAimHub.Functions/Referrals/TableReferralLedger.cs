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
/// The event row is the idempotency record: it is inserted (AddEntity) in the same entity-group transaction as the new
/// state, so a redelivery finds it and a concurrent duplicate loses the insert.
/// </summary>
/// <remarks>
/// Why record-then-queue, and why nothing is lost or doubled:
/// <list type="bullet">
/// <item>Commit first (state + event row, one transaction), then send to the <c>referral-events</c> queue; answer 202
/// only after the send succeeded. The row is marked dispatched after the answer (<see cref="ReferralDispatchMarker"/>).</item>
/// <item>Crash after the commit, before the send: the platform got no 2xx, so it redelivers with the same
/// <c>webhook-id</c>; the redelivery finds the event row not yet dispatched and sends it then. If the platform gives
/// up instead, <see cref="ReferralDispatchSweeper"/> sends it once the row is older than its grace period.</item>
/// <item>Crash (or a failed mark) after the send, before the mark: a redelivery or the sweeper sends the same event
/// again. The record holds it once; the queue may hold it twice with the same event id, which the consumer drops
/// (queues are at-least-once anyway, so the consumer must dedupe on the event id regardless). A redelivery reaching
/// this process while its mark is still waiting does not send again.</item>
/// <item>Queue-then-dedupe would double events on every such crash with no record to tell; dedupe-row-first without
/// a dispatched flag would answer a redelivery 202 for an event that was never queued: both rejected.</item>
/// </list>
/// Round trips before the 202: a <c>created</c> event goes straight to the transaction (a new referral has nothing to
/// read; a 409 means the referral or the event exists, and the read path decides), then the send: 2. Other events read
/// both rows in one query first: 3 (plus the workflow's status lookup once the referral has one).
/// The event rows stay as the referral's history (longer than any platform's retry horizon).
/// <para>Once the referral workflow runs, it is the source of truth for the status: the transition check asks it first
/// (<see cref="IReferralStatusSource"/>; a re-routed referral is Pending again there while this snapshot still says Declined).</para>
/// </remarks>
public sealed class TableReferralLedger(StorageAccount storage, ReferralDispatchMarker marker, IReferralStatusSource? statusSource = null) : IReferralLedger
{
    public const string TableName = "Referrals";
    public const string QueueName = "referral-events";
    private const string ReferralRow = "referral";
    private const string EventPrefix = "event|";
    private const int MaxAttempts = 5;

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public async Task<LedgerResult> AcceptAsync(ReferralEvent referralEvent, CancellationToken cancellationToken)
    {
        var partition = referralEvent.ReferralId;
        var eventRow = EventPrefix + referralEvent.EventId;
        for (var attempt = 1; ; attempt++)
        {
            // A created event expects no referral yet: commit blind first. Otherwise (or after that insert's 409) one
            // round trip reads both rows this decision needs: the event's dedupe row and the referral's state row.
            var (seen, stored) = attempt == 1 && referralEvent.Kind == ReferralEventKind.Created
                ? (null, null)
                : await ReadRowsAsync(partition, eventRow, cancellationToken);
            if (seen is not null)
            {
                var first = ReadEvent(seen);
                if (seen.GetBoolean("Dispatched") != true && !marker.IsPending(partition, eventRow))
                {
                    await DispatchAsync(partition, first, cancellationToken);
                }

                return new LedgerResult(LedgerOutcome.Duplicate, first);
            }

            var current = stored is not null ? ReadSnapshot(stored) : null;
            var status = current is not null && statusSource is not null
                ? await statusSource.CurrentAsync(referralEvent.ReferralId, cancellationToken) ?? current.Status
                : current?.Status;
            if (ReferralTransitions.Problem(status, referralEvent.Kind, referralEvent.Status, referralEvent.ReferralId) is { } problem)
            {
                return new LedgerResult(LedgerOutcome.Conflict, referralEvent, problem, status);
            }

            var next = current is null ? ReferralSnapshot.Start(referralEvent) : current.Apply(referralEvent);
            var state = new TableEntity(partition, ReferralRow)
            {
                ["Snapshot"] = JsonSerializer.Serialize(next, ReferralJson.Options),
                ["Status"] = next.Status.DhcsName(),
                ["Platform"] = next.Platform,
                ["EventCount"] = next.EventCount,
            };
            var row = new TableEntity(partition, eventRow)
            {
                ["Seq"] = next.EventCount,
                ["Event"] = JsonSerializer.Serialize(referralEvent, ReferralJson.Options),
                ["Dispatched"] = false,
            };
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
                // The referral or the event exists (blind created insert), or another writer got there first (same
                // event redelivered concurrently, or another event for this referral): read; the dedupe or the
                // transition check decides on the current state.
                continue;
            }

            await DispatchAsync(partition, referralEvent, cancellationToken);
            return new LedgerResult(LedgerOutcome.Accepted, referralEvent);
        }
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
    /// Recorded events not (known to be) on the queue, last written before <paramref name="recordedBefore"/> (storage
    /// time), at most <paramref name="max"/>; events this process queued and is about to mark are left out.
    /// </summary>
    /// <remarks>A filter on non-key properties: Table storage scans for it server-side, page by page.</remarks>
    public async Task<IReadOnlyList<ReferralEvent>> UndispatchedAsync(DateTimeOffset recordedBefore, int max, CancellationToken cancellationToken)
    {
        var found = new List<ReferralEvent>();
        var filter = TableClient.CreateQueryFilter($"Dispatched eq false and Timestamp lt {recordedBefore}");
        await foreach (var entity in Table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), select: ["PartitionKey", "RowKey", "Event"], cancellationToken: cancellationToken))
        {
            if (!marker.IsPending(entity.PartitionKey, entity.RowKey))
            {
                found.Add(ReadEvent(entity));
                if (found.Count == max)
                {
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>Queues a recorded event again and marks it dispatched before returning (the sweeper's path).</summary>
    public async Task RedispatchAsync(ReferralEvent referralEvent, CancellationToken cancellationToken)
    {
        await SendAsync(referralEvent, cancellationToken);
        var mark = new TableEntity(referralEvent.ReferralId, EventPrefix + referralEvent.EventId) { ["Dispatched"] = true };
        await Table.UpdateEntityAsync(mark, ETag.All, TableUpdateMode.Merge, cancellationToken);
    }

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
    private async Task DispatchAsync(string partition, ReferralEvent referralEvent, CancellationToken cancellationToken)
    {
        await SendAsync(referralEvent, cancellationToken);
        marker.Enqueue(partition, EventPrefix + referralEvent.EventId);
    }

    private Task SendAsync(ReferralEvent referralEvent, CancellationToken cancellationToken) =>
        storage.Queues.GetQueueClient(QueueName).SendMessageAsync(JsonSerializer.Serialize(referralEvent, ReferralJson.Options), cancellationToken);

    private static ReferralSnapshot ReadSnapshot(TableEntity entity) =>
        JsonSerializer.Deserialize<ReferralSnapshot>(entity.GetString("Snapshot"), ReferralJson.Options)!;

    private static ReferralEvent ReadEvent(TableEntity entity) =>
        JsonSerializer.Deserialize<ReferralEvent>(entity.GetString("Event"), ReferralJson.Options)!;
}
