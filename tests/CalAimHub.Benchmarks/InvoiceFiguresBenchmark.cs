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
/// <c>invoice-figures --invoices N</c> (issue 13): the plan's timeliness figures answered from the <c>InvoiceTimeliness</c>
/// read model with N invoices in it. The read model is seeded directly, NOT through workflows: each invoice's entry as the
/// projection builds it (<see cref="InvoiceReadModelsProjection.TimelinessEntry"/>: a version row per invoice in its receipt
/// month's partition, the month's and its provider's counter rows), written in batched entity-group transactions by the
/// rebuild's loader (<see cref="ReadModelStore.LoadAsync"/>). Then the console's figures route on the local host (real
/// handler, Azurite in memory), round-robin over a month for all providers and a month for one provider: p50/p99, and the
/// storage rows the handler's queries return.
/// </summary>
public static class InvoiceFiguresBenchmark
{
    public static async Task RunAsync(int invoices, int months, int providers, int requests)
    {
        await using var hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            AppSettings = new Dictionary<string, string> { ["Notifications__RequireHttps"] = "false" },
        });
        Console.WriteLine($"invoice figures benchmark: {invoices} invoices over {months} months and {providers} providers, {requests} requests per route; {Environment.ProcessorCount} cores, load {BenchmarkMachine.LoadAverage()}");

        var store = new ReadModelStore(hub.Storage.Tables);
        var monthNames = Enumerable.Range(0, months).Select(m => new DateOnly(2026, 12, 1).AddMonths(m - months + 1).ToString("yyyy-MM", CultureInfo.InvariantCulture)).ToArray();
        var clock = Stopwatch.StartNew();
        var written = 0;
        // A few months per load: the loader sums a partition's counters over the entries it is given, so a month is never split.
        foreach (var group in monthNames.Chunk(6))
        {
            var indexes = group.Select(m => Array.IndexOf(monthNames, m)).ToHashSet();
            written += await store.LoadAsync(Entries(invoices, monthNames, providers).Where(e => indexes.Contains(e.Month)).Select(e => (e.Entry, 1L)), 8, CancellationToken.None);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  loaded months {string.Join(", ", group)}: {written} rows so far, {clock.Elapsed.TotalSeconds:0} s, load {BenchmarkMachine.LoadAverage()}"));
        }

        var rowsInTable = 0L;
        await foreach (var page in store.Table(InvoiceReadModelsProjection.TimelinessTable).QueryAsync<TableEntity>(select: ["PartitionKey"]).AsPages(pageSizeHint: 1000))
        {
            rowsInTable += page.Values.Count;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {written} read-model rows ({rowsInTable} in {InvoiceReadModelsProjection.TimelinessTable}) in {clock.Elapsed.TotalSeconds:0.0} s ({written / clock.Elapsed.TotalSeconds:0} rows/s)"));

        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        var month = monthNames[^1];
        string[] routes =
        [
            $"/api/console/invoices/timeliness?month={month}",
            $"/api/console/invoices/timeliness?month={month}&provider={Provider(providers / 2)}",
        ];

        // Warm-up, a check that each answers 200, and that the month's figures add up to what was seeded.
        var expected = Entries(invoices, monthNames, providers).Count(e => e.Month == months - 1);
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

        var times = routes.ToDictionary(r => r, _ => new List<double>());
        for (var i = 0; i < requests; i++)
        {
            foreach (var route in routes)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(new Uri(route, UriKind.Relative));
                await response.Content.ReadAsByteArrayAsync();
                times[route].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

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

    /// <summary>The invoices' timeliness entries as the projection writes them: months and providers round-robin, a plan's mix of outcomes.</summary>
    private static IEnumerable<(int Month, ReadModelEntry Entry)> Entries(int invoices, string[] months, int providers)
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

            var month = i % months;
            yield return (month, InvoiceReadModelsProjection.TimelinessEntry(months[month], Provider(i / months % providers), $"inv-{i:D7}", counts));
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
