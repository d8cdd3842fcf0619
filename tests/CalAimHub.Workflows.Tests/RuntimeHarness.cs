using System.Collections.Concurrent;
using Azure.Storage.Queues.Models;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Workflows.Tests;

/// <summary>A runtime on fresh Azurite tables and queues, with an idempotent recording receiver for notices.</summary>
public sealed class RuntimeHarness
{
    private RuntimeHarness(WorkflowStore store, WorkflowQueues queues, RecordingNotifier notifier, WorkflowOptions options, TimeProvider time, params WorkflowDefinition[] definitions)
        : this(store, queues, notifier, options, time, null, [], definitions)
    {
    }

    private RuntimeHarness(WorkflowStore store, WorkflowQueues queues, RecordingNotifier notifier, WorkflowOptions options, TimeProvider time, ReadModelStore? readModels, WorkflowProjection[] projections, params WorkflowDefinition[] definitions)
    {
        ReadModels = readModels;
        Store = store;
        Queues = queues;
        Notifier = notifier;
        Options = options;
        Registry = new WorkflowRegistry(definitions, projections);
        Runtime = new WorkflowRuntime(store, Registry, queues, notifier, time, options.AsOptions(), NullLogger<WorkflowRuntime>.Instance, readModels);
        Triggers = new WorkflowTriggers(Runtime, queues, time, options.AsOptions(), NullLogger<WorkflowTriggers>.Instance, TimeProvider.System);
    }

    public WorkflowStore Store { get; }
    public WorkflowRegistry Registry { get; }
    public ReadModelStore? ReadModels { get; }
    public WorkflowQueues Queues { get; }
    public RecordingNotifier Notifier { get; }
    public WorkflowOptions Options { get; }
    public WorkflowRuntime Runtime { get; }
    public WorkflowTriggers Triggers { get; }

    public static async Task<RuntimeHarness> CreateAsync(AzuriteFixture azurite, WorkflowOptions? options = null, TimeProvider? time = null, params WorkflowDefinition[] definitions)
    {
        var (store, queues) = await azurite.NewRuntimeStorageAsync();
        return new RuntimeHarness(store, queues, new RecordingNotifier(), options ?? new WorkflowOptions(), time ?? TimeProvider.System, definitions);
    }

    /// <summary>A runtime that keeps <paramref name="projections"/> in <paramref name="readModels"/>.</summary>
    public static async Task<RuntimeHarness> CreateAsync(AzuriteFixture azurite, ReadModelStore readModels, WorkflowProjection[] projections, params WorkflowDefinition[] definitions)
    {
        var (store, queues) = await azurite.NewRuntimeStorageAsync();
        return new RuntimeHarness(store, queues, new RecordingNotifier(), new WorkflowOptions(), TimeProvider.System, readModels, projections, definitions);
    }

    /// <summary>Another process on the same storage (another handler instance, or the next deployment).</summary>
    public RuntimeHarness SameStorage(TimeProvider? time = null, params WorkflowDefinition[] definitions) =>
        new(Store, Queues, Notifier, Options, time ?? TimeProvider.System, definitions);

    /// <summary>Another process on the same storage, reaching the workflow tables through <paramref name="store"/> (clients that watch or fail requests).</summary>
    public RuntimeHarness Through(WorkflowStore store, params WorkflowDefinition[] definitions) =>
        new(store, Queues, Notifier, Options, TimeProvider.System, definitions);

    /// <summary>Plays the WorkflowTimers function: receives due timer messages and handles them until <paramref name="until"/> says stop.</summary>
    public async Task<List<string>> RunTimersAsync(Func<Task<bool>> until, TimeSpan timeout)
    {
        var log = new List<string>();
        using var cts = new CancellationTokenSource(timeout);
        while (!await until())
        {
            QueueMessage[] messages = await Queues.Timers.ReceiveMessagesAsync(16, TimeSpan.FromSeconds(30), cts.Token);
            foreach (var message in messages)
            {
                log.Add(await Triggers.FireTimerAsync(message.Body.ToString(), cts.Token));
                await Queues.Timers.DeleteMessageAsync(message.MessageId, message.PopReceipt, cts.Token);
            }

            if (messages.Length == 0)
            {
                await Task.Delay(50, cts.Token);
            }
        }

        return log;
    }
}

/// <summary>An idempotent receiver: counts deliveries per delivery id; can be told to fail (a crash before dispatch).</summary>
public sealed class RecordingNotifier : IWorkflowNotifier
{
    public ConcurrentDictionary<string, int> Deliveries { get; } = new();
    public ConcurrentQueue<SendNotification> Notices { get; } = new();
    public int FailuresLeft { get; set; }

    public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken)
    {
        if (FailuresLeft > 0)
        {
            FailuresLeft--;
            throw new IOException("simulated crash between commit and dispatch");
        }

        if (Deliveries.AddOrUpdate(deliveryId, 1, (_, n) => n + 1) == 1)
        {
            Notices.Enqueue(notice);
        }

        return Task.CompletedTask;
    }
}
