using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Invoices;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>invoice-figures --invoices N --version-rows V</c> (issue 13): the plan's timeliness figures answered from the
/// <c>InvoiceTimeliness</c> read model holding N invoices (counter rows in <c>InvoiceTimelinessCounters</c>). Seeded directly, NOT through workflows, in batched entity-group
/// transactions by the rebuild's loader (<see cref="ReadModelStore.LoadAsync"/>), with the projection's own entry layout
/// (<see cref="InvoiceReadModelsProjection.TimelinessEntry"/>): the N invoices' counts summed per month and provider (the
/// month's and every provider's counter rows hold exactly what N separate entries would sum to), plus V per-invoice
/// version rows in the month queried, the rows a query would have to skip if it read anything but counter rows (Azurite
/// scans a table for every query, so they also show what table size costs there). Then the console's figures route on the
/// local host (real handler, Azurite in memory), a month for every provider and a month for one provider, round-robin: p50/p99.
/// </summary>
public static class InvoiceFiguresBenchmark
{
    public static async Task RunAsync(int invoices, int months, int providers, int requests, int versionRows)
    {
        await using var hub = await BenchmarkMachine.QueryHubAsync();
        Console.WriteLine($"invoice figures benchmark: {invoices} invoices over {months} months and {providers} providers, {versionRows} version rows in the month queried, {requests} requests per route; {Environment.ProcessorCount} cores, load {BenchmarkMachine.LoadAverage()}");

        var store = new ReadModelStore(hub.Storage.Tables);
        var monthNames = Enumerable.Range(0, months).Select(m => new DateOnly(2026, 12, 1).AddMonths(m - months + 1).ToString("yyyy-MM", CultureInfo.InvariantCulture)).ToArray();
        var month = monthNames[^1];
        var clock = Stopwatch.StartNew();
        // Per month and provider one entry whose counts are the sum of its invoices' (the counters are sums, so they come out
        // the same as N entries'); then V version rows in the month queried (no counts: the counters already hold them).
        var sums = new Dictionary<(int Month, string Provider), Dictionary<string, long>>();
        var expected = 0L;
        foreach (var (m, provider, counts) in Invoices(invoices, months, providers))
        {
            var sum = sums.TryGetValue((m, provider), out var found) ? found : sums[(m, provider)] = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (name, count) in counts)
            {
                sum[name] = sum.GetValueOrDefault(name) + count;
            }

            expected += m == months - 1 ? 1 : 0;
        }

        var entries = sums.Select(s => (InvoiceReadModelsProjection.TimelinessEntry(monthNames[s.Key.Month], s.Key.Provider, $"sum-{s.Key.Provider}", s.Value), 1L))
            .Concat(Enumerable.Range(0, versionRows).Select(i => (ReadModelEntry.Of(InvoiceReadModelsProjection.TimelinessTable, month, $"inv-{i:D7}"), 1L)));
        var written = await store.LoadAsync(entries, 8, CancellationToken.None);
        async Task<long> RowsAsync(string table)
        {
            // A sharded table's rows are in its shard tables.
            var rows = 0L;
            var shards = store.Shards.Of(table);
            foreach (var shard in Enumerable.Range(0, shards).Select(s => ReadModelShards.TableOf(table, s, shards)))
            {
                await foreach (var page in store.Table(shard).QueryAsync<TableEntity>(select: ["PartitionKey"]).AsPages(pageSizeHint: 1000))
                {
                    rows += page.Values.Count;
                }
            }

            return rows;
        }

        var (versionTableRows, counterTableRows) = (await RowsAsync(InvoiceReadModelsProjection.TimelinessTable), await RowsAsync(InvoiceReadModelsProjection.TimelinessCountersTable));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seeded {invoices} invoices' counts ({sums.Count} month-provider sums) and {versionRows} version rows: {written} rows written, {versionTableRows} rows in {InvoiceReadModelsProjection.TimelinessTable}, {counterTableRows} in {InvoiceReadModelsProjection.TimelinessCountersTable}, {clock.Elapsed.TotalSeconds:0.0} s, load {BenchmarkMachine.LoadAverage()}"));

        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        string[] routes =
        [
            $"/api/console/invoices/timeliness?month={month}",
            $"/api/console/invoices/timeliness?month={month}&provider={Provider(providers / 2)}",
        ];

        // Warm-up, a check that each answers 200, and that the month's figures add up to what was seeded.
        foreach (var route in routes)
        {
            using var response = await client.GetAsync(new Uri(route, UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{route} answered {(int)response.StatusCode}: {body}");
            }

            using var figures = JsonDocument.Parse(body);
            var count = figures.RootElement.GetProperty("invoices").GetInt64();
            var byProvider = figures.RootElement.TryGetProperty("byProvider", out var list) && list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0;
            Console.WriteLine($"  {route}: {count} invoices, {byProvider} providers listed, {body.Length} bytes");
            if (!route.Contains("provider=", StringComparison.Ordinal) && (count != expected || byProvider != Math.Min(providers, expected)))
            {
                throw new InvalidOperationException($"{route}: expected {expected} invoices over {Math.Min(providers, expected)} providers");
            }
        }

        var times = await BenchmarkMachine.TimeRoutesAsync(client, routes, requests);

        Console.WriteLine($"load after the requests: {BenchmarkMachine.LoadAverage()}");
        Console.WriteLine("| route | p50 ms | p99 ms | max ms | target |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var route in routes)
        {
            var sorted = times[route].Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| `{route}` | {Percentile(sorted, 0.50):0.0} | {Percentile(sorted, 0.99):0.0} | {sorted[^1]:0.0} | p99 ≤ 200 |"));
        }
    }

    private static string Provider(int i) => $"cbo-{i:D4}";

    /// <summary>The invoices' timeliness counts as the projection counts them: months and providers round-robin, a plan's mix of outcomes.</summary>
    private static IEnumerable<(int Month, string Provider, Dictionary<string, long> Counts)> Invoices(int invoices, int months, int providers)
    {
        for (var i = 0; i < invoices; i++)
        {
            var clean = i % 10 != 0;
            var counts = new Dictionary<string, long>(StringComparer.Ordinal)
            {
                [InvoiceReadModelsProjection.Invoices] = 1,
                [InvoiceReadModelsProjection.Clean] = clean ? 1 : 0,
                [InvoiceReadModelsProjection.Breaches] = i % 13 == 0 ? 1 : 0,
                [InvoiceReadModelsProjection.InterestCents] = i % 13 == 0 ? 1500 : 0,
                [InvoiceReadModelsProjection.CleanPaidWithin(30)] = clean && i % 7 != 0 ? 1 : 0,
                [InvoiceReadModelsProjection.CleanPaidWithin(90)] = clean && i % 50 != 0 ? 1 : 0,
            };
            if (!clean)
            {
                counts[InvoiceReadModelsProjection.ContestPrefix + (i % 20 == 0 ? "authorization-not-on-file" : "provider-not-in-directory")] = 1;
            }

            yield return (i % months, Provider(i / months % providers), counts);
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
