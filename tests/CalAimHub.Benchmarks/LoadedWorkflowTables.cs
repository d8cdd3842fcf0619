using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>The workflow tables a benchmark's runtime writes: instances (state, history, dedupe, outbox) and the index.</summary>
internal sealed record WorkflowTables(string Workflows, string Index);

/// <summary>
/// Workflow tables of a hub that holds N authorizations and N referrals. On Azurite a delete or replace costs time in
/// proportion to every row of its table (LokiJS keeps each table's rows in one collection and walks its indexes to
/// remove or move a row), so how fast workflows run depends on how many instances the tables already hold: a
/// workflow-shaped write cycle runs at 0.12 of its empty-table rate in a table of 1,000,000 rows (<see cref="TableSizeBenchmark"/>).
/// </summary>
internal static class LoadedWorkflowTables
{
    public static readonly WorkflowTables Names = new("BenchLoadedWorkflows", "BenchLoadedWorkflowIndex");

    /// <summary>
    /// One instance of each workload is run through a runtime without projections; its rows (state, history, dedupe; the
    /// outbox rows are gone once dispatched) and its index row are copied to <paramref name="items"/> instance ids each,
    /// with each copy's index row in the index partition the store would choose for it. Nothing reads the copies: they give
    /// the tables the size of the issue's hub.
    /// </summary>
    public static async Task<WorkflowTables> LoadAsync(LocalHub hub, int items)
    {
        var clock = Stopwatch.StartNew();
        var tables = hub.Storage.Tables;
        var template = new WorkflowTables("BenchTemplateWorkflows", "BenchTemplateWorkflowIndex");
        foreach (var name in new[] { template.Workflows, template.Index, Names.Workflows, Names.Index })
        {
            await tables.GetTableClient(name).CreateIfNotExistsAsync();
        }

        var queue = hub.Storage.Queues.GetQueueClient("bench-template-work");
        await queue.CreateIfNotExistsAsync();
        var parked = tables.GetTableClient("BenchTemplateParkedTimers");
        await parked.CreateIfNotExistsAsync();
        var instances = tables.GetTableClient(Names.Workflows);
        var index = tables.GetTableClient(Names.Index);
        var written = 0L;
        foreach (var work in new[] { UpkeepWork.Authorizations, UpkeepWork.Referrals })
        {
            var workload = UpkeepWorkload.Of(work);
            var runtime = new WorkflowRuntime(
                new WorkflowStore(tables.GetTableClient(template.Workflows), tables.GetTableClient(template.Index)), new WorkflowRegistry(workload.Definitions, []),
                new WorkflowQueues(queue, queue, parked), new NoNotices(), TimeProvider.System, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance);
            var id = "template-" + work.ToString().ToLowerInvariant();
            await workload.RunInstance(runtime, id, 0, UpkeepWorkload.NothingAfterEvent, CancellationToken.None);
            var rows = await tables.GetTableClient(template.Workflows).QueryAsync<TableEntity>(e => e.PartitionKey == id).ToListAsync();
            var indexRow = await tables.GetTableClient(template.Index).QueryAsync<TableEntity>(e => e.RowKey == id).SingleAsync();
            var type = workload.Definitions[0].Type;
            var ids = Enumerable.Range(0, items).Select(i => $"loaded-{work.ToString().ToLowerInvariant()}-{i.ToString("D7", CultureInfo.InvariantCulture)}").ToList();
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (copy, ct) =>
                await instances.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.Add, Copy(r, copy, r.RowKey, type))), ct));
            await Parallel.ForEachAsync(ids.GroupBy(i => WorkflowStore.IndexPartition(type, i)).SelectMany(g => g.Chunk(100)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (chunk, ct) =>
                await index.SubmitTransactionAsync(chunk.Select(c => new TableTransactionAction(TableTransactionActionType.Add, Copy(indexRow, WorkflowStore.IndexPartition(type, c), c, type))), ct));
            written += (long)items * (rows.Count + 1);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loaded workflow rows: {items} {type} instances of {rows.Count} rows ({string.Join(", ", rows.Select(r => r.RowKey.Split(':')[0]).GroupBy(k => k).Select(g => $"{g.Key} x{g.Count()}"))}) + 1 index row each"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loaded {written} workflow rows in {clock.Elapsed.TotalSeconds:0.0} s, load {BenchmarkMachine.LoadAverage()}"));
        return Names;
    }

    /// <summary>A template row under another key; the state row's <c>IndexedIn</c> names the copy's own index partition.</summary>
    private static TableEntity Copy(TableEntity row, string partition, string rowKey, string type)
    {
        var copy = new TableEntity(partition, rowKey);
        foreach (var (key, value) in row)
        {
            if (key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
            {
                copy[key] = key == "IndexedIn" ? WorkflowStore.IndexPartition(type, partition) : value;
            }
        }

        return copy;
    }
}
