using System.ComponentModel;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Operations;

/// <summary>The operations page: queue and poison depths, failed instances, instances past their next deadline.</summary>
public sealed record OperationsView(
    IReadOnlyList<QueueDepth> Queues,
    IReadOnlyList<FailedInstance> FailedInstances,
    IReadOnlyList<DeadlineItem> OverdueInstances);

/// <param name="Reason">What the runtime recorded when the instance failed (decider type, version, event name; never member data).</param>
/// <param name="Since">When it failed (its last update).</param>
/// <param name="Link">The console route of the item.</param>
public sealed record FailedInstance(string WorkflowType, string InstanceId, string? Reason, DateTimeOffset Since, string Link);

/// <summary>One deadline of one workflow item, as every console list shows it.</summary>
/// <param name="ItemId">The domain id (the authorization or referral id; the instance id for other types).</param>
/// <param name="Deadline">The clock that is due: the instance's timer id, e.g. <c>decision</c>.</param>
public sealed record DeadlineItem(string WorkflowType, string InstanceId, string ItemId, string Deadline, DateTimeOffset DueAt, bool Breached, string Link);

/// <summary>The oldest messages of a poison queue, described without their content.</summary>
public sealed record PoisonMessageList(string Queue, IReadOnlyList<PoisonMessageView> Items);

/// <param name="Reason">The failure the handler recorded with the message; null when the host copied a raw body.</param>
/// <param name="Summary">Which function gave up, after how many attempts and when; never the message content.</param>
public sealed record PoisonMessageView(string MessageId, DateTimeOffset? InsertedAt, int DequeueCount, string? Reason, string Summary);

public sealed record PoisonReplayAccepted(string Queue, string MessageId, [property: Description("The queue the message went back to.")] string ReplayedTo);

/// <summary>The signed-in staff member and the hub roles the sign-in carries.</summary>
public sealed record StaffMember(string Name, IReadOnlyList<string> Roles);
