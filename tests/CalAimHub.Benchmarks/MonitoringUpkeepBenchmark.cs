using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// <c>monitoring-upkeep --rounds N</c>: what the extract's authorization read model costs the workflows. Authorization
/// workflows (start + approval: ECM, a 12-month period, so 13 month partitions) through an in-process runtime in three arms
/// per round, interleaved (none, A, A+B, none, A, A+B…): no projection; the listing and console projections (A); those and
/// <see cref="MonitoringAuthorizationsProjection"/> (B). Throughput ratios per round against that round's first arm.
/// </summary>
public static class MonitoringUpkeepBenchmark
{
    public static async Task RunAsync(int rounds)
    {
        await using var hub = await BenchmarkMachine.QueryHubAsync();
        Console.WriteLine($"monitoring upkeep benchmark: {rounds} rounds x 3 arms; {Environment.ProcessorCount} cores, load {BenchmarkMachine.LoadAverage()}");
        var tables = hub.Storage.Tables;
        var work = hub.Storage.Queues.GetQueueClient("bench-monitoring-work");
        var timers = hub.Storage.Queues.GetQueueClient("bench-monitoring-timers");
        await work.CreateIfNotExistsAsync();
        await timers.CreateIfNotExistsAsync();
        var definition = WorkflowDefinition.From(new AuthorizationWorkflow(new AuthorizationOptions().ToPolicy()));
        WorkflowProjection[] console =
        [
            WorkflowProjection.From(AuthorizationWorkflow.TypeName, new AuthorizationListingProjection()),
            WorkflowProjection.From(AuthorizationWorkflow.TypeName, new AuthorizationConsoleProjection(CaliforniaWorkingDays.Current)),
        ];
        WorkflowProjection[] withMonitoring =
            [.. console, WorkflowProjection.From(AuthorizationWorkflow.TypeName, new MonitoringAuthorizationsProjection(new MemberCountingKey(RandomNumberGenerator.GetBytes(32))))];
        var arms = new (string Name, WorkflowProjection[] Projections)[] { ("none", []), ("console", console), ("console+monitoring", withMonitoring) };
        var rates = arms.ToDictionary(a => a.Name, _ => new List<double>());
        const int Instances = 200;
        const int Concurrency = 16;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (armName, projections) in arms)
            {
                var name = $"Mon{round}{armName.Replace("+", "", StringComparison.Ordinal)}";
                var workflows = tables.GetTableClient("Workflows" + name);
                var index = tables.GetTableClient("WorkflowIndex" + name);
                await workflows.CreateIfNotExistsAsync();
                await index.CreateIfNotExistsAsync();
                var readModels = new ReadModelStore(tables);
                var runtime = new WorkflowRuntime(
                    new WorkflowStore(workflows, index), new WorkflowRegistry([definition], projections), new WorkflowQueues(work, timers),
                    new NoNotices(), TimeProvider.System, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance, readModels);
                var started = Stopwatch.StartNew();
                await Parallel.ForEachAsync(Enumerable.Range(0, Instances), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
                {
                    var id = $"bench-{name}-{i}";
                    var request = new AuthorizationRequest(id, $"9{i:D7}A", RequestedService.Ecm("experiencing-homelessness-adults"), "1245319599", "county-hospital", Urgency.Routine,
                        ["experiencing-homelessness"], "ascmi-1", DateTimeOffset.UtcNow);
                    await runtime.StartAsync(AuthorizationWorkflow.TypeName, id, WorkflowJson.ToElement(request), ct);
                    await runtime.RaiseEventAsync(id, AuthorizationEvents.Decision, WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "staff-1")), null, ct);
                });
                var rate = Instances * 2 / started.Elapsed.TotalSeconds;
                rates[armName].Add(rate);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1} {armName}: {rate:0} events/s, {readModels.Transactions} read-model transactions ({(double)readModels.Transactions / Instances:0.0} per authorization), load {BenchmarkMachine.LoadAverage()}"));
            }
        }

        List<double> Ratios(string arm, string baseline) => [.. rates[arm].Zip(rates[baseline], (a, b) => a / b).Order()];
        foreach (var (arm, baseline) in new[] { ("console", "none"), ("console+monitoring", "none"), ("console+monitoring", "console") })
        {
            var ratios = Ratios(arm, baseline);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{arm} / {baseline}: median {ratios[ratios.Count / 2]:0.00} (min {ratios[0]:0.00}, max {ratios[^1]:0.00}) over {ratios.Count} rounds, {Instances} instances x 2 events, concurrency {Concurrency}"));
        }
    }
}
