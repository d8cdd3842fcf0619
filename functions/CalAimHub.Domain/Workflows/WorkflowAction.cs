using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Workflows;

/// <summary>
/// What a decider asks the runtime to do. Actions that change the instance row (status, deadline, completion,
/// timers) are applied in the same commit as the event; actions that leave the partition (notices, child starts,
/// events to other instances) go to the outbox and are dispatched after the commit with a deterministic id.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(ScheduleTimer), "scheduleTimer")]
[JsonDerivedType(typeof(CancelTimer), "cancelTimer")]
[JsonDerivedType(typeof(SendNotification), "sendNotification")]
[JsonDerivedType(typeof(StartChildWorkflow), "startChildWorkflow")]
[JsonDerivedType(typeof(RaiseWorkflowEvent), "raiseWorkflowEvent")]
[JsonDerivedType(typeof(SetCustomStatus), "setCustomStatus")]
[JsonDerivedType(typeof(SetNextDeadline), "setNextDeadline")]
[JsonDerivedType(typeof(CompleteWorkflow), "completeWorkflow")]
[JsonDerivedType(typeof(FailWorkflow), "failWorkflow")]
public abstract record WorkflowAction;

/// <summary>Arms durable timer <paramref name="TimerId"/> for <paramref name="DueAt"/>; an armed timer with the same id is superseded.</summary>
/// <remarks>The timer arrives as a <see cref="WorkflowEvent.TimerFired"/> event no earlier than <paramref name="DueAt"/>.</remarks>
public sealed record ScheduleTimer(
    [property: JsonPropertyName("timerId")] string TimerId,
    [property: JsonPropertyName("dueAt")] DateTimeOffset DueAt) : WorkflowAction;

/// <summary>Disarms timer <paramref name="TimerId"/>; its message may still arrive and is dropped.</summary>
public sealed record CancelTimer(
    [property: JsonPropertyName("timerId")] string TimerId) : WorkflowAction;

/// <summary>Sends a CloudEvent to a partner through the Notify function.</summary>
/// <param name="ActionKey">Unique per logical notice within the instance; the delivery id (CloudEvent id, webhook-id) derives from instance id + key.</param>
/// <param name="Type">CloudEvent type, e.g. <c>calaim.authorization.decided</c>.</param>
/// <param name="Subscriber">Configured subscriber whose secrets sign the delivery.</param>
/// <param name="Url">Endpoint; <c>null</c> = the subscriber's configured URL (<c>Notifications:Subscribers:{id}:Url</c>).</param>
/// <param name="Subject">CloudEvent subject: an id, never member data.</param>
/// <param name="Data">Payload: ids and statuses only, no PHI.</param>
public sealed record SendNotification(
    [property: JsonPropertyName("actionKey")] string ActionKey,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("subscriber")] string Subscriber,
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("subject")] string? Subject,
    [property: JsonPropertyName("data")] JsonElement? Data) : WorkflowAction;

/// <summary>Starts another workflow instance (idempotent: an existing instance with that id is left as it is).</summary>
public sealed record StartChildWorkflow(
    [property: JsonPropertyName("instanceId")] string InstanceId,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("input")] JsonElement? Input) : WorkflowAction;

/// <summary>Raises event <paramref name="EventName"/> on another instance; its event id derives from this instance id + <paramref name="ActionKey"/>.</summary>
public sealed record RaiseWorkflowEvent(
    [property: JsonPropertyName("actionKey")] string ActionKey,
    [property: JsonPropertyName("instanceId")] string InstanceId,
    [property: JsonPropertyName("eventName")] string EventName,
    [property: JsonPropertyName("data")] JsonElement? Data) : WorkflowAction;

/// <summary>Replaces the instance's custom status (shown by the management API; no PHI; at most 16 KiB of JSON).</summary>
public sealed record SetCustomStatus(
    [property: JsonPropertyName("status")] JsonElement? Status) : WorkflowAction;

/// <summary>Sets the next deadline shown in listings and filterable with <c>deadlineBefore</c>; <c>null</c> clears it.</summary>
public sealed record SetNextDeadline(
    [property: JsonPropertyName("deadline")] DateTimeOffset? Deadline) : WorkflowAction;

/// <summary>Ends the instance as Completed with <paramref name="Output"/>; armed timers are disarmed.</summary>
public sealed record CompleteWorkflow(
    [property: JsonPropertyName("output")] JsonElement? Output) : WorkflowAction;

/// <summary>Ends the instance as Failed with a reason (no PHI: it is shown to operators).</summary>
public sealed record FailWorkflow(
    [property: JsonPropertyName("reason")] string Reason) : WorkflowAction;

/// <summary>Lifecycle of an instance, named as in Durable Functions' <c>runtimeStatus</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WorkflowRuntimeStatus>))]
public enum WorkflowRuntimeStatus
{
    Pending,
    Running,
    Completed,
    Failed,
    Terminated,
    Suspended,
}
