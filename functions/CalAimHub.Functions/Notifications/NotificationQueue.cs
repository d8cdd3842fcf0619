using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Notifications;

/// <summary>The one way features send a partner notice: enqueue it for <see cref="NotifyFunction"/>.</summary>
public sealed class NotificationQueue(StorageAccount storage)
{
    public const string QueueName = "notifications";

    public Task EnqueueAsync(NotificationMessage message, CancellationToken cancellationToken) =>
        storage.Queues.GetQueueClient(QueueName).SendMessageAsync(message.ToJson(), cancellationToken);
}
