using System.Diagnostics;
using System.Net;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// A hub whose handler gathers dispatch marks for a minute, so a test can kill it between the 202 and the mark, and a
/// second platform (<see cref="Bulk"/>) whose marks no other test leaves waiting.
/// </summary>
public sealed class SlowMarkDispatchHub : DispatchHub
{
    public const string Bulk = "bulkplat";

    protected override TimeSpan MarksGatheredFor => TimeSpan.FromMinutes(1);

    protected override IReadOnlyList<string> MorePlatforms => [Bulk];
}

/// <summary>
/// The batched dispatch marks under failure: the handler killed after answering and before its mark, and a full batch
/// written without waiting for the delay.
/// </summary>
public sealed class ReferralDispatchMarkKillTests(SlowMarkDispatchHub fixture) : IClassFixture<SlowMarkDispatchHub>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Killed_between_the_answer_and_the_mark_the_sweeper_requeues_once_and_a_redelivery_queues_again()
    {
        await fixture.ClearQueueAsync();
        var swept = ReferralSamples.GenericCreated("R-5301");
        var redelivered = ReferralSamples.GenericCreated("R-5302");
        using var first = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, swept, webhookId: "msg_5301");
        using var second = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, redelivered, webhookId: "msg_5302");
        // While this process still holds the mark, a redelivery does not queue the event again.
        using var whilePending = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, swept, webhookId: "msg_5301");
        var unmarkedAtKill = (await fixture.DispatchedAsync("msg_5301"), await fixture.DispatchedAsync("msg_5302"));
        var queuedAtKill = (await fixture.QueuedEventIdsAsync("ciela:R-5301"), await fixture.QueuedEventIdsAsync("ciela:R-5302"));

        var restarted = new TaskCompletionSource();
        fixture.Hub.HandlerRestarted += _ => restarted.TrySetResult();
        using (var handler = Process.GetProcessById(fixture.Hub.HandlerProcessId!.Value))
        {
            handler.Kill(); // SIGKILL: no shutdown, the marks gathered in memory are gone
        }

        Assert.Equal(137, await fixture.Hub.HandlerExited.WaitAsync(Patience));
        await restarted.Task.WaitAsync(Patience);

        // The platform redelivers one of them: the new process finds its claim unmarked and queues it again.
        using var afterKill = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, redelivered, webhookId: "msg_5302");
        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        // The other one the platform never sends again: the sweeper queues it (the redelivered one's mark is pending here).
        var sweep = await fixture.SweepAsync();
        var sweepAgain = await fixture.SweepAsync();

        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.Accepted), (first.StatusCode, second.StatusCode));
        Assert.Equal(HttpStatusCode.Accepted, whilePending.StatusCode);
        Assert.Equal("true", whilePending.Headers.GetValues("Webhook-Duplicate").Single());
        Assert.Equal(((bool?)false, (bool?)false), unmarkedAtKill);
        Assert.Equal(["msg_5301"], queuedAtKill.Item1);
        Assert.Equal(["msg_5302"], queuedAtKill.Item2);
        Assert.Equal(HttpStatusCode.Accepted, afterKill.StatusCode);
        Assert.Equal("true", afterKill.Headers.GetValues("Webhook-Duplicate").Single());
        Assert.Equal("Re-queued 1 of 1 undispatched referral event(s) older than 2 s.", sweep);
        Assert.Equal("No undispatched referral events.", sweepAgain);
        Assert.True(await fixture.DispatchedAsync("msg_5301"));
        // Each event is on the queue twice (before and after the kill), never more: the consumer drops the copy by event id.
        Assert.Equal(["msg_5301", "msg_5301"], await fixture.QueuedEventIdsAsync("ciela:R-5301"));
        Assert.Equal(["msg_5302", "msg_5302"], await fixture.QueuedEventIdsAsync("ciela:R-5302"));
        fixture.AssertNoMemberDataLogged();
    }

    [Fact]
    public async Task A_full_batch_of_100_marks_is_written_at_once_in_one_transaction_without_waiting_for_the_delay()
    {
        var fromLine = fixture.Hub.HandlerOutput.Count;
        var ids = Enumerable.Range(5401, ReferralDispatchMarkBatch).Select(n => "R-" + n).ToArray();

        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            using var response = await fixture.Api.SendSignedWebhookAsync(SlowMarkDispatchHub.Bulk, ReferralSamples.GenericCreated(id), webhookId: "msg_" + id);
            return response.StatusCode;
        }));
        foreach (var id in ids)
        {
            await fixture.WaitForDispatchedAsync("msg_" + id, SlowMarkDispatchHub.Bulk);
        }

        Assert.All(answers, status => Assert.Equal(HttpStatusCode.Accepted, status));
        Assert.Equal([100], fixture.MarkTransactions(fromLine, SlowMarkDispatchHub.Bulk));
    }

    /// <summary>The marker's batch limit (Azure Table storage's 100 operations per entity-group transaction).</summary>
    private const int ReferralDispatchMarkBatch = 100;
}
