using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Blobs.Specialized;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Consent;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.Consent;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Notifications;
using CalAimHub.Functions.Outbound;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Issue 14, Measured: an assignment feed of N members (50k, 100k, 200k) spread over 500 providers, already indexed in
/// <c>OutboundAssignments</c> as the assignment consumer leaves it (1 in 10 members with an ECM authorization), becomes one
/// MIF per provider on Azurite. (b) the real <see cref="OutboundGenerator"/>, one provider per call, 8 providers at a
/// time (the generation queue's fan-out); (a) a raw Azure SDK loop in the same process doing the same storage work at the
/// same concurrency: the provider's assignment partition read, per member the authorization index, workflow state,
/// referral index and consent partition reads (16 at a time), the CSV blob, the per-member disclosure upsert, the sent-file
/// lines (100 per transaction) and the sent marks. Interleaved a, b per size, in increasing size; rows/s b/a (target ≥ 0.8);
/// peak memory during each phase: the process's resident set high-water mark (VmHWM, reset before the phase) and the peak
/// managed heap sampled every 20 ms.
/// </summary>
public static class OutboundBenchmark
{
    private const int Providers = 500;
    private const int Concurrency = 8;
    private const int JoinParallelism = 16;

    public static async Task RunAsync(string root, int[] sizes, string? lockPath = null, int[]? filesPerSize = null, bool generatorFirst = false)
    {
        // --b-first: (b) runs before (a) at each size, so (b)'s resident-set peak cannot include what (a) left behind (the GC
        // does not give freed segments back at once). Run one size per process to compare peaks across sizes.
        // --files N: the whole feed is seeded, but only the first N providers' files are generated in (a) and (b); a file
        // then has the members it has at the full run (size / 500), in a fraction of the time. A list gives N per size (the
        // last one repeats), so small samples and a full run share one process.
        filesPerSize = filesPerSize is { Length: > 0 } ? filesPerSize : [Providers];
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var counter = new StorageOperationCounter();
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        queueOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var blobOptions = new Azure.Storage.Blobs.BlobClientOptions();
        blobOptions.AddPolicy(counter.Blobs(), Azure.Core.HttpPipelinePosition.PerCall);
        var storage = new StorageAccount(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString, blobOptions),
            new QueueServiceClient(azurite.ConnectionString, queueOptions), new TableServiceClient(azurite.ConnectionString, tableOptions));
        foreach (var table in new[] { OutboundAssignments.TableName, OutboundLedger.TableName, MemberAuthorizationIndex.TableName, ReferralMemberIndex.TableName,
                     WorkflowOptions.TableName, WorkflowOptions.IndexTableName, TableConsentRegistry.TableName, TableDisclosureLog.MemberTableName, TableDisclosureLog.SentFilesTableName,
                     RawDisclosures, RawSentFiles, RawSentMarks })
        {
            await storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        }

        await storage.Blobs.GetBlobContainerClient(OutboundGenerator.Container).CreateIfNotExistsAsync();
        await storage.Blobs.GetBlobContainerClient(RawContainer).CreateIfNotExistsAsync();
        await storage.Queues.GetQueueClient(NotificationQueue.QueueName).CreateIfNotExistsAsync();

        var options = new WorkflowOptions().AsOptions();
        var runtime = new WorkflowRuntime(
            new WorkflowStore(storage.Tables.GetTableClient(WorkflowOptions.TableName), storage.Tables.GetTableClient(WorkflowOptions.IndexTableName)),
            new WorkflowRegistry([WorkflowDefinition.From(new AuthorizationWorkflow(AuthorizationPolicy.Default()))], []),
            new WorkflowQueues(storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName), storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName)),
            new NoNotices(), TimeProvider.System, options, NullLogger<WorkflowRuntime>.Instance, new ReadModelStore(storage.Tables));
        var configuration = new ConfigurationBuilder().Build();
        var generator = new OutboundGenerator(storage, new OutboundAssignments(storage), new OutboundLedger(storage),
            new HubMemberFacts(new MemberAuthorizationIndex(storage), new ReferralMemberIndex(storage), runtime, CaliforniaWorkingDays.Current),
            new TableConsentRegistry(storage), new TableDisclosureLog(storage), new NotificationQueue(storage, []), new PartnerDirectory(configuration),
            ExchangeAccount.None, Options.Create(new OutboundOptions { PlanCode = "BENCH" }), TimeProvider.System, NullLogger<OutboundGenerator>.Instance);

        var results = new List<(int Members, int Files, int Rows, TimeSpan A, TimeSpan B, long PeakA, long PeakB, long HeapA, long HeapB, string LoadBefore, string LoadAfter)>();
        for (var s = 0; s < sizes.Length; s++)
        {
            var members = sizes[s];
            var files = Math.Clamp(filesPerSize[Math.Min(s, filesPerSize.Length - 1)], 1, Providers);
            var period = $"2026-{s + 1:D2}";
            var seed = Stopwatch.StartNew();
            using (await BenchmarkLock.TakeAsync(lockPath))
            {
                await SeedAsync(storage, period, members, s);
            }

            Console.WriteLine($"seeded {members:N0} members over {Providers} providers for {period} in {seed.Elapsed.TotalSeconds:0} s (load {BenchmarkMachine.LoadAverage()})");

            var loadBefore = BenchmarkMachine.LoadAverage();
            var measured = (int)((long)members * files / Providers);
            var phaseA = (Name: "(a) raw SDK loop", Run: (Func<Task>)(() => RawAsync(storage, period, files)));
            var phaseB = (Name: "(b) OutboundGenerator", Run: (Func<Task>)(() => Parallel.ForEachAsync(Enumerable.Range(0, files), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (p, ct) =>
                await generator.GenerateAsync(new OutboundRequest(ProviderId(p), period, SentFileKinds.Mif, null, null), ct))));
            var measuredPhases = new Dictionary<string, (TimeSpan Elapsed, long Peak, long Heap, IReadOnlyDictionary<string, long> Counted, IReadOnlyDictionary<string, double> Waited, TimeSpan Cpu)>();
            foreach (var phase in generatorFirst ? new[] { phaseB, phaseA } : [phaseA, phaseB])
            {
                var counted = counter.Snapshot();
                var waited = counter.WaitedMilliseconds();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var (elapsed, peak, heap) = await MeasureAsync(lockPath, phase.Run);
                measuredPhases[phase.Name] = (elapsed, peak, heap, StorageOperationCounter.Between(counted, counter.Snapshot()), Waited(waited, counter.WaitedMilliseconds()),
                    Process.GetCurrentProcess().TotalProcessorTime - cpu);
                Console.WriteLine($"  {phase.Name}: {elapsed.TotalSeconds:0.0} s, {measured / elapsed.TotalSeconds:N0} rows/s, peak RSS {peak / 1048576.0:0} MiB, peak heap {heap / 1048576.0:0} MiB");
            }

            var (a, peakA, heapA, countedA, waitedA, cpuA) = measuredPhases[phaseA.Name];
            var (b, peakB, heapB, countedB, waitedB, cpuB) = measuredPhases[phaseB.Name];
            PrintRequests(members, measured, files, countedA, countedB, cpuA, cpuB, waitedA, waitedB);
            results.Add((members, files, measured, a, b, peakA, peakB, heapA, heapB, loadBefore, BenchmarkMachine.LoadAverage()));
        }

        string R(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        string M(long v) => (v / 1048576.0).ToString("0", CultureInfo.InvariantCulture);
        Console.WriteLine($"outbound benchmark: {Providers} providers, {string.Join(",", filesPerSize)} files generated per size, {Concurrency} at a time, join {JoinParallelism} at a time, 1 in 10 members authorized, Azurite in memory, {Environment.ProcessorCount} cores, order {(generatorFirst ? "b, a" : "a, b")} per size");
        Console.WriteLine("| members (files × members per file) | (a) raw SDK loop | (b) OutboundGenerator | b/a (rows/s) | peak RSS a / b | peak managed heap a / b | load before → after |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            Console.WriteLine($"| {F(r.Members)} ({r.Files} × {F(r.Rows / (double)r.Files)}) | {F(r.Rows / r.A.TotalSeconds)} rows/s ({r.A.TotalSeconds:0.0} s) | {F(r.Rows / r.B.TotalSeconds)} rows/s ({r.B.TotalSeconds:0.0} s) | **{R(r.A / r.B)}** | {M(r.PeakA)} / {M(r.PeakB)} MiB | {M(r.HeapA)} / {M(r.HeapB)} MiB | {r.LoadBefore} → {r.LoadAfter} |");
        }
    }

    private static string F(double v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>
    /// Storage requests per file and per member, by kind, with the mean wait; and this process's CPU (client side: join,
    /// layout, CSV, hashing, serialization, HTTP) per member. Azurite's own CPU is in another process.
    /// </summary>
    private static void PrintRequests(int members, int rows, int files, IReadOnlyDictionary<string, long> countedA, IReadOnlyDictionary<string, long> countedB,
        TimeSpan cpuA, TimeSpan cpuB, IReadOnlyDictionary<string, double> waitA, IReadOnlyDictionary<string, double> waitB)
    {
        string P(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        Console.WriteLine($"storage requests, {F(members)} members, {files} files, {F(rows)} rows ({P(rows / (double)files)} per file); CPU of this process a {cpuA.TotalSeconds:0.0} s ({P(cpuA.TotalMilliseconds / rows)} ms/member), b {cpuB.TotalSeconds:0.0} s ({P(cpuB.TotalMilliseconds / rows)} ms/member)");
        Console.WriteLine("| request | (a) per file | (a) per member | (b) per file | (b) per member | mean wait a / b (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var key in countedA.Keys.Concat(countedB.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var na = countedA.GetValueOrDefault(key);
            var nb = countedB.GetValueOrDefault(key);
            string Wait(IReadOnlyDictionary<string, double> waited, long n) => n == 0 || !waited.TryGetValue(key, out var ms) ? "–" : (ms / n).ToString("0.0", CultureInfo.InvariantCulture);
            Console.WriteLine($"| {key} | {P(na / (double)files)} | {P(na / (double)rows)} | {P(nb / (double)files)} | {P(nb / (double)rows)} | {Wait(waitA, na)} / {Wait(waitB, nb)} |");
        }

        long Requests(IReadOnlyDictionary<string, long> d) => d.Where(e => !e.Key.StartsWith("rows in", StringComparison.Ordinal)).Sum(e => e.Value);
        Console.WriteLine($"| **all requests** | {P(Requests(countedA) / (double)files)} | {P(Requests(countedA) / (double)rows)} | {P(Requests(countedB) / (double)files)} | {P(Requests(countedB) / (double)rows)} | |");
    }

    private static IReadOnlyDictionary<string, double> Waited(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after) =>
        after.ToDictionary(a => a.Key, a => a.Value - before.GetValueOrDefault(a.Key), StringComparer.Ordinal);

    private const string RawContainer = "bench-raw-outbound";
    private const string RawDisclosures = "BenchRawDisclosures";
    private const string RawSentFiles = "BenchRawSentFiles";
    private const string RawSentMarks = "BenchRawSentMarks";

    private static string ProviderId(int p) => $"ecm-{p:D3}";

    private static string Cin(int size, int n) => $"9{size}{n:D6}{(char)('A' + (n % 26))}";

    /// <summary>The index as the assignment consumer leaves it, one provider at a time (no whole feed in memory); 1 in 10 members authorized.</summary>
    private static async Task SeedAsync(StorageAccount storage, string period, int members, int size)
    {
        var assignments = new OutboundAssignments(storage);
        var authorizations = new MemberAuthorizationIndex(storage);
        await Parallel.ForEachAsync(Enumerable.Range(0, Providers), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, ct) =>
        {
            var rows = new List<AssignmentRow>();
            for (var n = p; n < members; n += Providers)
            {
                var cin = Cin(size, n);
                rows.Add(AssignmentRow.From(new Dictionary<string, string>
                {
                    ["ProviderId"] = ProviderId(p), ["ProviderType"] = "ECM", ["AssignmentPeriod"] = period, ["AssignmentDate"] = period + "-01", ["MemberCin"] = cin,
                    ["MemberFirstName"] = "First" + n, ["MemberLastName"] = "Last" + n, ["MemberDateOfBirth"] = "1961-03-14", ["CoverageCounty"] = "Alameda",
                    ["PrimaryPhone"] = "510-555-0100", ["PopulationOfFocus"] = "1a", ["ResidentialAddress"] = $"{n} Harbor Way", ["ResidentialCity"] = "Oakland",
                    ["ResidentialZip"] = "94607", ["PreferredLanguage"] = "Spanish", ["MedicalNeeds"] = "Diabetes; hypertension", ["MemberGender"] = "F",
                }));
                if (n % 10 == 0)
                {
                    var request = new AuthorizationRequest($"auth-{cin}", cin, RequestedService.Ecm("experiencing-homelessness-adults"), "1234567893", "county", Urgency.Routine,
                        ["experiencing-homelessness", "complex-need-unable-to-self-manage"], null, DateTimeOffset.UtcNow.AddDays(-30));
                    await authorizations.TryClaimAsync(request, new Dictionary<string, MemberAuthorizationRow>(), DateTimeOffset.UtcNow, ct);
                }
            }

            await assignments.AddAsync(ProviderId(p), period, OutboundAssignments.Ecm, rows, ct);
        });
    }

    /// <summary>(a): the same storage work as a generation, written as a plain SDK loop.</summary>
    private static Task RawAsync(StorageAccount storage, string period, int files)
    {
        var assignments = storage.Tables.GetTableClient(OutboundAssignments.TableName);
        var authorizations = storage.Tables.GetTableClient(MemberAuthorizationIndex.TableName);
        var workflows = storage.Tables.GetTableClient(WorkflowOptions.TableName);
        var referrals = storage.Tables.GetTableClient(ReferralMemberIndex.TableName);
        var consents = storage.Tables.GetTableClient(TableConsentRegistry.TableName);
        var disclosures = storage.Tables.GetTableClient(RawDisclosures);
        var sentFiles = storage.Tables.GetTableClient(RawSentFiles);
        var marks = storage.Tables.GetTableClient(RawSentMarks);
        var container = storage.Blobs.GetBlobContainerClient(RawContainer);
        return Parallel.ForEachAsync(Enumerable.Range(0, files), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (p, ct) =>
        {
            var partition = OutboundAssignments.MemberPartition(ProviderId(p), period);
            var members = new List<TableEntity>();
            await foreach (var row in assignments.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {"ecm|"} and RowKey lt {"ecm|~"}"), maxPerPage: 1000, cancellationToken: ct))
            {
                members.Add(row);
            }

            var lines = new string[members.Count];
            var cins = members.Select(m => m.RowKey[(m.RowKey.LastIndexOf('|') + 1)..]).ToArray();
            await Parallel.ForEachAsync(Enumerable.Range(0, members.Count), new ParallelOptions { MaxDegreeOfParallelism = JoinParallelism, CancellationToken = ct }, async (i, token) =>
            {
                string? authorization = null;
                await foreach (var row in authorizations.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {cins[i]}"), cancellationToken: token))
                {
                    authorization = row.GetString("AuthorizationId") ?? row.RowKey;
                }

                if (authorization is not null)
                {
                    await workflows.GetEntityIfExistsAsync<TableEntity>(authorization, "state", cancellationToken: token);
                }

                await foreach (var _ in referrals.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {cins[i]}"), select: ["RowKey"], cancellationToken: token))
                {
                }

                await foreach (var _ in consents.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {cins[i]}"), cancellationToken: token))
                {
                }

                var values = JsonSerializer.Deserialize<Dictionary<string, string>>(members[i].GetString("Values") ?? "{}") ?? [];
                lines[i] = string.Join(',', values.Values) + "," + authorization;
            });

            var path = $"{ProviderId(p)}/mif/{period}.csv";
            await container.GetBlockBlobClient(path).UploadAsync(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\r\n", lines))), new BlobUploadOptions(), ct);
            await Parallel.ForEachAsync(cins, new ParallelOptions { MaxDegreeOfParallelism = JoinParallelism, CancellationToken = ct }, async (cin, token) =>
                await disclosures.UpsertEntityAsync(new TableEntity(cin, "d-" + path.Replace('/', '|')) { ["Recipient"] = ProviderId(p), ["Document"] = path, ["Shared"] = "identity,contact" }, TableUpdateMode.Replace, token));
            foreach (var chunk in cins.Chunk(100))
            {
                await sentFiles.SubmitTransactionAsync(chunk.Select(c => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                    new TableEntity($"{ProviderId(p)}|{period}", "l|" + c) { ["File"] = path })), ct);
            }

            foreach (var chunk in members.Chunk(100))
            {
                await marks.SubmitTransactionAsync(chunk.Select(m => new TableTransactionAction(TableTransactionActionType.UpsertMerge, new TableEntity(partition, m.RowKey) { ["SentIn"] = path })), ct);
            }
        });
    }

    /// <summary>Runs a phase with the process's peak resident set reset before it, and the managed heap sampled during it.</summary>
    private static async Task<(TimeSpan Elapsed, long PeakResident, long PeakHeap)> MeasureAsync(string? lockPath, Func<Task> phase)
    {
        using var held = await BenchmarkLock.TakeAsync(lockPath);
        Console.WriteLine($"  phase starts {DateTimeOffset.UtcNow:HH:mm:ss} UTC, load {BenchmarkMachine.LoadAverage()}");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        BenchmarkMachine.ResetPeakWorkingSet(Environment.ProcessId);
        long peakHeap = 0, peakAfterGc = 0;
        int peakThreads = 0, peakPoolThreads = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                // The heap as the last collection left it: what survived (plus fragmentation), without the garbage made since.
                peakAfterGc = Math.Max(peakAfterGc, GC.GetGCMemoryInfo().HeapSizeBytes);
                peakThreads = Math.Max(peakThreads, Process.GetCurrentProcess().Threads.Count);
                peakPoolThreads = Math.Max(peakPoolThreads, ThreadPool.ThreadCount);
                await Task.Delay(20, CancellationToken.None);
            }
        });
        var watch = Stopwatch.StartNew();
        await phase();
        var elapsed = watch.Elapsed;
        await stop.CancelAsync();
        await sampler;
        Console.WriteLine($"  peak heap after a collection {peakAfterGc / 1048576.0:0} MiB; collections gen0/1/2 so far {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
        // Where the heap is, as the last collection left it (gen0, gen1, gen2, large objects, pinned objects), and the threads:
        // to tell what grows with the file from what grows with the requests in flight.
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        string[] generations = ["gen0", "gen1", "gen2", "LOH", "POH"];
        Console.WriteLine($"  last GC ({info.Generation}, {info.Index}): " + string.Join(", ", generations.Select((g, i) => $"{g} {info.GenerationInfo[i].SizeAfterBytes / 1048576.0:0.0} MiB"))
            + $", fragmented {info.FragmentedBytes / 1048576.0:0.0} MiB, committed {info.TotalCommittedBytes / 1048576.0:0} MiB; total allocated {GC.GetTotalAllocatedBytes() / 1048576.0:0} MiB; peak threads {peakThreads} (thread pool {peakPoolThreads})");
        return (elapsed, BenchmarkMachine.MemoryStatus(Environment.ProcessId, "VmHWM:"), peakHeap);
    }
}

/// <summary>
/// The shared benchmark lock (<c>/work/bench.lock</c>, the file <c>flock</c> takes), held for one phase at a time so a long run
/// lets other benchmarks in between its phases. On Linux, .NET's <see cref="FileShare.None"/> is an exclusive <c>flock</c>.
/// </summary>
internal static class BenchmarkLock
{
    public static async Task<IDisposable> TakeAsync(string? path)
    {
        if (path is null)
        {
            return new MemoryStream();
        }

        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }
    }
}
