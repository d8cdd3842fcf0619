using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// What keeping a read model costs in storage requests per commit. Azurite answers every query by scanning the whole table,
/// so a query on the write path would make upkeep slower as the read model grows: the writer reads version and counter
/// rows by key (or not at all, when this process wrote them last) and changes them in one transaction per partition.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ReadModelUpkeepTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 4)]
    [InlineData(true, 4)]
    public async Task Commits_keep_their_read_model_with_transactions_and_reads_by_key_never_a_query(bool separateCounters, int shards)
    {
        var table = "Upkeep" + Guid.NewGuid().ToString("N")[..12];
        await azurite.Storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        await azurite.Storage.Tables.GetTableClient(table + "Counters").CreateIfNotExistsAsync();
        var requests = new ReadModelRequests(table);
        var options = new TableClientOptions();
        options.AddPolicy(requests, HttpPipelinePosition.PerCall);
        var store = new ReadModelStore(new TableServiceClient(azurite.ConnectionString, options), new ReadModelShards(new Dictionary<string, int> { [table] = shards }));
        var decider = new ApprovalWorkflow(TimeSpan.FromDays(1), TimeSpan.FromDays(1));
        var projection = new ApprovalStageProjection(table, separateCounters ? table + "Counters" : null);
        var harness = await RuntimeHarness.CreateAsync(azurite, store, [WorkflowProjection.From(decider.Type, projection)], WorkflowDefinition.From(decider));

        // 12 instances, 4 at a time: started (two partitions each: stages and the review's due day), then approved
        // (the stage changes, the instance leaves the due-day partition).
        await Parallel.ForEachAsync(Enumerable.Range(0, 12), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            await harness.Runtime.StartAsync(decider.Type, $"upkeep-{i:D2}", null, ct);
            await harness.Runtime.RaiseEventAsync($"upkeep-{i:D2}", "approved", null, $"approve-{i}", ct);
        });

        var counts = await store.CountsAsync(separateCounters ? table + "Counters" : table, "stages", CancellationToken.None);
        Assert.Equal(12, counts.GetValueOrDefault("cooling-off"));
        Assert.Equal(0, counts.GetValueOrDefault("awaiting-review"));
        var seen = requests.Seen.ToArray();
        // Sharded: the first write of a table without a layout row asks once whether it is empty (a new table gets the
        // row), and the reads above look at the layout row once. A counter table: its first write looks for the roll-up
        // mark (a point read) and, not finding it, asks once whether the table is empty (it gets the mark). Nothing else queries.
        Assert.True((shards == 1 ? 0 : 1) + (separateCounters ? 1 : 0) == seen.Count(r => r.StartsWith("query", StringComparison.Ordinal)), string.Join("\n", seen.Where(r => r.StartsWith("query", StringComparison.Ordinal))));
        var layoutReads = (shards == 1 ? 0 : 2) + (separateCounters ? 1 : 0);

        // 48 updates (2 per start, 2 per approval) in 2 partitions (each of S shards): at most one transaction each (two
        // with a counter table), and the bookkeeping rows (counter rows, the counter journal) read by key when first met,
        // not once per update (plus the final count's one point read per shard, and the layout row's).
        Assert.InRange(seen.Count(r => r.StartsWith("transaction", StringComparison.Ordinal)), 1, separateCounters ? 96 : 48);
        Assert.InRange(seen.Count(r => r.StartsWith("point read", StringComparison.Ordinal)), 0, (separateCounters ? 8 : 4) * shards + layoutReads);
    }

    /// <summary>Names every request to the read model's tables: query (a GET without keys), point read or transaction.</summary>
    private sealed class ReadModelRequests(string table) : HttpPipelinePolicy
    {
        public ConcurrentQueue<string> Seen { get; } = new();

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var path = Uri.UnescapeDataString(message.Request.Uri.Path);
            if (path.EndsWith("/$batch", StringComparison.Ordinal))
            {
                Seen.Enqueue("transaction");
            }
            else if (message.Request.Method == RequestMethod.Get && path.Contains("/" + table, StringComparison.Ordinal))
            {
                Seen.Enqueue((path.Contains("(PartitionKey='", StringComparison.Ordinal) ? "point read " : "query ") + path);
            }

            await ProcessNextAsync(message, pipeline);
        }
    }
}
