using System.Threading.Channels;
using Azure.Data.Tables;

namespace CalAimHub.Benchmarks;

/// <summary>
/// The floor workloads' row per event (<see cref="UpkeepWork.AuthorizationsFloor"/>): one row of a listing item's size, in
/// a table of its own. Written either at once (one upsert, awaited by the event, as a projection is) or coalesced: the event
/// only hands the row over, and one writer sends what has gathered in 100 ms as transactions of up to 100 rows, the round's time
/// including the last of them. Neither is a read model (no version row, no counter, nothing exact after a crash): each is
/// the least a projection could cost, one awaited and one coalesced.
/// </summary>
internal sealed class FloorRows
{
    /// <summary>About the length of a serialized authorization listing item.</summary>
    private static readonly string Item = new('x', 600);

    /// <summary>How long the coalescing writer waits for rows to gather before each transaction.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(100);

    private readonly Channel<string> pending = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TableClient table;
    private readonly bool coalesced;

    /// <summary>The coalescing writer, started with the instance (one per round); null when each event writes its own row.</summary>
    private readonly Task? writer;

    public FloorRows(TableClient table, bool coalesced)
    {
        this.table = table;
        this.coalesced = coalesced;
        writer = coalesced ? Task.Run(WriteAsync, CancellationToken.None) : null;
    }

    private long transactions;

    public long Transactions => Interlocked.Read(ref transactions);

    public Task AfterEventAsync(string id, CancellationToken cancellationToken)
    {
        if (!coalesced)
        {
            Interlocked.Increment(ref transactions);
            return table.UpsertEntityAsync(Row(id), TableUpdateMode.Replace, cancellationToken);
        }

        pending.Writer.TryWrite(id);
        return Task.CompletedTask;
    }

    /// <summary>Ends the round: waits for every row handed over to be written (one instance per round).</summary>
    public async Task DrainAsync()
    {
        pending.Writer.TryComplete();
        if (writer is not null)
        {
            await writer;
        }
    }

    private async Task WriteAsync()
    {
        var reader = pending.Reader;
        while (await reader.WaitToReadAsync())
        {
            // Lets rows gather: without it the writer sends each row almost as it comes (measured: 1.3 rows per transaction).
            await Task.Delay(Linger);
            var batch = new Dictionary<string, TableTransactionAction>(StringComparer.Ordinal);
            while (batch.Count < 100 && reader.TryRead(out var id))
            {
                batch[id] = new TableTransactionAction(TableTransactionActionType.UpsertReplace, Row(id));
            }

            Interlocked.Increment(ref transactions);
            await table.SubmitTransactionAsync(batch.Values);
        }
    }

    private static TableEntity Row(string id) => new("items", id) { ["Item"] = Item };
}
