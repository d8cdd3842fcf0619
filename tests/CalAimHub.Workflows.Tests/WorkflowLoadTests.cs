using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// How an instance is loaded: by key, never by a query (Azurite scans the whole table for every query, so a query-based
/// load slowed every event as the table grew), and a duplicate answered with the state its event produced.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkflowLoadTests(AzuriteFixture azurite)
{
    private static WorkflowDefinition Approval() => WorkflowDefinition.From(new ApprovalWorkflow(TimeSpan.FromHours(1), TimeSpan.FromSeconds(1)));

    [Fact]
    public async Task Starting_raising_and_reading_an_instance_reads_its_rows_by_key_and_never_queries_the_table()
    {
        var (plain, queues) = await azurite.NewRuntimeStorageAsync();
        var recorder = new TableRequests(plain.Workflows.Name);
        var store = new WorkflowStore(azurite.TableThrough(plain.Workflows.Name, recorder), plain.Index);
        var h = new WorkflowRuntime(store, new WorkflowRegistry([Approval()], []), queues, new RecordingNotifier(), TimeProvider.System, new WorkflowOptions().AsOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<WorkflowRuntime>.Instance);

        await h.StartAsync("approval", "inst-load-1", null, CancellationToken.None);
        await h.RaiseEventAsync("inst-load-1", "approved", null, "evt-1", CancellationToken.None);
        var duplicate = await h.RaiseEventAsync("inst-load-1", "approved", null, "evt-1", CancellationToken.None);
        var read = await h.GetAsync("inst-load-1", CancellationToken.None);

        Assert.Equal(ApplyOutcome.AlreadyApplied, duplicate.Outcome);
        Assert.NotNull(read);
        var gets = recorder.Gets.ToArray();
        Assert.NotEmpty(gets);
        Assert.All(gets, g => Assert.Contains($"/{plain.Workflows.Name}(PartitionKey='inst-load-1',RowKey='", g, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_duplicate_whose_state_was_read_before_its_event_committed_is_answered_with_the_state_after_it()
    {
        var (plain, queues) = await azurite.NewRuntimeStorageAsync();
        var gate = new DedupeReadGate();
        var gated = new WorkflowStore(azurite.TableThrough(plain.Workflows.Name, gate), plain.Index);
        var registry = new WorkflowRegistry([Approval()], []);
        var other = new WorkflowRuntime(plain, registry, queues, new RecordingNotifier(), TimeProvider.System, new WorkflowOptions().AsOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<WorkflowRuntime>.Instance);
        var started = await other.StartAsync("approval", "inst-load-2", null, CancellationToken.None);

        // The load reads the state (before the event) and is held at its dedupe read; another process commits the event;
        // then the dedupe read finds the event's row.
        var load = gated.LoadAsync("inst-load-2", "evt-race", CancellationToken.None);
        await Task.WhenAll(gate.Reached.Task, gate.StateAnswered.Task).WaitAsync(TimeSpan.FromSeconds(30));
        var committed = await other.RaiseEventAsync("inst-load-2", "approved", null, "evt-race", CancellationToken.None);
        gate.Open.SetResult();
        var (stored, duplicate) = await load;

        Assert.True(duplicate);
        Assert.Equal(ApplyOutcome.Applied, committed.Outcome);
        Assert.Equal(started.Instance.Seq + 1, committed.Instance!.Seq);
        Assert.Equal(committed.Instance.Seq, stored!.Instance.Seq);
        Assert.Equal(committed.Instance.Status, stored.Instance.Status);
    }

    /// <summary>Records the path and query of every GET to one table.</summary>
    private sealed class TableRequests(string table) : HttpPipelinePolicy
    {
        public ConcurrentQueue<string> Gets { get; } = new();

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.Contains("/" + table, StringComparison.Ordinal))
            {
                Gets.Enqueue(Uri.UnescapeDataString(message.Request.Uri.PathAndQuery));
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    /// <summary>Holds the first read of a dedupe row (<c>RowKey='d:…'</c>) until opened; says when the first state read was answered.</summary>
    private sealed class DedupeReadGate : HttpPipelinePolicy
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource StateAnswered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var path = Uri.UnescapeDataString(message.Request.Uri.Path);
            if (message.Request.Method == RequestMethod.Get && path.Contains("RowKey='d", StringComparison.Ordinal) && Reached.TrySetResult())
            {
                await Open.Task;
            }

            await ProcessNextAsync(message, pipeline);
            if (message.Request.Method == RequestMethod.Get && path.Contains("RowKey='state'", StringComparison.Ordinal))
            {
                StateAnswered.TrySetResult();
            }
        }
    }
}
