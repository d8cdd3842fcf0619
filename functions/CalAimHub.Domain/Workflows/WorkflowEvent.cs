using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Workflows;

/// <summary>Something that happened to a workflow instance, as recorded in its history.</summary>
/// <param name="EventId">Idempotency key: a second event with the same id is acknowledged and changes nothing.</param>
/// <param name="Name">Event name: <see cref="Started"/>, <see cref="TimerFired"/> or an external name.</param>
/// <param name="Data">Event payload (JSON); <c>null</c> when the event carries none.</param>
/// <param name="RecordedAt">When the runtime recorded the event; deterministic input for Evolve.</param>
public sealed record WorkflowEvent(
    [property: JsonPropertyName("eventId")] string EventId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("data")] JsonElement? Data,
    [property: JsonPropertyName("recordedAt")] DateTimeOffset RecordedAt)
{
    /// <summary>The signed-in staff member who caused the event (null for partners, timers and the runtime itself).</summary>
    [JsonPropertyName("by")]
    public WorkflowActor? By { get; init; }

    /// <summary>First event of every instance; its data is the start input.</summary>
    public const string Started = "started";

    /// <summary>A durable timer is due; data is <see cref="TimerFiredData"/>.</summary>
    public const string TimerFired = "timer-fired";

    /// <summary>The timer id when this is a <see cref="TimerFired"/> event, else <c>null</c>.</summary>
    [JsonIgnore]
    public string? TimerId => Name == TimerFired && Data is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("timerId", out var id)
        ? id.GetString()
        : null;

    /// <summary>Reads the payload as <typeparamref name="T"/> (camelCase JSON); <c>default</c> when there is none.</summary>
    public T? DataAs<T>() => Data is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } d
        ? d.Deserialize<T>(WorkflowJson.Options)
        : default;

    public static WorkflowEvent ForTimer(string eventId, string timerId, DateTimeOffset dueAt, DateTimeOffset recordedAt) =>
        new(eventId, TimerFired, WorkflowJson.ToElement(new TimerFiredData(timerId, dueAt)), recordedAt);
}

/// <summary>Who did something to an instance: the principal's display name and its Entra object id, as App Service authentication reported them.</summary>
public sealed record WorkflowActor(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("objectId")] string? ObjectId);

/// <summary>Payload of <see cref="WorkflowEvent.TimerFired"/>.</summary>
public sealed record TimerFiredData(
    [property: JsonPropertyName("timerId")] string TimerId,
    [property: JsonPropertyName("dueAt")] DateTimeOffset DueAt);

/// <summary>The JSON conventions of workflow state, events and actions: camelCase, web defaults.</summary>
public static class WorkflowJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Any value as a detached JSON element (for action and event data).</summary>
    public static JsonElement ToElement<T>(T value) => JsonSerializer.SerializeToElement(value, Options);
}
