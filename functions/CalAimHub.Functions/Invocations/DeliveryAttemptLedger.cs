using System.Text;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Invocations;

/// <summary>
/// Tells a queue message's failed deliveries apart: those where its function threw (the message's fault, or storage's)
/// and those that ended with no answer because the worker process stopped (a crash, a kill, a scale-in). The queue counts
/// both alike, so five worker deaths during one long invocation (a 5,000-row file at 50–100 s, a start waiting for
/// admission) sent good messages to the poison queue in issue 11's chaos run. Table <c>QueueDeliveries</c>:
/// <list type="bullet">
/// <item>partition = queue, row = <c>throw|{messageId}</c>: how many of the message's deliveries threw (written by
/// <see cref="RecordThrowAsync"/> when a non-final attempt fails);</item>
/// <item>partition = queue, row = <c>copy|{SHA-256 of the body}</c>: how many fresh copies of this body were handed back.</item>
/// </list>
/// On the last delivery the queue allows, a message whose earlier deliveries did not all throw is handed back as a fresh
/// copy (its own deliveries) instead of running once more, at most <see cref="MaxFreshCopies"/> times per body: a message
/// that itself kills the worker still reaches the poison queue, after (1 + <see cref="MaxFreshCopies"/>) × maxDequeueCount
/// deliveries. The same holds in Azure, where the Functions host charges a delivery for every worker death too.
/// </summary>
public sealed class DeliveryAttemptLedger(StorageAccount storage)
{
    public const string TableName = "QueueDeliveries";

    /// <summary>Fresh copies per message body; past this the last delivery runs and its failure is final.</summary>
    public const int MaxFreshCopies = 3;

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    /// <summary>Counts a delivery that threw (best effort: a lost count only forgives one more death).</summary>
    public async Task RecordThrowAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        if (invocation.Metadata.MessageId is not { } messageId)
        {
            return;
        }

        try
        {
            await CountAsync(invocation.Queue, "throw|" + messageId, cancellationToken);
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException)
        {
        }
    }

    /// <summary>
    /// On the last allowed delivery: the number of earlier deliveries that ended without an answer, when the message should
    /// go back as a fresh copy instead of running (its copy count is taken here); null when it runs.
    /// </summary>
    public async Task<int?> TakeFreshCopyAsync(QueueInvocation invocation, int maxDequeueCount, CancellationToken cancellationToken)
    {
        var delivery = invocation.Metadata.DequeueCount ?? 1;
        if (delivery < maxDequeueCount || invocation.Metadata.MessageId is not { } messageId)
        {
            return null;
        }

        try
        {
            var thrown = await ReadCountAsync(invocation.Queue, "throw|" + messageId, cancellationToken);
            var unanswered = delivery - 1 - thrown;
            if (unanswered <= 0)
            {
                return null;
            }

            var body = "copy|" + StableHash.Hex(invocation.Message, 32);
            return await CountAsync(invocation.Queue, body, cancellationToken) <= MaxFreshCopies ? unanswered : null;
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException)
        {
            return null; // storage unsure: the delivery runs, as it would have without this ledger
        }
    }

    private async Task<int> ReadCountAsync(string queue, string row, CancellationToken cancellationToken)
    {
        var stored = await Table.GetEntityIfExistsAsync<TableEntity>(queue, row, select: ["Count"], cancellationToken: cancellationToken);
        return stored.HasValue ? stored.Value!.GetInt32("Count") ?? 0 : 0;
    }

    /// <summary>Adds one to the row's count, ETag-guarded against a concurrent delivery; the new count.</summary>
    private async Task<int> CountAsync(string queue, string row, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var stored = await Table.GetEntityIfExistsAsync<TableEntity>(queue, row, select: ["Count"], cancellationToken: cancellationToken);
            try
            {
                if (!stored.HasValue)
                {
                    await Table.AddEntityAsync(new TableEntity(queue, row) { ["Count"] = 1 }, cancellationToken);
                    return 1;
                }

                var count = (stored.Value!.GetInt32("Count") ?? 0) + 1;
                await Table.UpdateEntityAsync(new TableEntity(queue, row) { ["Count"] = count }, stored.Value.ETag, TableUpdateMode.Replace, cancellationToken);
                return count;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && attempt < 5)
            {
            }
        }
    }
}
