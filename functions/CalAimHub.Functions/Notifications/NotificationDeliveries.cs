using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Notifications;

/// <summary>
/// The delivery record per delivery id (table <c>NotificationDeliveries</c>): attempts, last outcome, and whether it
/// was delivered — so a retried message is not sent twice once a subscriber has acknowledged it.
/// </summary>
public sealed class NotificationDeliveries(StorageAccount storage)
{
    public const string TableName = "NotificationDeliveries";
    private const string RowKey = "delivery";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public async Task<NotificationDelivery?> FindAsync(string deliveryId, CancellationToken cancellationToken)
    {
        var found = await Table.GetEntityIfExistsAsync<NotificationDelivery>(deliveryId, RowKey, cancellationToken: cancellationToken);
        return found.HasValue ? found.Value : null;
    }

    public Task RecordAsync(ValidNotification notification, NotificationDelivery? previous, string status, int? statusCode, string? error, DateTimeOffset at, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(
            new NotificationDelivery
            {
                PartitionKey = notification.DeliveryId,
                RowKey = RowKey,
                Subscriber = notification.Subscriber,
                Type = notification.Type,
                Status = status,
                Attempts = (previous?.Attempts ?? 0) + 1,
                LastStatusCode = statusCode,
                LastError = error,
                DeliveredAt = status == NotificationDelivery.Delivered ? at : null,
                LastAttemptAt = at,
            },
            TableUpdateMode.Replace,
            cancellationToken);
}

public sealed class NotificationDelivery : ITableEntity
{
    public const string Delivered = "Delivered";
    public const string Failed = "Failed";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Subscriber { get; set; } = "";
    public string Type { get; set; } = "";
    public string Status { get; set; } = "";
    public int Attempts { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset? DeliveredAt { get; set; }
    public DateTimeOffset? LastAttemptAt { get; set; }
}
