using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Hosting.Invocations;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// A request that died between claiming the member index and starting its workflow leaves a claim with no workflow
/// (chaos trial, stop 18). <see cref="AuthorizationClaimSweeper"/> starts it from the claim's stored request once its
/// unstarted-claim marker is past the grace period, exactly once, and never races a request still in flight.
/// Real Azurite; the wall clock the markers are aged by is a <see cref="FakeTimeProvider"/>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuthorizationClaimSweeperTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(2);
    private static readonly InvocationMetadata Timer = new(JsonDocument.Parse("{}").RootElement);

    private sealed record Sweep(MemberAuthorizationIndex Index, RuntimeHarness Harness, AuthorizationClaimSweeper Sweeper, FakeTimeProvider Wall);

    private async Task<Sweep> NewAsync()
    {
        var table = azurite.Storage.Tables.GetTableClient(MemberAuthorizationIndex.TableName);
        await table.CreateIfNotExistsAsync();
        // Markers share one partition across the assembly's tests (they run one at a time in this collection): start empty.
        await foreach (var marker in table.QueryAsync<TableEntity>(e => e.PartitionKey == MemberAuthorizationIndex.UnstartedPartition, select: ["PartitionKey", "RowKey"]))
        {
            await table.DeleteEntityAsync(marker.PartitionKey, marker.RowKey);
        }

        var wall = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var index = new MemberAuthorizationIndex(azurite.Storage, wall);
        var harness = await RuntimeHarness.CreateAsync(azurite, definitions: Authorizations());
        var sweeper = new AuthorizationClaimSweeper(index, harness.Runtime, new AuthorizationOptions { ClaimSweepGrace = Grace }, wall, NullLogger<AuthorizationClaimSweeper>.Instance);
        return new Sweep(index, harness, sweeper, wall);
    }

    private static WorkflowDefinition Authorizations() => WorkflowDefinition.From(new AuthorizationWorkflow(AuthorizationPolicy.Default()));

    private static AuthorizationRequest Request() => new(
        "auth-" + Guid.NewGuid().ToString("N"), $"9{Random.Shared.Next(10_000_000):0000000}A", RequestedService.Ecm("experiencing-homelessness-adults"), "1245319599", "county-hospital",
        Urgency.Routine, ["experiencing-homelessness", "complex-need-unable-to-self-manage"], "ascmi-2026-0001", DateTimeOffset.Parse("2026-05-04T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>What the request route does up to its start (marker, claim), then dies.</summary>
    private static async Task<AuthorizationRequest> ClaimAndDieAsync(MemberAuthorizationIndex index)
    {
        var request = Request();
        await index.MarkUnstartedAsync(request, CancellationToken.None);
        Assert.True(await index.TryClaimAsync(request, new Dictionary<string, MemberAuthorizationRow>(), request.ReceivedAt, CancellationToken.None));
        return request;
    }

    private static async Task<int> StartsOfAsync(RuntimeHarness harness, string id) =>
        (await harness.Store.HistoryAsync(id, CancellationToken.None)).Count(h => h.Name == WorkflowEvent.Started);

    [Fact]
    public async Task A_dead_claim_is_left_alone_within_the_grace_then_started_once_from_its_stored_request()
    {
        var (index, harness, sweeper, wall) = await NewAsync();
        var request = await ClaimAndDieAsync(index);

        wall.Advance(Grace - TimeSpan.FromSeconds(1));
        Assert.Equal("No unstarted authorization claims.", await sweeper.RunAsync(Timer, CancellationToken.None));
        Assert.Null(await harness.Runtime.GetAsync(request.AuthorizationId, CancellationToken.None));

        wall.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("Started 1 of 1 unstarted authorization claim(s) older than 120 s; 0 needed no start.", await sweeper.RunAsync(Timer, CancellationToken.None));
        var state = await harness.Runtime.GetStateAsync<AuthorizationState>(request.AuthorizationId, CancellationToken.None);
        Assert.Equal(AuthorizationStatus.InReview, state!.Status);
        Assert.Equal(JsonSerializer.Serialize(request, WorkflowJson.Options), JsonSerializer.Serialize(state.Request, WorkflowJson.Options));

        wall.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("No unstarted authorization claims.", await sweeper.RunAsync(Timer, CancellationToken.None));
        Assert.Equal(1, await StartsOfAsync(harness, request.AuthorizationId));

        // The instance the sweeper started takes its decision in the same process (the chaos trial's next step).
        var decided = await harness.Runtime.RaiseEventAsync(request.AuthorizationId, AuthorizationEvents.Decision,
            WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "staff-17")), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, decided.Outcome);
    }

    [Fact]
    public async Task A_sweep_racing_the_claimants_own_start_makes_one_workflow()
    {
        var (index, harness, sweeper, wall) = await NewAsync();
        var requests = new List<AuthorizationRequest>();
        for (var i = 0; i < 6; i++)
        {
            requests.Add(await ClaimAndDieAsync(index));
        }

        wall.Advance(Grace + TimeSpan.FromSeconds(1));
        // The claimants were slow, not dead: each starts its own workflow in another process while the sweep runs.
        var claimants = harness.SameStorage(definitions: Authorizations()).Runtime;
        var own = Task.WhenAll(requests.Select(r => claimants.StartAsync(AuthorizationWorkflow.TypeName, r.AuthorizationId, WorkflowJson.ToElement(r), CancellationToken.None)));
        var swept = await sweeper.RunAsync(Timer, CancellationToken.None);
        var results = await own;

        Assert.StartsWith("Started ", swept, StringComparison.Ordinal);
        Assert.All(results, r => Assert.Equal(AuthorizationWorkflow.TypeName, r.Instance.Type));
        foreach (var request in requests)
        {
            Assert.Equal(1, await StartsOfAsync(harness, request.AuthorizationId));
        }

        Assert.Equal("No unstarted authorization claims.", await sweeper.RunAsync(Timer, CancellationToken.None));
    }

    [Fact]
    public async Task A_marker_whose_claim_never_happened_or_whose_workflow_started_is_dropped_without_a_start()
    {
        var (index, harness, sweeper, wall) = await NewAsync();
        // Marked, then its claim lost to another request for the member (which holds the row now).
        var lost = Request();
        await index.MarkUnstartedAsync(lost, CancellationToken.None);
        var winner = lost with { AuthorizationId = "auth-" + Guid.NewGuid().ToString("N") };
        await harness.Runtime.StartAsync(AuthorizationWorkflow.TypeName, winner.AuthorizationId, WorkflowJson.ToElement(winner), CancellationToken.None);
        Assert.True(await index.TryClaimAsync(winner, new Dictionary<string, MemberAuthorizationRow>(), winner.ReceivedAt, CancellationToken.None));
        // Started, but the request died before deleting its marker.
        var started = await ClaimAndDieAsync(index);
        await harness.Runtime.StartAsync(AuthorizationWorkflow.TypeName, started.AuthorizationId, WorkflowJson.ToElement(started), CancellationToken.None);

        wall.Advance(Grace + TimeSpan.FromSeconds(1));

        Assert.Equal("Started 0 of 2 unstarted authorization claim(s) older than 120 s; 2 needed no start.", await sweeper.RunAsync(Timer, CancellationToken.None));
        Assert.Null(await harness.Runtime.GetAsync(lost.AuthorizationId, CancellationToken.None));
        Assert.Equal(1, await StartsOfAsync(harness, started.AuthorizationId));
        Assert.Equal("No unstarted authorization claims.", await sweeper.RunAsync(Timer, CancellationToken.None));
    }
}
