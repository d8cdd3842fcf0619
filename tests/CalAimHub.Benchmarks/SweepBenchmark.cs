using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using CalAimHub.Domain.Workflows;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>sweep</c>: what one <c>WorkflowSweeper</c> run costs with a plan's live instances on Azurite (it runs every 2
/// minutes). Each instance has its state, history and dedupe rows and an index row; a tenth are finished but inside
/// retention, and none has work for the sweeper, as in a quiet hour. Baseline in the same process: the index pass the
/// sweeper made before stop 28, every index row paged through 1,000 at a time; the outbox scan is timed on its own too.
/// Interleaved A, B, C per round; wall time and Azurite CPU per phase.
/// </summary>
public static class SweepBenchmark
{
    public static async Task RunAsync(string root, int instances, int rounds)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var tables = new TableServiceClient(azurite.ConnectionString);
        var queues = new QueueServiceClient(azurite.ConnectionString);
        foreach (var table in new[] { WorkflowOptions.TableName, WorkflowOptions.IndexTableName, WorkflowOptions.ParkedTimersTableName })
        {
            await tables.GetTableClient(table).CreateIfNotExistsAsync();
        }

        foreach (var queue in new[] { WorkflowOptions.WorkQueueName, WorkflowOptions.TimerQueueName })
        {
            await queues.GetQueueClient(queue).CreateIfNotExistsAsync();
        }

        var store = new WorkflowStore(tables.GetTableClient(WorkflowOptions.TableName), tables.GetTableClient(WorkflowOptions.IndexTableName));
        var workflowQueues = new WorkflowQueues(queues.GetQueueClient(WorkflowOptions.WorkQueueName), queues.GetQueueClient(WorkflowOptions.TimerQueueName),
            tables.GetTableClient(WorkflowOptions.ParkedTimersTableName));
        var options = new WorkflowOptions().AsOptions();
        var runtime = new WorkflowRuntime(store, new WorkflowRegistry([], []), workflowQueues, new NoNotices(), TimeProvider.System, options, NullLogger<WorkflowRuntime>.Instance);
        var sweeper = new WorkflowTriggers(runtime, workflowQueues, TimeProvider.System, options, NullLogger<WorkflowTriggers>.Instance, TimeProvider.System);

        var load = Stopwatch.StartNew();
        await LoadAsync(store, instances);
        Console.WriteLine($"sweep benchmark: {instances:N0} live instances (3 rows each in {WorkflowOptions.TableName}, 1 in {WorkflowOptions.IndexTableName}), loaded in {load.Elapsed.TotalSeconds:0} s; " +
            $"{Environment.ProcessorCount} cores, load {BenchmarkMachine.LoadAverage()}");

        Console.WriteLine("| round | (a) index paged whole (the sweep's pass before) | (b) sweep now (outbox scan + filtered index + parked timers) | outbox scan alone | a / b |");
        Console.WriteLine("|---|---|---|---|---|");
        var ratios = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var a = await TimeAsync(azurite.ProcessId, async () =>
            {
                var rows = 0;
                string? continuation = null;
                do
                {
                    var (entries, next) = await store.IndexPageAsync(null, continuation, 1000, CancellationToken.None);
                    rows += entries.Count;
                    continuation = next;
                }
                while (continuation is not null);
                return $"{rows:N0} rows";
            });
            var b = await TimeAsync(azurite.ProcessId, async () => (await sweeper.SweepAsync(CancellationToken.None)).ToString());
            var c = await TimeAsync(azurite.ProcessId, async () =>
            {
                var rows = 0;
                await foreach (var _ in store.OutboxRowsAsync(CancellationToken.None))
                {
                    rows++;
                }

                return $"{rows} rows";
            });
            ratios.Add(a.Wall / b.Wall);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {round} | {a} | {b} | {c} | {a.Wall / b.Wall:0.0} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean a / b: {ratios.Average():0.0}"));
    }

    private sealed record Timed(double Wall, double AzuriteCpu, string What)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Wall:0.00} s (Azurite CPU {AzuriteCpu:0.00} s; {What})");
    }

    private static async Task<Timed> TimeAsync(int azurite, Func<Task<string>> phase)
    {
        var cpu = BenchmarkMachine.CpuSeconds(azurite);
        var watch = Stopwatch.StartNew();
        var what = await phase();
        return new Timed(watch.Elapsed.TotalSeconds, BenchmarkMachine.CpuSeconds(azurite) - cpu, what);
    }

    /// <summary>
    /// The instances as the runtime leaves them between events: state, one history entry and its dedupe row in the
    /// instance's partition (one transaction each), and the index row. Last updated 1 to 60 days ago; every tenth finished.
    /// </summary>
    private static async Task LoadAsync(WorkflowStore store, int instances)
    {
        var now = DateTimeOffset.UtcNow;
        var entries = Enumerable.Range(0, instances).Select(i =>
        {
            var updated = now.AddMinutes(-(60 * 24) - (i * 7919 % (59 * 24 * 60)));
            return new WorkflowIndexEntry($"bench-{i:D7}", i % 2 == 0 ? "authorization" : "referral", i % 10 == 0 ? WorkflowRuntimeStatus.Completed : WorkflowRuntimeStatus.Running,
                updated.AddDays(-3), updated, i % 10 == 0 ? null : updated.AddDays(30), 2);
        }).ToList();
        var lanes = new ParallelOptions { MaxDegreeOfParallelism = 16 };
        await Parallel.ForEachAsync(entries, lanes, async (entry, ct) =>
            await store.Workflows.SubmitTransactionAsync(
            [
                new(TableTransactionActionType.UpsertReplace, new TableEntity(entry.InstanceId, "state")
                {
                    ["Type"] = entry.Type, ["Version"] = 1, ["Status"] = entry.Status.ToString(), ["Seq"] = entry.Seq, ["State"] = new string('s', 1500),
                    ["Created"] = entry.CreatedTime, ["Updated"] = entry.LastUpdatedTime, ["Deadline"] = entry.NextDeadline,
                }),
                new(TableTransactionActionType.UpsertReplace, new TableEntity(entry.InstanceId, "h:0000000001") { ["EventId"] = "start", ["Name"] = "started", ["Entry"] = new string('h', 600) }),
                new(TableTransactionActionType.UpsertReplace, new TableEntity(entry.InstanceId, WorkflowStore.DedupeKey("start")) { ["EventId"] = "start" }),
            ], ct));
        await Parallel.ForEachAsync(entries.Chunk(2000), lanes, async (chunk, ct) => await store.UpsertIndexAsync(chunk, ct));
    }
}
