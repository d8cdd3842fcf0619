using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Hosting.Storage;

/// <summary>A queue's depth next to its poison queue's.</summary>
public sealed record QueueDepth(string Name, int Depth, int PoisonDepth);

/// <summary>
/// One message in a poison queue, described without its content: the failure the handler recorded (a dead letter's
/// reason, which never echoes member data) or nothing when the host copied a raw body it could not deliver.
/// </summary>
public sealed record PoisonMessage(string MessageId, DateTimeOffset? InsertedAt, int DequeueCount, string? Reason, string Summary);

/// <summary>
/// Poison queues (<c>&lt;queue&gt;-poison</c>) for everyone who looks after them: the <c>PoisonQueueMonitor</c> timer,
/// <c>hub status</c>/<c>hub replay</c> and the console's operations API. A replay sends the original message back to
/// its queue, then deletes the poison copy: at worst a duplicate, which every consumer dedupes, never a loss.
/// </summary>
public sealed class PoisonQueues(QueueServiceClient queues)
{
    /// <summary>The queue service peeks at most this many messages per call.</summary>
    public const int MaxPeek = 32;

    public async Task<QueueDepth> DepthAsync(string queue, CancellationToken cancellationToken)
    {
        var depth = queues.GetQueueClient(queue).GetPropertiesAsync(cancellationToken);
        var poison = queues.GetQueueClient(StorageLayout.PoisonQueue(queue)).GetPropertiesAsync(cancellationToken);
        return new QueueDepth(queue, (await depth).Value.ApproximateMessagesCount, (await poison).Value.ApproximateMessagesCount);
    }

    public async Task<IReadOnlyList<QueueDepth>> DepthsAsync(IEnumerable<string> queueNames, CancellationToken cancellationToken) =>
        await Task.WhenAll(queueNames.Select(q => DepthAsync(q, cancellationToken)));

    /// <summary>The oldest poison messages (at most <see cref="MaxPeek"/>): peeked, so nothing is hidden or counted as an attempt.</summary>
    public async Task<IReadOnlyList<PoisonMessage>> PeekAsync(string queue, int top, CancellationToken cancellationToken)
    {
        var peeked = await queues.GetQueueClient(StorageLayout.PoisonQueue(queue)).PeekMessagesAsync(Math.Clamp(top, 1, MaxPeek), cancellationToken);
        return [.. peeked.Value.Select(m => Describe(m.MessageId, m.InsertedOn, m.DequeueCount, m.Body.ToString()))];
    }

    /// <summary>Moves one poison message back to its queue; false when the poison queue holds no message with that id.</summary>
    public async Task<bool> ReplayAsync(string queue, string messageId, CancellationToken cancellationToken)
    {
        var poison = queues.GetQueueClient(StorageLayout.PoisonQueue(queue));
        var passed = new List<QueueMessage>();
        try
        {
            // The queue has no read by id: receive in batches until the message turns up, handing the others straight back.
            while (true)
            {
                var batch = (await poison.ReceiveMessagesAsync(MaxPeek, TimeSpan.FromSeconds(30), cancellationToken)).Value;
                if (batch.Length == 0)
                {
                    return false;
                }

                foreach (var message in batch)
                {
                    if (message.MessageId == messageId)
                    {
                        await queues.GetQueueClient(queue).SendMessageAsync(DeadLetter.OriginalMessage(message.Body.ToString()), cancellationToken);
                        await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                        return true;
                    }

                    passed.Add(message);
                }
            }
        }
        finally
        {
            foreach (var message in passed)
            {
                await poison.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None);
            }
        }
    }

    /// <summary>Moves every message of <c>&lt;queue&gt;-poison</c> back to the queue; returns how many.</summary>
    public async Task<int> ReplayAllAsync(string queue, CancellationToken cancellationToken)
    {
        var target = queues.GetQueueClient(queue);
        var poison = queues.GetQueueClient(StorageLayout.PoisonQueue(queue));
        var count = 0;
        while (true)
        {
            var batch = (await poison.ReceiveMessagesAsync(MaxPeek, TimeSpan.FromMinutes(5), cancellationToken)).Value;
            if (batch.Length == 0)
            {
                return count;
            }

            foreach (var message in batch)
            {
                await target.SendMessageAsync(DeadLetter.OriginalMessage(message.Body.ToString()), cancellationToken);
                await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                count++;
            }
        }
    }

    /// <summary>What an operator may see of a poison message: who gave up, after how many attempts, why; never the body.</summary>
    internal static PoisonMessage Describe(string messageId, DateTimeOffset? insertedAt, long dequeueCount, string body)
    {
        if (DeadLetter.TryParse(body) is { } letter)
        {
            return new PoisonMessage(messageId, insertedAt, letter.Attempts, letter.Reason,
                $"{letter.Function} gave up on message {letter.MessageId ?? "(no id)"} after {letter.Attempts} attempt(s) at {letter.FailedAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}; original message {letter.Message.Length} characters");
        }

        return new PoisonMessage(messageId, insertedAt, (int)Math.Min(dequeueCount, int.MaxValue), null,
            $"raw message of {DeadLetter.OriginalMessage(body).Length} characters copied by the host (the handler did not answer, so no reason was recorded)");
    }
}
