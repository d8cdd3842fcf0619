using System.Text.Json;
using System.Text.Json.Serialization;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>The deciders of this deployment, by workflow type; one (the current) definition version per type.</summary>
public sealed class WorkflowRegistry
{
    private readonly Dictionary<string, WorkflowDefinition> definitions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkflowProjection[]> projections;

    public WorkflowRegistry(IEnumerable<WorkflowDefinition> definitions, IEnumerable<WorkflowProjection>? projections = null)
    {
        foreach (var definition in definitions)
        {
            if (definition.Type.Contains(WorkflowStore.IndexShardSeparator, StringComparison.Ordinal))
            {
                // The index keys a type's rows by "{type}|{shard}": such a name could meet another type's partitions.
                throw new InvalidOperationException($"workflow type '{definition.Type}' holds '{WorkflowStore.IndexShardSeparator}', which separates a type from its index shard; choose another name");
            }

            if (!this.definitions.TryAdd(definition.Type, definition))
            {
                throw new InvalidOperationException($"workflow type '{definition.Type}' is registered twice (versions {this.definitions[definition.Type].Version} and {definition.Version}); register only the current version and migrate older states");
            }
        }

        this.projections = (projections ?? []).GroupBy(p => p.WorkflowType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        if (this.projections.Keys.FirstOrDefault(t => !this.definitions.ContainsKey(t)) is { } orphan)
        {
            throw new InvalidOperationException($"projection '{this.projections[orphan][0].Name}' is registered for workflow type '{orphan}', which has no decider");
        }
    }

    public IReadOnlyCollection<string> Types => definitions.Keys;

    /// <summary>Every registered projection (rebuild).</summary>
    public IEnumerable<WorkflowProjection> Projections => projections.Values.SelectMany(p => p);

    /// <summary>The projections kept from instances of <paramref name="type"/>.</summary>
    public IReadOnlyList<WorkflowProjection> ProjectionsOf(string type) => projections.GetValueOrDefault(type) ?? [];

    public WorkflowDefinition? Find(string type) => definitions.GetValueOrDefault(type);
}

/// <summary>Sends a workflow's notices. The Functions app implements it with its <c>notifications</c> queue.</summary>
public interface IWorkflowNotifier
{
    /// <param name="deliveryId">Deterministic: the same notice always gets the same id.</param>
    Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken);
}

/// <summary>A message on <c>workflow-work</c>: one event for one instance.</summary>
public sealed record WorkflowWorkMessage(
    [property: JsonPropertyName("instanceId")] string InstanceId,
    [property: JsonPropertyName("eventId")] string EventId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("data")] JsonElement? Data);

/// <summary>A message on <c>workflow-timers</c>: delivered (visible) no earlier than its due time, or re-armed.</summary>
public sealed record WorkflowTimerMessage(
    [property: JsonPropertyName("instanceId")] string InstanceId,
    [property: JsonPropertyName("timerId")] string TimerId,
    [property: JsonPropertyName("dueAt")] DateTimeOffset DueAt);
