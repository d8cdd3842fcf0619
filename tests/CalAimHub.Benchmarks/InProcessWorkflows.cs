using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Domain.Workflows;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// The workflow runtime wired as the handler wires it, but in this process with its own tables and queues (named after
/// <c>name</c>), plus in-process receive loops playing the <c>WorkflowTimers</c> function. The two workflow benchmarks
/// use it as their like-for-like baseline or subject; notices go nowhere.
/// </summary>
internal sealed class InProcessWorkflows : IAsyncDisposable
{
    /// <summary>How many timer messages the consumers handle at once (receive loops fetch 32 at a time).</summary>
    private const int MaxTimersInFlight = 48;

    private readonly QueueClient _timers;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _inFlight = new(MaxTimersInFlight);
    private Task[] _consumers = [];

    private InProcessWorkflows(WorkflowRuntime runtime, WorkflowTriggers triggers, QueueClient timers)
    {
        Runtime = runtime;
        Triggers = triggers;
        _timers = timers;
    }

    public WorkflowRuntime Runtime { get; }

    public WorkflowTriggers Triggers { get; }

    public static async Task<InProcessWorkflows> CreateAsync<TState>(
        TableServiceClient tables, QueueServiceClient queues, string name, IWorkflowDecider<TState> decider, WorkflowOptions settings)
        where TState : notnull
    {
        var workflows = tables.GetTableClient("Workflows" + name);
        var index = tables.GetTableClient("WorkflowIndex" + name);
        var work = queues.GetQueueClient("workflow-work-" + name.ToLowerInvariant());
        var timers = queues.GetQueueClient("workflow-timers-" + name.ToLowerInvariant());
        await workflows.CreateIfNotExistsAsync();
        await index.CreateIfNotExistsAsync();
        await work.CreateIfNotExistsAsync();
        await timers.CreateIfNotExistsAsync();
        var options = settings.AsOptions();
        var workflowQueues = new WorkflowQueues(work, timers);
        var runtime = new WorkflowRuntime(
            new WorkflowStore(workflows, index), new WorkflowRegistry([WorkflowDefinition.From(decider)]), workflowQueues,
            new NoNotices(), TimeProvider.System, options, NullLogger<WorkflowRuntime>.Instance);
        var triggers = new WorkflowTriggers(runtime, workflowQueues, TimeProvider.System, options, NullLogger<WorkflowTriggers>.Instance, TimeProvider.System);
        return new InProcessWorkflows(runtime, triggers, timers);
    }

    /// <summary>
    /// Starts <paramref name="loops"/> receive loops on the timer queue; each message is handled as soon as it arrives,
    /// then deleted, then given to <paramref name="handled"/>. Idle loops poll every 50 ms (the Functions host's poller
    /// backs off to <c>maxPollingInterval</c> instead: that difference is what the hub benchmark measures).
    /// </summary>
    public void ConsumeTimers(int loops, Func<TimerHandling, Task> handled) =>
        ConsumeTimers(loops, (handling, _) => handled(handling));

    /// <summary><see cref="ConsumeTimers(int, Func{TimerHandling, Task})"/>, also told when the handler got each message.</summary>
    public void ConsumeTimers(int loops, Func<TimerHandling, DateTimeOffset, Task> handled) =>
        _consumers = [.. Enumerable.Range(0, loops).Select(_ => Task.Run(() => ReceiveLoopAsync(handled)))];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_consumers);
        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync(Func<TimerHandling, DateTimeOffset, Task> handled)
    {
        while (!_stop.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = await _timers.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (messages.Length == 0)
            {
                await Task.Delay(50, CancellationToken.None);
                continue;
            }

            foreach (var message in messages)
            {
                await _inFlight.WaitAsync(CancellationToken.None);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        var received = DateTimeOffset.UtcNow;
                        var handling = await Triggers.HandleTimerAsync(message.Body.ToString(), CancellationToken.None);
                        // Reported before the delete: a message that waited here past its visibility timeout has been
                        // received again (its second handling dedupes), so this delete fails, and the commit must still count.
                        await handled(handling, received);
                        await _timers.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
                    }
                    catch (Azure.RequestFailedException e) when (e.Status == 404)
                    {
                        // See above: the redelivered copy is deleted by whoever handles it.
                    }
                    finally
                    {
                        _inFlight.Release();
                    }
                });
            }
        }
    }
}
