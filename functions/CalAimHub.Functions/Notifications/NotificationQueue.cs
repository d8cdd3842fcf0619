using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Notifications;

/// <summary>
/// The one way features send a partner notice: enqueue it for <see cref="NotifyFunction"/>. Registered
/// <see cref="INotificationFormatter"/>s run first, in registration order, so a subscriber that asked for another shape
/// (e.g. FHIR <c>Task</c> for referral notices) gets it from every sender; the formatted message is what is queued, so
/// every retry of the delivery sends the same bytes.
/// </summary>
public sealed class NotificationQueue(StorageAccount storage, IEnumerable<INotificationFormatter> formatters)
{
    public const string QueueName = "notifications";

    public async Task EnqueueAsync(NotificationMessage message, CancellationToken cancellationToken)
    {
        foreach (var formatter in formatters)
        {
            message = await formatter.FormatAsync(message, cancellationToken);
        }

        await storage.Queues.GetQueueClient(QueueName).SendMessageAsync(message.ToJson(), cancellationToken);
    }
}
