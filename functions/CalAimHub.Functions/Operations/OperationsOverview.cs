using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;
using Azure.Data.Tables;

namespace CalAimHub.Functions.Operations;

/// <summary>
/// What the operations page shows, from what the runtime already keeps: queue properties, and the
/// <c>WorkflowIndex</c> rows (status and next deadline of every instance) — never a scan of the Workflows table. Only
/// the listed instances are read (one point read each) for their failure reason or the name of the clock that is due.
/// </summary>
public sealed class OperationsOverview(PoisonQueues poisonQueues, FunctionAppDefinition app, WorkflowRuntime runtime)
{
    /// <summary>Failed and overdue instances listed on the page (oldest first is not guaranteed: the index is keyed by type and id).</summary>
    public const int MaxListed = 50;

    public async Task<OperationsView> ReadAsync(CancellationToken cancellationToken)
    {
        var now = runtime.Clock.GetUtcNow(); // the workflow clock: deadlines are on its time
        var depths = poisonQueues.DepthsAsync(app.Storage.Queues, cancellationToken);
        var failed = runtime.Store.IndexWhereAsync(TableClient.CreateQueryFilter($"Status eq {nameof(WorkflowRuntimeStatus.Failed)}"), MaxListed, cancellationToken);
        var overdue = runtime.Store.IndexWhereAsync(
            TableClient.CreateQueryFilter($"Deadline lt {now} and (Status eq {nameof(WorkflowRuntimeStatus.Running)} or Status eq {nameof(WorkflowRuntimeStatus.Pending)} or Status eq {nameof(WorkflowRuntimeStatus.Suspended)})"),
            MaxListed, cancellationToken);

        var failedInstances = new List<FailedInstance>();
        foreach (var entry in await failed)
        {
            var instance = await runtime.GetAsync(entry.InstanceId, cancellationToken);
            failedInstances.Add(new FailedInstance(entry.Type, entry.InstanceId, instance?.Reason, entry.LastUpdatedTime, ConsoleLinks.Item(entry.Type, entry.InstanceId)));
        }

        var overdueInstances = new List<DeadlineItem>();
        foreach (var entry in await overdue)
        {
            var instance = await runtime.GetAsync(entry.InstanceId, cancellationToken);
            var due = entry.NextDeadline!.Value;
            var clock = instance?.Timers.FirstOrDefault(t => t.Value == due).Key ?? "next-deadline";
            overdueInstances.Add(new DeadlineItem(entry.Type, entry.InstanceId, entry.InstanceId, clock, due, true, ConsoleLinks.Item(entry.Type, entry.InstanceId)));
        }

        return new OperationsView(await depths, failedInstances, [.. overdueInstances.OrderBy(d => d.DueAt)]);
    }
}

/// <summary>The console's hash routes (consoleui serves them).</summary>
public static class ConsoleLinks
{
    public static string Item(string workflowType, string id) => workflowType switch
    {
        CalAimHub.Domain.Authorizations.AuthorizationWorkflow.TypeName => $"#/authorizations/{Uri.EscapeDataString(id)}",
        CalAimHub.Domain.Referrals.ReferralWorkflow.TypeName => "#/referrals",
        _ => "#/operations",
    };
}
