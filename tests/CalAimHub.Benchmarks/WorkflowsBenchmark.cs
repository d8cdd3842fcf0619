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

    public static async Task RunAsync(string root, int instances, bool compareAdmission = false, int rounds = 3, (int Idle, int UnderDueWork)[]? maxStarts = null)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var connection = azurite.ConnectionString;
        var storage = new StorageRequestsInFlight();
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(storage, Azure.Core.HttpPipelinePosition.PerCall);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        queueOptions.AddPolicy(storage, Azure.Core.HttpPipelinePosition.PerCall);
        var tables = new TableServiceClient(connection, tableOptions);
        var queues = new QueueServiceClient(connection, queueOptions);

        if (compareAdmission)
        {
            await CompareAdmissionAsync(tables, queues, storage, instances, rounds, maxStarts ?? [(new WorkflowOptions().MaxConcurrentStarts, new WorkflowOptions().MaxConcurrentStartsUnderDueWork)]);
            return;
        }

        // Warm-up of both paths (JIT, connections), not measured.
        await BaselineAsync(tables, "warm", 50);
        await RuntimeAsync(tables, queues, storage, "warm", 50, new WorkflowOptions());

        var a1 = await BaselineAsync(tables, "base1", instances);
        var b = await RuntimeAsync(tables, queues, storage, "run", instances, new WorkflowOptions());
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
        Console.WriteLine($"| timer lateness: handler ready → committed (storage) p50 / p99 | {Ms(b.TimerStorage(0.5))} / {Ms(b.TimerStorage(0.99))} ms | |");
        Console.WriteLine($"| storage requests in flight, mean / p99 (sampled every 5 ms) | {F(b.InFlightMean)} / {b.InFlight(0.99):0} | |");
    }

    /// <summary>
    /// Issue 11: the policy before (<see cref="WorkflowOptions.MaxConcurrentStarts"/> 0: every start goes straight to
    /// storage) against the shipped one (starts admitted <see cref="WorkflowOptions.MaxConcurrentStarts"/> at a time,
    /// timers and events never wait for a permit), alternately on the same Azurite: before, after, before, after…
    /// </summary>
    private static async Task CompareAdmissionAsync(
        TableServiceClient tables, QueueServiceClient queues, StorageRequestsInFlight storage, int instances, int rounds, (int Idle, int UnderDueWork)[] maxStarts)
    {
        var policies = new (string Name, WorkflowOptions Options)[]
            {
                ("before: no start admission (one shared path)", new WorkflowOptions { MaxConcurrentStarts = 0, MaxConcurrentStartsUnderDueWork = 0 }),
            }
            .Concat(maxStarts.Select(k => (
                Name: $"after: starts ≤ {k.Idle} in progress, ≤ {k.UnderDueWork} while events/timers apply",
                Options: new WorkflowOptions { MaxConcurrentStarts = k.Idle, MaxConcurrentStartsUnderDueWork = k.UnderDueWork })))
            .ToArray();
        foreach (var (_, options) in policies)
        {
            await RuntimeAsync(tables, queues, storage, $"warm{options.MaxConcurrentStarts}x{options.MaxConcurrentStartsUnderDueWork}", 50, options);
        }

        var runs = policies.Select(_ => new List<RuntimeRun>()).ToArray();
        string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("#,0", CultureInfo.InvariantCulture);
        string Row(string name, RuntimeRun r) =>
            $"| {name} | {F(r.StartsPerSecond)} | {F(r.InstancesPerSecond)} | {Ms(r.Lateness(0.5))} / {Ms(r.Lateness(0.99))} / {Ms(r.Lateness(1))} | {Ms(r.TimerDelivery(0.99))} | {Ms(r.TimerStorage(0.99))} | {Ms(r.EventToCommit(0.5))} / {Ms(r.EventToCommit(0.99))} | {F(r.InFlightMean)} / {r.InFlight(0.99):0} | {LoadAverage()} |";
        Console.WriteLine($"workflows admission comparison: {instances} instances, {Concurrency} drivers, {rounds} rounds of before/after alternately on one in-memory Azurite, {Environment.ProcessorCount} cores");
        Console.WriteLine("| run | starts/s | instances/s | timer lateness p50 / p99 / max ms | timer: due → handler has it p99 ms | timer: ready → committed p99 ms | event-to-commit p50 / p99 ms | storage requests in flight mean / p99 | load avg 1/5/15 after |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        for (var round = 1; round <= rounds; round++)
        {
            for (var p = 0; p < policies.Length; p++)
            {
                var run = await RuntimeAsync(tables, queues, storage, $"r{round}p{p}", instances, policies[p].Options);
                runs[p].Add(run);
                Console.WriteLine(Row($"{round}: {policies[p].Name}", run));
            }
        }

        // Medians across rounds, then after ÷ before.
        double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }

        var measures = new (string Name, Func<RuntimeRun, double> Of, string Target)[]
        {
            ("starts/s", r => r.StartsPerSecond, "after ≥ 0.8 × before"),
            ("instances/s", r => r.InstancesPerSecond, ""),
            ("timer lateness p50 ms", r => r.Lateness(0.5).TotalMilliseconds, ""),
            ("timer lateness p99 ms", r => r.Lateness(0.99).TotalMilliseconds, "≤ 1,000"),
            ("timer: due → handler has it p99 ms", r => r.TimerDelivery(0.99).TotalMilliseconds, ""),
            ("timer: ready → committed p99 ms", r => r.TimerStorage(0.99).TotalMilliseconds, ""),
            ("event-to-commit p50 ms", r => r.EventToCommit(0.5).TotalMilliseconds, ""),
            ("event-to-commit p99 ms", r => r.EventToCommit(0.99).TotalMilliseconds, "≤ 250"),
            ("storage requests in flight, mean", r => r.InFlightMean, ""),
        };
        Console.WriteLine();
        for (var p = 1; p < policies.Length; p++)
        {
            Console.WriteLine();
            Console.WriteLine($"| median of {rounds} rounds | before | {policies[p].Name} | after ÷ before | target |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var (name, of, target) in measures)
            {
                var before = Median(runs[0].Select(of));
                var after = Median(runs[p].Select(of));
                Console.WriteLine($"| {name} | {F(before)} | {F(after)} | {(after / before).ToString("0.00", CultureInfo.InvariantCulture)} | {target} |");
            }
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

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

    private sealed record RuntimeRun(
        TimeSpan Elapsed, TimeSpan StartsElapsed, int Instances, double[] LatenessMs, double[] TimerDeliveryMs, double[] TimerStorageMs, double[] EventToCommitMs, double[] EventToAnswerMs, double[] InFlightSamples)
    {
        public double InstancesPerSecond => Instances / Elapsed.TotalSeconds;

        /// <summary>Starts committed per second: N ÷ (first start → last start committed).</summary>
        public double StartsPerSecond => Instances / StartsElapsed.TotalSeconds;

        public double InFlightMean => InFlightSamples.Length == 0 ? 0 : InFlightSamples.Average();

        public TimeSpan Lateness(double p) => Percentile(LatenessMs, p);
        public TimeSpan TimerStorage(double p) => Percentile(TimerStorageMs, p);

        /// <summary>Due → the handler has the message (0 when it had it before due, as the 1 s lead intends).</summary>
        public TimeSpan TimerDelivery(double p) => Percentile(TimerDeliveryMs, p);
        public TimeSpan EventToCommit(double p) => Percentile(EventToCommitMs, p);
        public TimeSpan EventToAnswer(double p) => Percentile(EventToAnswerMs, p);
        public double InFlight(double p) => Percentile(InFlightSamples, p).TotalMilliseconds;

        private static TimeSpan Percentile(double[] values, double p)
        {
            var sorted = values.Order().ToArray();
            return TimeSpan.FromMilliseconds(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)]);
        }
    }

    /// <summary>(b): the runtime drives every instance to completion.</summary>
    private static async Task<RuntimeRun> RuntimeAsync(
        TableServiceClient tables, QueueServiceClient queues, StorageRequestsInFlight storage, string name, int instances, WorkflowOptions options)
    {
        await using var inProcess = await InProcessWorkflows.CreateAsync(tables, queues, name, new ThreeStepWorkflow(), options);
        var runtime = inProcess.Runtime;
        var lateness = new ConcurrentBag<double>();
        var timerStorage = new ConcurrentBag<double>();
        var timerDelivery = new ConcurrentBag<double>();
        var eventToCommit = new ConcurrentBag<double>();
        var eventToAnswer = new ConcurrentBag<double>();
        var completed = 0;
        var allDone = new TaskCompletionSource();

        // The role of the WorkflowTimers function: receive due timer messages and handle each as soon as it arrives.
        inProcess.ConsumeTimers(TimerPollers, (handled, received) =>
        {
            if (handled.Result is { Outcome: ApplyOutcome.Applied, CommittedAt: { } committed })
            {
                // Lateness = due time → TimerFired committed to the instance; of it, the part after the handler held
                // the message and the timer was due is storage (index upsert + transaction), the rest is the queue.
                lateness.Add((committed - handled.Timer.DueAt).TotalMilliseconds);
                timerStorage.Add((committed - (received > handled.Timer.DueAt ? received : handled.Timer.DueAt)).TotalMilliseconds);
                timerDelivery.Add(Math.Max((received - handled.Timer.DueAt).TotalMilliseconds, 0));
                if (Interlocked.Increment(ref completed) == instances)
                {
                    allDone.TrySetResult();
                }
            }

            return Task.CompletedTask;
        });
        var samples = new ConcurrentQueue<double>();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                samples.Enqueue(storage.Count);
                await Task.Delay(5, CancellationToken.None);
            }
        });
        var watch = Stopwatch.StartNew();
        long lastStartTicks = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, instances), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            var id = $"{name}-{i}";
            await runtime.StartAsync(ThreeStepWorkflow.TypeName, id, null, ct);
            var startedTicks = watch.Elapsed.Ticks;
            long seen;
            while ((seen = Interlocked.Read(ref lastStartTicks)) < startedTicks && Interlocked.CompareExchange(ref lastStartTicks, startedTicks, seen) != seen)
            {
            }
            var raised = DateTimeOffset.UtcNow;
            var result = await runtime.RaiseEventAsync(id, "go", null, $"go-{i}", ct);
            eventToAnswer.Add((DateTimeOffset.UtcNow - raised).TotalMilliseconds);
            eventToCommit.Add((result.CommittedAt!.Value - raised).TotalMilliseconds);
        });
        await allDone.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var elapsed = watch.Elapsed;
        await sampling.CancelAsync();
        await sampler;
        return new RuntimeRun(elapsed, TimeSpan.FromTicks(lastStartTicks), instances, [.. lateness], [.. timerDelivery], [.. timerStorage], [.. eventToCommit], [.. eventToAnswer], [.. samples]);
    }

    /// <summary>Counts the storage requests this process has in flight (what Azurite has queued, seen from the client).</summary>
    private sealed class StorageRequestsInFlight : Azure.Core.Pipeline.HttpPipelinePolicy
    {
        private int count;

        public int Count => Volatile.Read(ref count);

        public override async ValueTask ProcessAsync(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref count);
            try
            {
                await ProcessNextAsync(message, pipeline);
            }
            finally
            {
                Interlocked.Decrement(ref count);
            }
        }

        public override void Process(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref count);
            try
            {
                ProcessNext(message, pipeline);
            }
            finally
            {
                Interlocked.Decrement(ref count);
            }
        }
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
