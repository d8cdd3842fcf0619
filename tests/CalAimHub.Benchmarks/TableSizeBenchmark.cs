using System.Diagnostics;
using System.Globalization;
using Azure;
using Azure.Data.Tables;
using CalAimHub.LocalHost;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>table-size --rows 250000,1000000</c>: what the rows already in a table cost a workflow-shaped write cycle on Azurite.
/// Per instance: a 2-row entity-group transaction (state + outbox row) into its own partition, a replace of the state row,
/// a delete of the outbox row, as a workflow commit and its dispatch do. Azurite keeps each table's rows in one LokiJS
/// collection; a replace (remove + insert) and a delete move or remove a row in the collection's indexes by walking them,
/// so their cost follows the table's size, not the partition's (each partition here holds 2 to 5 rows). Baseline in the
/// same process: the same cycle in a table that only ever holds the cycles' own rows, run just before each measured one.
/// </summary>
public static class TableSizeBenchmark
{
    private const int Concurrency = 8;
    private const int RowsPerFilledInstance = 5;

    public static async Task RunAsync(string root, int[] sizes, int cycles)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var service = new TableServiceClient(azurite.ConnectionString);
        var filled = service.GetTableClient("Filled");
        var baseline = service.GetTableClient("Baseline");
        await filled.CreateIfNotExistsAsync();
        await baseline.CreateIfNotExistsAsync();
        var padding = new string('x', 600);
        Console.WriteLine($"table-size: {cycles} write cycles per measurement, concurrency {Concurrency}; 2 cores, load {BenchmarkMachine.LoadAverage()}");
        await CyclesAsync(baseline, "warm", cycles, padding);
        Console.WriteLine("| rows already in the table | (a) cycles/s, table of its own rows | (b) cycles/s, filled table | b/a | Azurite CPU ms per cycle (a / b) |");
        Console.WriteLine("|---|---|---|---|---|");
        var instances = 0;
        foreach (var rows in sizes)
        {
            var target = rows / RowsPerFilledInstance;
            await Parallel.ForEachAsync(Enumerable.Range(instances, Math.Max(0, target - instances)), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
                await filled.SubmitTransactionAsync(Enumerable.Range(0, RowsPerFilledInstance).Select(r => new TableTransactionAction(TableTransactionActionType.Add,
                    new TableEntity($"filled-{i:D7}", r == 0 ? "state" : $"h:{r:D6}") { ["Data"] = padding })), ct));
            instances = Math.Max(instances, target);
            var cpu0 = BenchmarkMachine.CpuSeconds(azurite.ProcessId);
            var a = await CyclesAsync(baseline, $"a{rows}", cycles, padding);
            var cpu1 = BenchmarkMachine.CpuSeconds(azurite.ProcessId);
            var b = await CyclesAsync(filled, $"b{rows}", cycles, padding);
            var cpu2 = BenchmarkMachine.CpuSeconds(azurite.ProcessId);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {instances * RowsPerFilledInstance:N0} | {a:0} | {b:0} | {b / a:0.00} | {(cpu1 - cpu0) * 1000 / cycles:0.00} / {(cpu2 - cpu1) * 1000 / cycles:0.00} |"));
        }
    }

    /// <summary>Cycles per second: transaction (state + outbox), replace the state, delete the outbox row.</summary>
    private static async Task<double> CyclesAsync(TableClient table, string tag, int cycles, string padding)
    {
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, cycles), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            var partition = $"cycle-{tag}-{i}";
            await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, "state") { ["Data"] = padding }),
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, "o:1") { ["Data"] = padding }),
            ], ct);
            await table.UpdateEntityAsync(new TableEntity(partition, "state") { ["Data"] = padding + "y" }, ETag.All, TableUpdateMode.Replace, ct);
            await table.DeleteEntityAsync(partition, "o:1", ETag.All, ct);
        });
        return cycles / watch.Elapsed.TotalSeconds;
    }
}
