using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CalAimHub.Domain;
using CalAimHub.Functions.Invocations;

namespace CalAimHub.Functions.Notifications;

/// <summary>
/// A message on the <c>notifications</c> queue: what to tell whom. Every sender (authorization notices, referral
/// updates, file results) enqueues this shape; <see cref="NotifyFunction"/> turns it into a signed CloudEvent.
/// </summary>
/// <param name="DeliveryId">Stable id of this delivery: the CloudEvent id and <c>webhook-id</c>, so receivers can dedupe. Derived from the message when absent.</param>
/// <param name="Subscriber">Configured subscriber whose secrets sign the delivery.</param>
/// <param name="Url">Where to POST.</param>
/// <param name="Type">CloudEvent type, e.g. <c>calaimhub.referral.assigned</c>.</param>
/// <param name="Source">CloudEvent source.</param>
/// <param name="Subject">CloudEvent subject (an id, never member data).</param>
/// <param name="Time">When the event happened.</param>
/// <param name="Data">The event payload.</param>
/// <param name="DataContentType">The payload's media type (CloudEvent <c>datacontenttype</c>): <c>application/json</c> when
/// absent; any other JSON type (<c>application/*+json</c>, e.g. <c>application/fhir+json</c> for a FHIR notice) is allowed.</param>
public sealed record NotificationMessage(
    [property: JsonPropertyName("deliveryId")] string? DeliveryId,
    [property: JsonPropertyName("subscriber")] string? Subscriber,
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("subject")] string? Subject,
    [property: JsonPropertyName("time")] DateTimeOffset? Time,
    [property: JsonPropertyName("data")] JsonElement? Data,
    [property: JsonPropertyName("dataContentType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DataContentType = null)
{
    public const string DefaultSource = "/calaimhub";
    public const string JsonContentType = "application/json";

    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads and checks a queue message; a problem is a <see cref="FunctionFailure"/> naming the field and the fix.</summary>
    public static ValidNotification Parse(string text, bool requireHttps)
    {
        NotificationMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<NotificationMessage>(text);
        }
        catch (JsonException e)
        {
            // Only the position: the parser's own message can quote the offending text, which may be member data.
            throw new FunctionFailure($"notification message is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}); send a JSON object with subscriber, url, type and data");
        }

        if (message is null)
        {
            throw new FunctionFailure("notification message is JSON null; send a JSON object with subscriber, url, type and data");
        }

        var subscriber = Required(message.Subscriber, "subscriber", "the configured subscriber id whose secret signs the delivery");
        var urlText = Required(message.Url, "url", "the subscriber's absolute https endpoint");
        var type = Required(message.Type, "type", "a CloudEvent type such as calaimhub.referral.assigned");
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && (requireHttps || url.Scheme != Uri.UriSchemeHttp)))
        {
            throw new FunctionFailure(requireHttps
                ? "notification 'url' must be an absolute https URL"
                : "notification 'url' must be an absolute http or https URL");
        }

        var dataContentType = message.DataContentType is { Length: > 0 } given ? given.Trim() : JsonContentType;
        if (!IsJsonMediaType(dataContentType))
        {
            throw new FunctionFailure("notification 'dataContentType' must be a JSON media type: application/json or application/*+json (e.g. application/fhir+json)");
        }

        var deliveryId = message.DeliveryId is { Length: > 0 } id ? id : "ntf-" + StableHash.Hex(text, 16);
        return new ValidNotification(deliveryId, subscriber, url, type, message.Source is { Length: > 0 } s ? s : DefaultSource, message.Subject, message.Time, message.Data, dataContentType);
    }

    private static bool IsJsonMediaType(string mediaType) =>
        mediaType.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase)
        || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase) && !mediaType.Contains(';', StringComparison.Ordinal));

    private static string Required(string? value, string field, string hint) =>
        string.IsNullOrWhiteSpace(value) ? throw new FunctionFailure($"notification message has no '{field}'; set it to {hint}") : value;
}

/// <summary>A notification that passed <see cref="NotificationMessage.Parse"/>.</summary>
public sealed record ValidNotification(
    string DeliveryId, string Subscriber, Uri Url, string Type, string Source, string? Subject, DateTimeOffset? Time, JsonElement? Data,
    string DataContentType = NotificationMessage.JsonContentType);
