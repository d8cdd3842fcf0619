using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Domain.Workflows;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// The workflow runtime on Azurite, against a raw baseline in the same run:
/// (a) the same number of entity-group transactions (3 per instance, each state + history + dedupe + outbox rows,
///     the 2nd and 3rd guarded by the state ETag) written by a plain SDK loop with the same concurrency;
/// (b) the runtime driving N instances of start → event → 1 s durable timer → complete, with timer messages consumed
///     by in-process pollers (the role of the WorkflowTimers function).
/// Reports instances/s, ratio b/a, timer lateness and event-to-commit latency.
/// </summary>
public static class WorkflowsBenchmark
{
    private const int Concurrency = 32;
    private const int TimerPollers = 3;

    public static async Task RunAsync(string root, int instances)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var connection = azurite.ConnectionString;
        var tables = new TableServiceClient(connection);
        var queues = new QueueServiceClient(connection, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

        // Warm-up of both paths (JIT, connections), not measured.
        await BaselineAsync(tables, "warm", 50);
        await RuntimeAsync(tables, queues, "warm", 50);

        var a1 = await BaselineAsync(tables, "base1", instances);
        var b = await RuntimeAsync(tables, queues, "run", instances);
        var a2 = await BaselineAsync(tables, "base2", instances);
        var a = (a1 + a2) / 2;
        var perSecondA = instances / a.TotalSeconds;
        var perSecondB = instances / b.Elapsed.TotalSeconds;

        string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
        Console.WriteLine($"workflows benchmark: {instances} instances, concurrency {Concurrency}, Azurite 3.37 in memory, {Environment.ProcessorCount} cores");
        Console.WriteLine("| measure | value | target |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| (a) raw baseline, {3 * instances} entity-group transactions (mean of runs before/after b: {F(instances / a1.TotalSeconds)} and {F(instances / a2.TotalSeconds)}) | {F(perSecondA)} instances/s | |");
        Console.WriteLine($"| (b) runtime, start → event → 1 s timer → complete | {F(perSecondB)} instances/s ({F(b.Elapsed.TotalSeconds)} s) | ≥ 18 |");
        Console.WriteLine($"| ratio b/a | {(perSecondB / perSecondA).ToString("0.00", CultureInfo.InvariantCulture)} | ≥ 0.5 |");
        Console.WriteLine($"| timer lateness p50 / p99 / max | {Ms(b.Lateness(0.5))} / {Ms(b.Lateness(0.99))} / {Ms(b.Lateness(1))} ms | p99 ≤ 1000 ms |");
        Console.WriteLine($"| event-to-commit p50 / p99 | {Ms(b.EventToCommit(0.5))} / {Ms(b.EventToCommit(0.99))} ms | p99 ≤ 250 ms |");
        Console.WriteLine($"| event-to-answer (commit + dispatch) p50 / p99 | {Ms(b.EventToAnswer(0.5))} / {Ms(b.EventToAnswer(0.99))} ms | |");
    }

    /// <summary>(a): 3 transactions per instance, shaped like the runtime's commits, no runtime.</summary>
    private static async Task<TimeSpan> BaselineAsync(TableServiceClient tables, string name, int instances)
    {
        var client = tables.GetTableClient("Baseline" + name);
        await client.CreateIfNotExistsAsync();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, instances), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            var pk = $"i-{i}";
            ETag etag = default;
            for (var step = 1; step <= 3; step++)
            {
                var state = new TableEntity(pk, "state") { ["Type"] = "three-step", ["Status"] = step == 3 ? "Completed" : "Running", ["Seq"] = (long)step, ["State"] = $$"""{"step":{{step}}}""" };
                var response = await client.SubmitTransactionAsync(
                [
                    step == 1 ? new TableTransactionAction(TableTransactionActionType.Add, state) : new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, etag),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, $"h:{step:D10}") { ["Entry"] = """{"name":"event","data":null}""" }),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, $"d:e{step}") { ["EventId"] = $"e{step}" }),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, $"o:{step:D10}") { ["Work"] = "[]" }),
                ], ct);
                etag = response.Value[0].Headers.ETag ?? default;
            }
        });
        return watch.Elapsed;
    }

    private sealed record RuntimeRun(TimeSpan Elapsed, double[] LatenessMs, double[] EventToCommitMs, double[] EventToAnswerMs)
    {
        public TimeSpan Lateness(double p) => Percentile(LatenessMs, p);
        public TimeSpan EventToCommit(double p) => Percentile(EventToCommitMs, p);
        public TimeSpan EventToAnswer(double p) => Percentile(EventToAnswerMs, p);

        private static TimeSpan Percentile(double[] values, double p)
        {
            var sorted = values.Order().ToArray();
            return TimeSpan.FromMilliseconds(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)]);
        }
    }

    /// <summary>(b): the runtime drives every instance to completion.</summary>
    private static async Task<RuntimeRun> RuntimeAsync(TableServiceClient tables, QueueServiceClient queues, string name, int instances)
    {
        await using var inProcess = await InProcessWorkflows.CreateAsync(tables, queues, name, new ThreeStepWorkflow(), new WorkflowOptions());
        var runtime = inProcess.Runtime;
        var lateness = new ConcurrentBag<double>();
        var eventToCommit = new ConcurrentBag<double>();
        var eventToAnswer = new ConcurrentBag<double>();
        var completed = 0;
        var allDone = new TaskCompletionSource();

        // The role of the WorkflowTimers function: receive due timer messages and handle each as soon as it arrives.
        inProcess.ConsumeTimers(TimerPollers, handled =>
        {
            if (handled.Result is { Outcome: ApplyOutcome.Applied, CommittedAt: { } committed })
            {
                // Lateness = due time → TimerFired committed to the instance.
                lateness.Add((committed - handled.Timer.DueAt).TotalMilliseconds);
                if (Interlocked.Increment(ref completed) == instances)
                {
                    allDone.TrySetResult();
                }
            }

            return Task.CompletedTask;
        });
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, instances), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            var id = $"{name}-{i}";
            await runtime.StartAsync(ThreeStepWorkflow.TypeName, id, null, ct);
            var raised = DateTimeOffset.UtcNow;
            var result = await runtime.RaiseEventAsync(id, "go", null, $"go-{i}", ct);
            eventToAnswer.Add((DateTimeOffset.UtcNow - raised).TotalMilliseconds);
            eventToCommit.Add((result.CommittedAt!.Value - raised).TotalMilliseconds);
        });
        await allDone.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var elapsed = watch.Elapsed;
        return new RuntimeRun(elapsed, [.. lateness], [.. eventToCommit], [.. eventToAnswer]);
    }

    /// <summary>start → "go" → 1 s timer → complete.</summary>
    private sealed class ThreeStepWorkflow : IWorkflowDecider<ThreeStepState>
    {
        public const string TypeName = "three-step";
        public string Type => TypeName;
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "go" };
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public ThreeStepState InitialState => new("new");

        public IReadOnlyList<WorkflowAction> Decide(ThreeStepState state, WorkflowEvent @event, DateTimeOffset now) => (state.Step, @event.Name) switch
        {
            ("waiting", "go") => [new ScheduleTimer("pause", now.AddSeconds(1))],
            ("paused", WorkflowEvent.TimerFired) when @event.TimerId == "pause" => [new CompleteWorkflow(null)],
            _ => [],
        };

        public ThreeStepState Evolve(ThreeStepState state, WorkflowEvent @event) => (state.Step, @event.Name) switch
        {
            ("new", WorkflowEvent.Started) => new("waiting"),
            ("waiting", "go") => new("paused"),
            ("paused", WorkflowEvent.TimerFired) => new("done"),
            _ => state,
        };
    }

    private sealed record ThreeStepState(string Step);
}
