using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>console --items N</c>: the staff console's read models at scale, on the local host (real handler, Azurite in memory).
/// 1. Projection upkeep: authorization workflows (start + decision), or referral workflows (start + accepted), through an
///    in-process runtime with the hub's projections of that type and without them, rounds interleaved (A, B, A, B…),
///    throughput ratio per pair.
/// 2. N referrals and N authorizations: generated states through the real projections, written batched (the rebuild path).
/// 3. Every console route, requests round-robin over the routes: p50/p99 per route.
/// </summary>
public static class ConsoleBenchmark
{
    private static readonly CaliforniaWorkingDays Calendar = CaliforniaWorkingDays.Current;

    /// <param name="freshReadModels">
    /// Empty the read-model tables before each round with projections (untimed), as every round's Workflows and WorkflowIndex
    /// tables are new: without it, round k with projections writes into partitions that already hold the k − 1 earlier
    /// rounds' authorizations (all due the same days), and Azurite's point look-ups scan the whole partition.
    /// </param>
    /// <param name="upkeepAfterLoad">
    /// Measure upkeep after the N + N items are loaded, so the projections write into read models of the issue's size (its
    /// condition: "with 100,000 referrals and 100,000 authorizations loaded"); without it, before (small read models).
    /// </param>
    /// <param name="requests">Requests per route; 0 measures upkeep and the load only.</param>
    /// <param name="work">What the upkeep rounds run: each workload's rounds one after the other, on the same hub.</param>
    /// <param name="loadedWorkflows">
    /// With <paramref name="upkeepAfterLoad"/>: the N + N items also get their workflow rows (state, history, dedupe and
    /// index rows of the size a real instance leaves), and every upkeep round of both arms writes its instances into those
    /// same tables, as a hub holding them would. Without it each round gets new, empty workflow tables, so the arm without
    /// projections writes into tables of a few hundred rows while the projections write into tables of the issue's size.
    /// </param>
    public static async Task RunAsync(int items, int requests, int rounds, bool freshReadModels = false, bool upkeepAfterLoad = false, IReadOnlyList<UpkeepWork>? work = null, bool loadedWorkflows = false)
    {
        if (loadedWorkflows && !upkeepAfterLoad)
        {
            throw new ArgumentException("--loaded-workflows needs --upkeep-after-load: the workflow rows are loaded with the items", nameof(loadedWorkflows));
        }

        await using var hub = await BenchmarkMachine.QueryHubAsync();
        Console.WriteLine($"console benchmark: {items} referrals + {items} authorizations, {requests} requests per route, {rounds} upkeep rounds each way{(upkeepAfterLoad ? " after the load" : "")}; {Environment.ProcessorCount} cores, load {BenchmarkMachine.LoadAverage()}");

        if (!upkeepAfterLoad)
        {
            foreach (var workload in work ?? [UpkeepWork.Authorizations])
            {
                await UpkeepAsync(hub, rounds, freshReadModels, workload, null);
            }
        }

        var store = new ReadModelStore(hub.Storage.Tables);
        var clock = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;
        var written = await store.LoadAsync(Entries(items, now), 8, CancellationToken.None);
        var files = new FileRunIndex(hub.Storage.Tables);
        for (var i = 0; i < 500; i++)
        {
            await files.WriteAsync(new IngestReport
            {
                RunId = $"run-{i}", PartnerId = $"partner-{i % 20}", Kind = i % 2 == 0 ? "rtf" : "otf", File = $"file-{i}.csv", Outcome = IngestOutcome.PartiallyAccepted,
                RowsAccepted = 1000 - i, RowsRejected = i, ProblemsByRule = new Dictionary<string, int> { ["cin-format"] = i, ["date-order"] = i / 2 },
            }, now.AddMinutes(-i), CancellationToken.None);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loaded {written} read-model rows (+500 file runs) in {clock.Elapsed.TotalSeconds:0.0} s ({written / clock.Elapsed.TotalSeconds:0} rows/s), load {BenchmarkMachine.LoadAverage()}"));
        if (upkeepAfterLoad)
        {
            var shared = loadedWorkflows ? await LoadedWorkflowTables.LoadAsync(hub, items) : null;
            foreach (var workload in work ?? [UpkeepWork.Authorizations])
            {
                await UpkeepAsync(hub, rounds, freshReadModels: false, workload, shared);
            }
        }

        if (requests == 0)
        {
            return;
        }

        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var from = Calendar.DateOf(now).AddDays(-29).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string[] routes =
        [
            "/api/console/today",
            "/api/console/deadlines?window=next24h",
            "/api/console/deadlines?window=next5WorkingDays&type=authorization",
            "/api/console/deadlines?window=breached",
            "/api/console/breaches/weekly?weeks=12",
            "/api/console/referrals/funnel",
            $"/api/console/referrals/funnel?from={from}",
            "/api/console/referrals/providers",
            "/api/console/referrals/referring-entities",
            "/api/console/referrals/open?olderThanDays=30",
            "/api/console/files?partner=partner-3",
            "/api/authorizations?status=in-review",
            "/api/authorizations?pof=justice-involved&breached=true",
        ];
        foreach (var route in routes)
        {
            // Warm-up, and a check that every route answers 200.
            using var response = await client.GetAsync(new Uri(route, UriKind.Relative));
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{route} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        var times = await BenchmarkMachine.TimeRoutesAsync(client, routes, requests);

        Console.WriteLine("| route | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var route in routes)
        {
            var sorted = times[route].Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| `{route}` | {Percentile(sorted, 0.50):0.0} | {Percentile(sorted, 0.99):0.0} | {sorted[^1]:0.0} |"));
        }

        await CostPerRouteAsync(hub, client, routes, Math.Min(requests, 20));
        await ConsoleRenderTimes.PrintAsync(hub, rounds: 10);
    }

    /// <summary>
    /// Where each route's time goes: <paramref name="requests"/> requests of one route after another, with the CPU time
    /// Azurite and the handler spent per request. The monotonic marks (Stopwatch ticks, CLOCK_MONOTONIC on Linux) let a
    /// profile of Azurite (<c>NODE_OPTIONS=--cpu-prof</c>) be cut per route.
    /// </summary>
    private static async Task CostPerRouteAsync(LocalHub hub, HttpClient client, IReadOnlyList<string> routes, int requests)
    {
        Console.WriteLine("| route | ms per request | Azurite CPU ms | handler CPU ms | monotonic marks |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var route in routes)
        {
            var (azurite, handler, started) = (BenchmarkMachine.CpuSeconds(hub.AzuriteProcessId), BenchmarkMachine.CpuSeconds(hub.HandlerProcessId), Stopwatch.GetTimestamp());
            await BenchmarkMachine.TimeRoutesAsync(client, [route], requests);
            var ended = Stopwatch.GetTimestamp();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{route}` | {Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds / requests:0.0} | {(BenchmarkMachine.CpuSeconds(hub.AzuriteProcessId) - azurite) * 1000 / requests:0.0} | {(BenchmarkMachine.CpuSeconds(hub.HandlerProcessId) - handler) * 1000 / requests:0.0} | {started}..{ended} |"));
        }
    }

    /// <summary>
    /// Workflow throughput with and without the projections, interleaved rounds on the same Azurite; per round the
    /// storage requests per event by kind and table, and the CPU time Azurite and this process spent per event.
    /// </summary>
    private static async Task UpkeepAsync(LocalHub hub, int rounds, bool freshReadModels, UpkeepWork work, WorkflowTables? shared)
    {
        var counter = new StorageOperationCounter();
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var queueOptions = new Azure.Storage.Queues.QueueClientOptions { MessageEncoding = Azure.Storage.Queues.QueueMessageEncoding.Base64 };
        queueOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var tables = new TableServiceClient(hub.StorageConnectionString, tableOptions);
        var queues = new Azure.Storage.Queues.QueueServiceClient(hub.StorageConnectionString, queueOptions);
        // Timers are armed on real queues either way (same cost with and without projections); nothing consumes them.
        var workQueue = queues.GetQueueClient("bench-workflow-work");
        var timers = queues.GetQueueClient("bench-workflow-timers");
        await workQueue.CreateIfNotExistsAsync();
        await timers.CreateIfNotExistsAsync();
        var parkedTimers = tables.GetTableClient("BenchParkedWorkflowTimers");
        await parkedTimers.CreateIfNotExistsAsync();
        var workload = UpkeepWorkload.Of(work);
        var floorTable = tables.GetTableClient("BenchFloorRows");
        await floorTable.CreateIfNotExistsAsync();
        var projections = workload.Projections;
        Console.WriteLine($"upkeep rounds: {work.ToString().ToLowerInvariant()} ({workload.Describes}), {(shared is null ? "new workflow tables each round" : $"every round in the loaded workflow tables {shared.Workflows}, {shared.Index}")}");
        var withRates = new List<double>();
        var withoutRates = new List<double>();
        var requests = new Dictionary<bool, Dictionary<string, long>> { [true] = new(StringComparer.Ordinal), [false] = new(StringComparer.Ordinal) };
        var cpu = new Dictionary<bool, (double Azurite, double Self)> { [true] = (0, 0), [false] = (0, 0) };
        ReadModelStore? hubReadModels = null;
        const int Instances = 200;
        const int Concurrency = 16;
        // Rounds -2 and -1 warm up both arms (JIT, connections, Azurite's code paths) and are not counted: otherwise the first
        // round, with projections, pays for the warm-up of both. Even so, the first counted round with projections spends about
        // 3x the benchmark process's CPU per event of the later ones (with 24 or 200 warm-up instances alike; not explained).
        for (var round = -2; round < rounds * 2; round++)
        {
            var warmUp = round < 0;
            var project = round % 2 == 0;
            var name = (warmUp ? "Warm" : "") + work + (project ? "With" : "Without") + Math.Abs(round).ToString(CultureInfo.InvariantCulture);
            var workflows = tables.GetTableClient(shared?.Workflows ?? "Workflows" + name);
            var index = tables.GetTableClient(shared?.Index ?? "WorkflowIndex" + name);
            await workflows.CreateIfNotExistsAsync();
            await index.CreateIfNotExistsAsync();
            // One store across the rounds, as a hub process keeps one: the version and counter rows it has read stay known. Emptied
            // tables need a new one (what it knows is gone).
            var readModels = freshReadModels || !project ? new ReadModelStore(tables) : hubReadModels ??= new ReadModelStore(tables);
            var transactionsBefore = readModels.Transactions;
            if (project && freshReadModels)
            {
                foreach (var table in projections.SelectMany(p => p.Tables).Distinct(StringComparer.Ordinal))
                {
                    await readModels.ClearAsync(table, CancellationToken.None);
                }
            }

            var runtime = new WorkflowRuntime(
                new WorkflowStore(workflows, index), new WorkflowRegistry(workload.Definitions, project ? projections : []), new WorkflowQueues(workQueue, timers, parkedTimers),
                new NoNotices(), TimeProvider.System, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance, readModels);
            // The timers armed by earlier rounds are never consumed. Left waiting, they tax every later request: Azurite
            // rebuilds its message indexes (all queues' messages) on each receive, and the hub's listeners poll ten queues
            // (queue-receive benchmark: an empty receive costs 5.5 ms with no message waiting, 47.5 ms with 7,200).
            await timers.ClearMessagesAsync();
            await workQueue.ClearMessagesAsync();
            var counted = counter.Snapshot();
            var azuriteCpu = BenchmarkMachine.CpuSeconds(hub.AzuriteProcessId);
            var selfCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var floor = project && workload.FloorRows is { } coalesced ? new FloorRows(floorTable, coalesced) : null;
            var started = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, Instances), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
                await workload.RunInstance(runtime, $"bench-{name}-{i}", i, floor is null ? UpkeepWorkload.NothingAfterEvent : floor.AfterEventAsync, ct));
            if (floor is not null)
            {
                await floor.DrainAsync();
            }
            var rate = Instances * 2 / started.Elapsed.TotalSeconds;
            if (warmUp)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up: {(project ? "with" : "without")} projections, {rate:0} events/s (not counted)"));
                continue;
            }

            var roundAzuriteCpu = BenchmarkMachine.CpuSeconds(hub.AzuriteProcessId) - azuriteCpu;
            var roundSelfCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - selfCpu;
            (project ? withRates : withoutRates).Add(rate);
            foreach (var (kind, count) in StorageOperationCounter.Between(counted, counter.Snapshot()))
            {
                // One table name per arm: the round's Workflows/WorkflowIndex tables lose their round suffix.
                // The shard tables of one read-model table ({table}{shard:D2}) count as one.
                var key = System.Text.RegularExpressions.Regex.Replace(kind.Replace(name, "", StringComparison.Ordinal), "(?<=[A-Za-z])[0-9]{2}$", "**");
                requests[project][key] = requests[project].GetValueOrDefault(key) + count;
            }

            cpu[project] = (cpu[project].Azurite + roundAzuriteCpu, cpu[project].Self + roundSelfCpu);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  upkeep round {round + 1}: {(project ? "with" : "without")} projections {rate:0} events/s, {readModels.Transactions - transactionsBefore + (floor?.Transactions ?? 0)} {(floor is null ? "read-model" : "floor-row")} transactions, CPU per event: Azurite {roundAzuriteCpu * 1000 / (Instances * 2):0.00} ms, benchmark {roundSelfCpu * 1000 / (Instances * 2):0.00} ms, load {BenchmarkMachine.LoadAverage()}"));
        }

        await timers.ClearMessagesAsync(); // the last round's, before the routes are timed
        await workQueue.ClearMessagesAsync();
        var events = (double)Instances * 2 * rounds;
        Console.WriteLine("| requests per event | with projections | without |");
        Console.WriteLine("|---|---|---|");
        foreach (var kind in requests[true].Keys.Union(requests[false].Keys).Order(StringComparer.Ordinal))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {kind} | {requests[true].GetValueOrDefault(kind) / events:0.00} | {requests[false].GetValueOrDefault(kind) / events:0.00} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **requests (all kinds but rows)** | {requests[true].Where(r => !r.Key.StartsWith("rows", StringComparison.Ordinal)).Sum(r => r.Value) / events:0.00} | {requests[false].Where(r => !r.Key.StartsWith("rows", StringComparison.Ordinal)).Sum(r => r.Value) / events:0.00} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| CPU ms per event, Azurite | {cpu[true].Azurite * 1000 / events:0.00} | {cpu[false].Azurite * 1000 / events:0.00} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| CPU ms per event, benchmark process | {cpu[true].Self * 1000 / events:0.00} | {cpu[false].Self * 1000 / events:0.00} |"));

        var ratios = withRates.Zip(withoutRates, (w, wo) => w / wo).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"projection upkeep{(freshReadModels ? " (read-model tables emptied before each round)" : "")}: median throughput with {Percentile([.. withRates.Order()], 0.5):0} events/s, without {Percentile([.. withoutRates.Order()], 0.5):0} events/s; ratio with/without per pair median {Percentile(ratios, 0.5):0.00} (min {ratios[0]:0.00}, max {ratios[^1]:0.00}), {Instances} instances x 2 events per round, concurrency {Concurrency}"));
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Read-model entries of <paramref name="items"/> authorizations and as many referrals, spread like a plan's working set.</summary>
    private static IEnumerable<(ReadModelEntry, long)> Entries(int items, DateTimeOffset now)
    {
        var listing = new AuthorizationListingProjection();
        var authorizations = new AuthorizationConsoleProjection(Calendar);
        var referrals = new ReferralConsoleProjection(Calendar);
        // The monitoring extract's read model holds the loaded authorizations too (until stop 32 it held only the upkeep rounds' own).
        var monitoring = new MonitoringAuthorizationsProjection(new MemberCountingKey(RandomNumberGenerator.GetBytes(32)));
        string[] pofs = ["experiencing-homelessness-adults", "justice-involved", "birth-equity", "child-welfare"];
        for (var i = 0; i < items; i++)
        {
            var id = $"auth-{i:D7}";
            var received = now.AddMinutes(-(i * 7919L % (84 * 24 * 60)));
            var due = now.AddMinutes(i * 104729L % (14 * 24 * 60) - 2 * 24 * 60);
            var clocks = (i % 10) switch
            {
                < 3 => [new AuthorizationClock("decision", ClockKind.Decision, received, due, null, false, false, null, due < now ? due : null)],
                3 => [new AuthorizationClock("decision", ClockKind.Decision, received, received.AddDays(5), null, false, false, received.AddDays(1), null),
                    new AuthorizationClock("notices", ClockKind.Notices, received.AddDays(1), now.AddMinutes(i % (5 * 24 * 60)), null, false, false, null, null)],
                _ => new List<AuthorizationClock>
                {
                    new("decision", ClockKind.Decision, received, received.AddDays(5), null, false, false, received.AddDays(i % 20 == 4 ? 6 : 2), i % 20 == 4 ? received.AddDays(5) : null),
                },
            };
            var state = AuthorizationState.Initial with
            {
                Status = i % 10 < 3 ? AuthorizationStatus.InReview : AuthorizationStatus.Authorized,
                Request = new AuthorizationRequest(id, "90000000A", RequestedService.Ecm(pofs[i % pofs.Length]), "1245319599", "county-hospital", Urgency.Routine, [], null, received),
                Clocks = clocks,
            };
            var instance = new ProjectedInstance<AuthorizationState>(id, WorkflowRuntimeStatus.Running, 3, state);
            foreach (var entry in listing.Entries(instance).Concat(authorizations.Entries(instance)).Concat(monitoring.Entries(instance)))
            {
                yield return (entry, 3);
            }
        }

        for (var i = 0; i < items; i++)
        {
            var id = $"bench:r-{i:D7}";
            var referred = now.AddMinutes(-(i * 7919L % (90 * 24 * 60)));
            var npi = "1" + (i % 200).ToString("D9", CultureInfo.InvariantCulture);
            var other = "1" + ((i + 7) % 200).ToString("D9", CultureInfo.InvariantCulture);
            var kind = i % 10;
            var attempts = kind switch
            {
                < 2 => [new RoutingAttempt(1, npi, null, now.AddHours(-(i % 40)), now.AddMinutes(i % (2 * 24 * 60)), null, null, null)],
                8 => [new RoutingAttempt(1, npi, null, referred, referred.AddDays(2), AttemptOutcome.TimedOut, null, referred.AddDays(2)),
                    new RoutingAttempt(2, other, null, referred.AddDays(2), referred.AddDays(4), AttemptOutcome.TimedOut, null, referred.AddDays(4))],
                9 => [new RoutingAttempt(1, npi, null, referred, referred.AddDays(2), AttemptOutcome.Declined, "full", referred.AddHours(5)),
                    new RoutingAttempt(2, other, null, referred.AddHours(5), referred.AddDays(2), AttemptOutcome.Accepted, null, referred.AddHours(5 + i % 30))],
                _ => new List<RoutingAttempt> { new(1, npi, null, referred, referred.AddDays(2), AttemptOutcome.Accepted, null, referred.AddHours(i % 48)) },
            };
            var closed = kind is 5 or 6 or 7;
            var state = ReferralState.Initial with
            {
                Phase = kind switch { < 2 => ReferralPhase.AwaitingAcknowledgement, 4 => ReferralPhase.OutreachInitiated, 8 => ReferralPhase.Escalated, _ when closed => ReferralPhase.Closed, _ => ReferralPhase.Accepted },
                Status = closed ? ReferralStatus.ReferralLoopClosed : kind < 2 || kind == 8 ? ReferralStatus.Pending : ReferralStatus.Accepted,
                ReferralId = id,
                Platform = "bench",
                Service = new ReferralService("ecm", ["justice-involved"]),
                ReferringEntity = new ReferringEntity($"Referring entity {i % 50}", null),
                ReferredAt = referred,
                Attempts = attempts,
                EscalatedAt = kind == 8 ? referred.AddDays(4) : null,
                ClosureReason = closed ? (kind == 7 ? "Member declined services" : ReferralStatuses.ServicesReceived) : null,
                ClosedAt = closed ? referred.AddDays(10) : null,
            };
            foreach (var entry in referrals.Entries(new ProjectedInstance<ReferralState>(id, closed ? WorkflowRuntimeStatus.Completed : WorkflowRuntimeStatus.Running, 4, state)))
            {
                yield return (entry, 4);
            }
        }
    }
}
