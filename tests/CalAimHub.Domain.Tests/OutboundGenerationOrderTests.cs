using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
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

namespace CalAimHub.Domain.Tests;

/// <summary>
/// The order of a generation's writes, and how much of a file it holds in flight. A mini-MIF check waits for the period's MIF to be <c>delivered</c> and then sends every
/// member without a sent mark, so the marks of the MIF's members must be in place before its ledger row says
/// <c>delivered</c>: a check in between would send them a second time. (The generator used to write <c>delivered</c> first
/// and the marks after it.)
/// </summary>
public sealed class OutboundGenerationOrderTests
{
    private const string Provider = "prov-order-1";
    private const string Period = "2026-01";

    [Fact]
    public async Task When_the_ledger_first_says_delivered_every_member_of_the_mif_is_already_marked_sent()
    {
        await using var azurite = await Azurite.StartInMemoryAsync(LocalHubOptions.DefaultRepositoryRoot);
        var plain = StorageAccount.FromConnectionString(azurite.ConnectionString, QueueMessageEncoding.Base64);
        var watch = new DeliveredWatch(plain.Tables.GetTableClient(OutboundAssignments.TableName), OutboundAssignments.MemberPartition(Provider, Period));
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(watch, HttpPipelinePosition.PerCall);
        var storage = new StorageAccount(plain.Blobs, plain.Queues, new TableServiceClient(azurite.ConnectionString, tableOptions));
        var assignments = await SeedAsync(storage, 3);
        var runtime = new WorkflowRuntime(
            new WorkflowStore(storage.Tables.GetTableClient(WorkflowOptions.TableName), storage.Tables.GetTableClient(WorkflowOptions.IndexTableName)),
            new WorkflowRegistry([WorkflowDefinition.From(new AuthorizationWorkflow(AuthorizationPolicy.Default()))], []),
            new WorkflowQueues(storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName), storage.Queues.GetQueueClient(WorkflowOptions.TimerQueueName)),
            new NoNotices(), TimeProvider.System, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance, new ReadModelStore(storage.Tables));
        var generator = Generator(storage, assignments,
            new HubMemberFacts(new MemberAuthorizationIndex(storage), new ReferralMemberIndex(storage), runtime, CaliforniaWorkingDays.Current));

        var outcome = await generator.GenerateAsync(new OutboundRequest(Provider, Period, SentFileKinds.Mif, null, null), CancellationToken.None);

        Assert.Equal(OutboundOutcome.Generated, outcome.Result);
        Assert.Equal(3, outcome.File!.Members);
        Assert.Equal([0], watch.UnmarkedWhenDelivered);
        await foreach (var row in plain.Tables.GetTableClient(OutboundAssignments.TableName).QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {OutboundAssignments.MemberPartition(Provider, Period)}")))
        {
            Assert.Equal(outcome.File.Paths[0], row.GetString("SentIn"));
        }
    }

    /// <summary>
    /// Memory must not follow the file's size: members stream through join, consent and layout, at most a window of 64 of
    /// them in flight. While the first member's join hangs, the generator starts the joins of that window and no more. (It
    /// used to join every member of the file before writing a row: 200 joins started here.)
    /// </summary>
    [Fact]
    public async Task A_slow_member_holds_back_a_window_of_64_members_not_the_whole_file()
    {
        await using var azurite = await Azurite.StartInMemoryAsync(LocalHubOptions.DefaultRepositoryRoot);
        var storage = StorageAccount.FromConnectionString(azurite.ConnectionString, QueueMessageEncoding.Base64);
        var assignments = await SeedAsync(storage, 200);
        var facts = new HangingFirstMember(Cin(1));
        var generating = Generator(storage, assignments, facts).GenerateAsync(new OutboundRequest(Provider, Period, SentFileKinds.Mif, null, null), CancellationToken.None);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (facts.Started < 64 && DateTime.UtcNow < deadline && !generating.IsCompleted)
        {
            await Task.Delay(50);
        }

        await Task.Delay(1000);
        Assert.Equal(64, facts.Started);
        facts.Release();
        var outcome = await generating;
        Assert.Equal(200, facts.Started);
        Assert.Equal(200, outcome.File!.Members);
        var csv = (await storage.Blobs.GetBlobContainerClient(OutboundGenerator.Container).GetBlobClient(outcome.File.Paths[0]).DownloadContentAsync()).Value.Content.ToString();
        Assert.Equal([.. Enumerable.Range(1, 200).Select(Cin)], csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => line.Split(',').Single(cell => cell.StartsWith("9444", StringComparison.Ordinal))));
    }

    private static string Cin(int n) => $"9444{n:D4}A";

    private static async Task<OutboundAssignments> SeedAsync(StorageAccount storage, int members)
    {
        foreach (var table in new[] { OutboundAssignments.TableName, OutboundLedger.TableName, MemberAuthorizationIndex.TableName, ReferralMemberIndex.TableName,
                     WorkflowOptions.TableName, WorkflowOptions.IndexTableName, TableConsentRegistry.TableName, TableDisclosureLog.MemberTableName, TableDisclosureLog.SentFilesTableName })
        {
            await storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        }

        await storage.Blobs.GetBlobContainerClient(OutboundGenerator.Container).CreateIfNotExistsAsync();
        await storage.Queues.GetQueueClient(NotificationQueue.QueueName).CreateIfNotExistsAsync();
        var assignments = new OutboundAssignments(storage);
        await assignments.AddAsync(Provider, Period, OutboundAssignments.Ecm, [.. Enumerable.Range(1, members).Select(n => AssignmentRow.From(new Dictionary<string, string>
        {
            ["ProviderId"] = Provider, ["ProviderType"] = "ECM", ["AssignmentPeriod"] = Period, ["AssignmentDate"] = Period + "-01",
            ["MemberCin"] = Cin(n), ["MemberFirstName"] = "First" + n, ["MemberLastName"] = "Last" + n,
        }))], CancellationToken.None);
        return assignments;
    }

    private static OutboundGenerator Generator(StorageAccount storage, OutboundAssignments assignments, IMemberFacts facts) =>
        new(storage, assignments, new OutboundLedger(storage), facts,
            new TableConsentRegistry(storage), new TableDisclosureLog(storage), new NotificationQueue(storage, []), new PartnerDirectory(new ConfigurationBuilder().Build()),
            ExchangeAccount.None, Options.Create(new OutboundOptions { PlanCode = "PLANA" }), TimeProvider.System, NullLogger<OutboundGenerator>.Instance);

    /// <summary>Knows nothing of any member; the join of <paramref name="hangingCin"/> waits until <see cref="Release"/>. Counts the joins started.</summary>
    private sealed class HangingFirstMember(string hangingCin) : IMemberFacts
    {
        private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int started;

        public int Started => Volatile.Read(ref started);

        public void Release() => released.TrySetResult();

        public async Task<MemberFacts> ForAsync(string cin, string service, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref started);
            if (cin == hangingCin)
            {
                await released.Task.WaitAsync(cancellationToken);
            }

            return MemberFacts.None;
        }
    }

    /// <summary>At each ledger write that says <c>delivered</c>, counts the provider's assignment rows without a sent mark (read before the write goes out).</summary>
    private sealed class DeliveredWatch(TableClient assignments, string partition) : HttpPipelinePolicy
    {
        public List<int> UnmarkedWhenDelivered { get; } = [];

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("the generator calls storage asynchronously");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Uri.Path.Contains("/" + OutboundLedger.TableName + "(", StringComparison.Ordinal) && message.Request.Content is { } content)
            {
                using var body = new MemoryStream();
                await content.WriteToAsync(body, CancellationToken.None);
                if (System.Text.Encoding.UTF8.GetString(body.ToArray()).Contains("\"Status\":\"delivered\"", StringComparison.Ordinal))
                {
                    var unmarked = 0;
                    await foreach (var row in assignments.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}")))
                    {
                        unmarked += row.GetString("SentIn") is null ? 1 : 0;
                    }

                    lock (UnmarkedWhenDelivered)
                    {
                        UnmarkedWhenDelivered.Add(unmarked);
                    }
                }
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    private sealed class NoNotices : IWorkflowNotifier
    {
        public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
