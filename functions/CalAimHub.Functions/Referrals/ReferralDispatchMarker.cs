using System.Collections.Concurrent;
using System.Threading.Channels;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Marks queued referral events <c>Dispatched</c> off the request path: the webhook answers 202 once its event is
/// recorded and queued, and the mark follows here, a few at a time so it does not crowd the requests' own storage calls.
/// A lost mark (crash, storage error, full backlog) only means the event is queued again, by a redelivery or by
/// <see cref="ReferralDispatchSweeper"/>, and the consumer dedupes on the event id, as it must for any queue anyway.
/// </summary>
public sealed partial class ReferralDispatchMarker(StorageAccount storage, ILogger<ReferralDispatchMarker> logger) : IHostedService
{
    /// <summary>Marks waiting; past this the mark is left to the sweeper (storage is failing or far behind).</summary>
    public const int Capacity = 4096;

    // Two writers keep up with ~200 marks/s on the emulator while leaving it to the requests most of the time.
    private const int Writers = 2;

    private readonly Channel<(string Partition, string RowKey)> marks = Channel.CreateBounded<(string, string)>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait });

    // Queued but not yet marked by this process: a redelivery arriving meanwhile must not queue the event again.
    private readonly ConcurrentDictionary<(string Partition, string RowKey), byte> pending = new();
    private Task writers = Task.CompletedTask;

    private TableClient Table => storage.Tables.GetTableClient(TableReferralLedger.TableName);

    /// <summary>Asks for the row to be marked dispatched; never waits.</summary>
    public void Enqueue(string partition, string rowKey)
    {
        if (!pending.TryAdd((partition, rowKey), 0))
        {
            return;
        }

        if (!marks.Writer.TryWrite((partition, rowKey)))
        {
            pending.TryRemove((partition, rowKey), out _);
            LogBacklogFull(logger, partition, Capacity);
        }
    }

    /// <summary>True while this process has queued the event and not yet marked it.</summary>
    public bool IsPending(string partition, string rowKey) => pending.ContainsKey((partition, rowKey));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        writers = Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteAsync, CancellationToken.None)));
        return Task.CompletedTask;
    }

    /// <summary>Takes no more marks and writes those waiting, until the host's shutdown timeout.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        marks.Writer.TryComplete();
        try
        {
            await writers.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            LogUnmarkedAtShutdown(logger, marks.Reader.Count);
        }
    }

    private async Task WriteAsync()
    {
        await foreach (var (partition, rowKey) in marks.Reader.ReadAllAsync())
        {
            try
            {
                var mark = new TableEntity(partition, rowKey) { ["Dispatched"] = true };
                await Table.UpdateEntityAsync(mark, ETag.All, TableUpdateMode.Merge);
            }
            catch (Exception e)
            {
                // Whatever failed, this writer must live on for the marks behind it; the sweeper heals this one.
                LogMarkFailed(logger, e, partition, e is RequestFailedException failed ? $"{failed.Status} {failed.ErrorCode}" : e.GetType().Name);
            }
            finally
            {
                pending.TryRemove((partition, rowKey), out _);
            }
        }
    }

    // Only the referral id (platform and the platform's referral id): never member data. The exception carries the
    // storage request, which holds no payload for a merge of one boolean.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: event queued but not marked dispatched ({Reason}); the dispatch sweeper queues it again, the consumer drops the copy")]
    private static partial void LogMarkFailed(ILogger logger, Exception exception, string referralId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped with {Count} dispatch mark(s) unwritten; the dispatch sweeper queues those events again")]
    private static partial void LogUnmarkedAtShutdown(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: event queued but its dispatch mark was not taken ({Capacity} already waiting, or stopping); left to the dispatch sweeper")]
    private static partial void LogBacklogFull(ILogger logger, string referralId, int capacity);
}
