using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Hosting.Invocations;

/// <summary>
/// A message that failed its last allowed attempt, as the handler writes it to <c>&lt;queue&gt;-poison</c>: the original
/// text plus why it failed. (The Functions host's own poison copy carries only the body; the handler writes this one
/// first so an operator sees the reason. A raw body in a poison queue means the handler itself could not answer.)
/// </summary>
public sealed record DeadLetter(
    [property: JsonPropertyName("function")] string Function,
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("messageId")] string? MessageId,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("failedAt")] DateTimeOffset FailedAt,
    [property: JsonPropertyName("message")] string Message)
{
    public const string Marker = "calaimhub.deadletter.v1";

    [JsonPropertyName("kind")]
    public string Kind => Marker;

    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>
    /// The original message of a poison entry: the dead letter's message, or the raw body the host copied, without the
    /// header of a handed-back copy (<see cref="HandedBackMessage"/>). The host moves the message as queued, header and
    /// all, when the handler did not answer its last delivery; the header is the hub's own plumbing, not the message, and
    /// its first-queued time must not outlive a replay: a replayed message is a new arrival and queues as one.
    /// </summary>
    public static string OriginalMessage(string poisonText) => TryParse(poisonText)?.Message ?? HandedBackMessage.Read(poisonText).Body;

    public static DeadLetter? TryParse(string poisonText)
    {
        if (!poisonText.Contains(Marker, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(poisonText);
            return document.RootElement.TryGetProperty("kind", out var kind) && kind.GetString() == Marker
                ? document.RootElement.Deserialize<DeadLetter>()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
