using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Storage;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Issue 13: the lines of one invoice file as ingestion publishes them (CloudEvents batches of up to 100 rows per
/// partition bucket, the rows already stored in <c>IngestedRows</c>, then the run's file-stored event) handled by the real
/// <c>InvoiceFiles</c> function on Azurite: invoice workflows started per second (b) against a raw baseline in the same run,
/// (a) one 4-row entity-group transaction per invoice written by a plain SDK loop at the same concurrency, interleaved
/// A, B, A, B on two files; authorization look-ups per line counted by the line checks.
/// </summary>
public static class InvoicesBenchmark
{
    private const int Concurrency = 8;
    private const string Partner = "cbo-bench";
    private const string BillingProvider = "1234567893";
    // An authorization approved in setup runs from its decision's Pacific date: a service on that date is covered.
    private static readonly DateOnly ServiceDate = CalAimHub.Domain.Calendar.CaliforniaWorkingDays.Current.DateOf(DateTimeOffset.UtcNow);

    public static async Task RunAsync(string root, int lines, int linesPerInvoice, int members, int rounds = 2)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var counter = new StorageOperationCounter();
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        queueOptions.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var storage = new StorageAccount(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString),
            new QueueServiceClient(azurite.ConnectionString, queueOptions), new TableServiceClient(azurite.ConnectionString, tableOptions));
        foreach (var table in new[] { WorkflowOptions.TableName, WorkflowOptions.IndexTableName, WorkflowOptions.ParkedTimersTableName, TableRowDestination.TableName, MemberAuthorizationIndex.TableName, ProviderDirectoryApi.TableName, InvoiceLineStaging.TableName,
                     InvoiceReadModelsProjection.ListingTable, InvoiceReadModelsProjection.TimelinessTable, InvoiceReadModelsProjection.TimelinessCountersTable, InvoiceReadModelsProjection.PaidLinesTable })
        {
            await storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        }

        await storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName).CreateIfNotExistsAsync();
        await storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName).CreateIfNotExistsAsync();
        await storage.Queues.GetQueueClient(DomainEvent.InvoiceQueueName).CreateIfNotExistsAsync();

        var policy = AuthorizationPolicy.Default();
        var authorizations = new AuthorizationWorkflow(policy);
        var invoices = new InvoiceWorkflow(InvoicePolicy.Default());
        var options = new WorkflowOptions().AsOptions();
        var queues = new WorkflowQueues(storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName), storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName),
            storage.Tables.GetTableClient(WorkflowOptions.ParkedTimersTableName));
        var store = new ReadModelStore(storage.Tables);
        var readModels = new InvoiceReadModels(store);
        var runtime = new WorkflowRuntime(
            new WorkflowStore(storage.Tables.GetTableClient(WorkflowOptions.TableName), storage.Tables.GetTableClient(WorkflowOptions.IndexTableName)),
            new WorkflowRegistry([WorkflowDefinition.From(authorizations), WorkflowDefinition.From(invoices)],
                [WorkflowProjection.From(InvoiceWorkflow.TypeName, new InvoiceReadModelsProjection(invoices.Policy.Calendar, invoices.Policy.Rules))]),
            queues, new NoNotices(), TimeProvider.System, options, NullLogger<WorkflowRuntime>.Instance, store);
        var checks = new InvoiceLineChecks(storage, runtime, new ReferralDirectory(storage), readModels);
        var function = new InvoiceFilesFunction(runtime, storage, checks, new PartnerDirectory(new ConfigurationBuilder().Build()), new InvoiceLineStaging(storage), NullLogger<InvoiceFilesFunction>.Instance);

        Console.WriteLine($"setting up: {members} members with an approved ECM authorization, {lines} stored invoice rows …");
        var setup = Stopwatch.StartNew();
        var cins = Enumerable.Range(0, members).Select(i => $"9{i:D7}A").ToArray();
        await Parallel.ForEachAsync(cins, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (cin, ct) =>
        {
            var request = new AuthorizationRequest("auth-" + cin, cin, RequestedService.Ecm("experiencing-homelessness-adults"), BillingProvider, "county", Urgency.Routine,
                ["experiencing-homelessness", "complex-need-unable-to-self-manage"], null, DateTimeOffset.UtcNow.AddDays(-30));
            await new MemberAuthorizationIndex(storage).TryClaimAsync(request, new Dictionary<string, MemberAuthorizationRow>(), DateTimeOffset.UtcNow, ct);
            await runtime.StartAsync(AuthorizationWorkflow.TypeName, request.AuthorizationId, WorkflowJson.ToElement(request), ct);
            await runtime.RaiseEventAsync(request.AuthorizationId, AuthorizationEvents.Decision, WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "bench")), null, ct);
        });

        // The billing provider is in the directory, so a line with an approved authorization is clean.
        await storage.Tables.GetTableClient(ProviderDirectoryApi.TableName).UpsertEntityAsync(new TableEntity("provider", BillingProvider)
        {
            ["Entry"] = JsonSerializer.Serialize(new ProviderDirectoryEntry(BillingProvider, "Bench CBO", ["ecm"], ["Los Angeles"], [],
                new ProviderCapacity(0, 1000), "api"), ReferralJson.Options),
        });

        // The benchmark measures clean invoices (each arms its pay-or-contest timers): a sample line must pass every check.
        var sample = checks.ForRun("bench-precondition");
        var sampleLine = new BilledLine(1, cins[0], ServiceDate, null, "G9012", ["U2"], 4m, 250m);
        var sampleChecked = await checks.CheckAsync(BillingProvider, await checks.ProviderListedAsync(BillingProvider, sample, CancellationToken.None), sampleLine, sample, CancellationToken.None);
        if (sampleChecked.Problems.Count > 0)
        {
            throw new InvalidOperationException("the benchmark's lines would be contested: " + string.Join("; ", sampleChecked.Problems.Select(p => $"{p.Code}: {p.Missing}")));
        }

        var files = new List<StoredFile>();
        for (var round = 0; round < rounds; round++)
        {
            files.Add(await StoreRowsAsync(storage, lines, linesPerInvoice, cins, $"R{round}"));
        }

        Console.WriteLine($"setup {setup.Elapsed.TotalSeconds:0} s: per round {files[0].Messages.Count} line messages + 1 file-stored, {files[0].Invoices} invoices");

        // Interleaved A, B, A, B in this one process: (a) one raw 4-row entity-group transaction per invoice (what a start costs at
        // the least), (b) the file through InvoiceFiles: stage every message's checked lines, then the file-stored event starts each invoice.
        var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        var rows = new List<(TimeSpan A, TimeSpan B, TimeSpan Staging, long Lookups)>();
        var cpu = new List<(Cpu A, Cpu Staging, Cpu Start)>();
        var operations = new List<(IReadOnlyDictionary<string, long> Staging, IReadOnlyDictionary<string, long> Start)>();
        var waited = new List<(IReadOnlyDictionary<string, double> Before, IReadOnlyDictionary<string, double> Staged, IReadOnlyDictionary<string, double> After)>();
        for (var round = 0; round < rounds; round++)
        {
            var file = files[round];
            var cpu0 = Cpu.Now(azurite.ProcessId);
            var a = await BaselineAsync(storage.Tables, $"base{round}", file.Invoices);
            var cpu1 = Cpu.Now(azurite.ProcessId);
            var lookupsBefore = checks.AuthorizationLookups;
            var before = counter.Snapshot();
            var waitedBefore = counter.WaitedMilliseconds();
            var watch = Stopwatch.StartNew();
            await Parallel.ForEachAsync(file.Messages, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (message, ct) =>
                await function.HandleAsync(new QueueInvocation("InvoiceFiles", "invoice-events", message, new InvocationMetadata(JsonDocument.Parse("{}").RootElement)), ct));
            var staging = watch.Elapsed;
            var cpu2 = Cpu.Now(azurite.ProcessId);
            var staged = counter.Snapshot();
            var waitedStaged = counter.WaitedMilliseconds();
            var completed = await function.HandleAsync(new QueueInvocation("InvoiceFiles", "invoice-events", file.StoredMessage, new InvocationMetadata(JsonDocument.Parse("{}").RootElement)), CancellationToken.None);
            var b = watch.Elapsed;
            cpu.Add((cpu1 - cpu0, cpu2 - cpu1, Cpu.Now(azurite.ProcessId) - cpu2));
            operations.Add((StorageOperationCounter.Between(before, staged), StorageOperationCounter.Between(staged, counter.Snapshot())));
            waited.Add((waitedBefore, waitedStaged, counter.WaitedMilliseconds()));
            Console.WriteLine($"round {round + 1}: a {a.TotalSeconds:0.0} s, b {b.TotalSeconds:0.0} s (staging {staging.TotalSeconds:0.0} s); {completed}");
            // After (b), outside it: the run-started message's work (the hub does it on its own queue message, after the starts).
            var removal = Stopwatch.StartNew();
            var removed = await new InvoiceLineStaging(storage).RemoveRunAsync(file.RunId, CancellationToken.None);
            Console.WriteLine($"round {round + 1}: the run's {removed} staged rows removed in {removal.Elapsed.TotalSeconds:0.0} s (not part of b)");
            rows.Add((a, b, staging, checks.AuthorizationLookups - lookupsBefore));
        }

        // One more baseline pass after the last (b): every (b) has a baseline on both sides.
        var after = await BaselineAsync(storage.Tables, "after", files[0].Invoices);
        Console.WriteLine($"baseline after: a {after.TotalSeconds:0.0} s");
        var invoiceCount = files[0].Invoices;
        Console.WriteLine($"load average (/proc/loadavg) before the rounds: {loadBefore}; after: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?")}");
        string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        string R(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        Console.WriteLine($"invoices benchmark: {lines} lines, {linesPerInvoice} per invoice ({invoiceCount} invoices), {members} members, concurrency {Concurrency}, Azurite in memory, {Environment.ProcessorCount} cores, rounds A,B ×{rounds}, A");
        Console.WriteLine("| round | (a) raw: 1 transaction per invoice | (b) InvoiceFiles: stage + start per invoice | b/a (starts/s) | lines/s (b) | staging share of b | authorization look-ups per line |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        for (var i = 0; i < rows.Count; i++)
        {
            var (a, b, staging, lookups) = rows[i];
            Console.WriteLine($"| {i + 1} | {F(invoiceCount / a.TotalSeconds)} invoices/s ({F(a.TotalSeconds)} s) | {F(invoiceCount / b.TotalSeconds)} invoices/s ({F(b.TotalSeconds)} s) | {R(a / b)} | {F(lines / b.TotalSeconds)} | {R(staging / b)} | {R(lookups / (double)lines)} |");
        }

        // CPU seconds per phase: this process (the handler's own work, and the raw loop's) and Azurite's node process, from /proc.
        Console.WriteLine();
        Console.WriteLine("| round | phase | wall s | CPU s, this process | CPU s, Azurite |");
        Console.WriteLine("|---|---|---|---|---|");
        for (var i = 0; i < rows.Count; i++)
        {
            foreach (var (phase, wall, used) in new[] { ("(a) raw", rows[i].A, cpu[i].A), ("(b) staging", rows[i].Staging, cpu[i].Staging), ("(b) starts", rows[i].B - rows[i].Staging, cpu[i].Start) })
            {
                Console.WriteLine($"| {i + 1} | {phase} | {F(wall.TotalSeconds)} | {F(used.Process)} | {F(used.Azurite)} |");
            }
        }

        // Storage round trips per invoice and per line, by kind, of (b) in its first round (the profile; later rounds match).
        var (stagingOps, startOps) = operations[0];
        Console.WriteLine();
        Console.WriteLine($"storage operations of (b), round 1, per invoice ({invoiceCount} invoices, {lines / (double)invoiceCount:0.#} lines each):");
        Console.WriteLine("| phase | operation | count | per invoice | per line | mean wait ms |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var (w0, w1, w2) = waited[0];
        foreach (var (phase, ops, from, to) in new[] { ("stage (line messages)", stagingOps, w0, w1), ("start (file-stored)", startOps, w1, w2) })
        {
            foreach (var op in ops.OrderBy(o => o.Key.StartsWith("rows in", StringComparison.Ordinal)).ThenByDescending(o => o.Value))
            {
                var wait = to.TryGetValue(op.Key, out var t) ? (t - from.GetValueOrDefault(op.Key)) / op.Value : double.NaN;
                Console.WriteLine($"| {phase} | {op.Key} | {op.Value} | {op.Value / (double)invoiceCount:0.00} | {op.Value / (double)lines:0.000} | {(double.IsNaN(wait) ? "" : wait.ToString("0.0", CultureInfo.InvariantCulture))} |");
            }

            var trips = ops.Where(o => !o.Key.StartsWith("rows in", StringComparison.Ordinal)).Sum(o => o.Value);
            Console.WriteLine($"| {phase} | **round trips** | {trips} | **{trips / (double)invoiceCount:0.00}** | {trips / (double)lines:0.000} |");
        }

        Console.WriteLine($"| after | {F(invoiceCount / after.TotalSeconds)} invoices/s ({F(after.TotalSeconds)} s) | | | | | |");
        var meanA = rows.Select(r => r.A.TotalSeconds).Append(after.TotalSeconds).Average();
        var meanB = rows.Average(r => r.B.TotalSeconds);
        Console.WriteLine($"| mean | {F(invoiceCount / meanA)} invoices/s | {F(invoiceCount / meanB)} invoices/s | **{R(meanA / meanB)}** (target ≥ 0.5) | {F(lines / meanB)} | | |");
    }

    /// <summary>CPU seconds used so far by this process and by Azurite (user + system, from /proc; NaN where unreadable).</summary>
    private readonly record struct Cpu(double Process, double Azurite)
    {
        public static Cpu Now(int azurite) => new(BenchmarkMachine.CpuSeconds(Environment.ProcessId), BenchmarkMachine.CpuSeconds(azurite));

        public static Cpu operator -(Cpu a, Cpu b) => new(a.Process - b.Process, a.Azurite - b.Azurite);

    }

    private sealed record StoredFile(string RunId, IReadOnlyList<string> Messages, string StoredMessage, int Invoices);

    /// <summary>
    /// Stores the rows as ingestion would and builds its event messages: 99-row batches per bucket, in file order, each with
    /// its member row in the same transaction and named by its events, then the run's file-stored event.
    /// </summary>
    private static async Task<StoredFile> StoreRowsAsync(StorageAccount storage, int lines, int linesPerInvoice, string[] cins, string prefix)
    {
        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        var buffers = new Dictionary<int, List<(TableEntity Row, DomainEvent Event)>>();
        var batches = new List<List<(TableEntity Row, DomainEvent Event)>>();
        var arrived = DateTimeOffset.UtcNow;
        var runId = $"run-bench-{prefix}-{Guid.NewGuid():N}";
        var dos = ServiceDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        for (var i = 0; i < lines; i++)
        {
            var invoice = i / linesPerInvoice;
            var number = (i % linesPerInvoice) + 1;
            var rowKey = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{prefix}/{i}")).AsSpan(0, 16));
            var bucket = Convert.ToByte(rowKey[..2], 16) % AcceptedRow.Buckets;
            var partition = AcceptedRow.Partition(Partner, "invoice", bucket);
            var data = new Dictionary<string, string>
            {
                ["partnerId"] = Partner, ["kind"] = "invoice", ["runId"] = runId, ["partitionKey"] = partition, ["rowKey"] = rowKey,
                ["InvoiceNumber"] = $"INV-{prefix}-{invoice:D6}", ["LineNumber"] = number.ToString(CultureInfo.InvariantCulture), ["ServiceStartDate"] = dos,
                ["HcpcsCode"] = "G9012", ["Modifier1"] = "U2", ["Units"] = "4", ["ChargeAmount"] = "250.00", ["BillingProviderNPI"] = BillingProvider, ["BillingProviderTIN"] = "123456789",
            };
            var row = new TableEntity(partition, rowKey) { ["MemberCin"] = cins[(i * 7) % cins.Length] };
            var e = new DomainEvent("evt-" + rowKey, DomainEvent.InvoiceLineReceived, "bench", $"{partition}/{rowKey}", arrived, data);
            if (!buffers.TryGetValue(bucket, out var buffer))
            {
                buffers[bucket] = buffer = [];
            }

            buffer.Add((row, e));
            if (buffer.Count == TableRowDestination.MaxBatch - 1)
            {
                batches.Add(buffer);
                buffers.Remove(bucket);
            }
        }

        batches.AddRange(buffers.Values);
        var members = batches.Select(batch => TableRowDestination.MemberRow(batch[0].Row.PartitionKey, runId, batch.Select(b => (b.Row.RowKey, b.Row.GetString("MemberCin"))))).ToList();
        await Parallel.ForEachAsync(batches.Zip(members), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (batch, ct) =>
            await table.SubmitTransactionAsync(batch.First.Select(b => new TableTransactionAction(TableTransactionActionType.UpsertReplace, b.Row))
                .Append(new TableTransactionAction(TableTransactionActionType.UpsertReplace, batch.Second)), ct));

        var messages = batches.Zip(members).SelectMany(batch => TableRowDestination.EventMessages([.. batch.First.Select(b => TableRowDestination.NamingMemberRow(b.Event, batch.Second.RowKey))])).ToList();
        var stored = TableRowDestination.EventMessages([DomainEvent.FileStored(new FileSubmission(runId, Partner, "invoice", "bench.csv", null, arrived), lines,
            new CalAimHub.Ingestion.Reports.IngestReport { RunId = runId, PartnerId = Partner, Kind = "invoice", File = "bench.csv", Outcome = "accepted", RowsAccepted = lines })]).Single();
        return new StoredFile(runId, messages, stored, (lines + linesPerInvoice - 1) / linesPerInvoice);
    }

    /// <summary>(a): per invoice one 4-row entity-group transaction (state, history, dedupe, outbox), as a start with its lines writes.</summary>
    private static async Task<TimeSpan> BaselineAsync(TableServiceClient tables, string name, int invoices)
    {
        var client = tables.GetTableClient("InvoiceBaseline" + name);
        await client.CreateIfNotExistsAsync();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, invoices), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            var pk = $"inv-{i}";
            await client.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, "state") { ["Type"] = "invoice", ["Status"] = "Running", ["Seq"] = 1L, ["State"] = new string('x', 1500) }),
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, "h:0000000001") { ["Entry"] = new string('h', 1000) }),
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, "d:start") { ["EventId"] = "start" }),
                new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, "o:0000000001") { ["Work"] = "[]" }),
            ], ct);
        });
        return watch.Elapsed;
    }
}
