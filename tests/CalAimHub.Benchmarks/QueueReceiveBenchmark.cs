using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Queues;
using CalAimHub.LocalHost;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>queue-receive</c>: what an empty queue's receive costs on Azurite as messages wait, invisible, in another queue (the
/// hub's armed timers). Azurite keeps every queue's messages in one LokiJS collection and, on each receive, removes the
/// expired ones with a call that marks all its indexes dirty, so the next look-up re-sorts them: a cost in the number of
/// messages waiting anywhere, paid by every idle poll of every listener. Baseline: the same receive with no message
/// waiting, in the same process.
/// </summary>
public static class QueueReceiveBenchmark
{
    public static async Task RunAsync(string root, int[] waiting, int receives)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var queues = new QueueServiceClient(azurite.ConnectionString);
        var timers = queues.GetQueueClient("waiting-timers");
        var empty = queues.GetQueueClient("empty");
        await timers.CreateIfNotExistsAsync();
        await empty.CreateIfNotExistsAsync();
        Console.WriteLine($"queue-receive: {receives} receives of 16 on an empty queue per size; 2 cores, load {BenchmarkMachine.LoadAverage()}");
        Console.WriteLine("| messages waiting in another queue | receive p50 ms | p90 ms | max ms | p50 / baseline |");
        Console.WriteLine("|---|---|---|---|---|");
        await ReceivesAsync(empty, 20); // warm-up
        double? baseline = null;
        var sent = 0;
        foreach (var size in waiting.Prepend(0))
        {
            await Parallel.ForEachAsync(Enumerable.Range(sent, Math.Max(0, size - sent)), new ParallelOptions { MaxDegreeOfParallelism = 16 },
                async (i, ct) => await timers.SendMessageAsync($"timer {i}", visibilityTimeout: TimeSpan.FromDays(3), cancellationToken: ct));
            sent = Math.Max(sent, size);
            var times = await ReceivesAsync(empty, receives);
            baseline ??= times[times.Count / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {size:N0} | {times[times.Count / 2]:0.0} | {times[(int)(times.Count * 0.9)]:0.0} | {times[^1]:0.0} | {times[times.Count / 2] / baseline:0.0} |"));
        }
    }

    private static async Task<List<double>> ReceivesAsync(QueueClient queue, int count)
    {
        var times = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await queue.ReceiveMessagesAsync(16);
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return times;
    }
}
