using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Inserts webhook-id claims into <c>WebhookEvents</c> by group commit: all claims of a platform share one partition, so
/// those that arrive while the platform's insert is in flight wait for it and go together in the next entity-group
/// transaction (at most <see cref="MaxBatch"/>). Nothing lingers: a claim that finds no insert in flight goes at once, as a
/// single insert. Why: at 200 webhooks/s on one platform a claim per request was one storage write more than before the
/// claim existed, and the single-threaded emulator fell behind (docs/performance.md, "Issue 10"); batched, the claims of a
/// burst cost one write.
/// </summary>
/// <remarks>
/// An entity-group transaction is all or nothing. A claim whose row exists fails the whole transaction with its index: that
/// claim is answered "exists" (the caller reads it, as after a single insert's 409) and the rest are sent again. Two claims
/// for the same webhook-id never share a transaction (storage refuses a row twice in one): the second waits for the next,
/// where it finds the first one's row. Any other failure sends each claim of the batch on its own, so every caller gets its
/// own answer and error.
/// </remarks>
public sealed class WebhookIdClaims(StorageAccount storage)
{
    /// <summary>The most operations one entity-group transaction may hold (Azure Table storage's limit).</summary>
    public const int MaxBatch = 100;

    private readonly Dictionary<string, PlatformClaims> platforms = new(StringComparer.Ordinal);
    private long transactions;

    private TableClient Claims => storage.Tables.GetTableClient(TableReferralLedger.ClaimsTableName);

    /// <summary>Inserts and transactions sent so far (each a storage write), for tests and benchmarks.</summary>
    public long Writes => Interlocked.Read(ref transactions);

    /// <summary>Inserts the claim; its ETag when inserted, null when a row with its keys exists already.</summary>
    public Task<ETag?> InsertAsync(TableEntity claim)
    {
        PlatformClaims platform;
        lock (platforms)
        {
            if (!platforms.TryGetValue(claim.PartitionKey, out platform!))
            {
                platforms[claim.PartitionKey] = platform = new PlatformClaims();
            }
        }

        var waiting = new WaitingClaim(claim, new TaskCompletionSource<ETag?>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool write;
        lock (platform)
        {
            platform.Waiting.Add(waiting);
            write = !platform.Writing;
            platform.Writing = true;
        }

        if (write)
        {
            _ = Task.Run(() => WriteAsync(platform));
        }

        return waiting.Inserted.Task;
    }

    private async Task WriteAsync(PlatformClaims platform)
    {
        while (true)
        {
            List<WaitingClaim> batch;
            lock (platform)
            {
                batch = Take(platform.Waiting);
                if (batch.Count == 0)
                {
                    platform.Writing = false;
                    return;
                }
            }

            try
            {
                await InsertAsync(batch);
            }
            catch (Exception e)
            {
                batch.ForEach(w => w.Inserted.TrySetException(e)); // never leaves a caller waiting
            }
        }
    }

    /// <summary>Up to <see cref="MaxBatch"/> waiting claims, oldest first, no webhook-id twice; the rest stay waiting.</summary>
    private static List<WaitingClaim> Take(List<WaitingClaim> waiting)
    {
        var batch = new List<WaitingClaim>(Math.Min(waiting.Count, MaxBatch));
        var later = new List<WaitingClaim>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in waiting)
        {
            (batch.Count < MaxBatch && ids.Add(claim.Claim.RowKey) ? batch : later).Add(claim);
        }

        waiting.Clear();
        waiting.AddRange(later);
        return batch;
    }

    private async Task InsertAsync(List<WaitingClaim> batch)
    {
        while (batch.Count > 1)
        {
            try
            {
                Interlocked.Increment(ref transactions);
                var answers = await Claims.SubmitTransactionAsync(batch.Select(w => new TableTransactionAction(TableTransactionActionType.Add, w.Claim)));
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Inserted.TrySetResult(answers.Value[i].Headers.ETag);
                }

                return;
            }
            catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex is { } index && index < batch.Count)
            {
                batch[index].Inserted.TrySetResult(null);
                batch.RemoveAt(index);
            }
            catch (Exception)
            {
                break; // each claim on its own below, so each caller gets its own answer
            }
        }

        await Task.WhenAll(batch.Select(InsertOneAsync));
    }

    private async Task InsertOneAsync(WaitingClaim waiting)
    {
        try
        {
            Interlocked.Increment(ref transactions);
            var added = await Claims.AddEntityAsync(waiting.Claim);
            waiting.Inserted.TrySetResult(added.Headers.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            waiting.Inserted.TrySetResult(null);
        }
        catch (Exception e)
        {
            waiting.Inserted.TrySetException(e);
        }
    }

    private sealed class PlatformClaims
    {
        public List<WaitingClaim> Waiting { get; } = [];

        public bool Writing { get; set; }
    }

    private sealed record WaitingClaim(TableEntity Claim, TaskCompletionSource<ETag?> Inserted);
}
