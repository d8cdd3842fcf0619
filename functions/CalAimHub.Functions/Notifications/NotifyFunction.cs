using System.Net.Http.Headers;
using System.Net.Mime;
using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Webhooks;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Microsoft.Extensions.Options;

namespace CalAimHub.Functions.Notifications;

/// <summary>
/// Queue <c>notifications</c> → one signed CloudEvents 1.0 POST to the subscriber.
/// Pipeline: read the message → skip if already delivered → build the CloudEvent → sign (Standard Webhooks) and
/// POST → record the outcome. A non-2xx answer or a timeout fails the attempt; the host retries, and the last
/// attempt lands in <c>notifications-poison</c> with its reason.
/// </summary>
public sealed partial class NotifyFunction(
    IHttpClientFactory httpClients,
    IOptions<NotificationOptions> options,
    SubscriberSecrets secrets,
    NotificationDeliveries deliveries,
    TimeProvider time,
    ILogger<NotifyFunction> logger) : IQueueFunction
{
    public const string HttpClientName = "notifications";
    private static readonly JsonEventFormatter Formatter = new();

    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        var notification = NotificationMessage.Parse(invocation.Message, options.Value.RequireHttps);
        var previous = await deliveries.FindAsync(notification.DeliveryId, cancellationToken);
        if (previous?.Status == NotificationDelivery.Delivered)
        {
            LogAlreadyDelivered(notification.DeliveryId);
            return $"Delivery {notification.DeliveryId} was already delivered; not sent again.";
        }

        var signingSecrets = secrets.For(notification.Subscriber);
        var body = Formatter.EncodeStructuredModeMessage(ToCloudEvent(notification, invocation), out var contentType);
        var (statusCode, error) = await PostAsync(notification, body, contentType, signingSecrets, cancellationToken);

        var delivered = error is null;
        await deliveries.RecordAsync(notification, previous, delivered ? NotificationDelivery.Delivered : NotificationDelivery.Failed, statusCode, error, time.GetUtcNow(), cancellationToken);
        var tags = new KeyValuePair<string, object?>("subscriber", notification.Subscriber);
        if (!delivered)
        {
            HubTelemetry.NotificationAttemptsFailed.Add(1, tags);
            throw new FunctionFailure(error!);
        }

        HubTelemetry.NotificationsDelivered.Add(1, tags);
        LogDelivered(notification.DeliveryId, notification.Subscriber, notification.Type, statusCode ?? 0);
        return $"Delivered {notification.DeliveryId} to subscriber '{notification.Subscriber}' (HTTP {statusCode}).";
    }

    /// <summary>The CloudEvent time is the event's own time, else the message's enqueue time: stable across retries.</summary>
    private CloudEvent ToCloudEvent(ValidNotification notification, QueueInvocation invocation) => new()
    {
        Id = notification.DeliveryId,
        Source = new Uri(notification.Source, UriKind.RelativeOrAbsolute),
        Type = notification.Type,
        Subject = notification.Subject,
        Time = notification.Time ?? invocation.Metadata.InsertionTime ?? time.GetUtcNow(),
        DataContentType = notification.DataContentType,
        Data = notification.Data,
    };

    private async Task<(int? StatusCode, string? Error)> PostAsync(
        ValidNotification notification, ReadOnlyMemory<byte> body, ContentType contentType, IReadOnlyList<string> signingSecrets, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, notification.Url) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType.ToString());
        var timestamp = time.GetUtcNow();
        request.Headers.Add(StandardWebhookSignature.IdHeader, notification.DeliveryId);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(notification.DeliveryId, timestamp, body.Span, signingSecrets));

        var timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? (status, null)
                : (status, $"subscriber '{notification.Subscriber}' answered HTTP {status} ({response.ReasonPhrase})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"subscriber '{notification.Subscriber}' did not answer within {timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            return (null, $"could not reach subscriber '{notification.Subscriber}': {e.HttpRequestError}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered notification {DeliveryId} to subscriber {Subscriber} ({Type}), HTTP {StatusCode}")]
    private partial void LogDelivered(string deliveryId, string subscriber, string type, int statusCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification {DeliveryId} was already delivered; skipping")]
    private partial void LogAlreadyDelivered(string deliveryId);
}
