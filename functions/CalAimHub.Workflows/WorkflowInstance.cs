using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>The state row of one instance, as loaded from and committed to its partition.</summary>
/// <param name="Seq">Number of history rows; the next event becomes history row <c>Seq + 1</c>.</param>
/// <param name="Timers">Armed timers: id → due time. A timer message that does not match is stale and dropped.</param>
/// <param name="Held">Events that arrived while Suspended, applied in order on resume.</param>
public sealed record WorkflowInstance(
    string InstanceId,
    string Type,
    int Version,
    WorkflowRuntimeStatus Status,
    long Seq,
    JsonElement? State,
    JsonElement? Input,
    JsonElement? Output,
    JsonElement? CustomStatus,
    string? Reason,
    DateTimeOffset CreatedTime,
    DateTimeOffset LastUpdatedTime,
    DateTimeOffset? NextDeadline,
    ImmutableSortedDictionary<string, DateTimeOffset> Timers,
    ImmutableList<WorkflowEvent> Held)
{
    public bool IsTerminal => Status is WorkflowRuntimeStatus.Completed or WorkflowRuntimeStatus.Failed or WorkflowRuntimeStatus.Terminated;

    public static WorkflowInstance New(string instanceId, string type, int version, JsonElement? input, DateTimeOffset now) => new(
        instanceId, type, version, WorkflowRuntimeStatus.Pending, 0, null, input, null, null, null, now, now, null,
        ImmutableSortedDictionary<string, DateTimeOffset>.Empty.WithComparers(StringComparer.Ordinal), []);
}

/// <summary>One history row: an event and what the decider did with it (the audit record of the transition).</summary>
public sealed record WorkflowHistoryEntry(
    [property: JsonPropertyName("seq")] long Seq,
    [property: JsonPropertyName("eventId")] string EventId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("data")] JsonElement? Data,
    [property: JsonPropertyName("recordedAt")] DateTimeOffset RecordedAt,
    [property: JsonPropertyName("actions")] IReadOnlyList<WorkflowAction> Actions)
{
    /// <summary>The staff member who raised the event (decisions, repairs); absent for partners, timers and the runtime.</summary>
    [JsonPropertyName("by")]
    public WorkflowActor? By { get; init; }
}

/// <summary>
/// Work that leaves the partition after a commit. Stored in the outbox row of that commit and removed once done;
/// every item has a deterministic id so a re-dispatch (sweeper, retry) is deduplicated by its receiver.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(ArmTimer), "armTimer")]
[JsonDerivedType(typeof(DeliverNotice), "notice")]
[JsonDerivedType(typeof(StartChild), "startChild")]
[JsonDerivedType(typeof(SendEvent), "sendEvent")]
[JsonDerivedType(typeof(ProjectReadModels), "projection")]
[JsonDerivedType(typeof(StartBatch), "startBatch")]
public abstract record OutboundWork;

public sealed record ArmTimer(string TimerId, DateTimeOffset DueAt) : OutboundWork;

public sealed record DeliverNotice(string DeliveryId, SendNotification Notice, DateTimeOffset Time) : OutboundWork;

public sealed record StartChild(string ParentInstanceId, StartChildWorkflow Start) : OutboundWork;

public sealed record SendEvent(string EventId, RaiseWorkflowEvent Event) : OutboundWork;

/// <summary>The read-model updates of the commit (<see cref="WorkflowProjection"/>); each is versioned, so a re-dispatch is a no-op.</summary>
public sealed record ProjectReadModels(IReadOnlyList<ProjectionUpdate> Updates) : OutboundWork;

/// <summary>
/// The one outbox row of a batch start (<see cref="WorkflowRuntime.StartManyAsync"/>): its instances' commits carry no outbox
/// row of their own; each keeps its start's work on its start dedupe row, and this row, written before the commits and
/// removed after their dispatch, tells the sweeper whose start work to dispatch again after a crash.
/// </summary>
public sealed record StartBatch(string Type, IReadOnlyList<string> InstanceIds) : OutboundWork;
