using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Timers due further ahead than <see cref="WorkflowOptions.TimerQueueHorizon"/> wait in a table, not on the timer queue
/// (Azurite taxes every queue operation with every waiting message), and the sweeper queues them once they are that close
/// to due: exactly the message the queue would have carried, once, and harmless if a crash queues it twice.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ParkedTimerTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 9, 30, 0, TimeSpan.Zero);

    private static WorkflowDefinition Approval(TimeSpan reviewWithin) => WorkflowDefinition.From(new ApprovalWorkflow(reviewWithin, TimeSpan.FromSeconds(1)));

    private static async Task<int> QueuedAsync(RuntimeHarness h) => (await h.Queues.Timers.GetPropertiesAsync()).Value.ApproximateMessagesCount;

    private static async Task<List<TableEntity>> ParkedAsync(RuntimeHarness h)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in h.Queues.ParkedTimers!.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task A_timer_within_the_horizon_goes_to_the_queue_and_nothing_is_parked()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, time: new FakeTimeProvider(Start), definitions: Approval(TimeSpan.FromMinutes(30)));

        await h.Runtime.StartAsync("approval", "near-1", WorkflowJson.ToElement(new { request = "r-1" }), CancellationToken.None);

        Assert.Equal(1, await QueuedAsync(h));
        Assert.Empty(await ParkedAsync(h));
    }

    [Fact]
    public async Task Timers_of_a_batch_due_at_one_instant_share_one_partition_of_their_hour_and_another_batchs_go_to_another()
    {
        var time = new FakeTimeProvider(Start);
        var h = await RuntimeHarness.CreateAsync(azurite, time: time, definitions: Approval(TimeSpan.FromDays(3)));

        // Two batches (as two invoice files start their invoices): 100 timers each, all due at one instant.
        foreach (var batch in new[] { "a", "b" })
        {
            await h.Runtime.StartManyAsync("approval", [.. Enumerable.Range(0, WorkflowRuntime.MaxBatchStarts).Select(i => ($"batch-{batch}-{i}", (System.Text.Json.JsonElement?)WorkflowJson.ToElement(new { request = $"r-{i}" })))], CancellationToken.None);
        }

        // One partition per batch and hour: a partition never holds more than one call's timers, however many fall due then.
        var parked = await ParkedAsync(h);
        Assert.Equal(2 * WorkflowRuntime.MaxBatchStarts, parked.Count);
        Assert.All(parked, r => Assert.Matches("^q\\|2026120708\\|[0-9a-f]{16}$", r.PartitionKey));
        var partitions = parked.GroupBy(r => r.PartitionKey).ToList();
        Assert.Equal(2, partitions.Count);
        static WorkflowTimerMessage Timer(TableEntity row) => System.Text.Json.JsonSerializer.Deserialize<WorkflowTimerMessage>(row.GetString("Message"), WorkflowJson.Options)!;
        Assert.Equal(["batch-a-", "batch-b-"], partitions.Select(p => Assert.Single(p.Select(r => Timer(r).InstanceId[..8]).Distinct())).Order(StringComparer.Ordinal));

        // The same batch's dispatch again (a redelivery) rewrites the same rows.
        var messages = parked.Select(Timer).Where(m => m.InstanceId.StartsWith("batch-a-", StringComparison.Ordinal)).ToList();
        await h.Queues.ArmTimersAsync(messages, Start, h.Options, CancellationToken.None);
        Assert.Equal(2 * WorkflowRuntime.MaxBatchStarts, (await ParkedAsync(h)).Count);

        // A row of the earlier layout (16 shards an hour) is queued by the sweep with the new ones, in its hour.
        await h.Queues.ParkedTimers!.AddEntityAsync(new TableEntity("q|2026120708|07", "old-layout")
        {
            ["Message"] = System.Text.Json.JsonSerializer.Serialize(new WorkflowTimerMessage("old-1", ApprovalWorkflow.ReviewDeadline, Start.AddDays(3)), WorkflowJson.Options),
        });
        time.SetUtcNow(Start.AddDays(3).AddMinutes(-45));
        Assert.Equal(2 * WorkflowRuntime.MaxBatchStarts + 1, (await h.Triggers.SweepAsync(CancellationToken.None)).ParkedTimersQueued);
        Assert.Empty(await ParkedAsync(h));
    }

    [Fact]
    public async Task A_timer_three_days_ahead_is_parked_queued_by_the_sweep_in_its_hour_and_fires_once_though_a_crash_queued_it_twice()
    {
        var time = new FakeTimeProvider(Start);
        var h = await RuntimeHarness.CreateAsync(azurite, time: time, definitions: Approval(TimeSpan.FromDays(3)));
        var due = Start.AddDays(3);

        await h.Runtime.StartAsync("approval", "far-1", WorkflowJson.ToElement(new { request = "r-1" }), CancellationToken.None);

        // Parked in the hour it is to be queued in (due less the hour's horizon: 7 Dec 08:30 UTC), not on the queue.
        Assert.Equal(0, await QueuedAsync(h));
        var parked = Assert.Single(await ParkedAsync(h));
        Assert.StartsWith("q|2026120708|", parked.PartitionKey, StringComparison.Ordinal);
        var message = parked.GetString("Message");
        Assert.Equal(new WorkflowTimerMessage("far-1", ApprovalWorkflow.ReviewDeadline, due), System.Text.Json.JsonSerializer.Deserialize<WorkflowTimerMessage>(message, WorkflowJson.Options));

        // The hour before: still parked. In its hour (45 minutes before due): queued, and the row is gone.
        time.SetUtcNow(due.AddHours(-2));
        Assert.Equal(0, (await h.Triggers.SweepAsync(CancellationToken.None)).ParkedTimersQueued);
        Assert.Single(await ParkedAsync(h));
        time.SetUtcNow(due.AddMinutes(-45));
        var sweep = await h.Triggers.SweepAsync(CancellationToken.None);
        Assert.Equal("outbox rows re-dispatched: 0, index rows reconciled: 0, instances purged: 0, dispatch failures: 0, parked timers queued: 1", sweep.ToString());
        Assert.Empty(await ParkedAsync(h));
        Assert.Equal(1, await QueuedAsync(h));
        Assert.Equal(0, (await h.Triggers.SweepAsync(CancellationToken.None)).ParkedTimersQueued);

        // A crash between the queueing and the row's removal: the row is back (parking the same timer rewrites the same
        // row), so the next sweep queues a second copy. At due, the timer fires once; the copy changes nothing.
        await h.Queues.ArmTimerAsync(new WorkflowTimerMessage("far-1", ApprovalWorkflow.ReviewDeadline, due), Start, h.Options, CancellationToken.None);
        await h.Queues.ArmTimerAsync(new WorkflowTimerMessage("far-1", ApprovalWorkflow.ReviewDeadline, due), Start.AddHours(1), h.Options, CancellationToken.None);
        Assert.Single(await ParkedAsync(h));
        Assert.Equal(1, (await h.Triggers.SweepAsync(CancellationToken.None)).ParkedTimersQueued);
        Assert.Equal(2, await QueuedAsync(h));
        time.SetUtcNow(due);
        Assert.Equal($"timer '{ApprovalWorkflow.ReviewDeadline}' on far-1: Applied", await h.Triggers.FireTimerAsync(message, CancellationToken.None));
        Assert.Equal($"timer '{ApprovalWorkflow.ReviewDeadline}' on far-1: AlreadyApplied", await h.Triggers.FireTimerAsync(message, CancellationToken.None));
    }
}
