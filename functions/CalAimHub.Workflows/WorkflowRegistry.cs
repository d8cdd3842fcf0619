using System.Text.Json;
using System.Text.Json.Serialization;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>The deciders of this deployment, by workflow type; one (the current) definition version per type.</summary>
public sealed class WorkflowRegistry
{
    private readonly Dictionary<string, WorkflowDefinition> definitions = new(StringComparer.Ordinal);

    public WorkflowRegistry(IEnumerable<WorkflowDefinition> definitions)
    {
        foreach (var definition in definitions)
        {
            if (!this.definitions.TryAdd(definition.Type, definition))
            {
                throw new InvalidOperationException($"workflow type '{definition.Type}' is registered twice (versions {this.definitions[definition.Type].Version} and {definition.Version}); register only the current version and migrate older states");
            }
        }
    }

    public IReadOnlyCollection<string> Types => definitions.Keys;

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
