using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CalAimHub.Workflows;

public static class WorkflowServiceCollectionExtensions
{
    /// <summary>
    /// The runtime on the hub's storage account (needs a <see cref="StorageAccount"/> and an
    /// <see cref="IWorkflowNotifier"/> registered). Options come from configuration section <c>Workflows</c>.
    /// </summary>
    public static IServiceCollection AddWorkflowRuntime(this IServiceCollection services)
    {
        services.AddOptions<WorkflowOptions>().BindConfiguration("Workflows");
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton<TimeProvider>(WorkflowClock.Key, (sp, _) => sp.GetRequiredService<TimeProvider>());
        services.AddSingleton(sp =>
        {
            var tables = sp.GetRequiredService<StorageAccount>().Tables;
            return new WorkflowStore(tables.GetTableClient(WorkflowOptions.TableName), tables.GetTableClient(WorkflowOptions.IndexTableName));
        });
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<StorageAccount>();
            return new WorkflowQueues(
                storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName), storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName),
                storage.Tables.GetTableClient(WorkflowOptions.ParkedTimersTableName));
        });
        services.AddSingleton(sp => new WorkflowRegistry(sp.GetServices<WorkflowDefinition>(), sp.GetServices<WorkflowProjection>()));
        services.AddSingleton(sp => new ReadModelStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddSingleton<ReadModelRebuild>();
        // One key for every list route's continuation tokens (workflows, referrals…): see ListContinuation.
        services.TryAddSingleton(sp => ListContinuation.FromConfiguration(sp.GetService<IConfiguration>() ?? new ConfigurationBuilder().Build()));
        services.AddSingleton<WorkflowRuntime>();
        services.AddSingleton<WorkflowTriggers>();
        services.AddWorkflowDecider(new WorkflowProbe());
        return services;
    }

    /// <summary>Registers a workflow type: <c>builder.Services.AddWorkflowDecider(new AuthorizationDecider(...));</c></summary>
    public static IServiceCollection AddWorkflowDecider<TState>(this IServiceCollection services, IWorkflowDecider<TState> decider)
        where TState : notnull =>
        services.AddSingleton(WorkflowDefinition.From(decider));

    /// <summary>Registers a workflow type built by DI (for deciders that take configuration, e.g. a holiday calendar).</summary>
    public static IServiceCollection AddWorkflowDecider<TDecider, TState>(this IServiceCollection services)
        where TDecider : class, IWorkflowDecider<TState>
        where TState : notnull
    {
        services.TryAddSingleton<TDecider>();
        return services.AddSingleton(sp => WorkflowDefinition.From<TState>(sp.GetRequiredService<TDecider>()));
    }

    /// <summary>Registers a read model kept from the instances of <paramref name="workflowType"/> (see <see cref="WorkflowProjection"/>).</summary>
    public static IServiceCollection AddWorkflowProjection<TState>(this IServiceCollection services, string workflowType, IWorkflowProjection<TState> projection)
        where TState : notnull =>
        services.AddSingleton(WorkflowProjection.From(workflowType, projection));

    /// <summary>Options as seen by the runtime, for code outside DI (benchmarks, tests).</summary>
    public static IOptions<WorkflowOptions> AsOptions(this WorkflowOptions options) => Options.Create(options);
}
