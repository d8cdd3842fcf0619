using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Functions.Referrals;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// The monitoring extract's authorization figures come from their monthly read model (kept by the runtime, rebuilt from
/// the workflows), equal to what the old read of every <c>WorkflowIndex</c> page and state gave, and without that read.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class MonitoringAuthorizationsReadModelTests(AzuriteFixture azurite)
{
    private static readonly MonitoringMonth December = new(2031, 12);
    private static readonly MonitoringMonth January = new(2032, 1);
    private static readonly MonitoringMonth February = new(2032, 2);
    private static readonly MonitoringMonth[] Months = [December, January, February];
    private static readonly DateTimeOffset GeneratedAt = new(2032, 3, 1, 14, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo Pacific = MonitoringExtract.Pacific;

    /// <summary>A Pacific wall-clock time.</summary>
    private static DateTimeOffset At(int year, int month, int day, int hour = 10)
    {
        var local = new DateTime(year, month, day, hour, 0, 0, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, Pacific.GetUtcOffset(local));
    }

    private sealed record Hub(WorkflowRuntime Runtime, WorkflowStore Store, WorkflowQueues Queues, WorkflowRegistry Registry, ReadModelStore ReadModels, FakeTimeProvider Time, RecordingNotifier Notifier, string Run)
    {
        public async Task StartAsync(string id, string cin, RequestedService service, DateTimeOffset received)
        {
            Time.SetUtcNow(received);
            var request = new AuthorizationRequest($"{Run}-{id}", cin, service, "1245319599", "county-hospital", Urgency.Routine, [], null, received);
            Assert.True((await Runtime.StartAsync(AuthorizationWorkflow.TypeName, request.AuthorizationId, WorkflowJson.ToElement(request), CancellationToken.None)).Created);
        }

        public async Task DecideAsync(string id, DecisionOutcome outcome, DateTimeOffset at, AuthorizationStatus expected)
        {
            Time.SetUtcNow(at);
            await Runtime.RaiseEventAsync($"{Run}-{id}", AuthorizationEvents.Decision,
                WorkflowJson.ToElement(new DecisionData(outcome, outcome == DecisionOutcome.Approve ? null : "test reason", "staff-1")), null, CancellationToken.None);
            Assert.Equal(expected, (await Runtime.GetStateAsync<AuthorizationState>($"{Run}-{id}", CancellationToken.None))!.Status);
        }
    }

    private async Task<Hub> NewHubAsync(ReadModelStore readModels)
    {
        await readModels.Table(MonitoringAuthorizationsProjection.TableName).CreateIfNotExistsAsync();
        var (store, queues) = await azurite.NewRuntimeStorageAsync();
        var registry = new WorkflowRegistry(
            [WorkflowDefinition.From(new AuthorizationWorkflow(AuthorizationPolicy.Default()))],
            [WorkflowProjection.From(AuthorizationWorkflow.TypeName, new MonitoringAuthorizationsProjection(new MemberCountingKey(RandomNumberGenerator.GetBytes(32))))]);
        var time = new FakeTimeProvider(At(2031, 12, 1));
        var notifier = new RecordingNotifier();
        var runtime = new WorkflowRuntime(store, registry, queues, notifier, time, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance, readModels);
        return new Hub(runtime, store, queues, registry, readModels, time, notifier, Guid.NewGuid().ToString("N")[..8]);
    }

    /// <summary>
    /// Authorizations around December 2031 – February 2032 (Pacific): approved, denied, pended then approved across a
    /// month edge, received on 31 January late in the evening (1 February in UTC) and approved in February, one received
    /// in December and authorized into both later months, one still in review, and one member with two services.
    /// </summary>
    private static async Task<string> RunScenarioAsync(Hub hub)
    {
        await hub.StartAsync("dec", "91000005A", RequestedService.Ecm("justice-involved"), At(2031, 12, 10));
        await hub.DecideAsync("dec", DecisionOutcome.Approve, At(2031, 12, 11), AuthorizationStatus.Authorized);
        await hub.StartAsync("ecm-1", "91000001A", RequestedService.Ecm("justice-involved"), At(2032, 1, 5));
        await hub.DecideAsync("ecm-1", DecisionOutcome.Approve, At(2032, 1, 6), AuthorizationStatus.Authorized);
        await hub.StartAsync("rent-1", "91000001A", RequestedService.CommunitySupports("transitional-rent"), At(2032, 1, 10));

        // This decision's notice fails once: its commit's outbox row (notice and read-model updates) stays for a redelivery.
        hub.Notifier.FailuresLeft = 1;
        await hub.DecideAsync("rent-1", DecisionOutcome.Approve, At(2032, 1, 12), AuthorizationStatus.Authorized);
        var kept = $"{hub.Run}-rent-1";

        await hub.StartAsync("meals-2", "91000002A", RequestedService.CommunitySupports("medically-tailored-meals"), At(2032, 1, 15));
        await hub.StartAsync("ecm-2", "91000002A", RequestedService.Ecm("experiencing-homelessness-adults"), At(2032, 1, 20));
        await hub.DecideAsync("meals-2", DecisionOutcome.Deny, At(2032, 1, 20, 14), AuthorizationStatus.Denied);
        await hub.DecideAsync("ecm-2", DecisionOutcome.Pend, At(2032, 1, 25), AuthorizationStatus.PendingInformation);
        await hub.StartAsync("edge-3", "91000003A", RequestedService.CommunitySupports("transitional-rent"), At(2032, 1, 31, 23));
        await hub.DecideAsync("edge-3", DecisionOutcome.Approve, At(2032, 2, 1), AuthorizationStatus.Authorized);
        await hub.DecideAsync("ecm-2", DecisionOutcome.Approve, At(2032, 2, 2), AuthorizationStatus.Authorized);
        await hub.StartAsync("rent-4", "91000004A", RequestedService.CommunitySupports("transitional-rent"), At(2032, 2, 3));
        await hub.StartAsync("meals-4", "91000004A", RequestedService.CommunitySupports("medically-tailored-meals"), At(2032, 2, 4));
        await hub.DecideAsync("meals-4", DecisionOutcome.Deny, At(2032, 2, 5), AuthorizationStatus.Denied);
        return kept;
    }

    /// <summary>What the extract read before (stop 20): every <c>WorkflowIndex</c> page of type authorization, one state read per instance.</summary>
    private static async Task<List<AuthorizationFact>> DirectReadAsync(WorkflowRuntime runtime, MonitoringMonth month)
    {
        var authorizations = new List<AuthorizationFact>();
        string? continuation = null;
        do
        {
            var (entries, next) = await runtime.Store.IndexPageAsync(AuthorizationWorkflow.TypeName, continuation, 1000, CancellationToken.None);
            foreach (var entry in entries.Where(e => e.CreatedTime < month.End))
            {
                if (await runtime.GetStateAsync<AuthorizationState>(entry.InstanceId, CancellationToken.None) is { Request: { } request } state)
                {
                    authorizations.Add(new AuthorizationFact(
                        request.AuthorizationId, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.MemberCin))), request.Service.ServiceKeys,
                        request.Service.PopulationsOfFocus, state.Status, request.ReceivedAt, state.Period?.StartsAt, state.Period?.EndsAt));
                }
            }

            continuation = next;
        }
        while (continuation is not null);

        return authorizations;
    }

    /// <summary>The extract's authorization tabs (members and services, CS requests and denials) as JSON.</summary>
    private static string Figures(MonitoringMonth month, IReadOnlyList<AuthorizationFact> authorizations)
    {
        var extract = MonitoringExtract.Build(month, new MonitoringInputs([], authorizations, []), GeneratedAt);
        return JsonSerializer.Serialize(new { extract.MembersAndServices, extract.CsRequestsAndDenials }, WorkflowJson.Options);
    }

    private StoredMonitoringFigures Extract(ReadModelStore readModels) => new(
        azurite.Storage, new MonitoringAuthorizations(readModels), new InvoiceReadModels(readModels), InvoicePolicy.Default(), new ReferralTrackingReadModel(azurite.Storage));

    private async Task<Dictionary<string, string>> FromReadModelAsync(ReadModelStore readModels)
    {
        var extract = Extract(readModels);
        var figures = new Dictionary<string, string>();
        foreach (var month in Months)
        {
            figures[month.Text] = Figures(month, (await extract.ReadAsync(month, CancellationToken.None)).Authorizations);
        }

        return figures;
    }

    private async Task CreateExtractTablesAsync()
    {
        foreach (var table in new[] { ProviderDirectoryApi.TableName, ReferralTrackingReadModel.TableName, InvoiceReadModelsProjection.TimelinessTable, InvoiceReadModelsProjection.TimelinessCountersTable })
        {
            await azurite.Storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
        }
    }

    [Fact]
    public async Task The_extracts_authorization_figures_from_the_read_model_equal_the_old_direct_read_after_a_redelivery_and_a_rebuild_and_without_the_index()
    {
        await CreateExtractTablesAsync();
        var readModels = new ReadModelStore(azurite.Storage.Tables);
        var hub = await NewHubAsync(readModels);
        await readModels.ClearAsync(MonitoringAuthorizationsProjection.TableName, CancellationToken.None); // only this test's rows
        var kept = await RunScenarioAsync(hub);

        var expected = new Dictionary<string, string>();
        foreach (var month in Months)
        {
            expected[month.Text] = Figures(month, await DirectReadAsync(hub.Runtime, month));
        }

        // The figures themselves, so an equality of two empty extracts cannot pass. January: ECM justice-involved members
        // of the December authorization and ecm-1 (new), ecm-2 only pended; transitional rent rent-1 (new); CS requests by
        // receipt date: meals-2 (denied), rent-1 and edge-3 (31 January in California, 1 February in UTC, decided in
        // February). February: ecm-2 (decided across the edge) and edge-3 new, the December one and ecm-1 still
        // authorized, rent-1 and edge-3 for transitional rent; rent-4 (in review) and meals-4 (denied) received.
        Assert.Equal(
            """{"membersAndServices":[{"service":"ecm","populationOfFocus":"justice-involved","membersAuthorized":2,"newAuthorizations":1},{"service":"transitional-rent","membersAuthorized":1,"newAuthorizations":1}],"csRequestsAndDenials":[{"communitySupport":"medically-tailored-meals","authorizationRequests":1,"denials":1},{"communitySupport":"transitional-rent","authorizationRequests":2,"denials":0}]}""",
            expected[January.Text]);
        Assert.Equal(
            """{"membersAndServices":[{"service":"ecm","populationOfFocus":"experiencing-homelessness-adults","membersAuthorized":1,"newAuthorizations":1},{"service":"ecm","populationOfFocus":"justice-involved","membersAuthorized":2,"newAuthorizations":0},{"service":"transitional-rent","membersAuthorized":2,"newAuthorizations":1}],"csRequestsAndDenials":[{"communitySupport":"medically-tailored-meals","authorizationRequests":1,"denials":1},{"communitySupport":"transitional-rent","authorizationRequests":1,"denials":0}]}""",
            expected[February.Text]);
        Assert.Equal(expected, await FromReadModelAsync(readModels));

        // Redelivery of the same commit (the sweeper dispatching the kept outbox row, twice): versions make it a no-op.
        var row = Assert.Single(await hub.Store.OutboxRowsAsync(kept, CancellationToken.None));
        Assert.NotEmpty(row.Work.OfType<ProjectReadModels>().Single().Updates);
        await hub.Runtime.DispatchAsync(row, CancellationToken.None);
        await hub.Runtime.DispatchAsync(row, CancellationToken.None);
        Assert.Equal(expected, await FromReadModelAsync(readModels));

        // The read-model rebuild (POST /api/console/read-models/rebuild) writes it again from the workflows: the same figures.
        var report = await new ReadModelRebuild(hub.Store, hub.Registry, readModels, NullLogger<ReadModelRebuild>.Instance).RebuildAsync(CancellationToken.None);
        Assert.Contains(MonitoringAuthorizationsProjection.TableName, report.Tables);
        Assert.Contains("monitoring-authorizations", report.Projections);
        Assert.Equal(8, report.Instances);
        Assert.Equal(expected, await FromReadModelAsync(readModels));

        // Without the index rows and the instances' state rows, the old read finds nothing; the extract's figures stay.
        foreach (var table in new[] { hub.Store.Index, hub.Store.Workflows })
        {
            await foreach (var entity in table.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
            {
                await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey);
            }
        }

        Assert.Empty(await DirectReadAsync(hub.Runtime, January));
        Assert.Equal(expected, await FromReadModelAsync(readModels));
    }

    [Fact]
    public async Task A_months_authorizations_cost_two_queries_per_shard_instead_of_one_read_per_authorization_and_keep_no_cin()
    {
        await CreateExtractTablesAsync();
        var counting = new CountingPolicy();
        var options = new TableClientOptions();
        options.AddPolicy(counting, HttpPipelinePosition.PerCall);
        var countedTables = new TableServiceClient(azurite.ConnectionString, options);
        var hub = await NewHubAsync(new ReadModelStore(azurite.Storage.Tables));
        await RunScenarioAsync(hub);

        // Before (stop 20): one index page (1,000 entries a page) and one state read per authorization created before the month's end.
        var countedStore = new WorkflowStore(countedTables.GetTableClient(hub.Store.Workflows.Name), countedTables.GetTableClient(hub.Store.Index.Name));
        var direct = await DirectReadAsync(
            new WorkflowRuntime(countedStore, hub.Registry, hub.Queues, hub.Notifier, hub.Time, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance), January);
        Assert.Equal(6, direct.Count); // all but rent-4 and meals-4, created in February
        Assert.Equal(1 + 6, counting.Requests);

        // Now: the layout row, then per shard table two queries (a page per 1,000 rows), the month's receipt rows and the
        // period rows of 13 partitions: 65 requests for any number of authorizations up to 1,000 a shard.
        counting.Reset();
        var facts = await new MonitoringAuthorizations(new ReadModelStore(countedTables)).MonthAsync(January, CancellationToken.None);
        var shards = ReadModelShards.Hub.Of(MonitoringAuthorizationsProjection.TableName);
        Assert.Equal(32, shards);
        Assert.Equal(1 + 2 * shards, counting.Requests);
        // In parallel, but never more than 8 shard queries at once (not 64 in one burst).
        Assert.InRange(counting.MostInFlight, 2, ReadModelStore.ShardQueriesInFlight);
        // Received in January or authorized for part of it: not meals-4, rent-4 (February). The other test's rows share the table.
        Assert.Equal(
            ["dec", "ecm-1", "ecm-2", "edge-3", "meals-2", "rent-1"],
            facts.Where(f => f.AuthorizationId.StartsWith(hub.Run + "-", StringComparison.Ordinal)).Select(f => f.AuthorizationId[(hub.Run.Length + 1)..]).Order(StringComparer.Ordinal));
        Assert.Contains(facts, f => f.AuthorizationId == $"{hub.Run}-edge-3" && f.Status == AuthorizationStatus.Authorized && f.AuthorizedFrom is null);

        // No CIN, nor its plain SHA-256, in any row of the table or its shard tables (which hold the scenario's rows).
        var cins = new[] { "91000001A", "91000002A", "91000003A", "91000004A", "91000005A" };
        var forbidden = cins.Concat(cins.Select(c => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(c))))).ToList();
        var scanned = 0;
        foreach (var table in Enumerable.Range(0, shards).Select(shard => ReadModelShards.TableOf(MonitoringAuthorizationsProjection.TableName, shard, shards)).Prepend(MonitoringAuthorizationsProjection.TableName))
        {
            await foreach (var entity in azurite.Storage.Tables.GetTableClient(table).QueryAsync<TableEntity>())
            {
                scanned++;
                var text = JsonSerializer.Serialize(entity.ToDictionary(p => p.Key, p => p.Value?.ToString()));
                Assert.DoesNotContain(forbidden, f => text.Contains(f, StringComparison.OrdinalIgnoreCase));
            }
        }

        Assert.True(scanned >= 2 * facts.Count, $"{scanned} rows scanned for {facts.Count} facts"); // an item row and a version row each, at least
    }

    [Fact]
    public async Task A_table_still_in_the_unsharded_layout_is_refused_until_the_rebuild_clears_it()
    {
        var readModels = new ReadModelStore(azurite.Storage.Tables);
        await readModels.ClearAsync(MonitoringAuthorizationsProjection.TableName, CancellationToken.None);
        // As the version before the shards left it: its rows in the table itself, no layout row.
        var table = azurite.Storage.Tables.GetTableClient(MonitoringAuthorizationsProjection.TableName);
        await table.DeleteEntityAsync(ReadModelStore.LayoutRow, ReadModelStore.LayoutRow);
        var old = new MonitoringAuthorizationRow("old-1", "member-key", ["ecm"], ["justice-involved"], At(2032, 1, 5), AuthorizationStatus.InReview, null, null);
        await table.UpsertEntityAsync(new TableEntity(January.Text, "r|old-1") { ["Data"] = JsonSerializer.Serialize(old, WorkflowJson.Options) });

        var refused = await Assert.ThrowsAsync<ReadModelLayoutException>(() => new MonitoringAuthorizations(new ReadModelStore(azurite.Storage.Tables)).MonthAsync(January, CancellationToken.None));
        Assert.Equal(
            "read-model table 'MonitoringAuthorizations' is not in the layout this version reads (32 shards; the table's layout row says nothing): run the read-model rebuild (POST /api/console/read-models/rebuild)",
            refused.Message);

        // The rebuild's first step clears the table and its shards and writes the layout row: read again, and the old row is gone.
        await readModels.ClearAsync(MonitoringAuthorizationsProjection.TableName, CancellationToken.None);
        Assert.Empty(await new MonitoringAuthorizations(new ReadModelStore(azurite.Storage.Tables)).MonthAsync(January, CancellationToken.None));
    }

    [Fact]
    public async Task A_period_longer_than_a_chunk_counts_in_every_month_it_overlaps_and_a_commit_writes_few_partitions()
    {
        // A plan-configured 30-month period from 20 March 2033 (Pacific): period rows in March 2033, April 2034 and May 2035.
        var readModels = new ReadModelStore(azurite.Storage.Tables);
        await readModels.Table(MonitoringAuthorizationsProjection.TableName).CreateIfNotExistsAsync();
        var run = Guid.NewGuid().ToString("N")[..8];
        IWorkflowProjection<AuthorizationState> projection = new MonitoringAuthorizationsProjection(new MemberCountingKey(RandomNumberGenerator.GetBytes(32)));
        var request = new AuthorizationRequest($"{run}-long", "91000009A", RequestedService.CommunitySupports("transitional-rent"), "1245319599", "county-hospital",
            Urgency.Routine, [], null, At(2033, 3, 2));
        var state = AuthorizationState.Initial with { Status = AuthorizationStatus.Authorized, Request = request, Period = new AuthorizedPeriod(At(2033, 3, 20), At(2035, 9, 20, 0), 1) };
        var entries = projection.Entries(new ProjectedInstance<AuthorizationState>(request.AuthorizationId, WorkflowRuntimeStatus.Running, 3, state)).ToList();
        Assert.Equal(["2033-03", "2034-04", "2035-05"], entries.Select(e => e.Partition));
        Assert.Equal(["r|" + request.AuthorizationId, "p|" + request.AuthorizationId], entries[0].Rows.Select(r => r.RowKey)); // receipt and period: one transaction
        await readModels.LoadAsync(entries.Select(e => (e, 3L)), 1, CancellationToken.None);

        var authorizations = new MonitoringAuthorizations(readModels);
        for (var month = new DateTime(2033, 1, 1); month <= new DateTime(2035, 12, 1); month = month.AddMonths(1))
        {
            var monitoringMonth = new MonitoringMonth(month.Year, month.Month);
            var ours = (await authorizations.MonthAsync(monitoringMonth, CancellationToken.None)).Where(f => f.AuthorizationId == request.AuthorizationId).ToList();
            var members = MonitoringExtract.Build(monitoringMonth, new MonitoringInputs([], ours, []), GeneratedAt).MembersAndServices;
            var overlaps = month >= new DateTime(2033, 3, 1) && month <= new DateTime(2035, 9, 1);
            Assert.True(overlaps == (members.SingleOrDefault()?.MembersAuthorized == 1), $"{monitoringMonth.Text}: overlaps {overlaps}, members {members.Count}");
            Assert.True(ours.Count <= 1, $"{monitoringMonth.Text}: {ours.Count} facts");
            Assert.Equal(monitoringMonth.Text == "2033-03" ? AuthorizationStatus.Authorized : null, ours.SingleOrDefault()?.Status);
        }

        // The status changes (expiry): the receipt row's partition only.
        var expired = projection.Project(
            new ProjectedInstance<AuthorizationState>(request.AuthorizationId, WorkflowRuntimeStatus.Running, 3, state),
            new ProjectedInstance<AuthorizationState>(request.AuthorizationId, WorkflowRuntimeStatus.Running, 4, state with { Status = AuthorizationStatus.Expired }),
            new WorkflowEvent("e", "expired", null, At(2035, 9, 20, 1)));
        Assert.Equal(["2033-03"], expired.Select(u => u.Partition));
    }

    /// <summary>Counts requests, and the most of them in flight at once.</summary>
    private sealed class CountingPolicy : HttpPipelinePolicy
    {
        private int requests;
        private int inFlight;
        private int mostInFlight;

        public int Requests => requests;

        public int MostInFlight => mostInFlight;

        public void Reset()
        {
            Interlocked.Exchange(ref requests, 0);
            Interlocked.Exchange(ref mostInFlight, 0);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("the read models are read asynchronously");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Interlocked.Increment(ref requests);
            var now = Interlocked.Increment(ref inFlight);
            for (var most = mostInFlight; now > most; most = mostInFlight)
            {
                Interlocked.CompareExchange(ref mostInFlight, now, most);
            }

            try
            {
                await ProcessNextAsync(message, pipeline);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }
}
