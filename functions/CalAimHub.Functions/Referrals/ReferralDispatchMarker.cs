using System.Collections.Concurrent;
using System.Threading.Channels;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Marks queued referral events <c>Dispatched</c> off the request path, on their webhook-id claims in
/// <c>WebhookEvents</c>: the webhook answers 202 once its event is recorded and queued, and the mark follows here.
/// All claims of a platform share a partition, so the marks gathered over <see cref="WebhookIntakeOptions.DispatchMarkDelay"/>
/// go out as one entity-group transaction per platform (at most <see cref="MaxBatch"/>; a full batch goes at once):
/// a fraction of a storage write per webhook instead of one.
/// A lost mark (crash, storage error, full backlog) only means the event is queued again, by a redelivery or by
/// <see cref="ReferralDispatchSweeper"/>, and the consumer dedupes on the event id, as it must for any queue anyway.
/// </summary>
public sealed partial class ReferralDispatchMarker(StorageAccount storage, WebhookIntakeOptions options, ILogger<ReferralDispatchMarker> logger) : IHostedService
{
    /// <summary>Marks waiting; past this the mark is left to the sweeper (storage is failing or far behind).</summary>
    public const int Capacity = 4096;

    /// <summary>The most operations one entity-group transaction may hold (Azure Table storage's limit).</summary>
    public const int MaxBatch = 100;

    private readonly Channel<(string Platform, string EventId)> marks = Channel.CreateBounded<(string, string)>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    // Queued but not yet marked by this process: a redelivery arriving meanwhile must not queue the event again.
    private readonly ConcurrentDictionary<(string Platform, string EventId), byte> pending = new();
    private Task writer = Task.CompletedTask;

    private TableClient Claims => storage.Tables.GetTableClient(TableReferralLedger.ClaimsTableName);

    /// <summary>Asks for the claim of the platform's webhook-id to be marked dispatched; never waits.</summary>
    public void Enqueue(string platform, string eventId)
    {
        if (!pending.TryAdd((platform, eventId), 0))
        {
            return;
        }

        if (!marks.Writer.TryWrite((platform, eventId)))
        {
            pending.TryRemove((platform, eventId), out _);
            LogBacklogFull(logger, platform, eventId, Capacity);
        }
    }

    /// <summary>True while this process has queued the event and not yet marked it.</summary>
    public bool IsPending(string platform, string eventId) => pending.ContainsKey((platform, eventId));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        writer = Task.Run(WriteAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Takes no more marks and writes those waiting, until the host's shutdown timeout.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        marks.Writer.TryComplete();
        try
        {
            await writer.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            LogUnmarkedAtShutdown(logger, pending.Count);
        }
    }

    private async Task WriteAsync()
    {
        var reader = marks.Reader;
        var batches = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        while (await reader.WaitToReadAsync())
        {
            // A window opens with the first mark and closes after the delay (or when the channel completes at shutdown).
            var closesAt = TimeProvider.System.GetTimestamp() + (long)(options.DispatchMarkDelay.TotalSeconds * TimeProvider.System.TimestampFrequency);
            while (true)
            {
                while (reader.TryRead(out var mark))
                {
                    if (!batches.TryGetValue(mark.Platform, out var batch))
                    {
                        batches[mark.Platform] = batch = [];
                    }

                    batch.Add(mark.EventId);
                    if (batch.Count == MaxBatch)
                    {
                        await FlushAsync(mark.Platform, batch);
                        batches.Remove(mark.Platform);
                    }
                }

                var left = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), closesAt);
                if (left <= TimeSpan.Zero || !await MoreWithinAsync(reader, left))
                {
                    break;
                }
            }

            foreach (var (platform, batch) in batches)
            {
                await FlushAsync(platform, batch);
            }

            batches.Clear();
        }
    }

    /// <summary>Waits for another mark until <paramref name="left"/> passes; false when it passed or no more marks come.</summary>
    private static async Task<bool> MoreWithinAsync(ChannelReader<(string, string)> reader, TimeSpan left)
    {
        using var window = new CancellationTokenSource(left);
        try
        {
            return await reader.WaitToReadAsync(window.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>One transaction for the batch; an action storage refuses (its claim was released meanwhile) is dropped and the rest retried.</summary>
    private async Task FlushAsync(string platform, List<string> eventIds)
    {
        var actions = eventIds.Select(id => new TableTransactionAction(
            TableTransactionActionType.UpdateMerge, new TableEntity(platform, id) { [TableReferralLedger.DispatchedProperty] = true }, ETag.All)).ToList();
        try
        {
            while (actions.Count > 0)
            {
                try
                {
                    await Claims.SubmitTransactionAsync(actions);
                    LogMarked(logger, actions.Count, platform);
                    return;
                }
                catch (TableTransactionFailedException e) when (e.FailedTransactionActionIndex is { } index && index < actions.Count && actions.Count > 1)
                {
                    LogMarkFailed(logger, e, platform, actions[index].Entity.RowKey, $"{e.Status} {e.ErrorCode}");
                    actions.RemoveAt(index);
                }
            }
        }
        catch (Exception e)
        {
            // Whatever failed, the writer must live on for the marks behind it; the sweeper heals these.
            foreach (var action in actions)
            {
                LogMarkFailed(logger, e, platform, action.Entity.RowKey, e is RequestFailedException failed ? $"{failed.Status} {failed.ErrorCode}" : e.GetType().Name);
            }
        }
        finally
        {
            foreach (var id in eventIds)
            {
                pending.TryRemove((platform, id), out _);
            }
        }
    }

    // Only the platform and the webhook-id: never member data. The exception carries the storage request, which holds
    // no payload for a merge of one boolean.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Marked {Count} webhook event(s) of {Platform} dispatched in one transaction")]
    private static partial void LogMarked(ILogger logger, int count, string platform);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventId} from {Platform}: event queued but not marked dispatched ({Reason}); the dispatch sweeper queues it again, the consumer drops the copy")]
    private static partial void LogMarkFailed(ILogger logger, Exception exception, string platform, string eventId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped with {Count} dispatch mark(s) unwritten; the dispatch sweeper queues those events again")]
    private static partial void LogUnmarkedAtShutdown(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventId} from {Platform}: event queued but its dispatch mark was not taken ({Capacity} already waiting, or stopping); left to the dispatch sweeper")]
    private static partial void LogBacklogFull(ILogger logger, string platform, string eventId, int capacity);
}
