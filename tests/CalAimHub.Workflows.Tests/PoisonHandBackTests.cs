using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// A message handed back while workflow starts were saturated carries a header line (<see cref="HandedBackMessage"/>).
/// When such a copy then fails every delivery without an answer, the host (Azure's or ours) moves it to the poison queue
/// as queued, header and all. The poison view describes the original body and a replay queues the original body, a new
/// arrival with no first-queued time. Real Azurite.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PoisonHandBackTests(AzuriteFixture azurite)
{
    private const string Body = "{\"deliveryId\":\"d-7\",\"subscriber\":\"authorizations\"}";

    private async Task<(string Queue, Azure.Storage.Queues.QueueClient Target, Azure.Storage.Queues.QueueClient Poison)> NewQueueAsync()
    {
        var queue = "handback-" + Guid.NewGuid().ToString("N")[..12];
        var target = azurite.Storage.Queues.GetQueueClient(queue);
        var poison = azurite.Storage.Queues.GetQueueClient(StorageLayout.PoisonQueue(queue));
        await target.CreateAsync();
        await poison.CreateAsync();
        // What the host moves: the handed-back copy exactly as it was queued.
        await poison.SendMessageAsync(HandedBackMessage.Wrap(Body, DateTimeOffset.UtcNow.AddHours(-3)));
        return (queue, target, poison);
    }

    [Fact]
    public async Task A_handed_back_poison_message_is_described_and_replayed_without_its_header()
    {
        var (queue, target, poison) = await NewQueueAsync();
        var poisonQueues = new PoisonQueues(azurite.Storage.Queues);

        var listed = Assert.Single(await poisonQueues.PeekAsync(queue, 10, CancellationToken.None));
        Assert.Equal($"raw message of {Body.Length} characters copied by the host (the handler did not answer, so no reason was recorded)", listed.Summary);
        Assert.Null(listed.Reason);

        Assert.True(await poisonQueues.ReplayAsync(queue, listed.MessageId, CancellationToken.None));

        var replayed = Assert.Single((await target.ReceiveMessagesAsync(32)).Value);
        Assert.Equal(Body, replayed.Body.ToString());
        Assert.Empty((await poison.PeekMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task Replaying_a_whole_poison_queue_queues_handed_back_messages_without_their_header()
    {
        var (queue, target, poison) = await NewQueueAsync();

        Assert.Equal(1, await new PoisonQueues(azurite.Storage.Queues).ReplayAllAsync(queue, CancellationToken.None));

        var replayed = Assert.Single((await target.ReceiveMessagesAsync(32)).Value);
        Assert.Equal(Body, replayed.Body.ToString());
        Assert.Empty((await poison.PeekMessagesAsync(32)).Value);
    }
}
