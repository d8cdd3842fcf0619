using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Invoices;
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
/// partition bucket, the rows already stored in <c>IngestedRows</c>) handled by the real <c>InvoiceFiles</c> function on
/// Azurite: invoice workflows started per second against a raw baseline in the same run, (a) the same number of
/// entity-group transactions (one per start, one per lines-received event) written by a plain SDK loop with the same
/// concurrency, measured before and after (b); authorization look-ups per line counted by the line checks.
/// </summary>
public static class InvoicesBenchmark
{
    private const int Concurrency = 8;
    private const string Partner = "cbo-bench";

    public static async Task RunAsync(string root, int lines, int linesPerInvoice, int members)
    {
        await using var azurite = await Azurite.StartInMemoryAsync(root);
        var storage = StorageAccount.FromConnectionString(azurite.ConnectionString, QueueMessageEncoding.Base64);
        foreach (var table in new[] { WorkflowOptions.TableName, WorkflowOptions.IndexTableName, TableRowDestination.TableName, MemberAuthorizationIndex.TableName, ProviderDirectoryApi.TableName,
                     InvoiceReadModelsProjection.ListingTable, InvoiceReadModelsProjection.TimelinessTable, InvoiceReadModelsProjection.PaidLinesTable })
        {
            await storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        }

        await storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName).CreateIfNotExistsAsync();
        await storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName).CreateIfNotExistsAsync();

        var policy = AuthorizationPolicy.Default();
        var authorizations = new AuthorizationWorkflow(policy);
        var invoices = new InvoiceWorkflow(InvoicePolicy.Default());
        var options = new WorkflowOptions().AsOptions();
        var queues = new WorkflowQueues(storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName), storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName));
        var store = new ReadModelStore(storage.Tables);
        var readModels = new InvoiceReadModels(store);
        var runtime = new WorkflowRuntime(
            new WorkflowStore(storage.Tables.GetTableClient(WorkflowOptions.TableName), storage.Tables.GetTableClient(WorkflowOptions.IndexTableName)),
            new WorkflowRegistry([WorkflowDefinition.From(authorizations), WorkflowDefinition.From(invoices)],
                [WorkflowProjection.From(InvoiceWorkflow.TypeName, new InvoiceReadModelsProjection(invoices.Policy.Calendar, invoices.Policy.Rules))]),
            queues, new NoNotices(), TimeProvider.System, options, NullLogger<WorkflowRuntime>.Instance, store);
        var checks = new InvoiceLineChecks(storage, runtime, new ReferralDirectory(storage), readModels);
        var function = new InvoiceFilesFunction(runtime, storage, checks, new PartnerDirectory(new ConfigurationBuilder().Build()), NullLogger<InvoiceFilesFunction>.Instance);

        Console.WriteLine($"setting up: {members} members with an approved ECM authorization, {lines} stored invoice rows …");
        var setup = Stopwatch.StartNew();
        var cins = Enumerable.Range(0, members).Select(i => $"9{i:D7}A").ToArray();
        await Parallel.ForEachAsync(cins, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (cin, ct) =>
        {
            var request = new AuthorizationRequest("auth-" + cin, cin, RequestedService.Ecm("experiencing-homelessness-adults"), "1234567893", "county", Urgency.Routine,
                ["experiencing-homelessness", "complex-need-unable-to-self-manage"], null, DateTimeOffset.UtcNow.AddDays(-30));
            await new MemberAuthorizationIndex(storage).TryClaimAsync(request, new Dictionary<string, MemberAuthorizationRow>(), DateTimeOffset.UtcNow, ct);
            await runtime.StartAsync(AuthorizationWorkflow.TypeName, request.AuthorizationId, WorkflowJson.ToElement(request), ct);
            await runtime.RaiseEventAsync(request.AuthorizationId, AuthorizationEvents.Decision, WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "bench")), null, ct);
        });

        var file = await StoreRowsAsync(storage, lines, linesPerInvoice, cins);
        Console.WriteLine($"setup {setup.Elapsed.TotalSeconds:0} s: {file.Messages.Count} event messages, {file.Invoices} invoices, {file.LineEvents} lines-received events");

        var a1 = await BaselineAsync(storage.Tables, "base1", file.Transactions);
        var lookupsBefore = checks.AuthorizationLookups;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(file.Messages, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (message, ct) =>
            await function.HandleAsync(new QueueInvocation("InvoiceFiles", "invoice-events", message, new InvocationMetadata(JsonDocument.Parse("{}").RootElement)), ct));
        var b = watch.Elapsed;
        var lookups = checks.AuthorizationLookups - lookupsBefore;
        var a2 = await BaselineAsync(storage.Tables, "base2", file.Transactions);

        var a = (a1 + a2) / 2;
        var startsA = file.Invoices / a.TotalSeconds;
        var startsB = file.Invoices / b.TotalSeconds;
        string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        Console.WriteLine($"invoices benchmark: {lines} lines, {linesPerInvoice} per invoice ({file.Invoices} invoices), {members} members, concurrency {Concurrency}, Azurite in memory, {Environment.ProcessorCount} cores");
        Console.WriteLine("| measure | value | target |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| (a) raw baseline: {file.Transactions.Sum()} entity-group transactions, same concurrency (before / after b: {F(file.Invoices / a1.TotalSeconds)} / {F(file.Invoices / a2.TotalSeconds)}) | {F(startsA)} invoices/s | |");
        Console.WriteLine($"| (b) InvoiceFiles: start + line checks + lines-received + read models | {F(startsB)} invoices/s, {F(lines / b.TotalSeconds)} lines/s ({F(b.TotalSeconds)} s) | |");
        Console.WriteLine($"| ratio b/a | {(startsB / startsA).ToString("0.00", CultureInfo.InvariantCulture)} | ≥ 0.5 |");
        Console.WriteLine($"| authorization look-ups per line (member index + authorization state, point reads; per-message cache) | {(lookups / (double)lines).ToString("0.00", CultureInfo.InvariantCulture)} ({lookups}) | no scans |");
    }

    private sealed record StoredFile(IReadOnlyList<string> Messages, int Invoices, int LineEvents, IReadOnlyList<int> Transactions);

    /// <summary>Stores the rows as ingestion would and builds its event messages: 100-row batches per bucket, in file order.</summary>
    private static async Task<StoredFile> StoreRowsAsync(StorageAccount storage, int lines, int linesPerInvoice, string[] cins)
    {
        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        var buffers = new Dictionary<int, List<(TableEntity Row, DomainEvent Event)>>();
        var batches = new List<List<(TableEntity Row, DomainEvent Event)>>();
        var arrived = DateTimeOffset.UtcNow;
        var dos = DateTime.UtcNow.AddDays(-2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        for (var i = 0; i < lines; i++)
        {
            var invoice = i / linesPerInvoice;
            var number = (i % linesPerInvoice) + 1;
            var rowKey = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)).AsSpan(0, 16));
            var bucket = Convert.ToByte(rowKey[..2], 16) % AcceptedRow.Buckets;
            var partition = AcceptedRow.Partition(Partner, "invoice", bucket);
            var data = new Dictionary<string, string>
            {
                ["partnerId"] = Partner, ["kind"] = "invoice", ["partitionKey"] = partition, ["rowKey"] = rowKey,
                ["InvoiceNumber"] = $"INV-{invoice:D6}", ["LineNumber"] = number.ToString(CultureInfo.InvariantCulture), ["ServiceStartDate"] = dos,
                ["HcpcsCode"] = "G9012", ["Modifier1"] = "U2", ["Units"] = "4", ["ChargeAmount"] = "250.00", ["BillingProviderNPI"] = "1234567893", ["BillingProviderTIN"] = "123456789",
            };
            var row = new TableEntity(partition, rowKey) { ["MemberCin"] = cins[(i * 7) % cins.Length] };
            var e = new DomainEvent("evt-" + rowKey, "calaimhub.invoice.received", "bench", $"{partition}/{rowKey}", arrived, data);
            if (!buffers.TryGetValue(bucket, out var buffer))
            {
                buffers[bucket] = buffer = [];
            }

            buffer.Add((row, e));
            if (buffer.Count == TableRowDestination.MaxBatch)
            {
                batches.Add(buffer);
                buffers.Remove(bucket);
            }
        }

        batches.AddRange(buffers.Values);
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (batch, ct) =>
            await table.SubmitTransactionAsync(batch.Select(b => new TableTransactionAction(TableTransactionActionType.UpsertReplace, b.Row)), ct));

        var messages = batches.SelectMany(batch => TableRowDestination.EventMessages([.. batch.Select(b => b.Event)])).ToList();
        // Commits per invoice: one start, one lines-received per message that holds any of its lines.
        var eventsPerInvoice = new Dictionary<string, int>();
        foreach (var message in messages)
        {
            foreach (var number in TableRowDestination.ReadEvents(message).Select(e => e.GetProperty("data").GetProperty("InvoiceNumber").GetString()!).Distinct())
            {
                eventsPerInvoice[number] = eventsPerInvoice.GetValueOrDefault(number) + 1;
            }
        }

        return new StoredFile(messages, eventsPerInvoice.Count, eventsPerInvoice.Values.Sum(), [.. eventsPerInvoice.Values.Select(v => v + 1)]);
    }

    /// <summary>(a): per invoice, its start and each lines event as one 4-row entity-group transaction, the later ones ETag-guarded.</summary>
    private static async Task<TimeSpan> BaselineAsync(TableServiceClient tables, string name, IReadOnlyList<int> transactions)
    {
        var client = tables.GetTableClient("InvoiceBaseline" + name);
        await client.CreateIfNotExistsAsync();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, transactions.Count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            var pk = $"inv-{i}";
            Azure.ETag etag = default;
            for (var step = 1; step <= transactions[i]; step++)
            {
                var state = new TableEntity(pk, "state") { ["Type"] = "invoice", ["Status"] = "Running", ["Seq"] = (long)step, ["State"] = new string('x', 1500) };
                var response = await client.SubmitTransactionAsync(
                [
                    step == 1 ? new TableTransactionAction(TableTransactionActionType.Add, state) : new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, etag),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, $"h:{step:D10}") { ["Entry"] = new string('h', 1000) }),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, $"d:e{step}") { ["EventId"] = $"e{step}" }),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(pk, $"o:{step:D10}") { ["Work"] = "[]" }),
                ], ct);
                etag = response.Value[0].Headers.ETag ?? default;
            }
        });
        return watch.Elapsed;
    }

    private sealed class NoNotices : IWorkflowNotifier
    {
        public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
