using System.Net;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// <c>ReferralDispatchSweeper</c> against Azurite: an event recorded but never queued (the handler stopped between the
/// commit and the send, and the platform stopped redelivering) is queued once it is older than the grace period, once.
/// </summary>
[Collection(DispatchCollection.Name)]
public sealed class ReferralDispatchSweeperTests(DispatchHub fixture)
{
    private const string None = "No undispatched referral events.";

    [Fact]
    public async Task An_event_recorded_but_never_queued_is_queued_once_by_the_sweeper_after_the_grace_period()
    {
        await AcceptAsync("R-5001", "msg_5001");
        await fixture.RewindToRecordedOnlyAsync("msg_5001");

        var tooYoung = await fixture.SweepAsync();
        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var swept = await fixture.SweepAsync();
        var queued = await fixture.QueuedEventIdsAsync("ciela:R-5001");
        var dispatched = await fixture.DispatchedAsync("msg_5001");
        var again = await fixture.SweepAsync();

        Assert.Equal(None, tooYoung);
        Assert.Equal("Re-queued 1 of 1 undispatched referral event(s) older than 2 s.", swept);
        Assert.Equal(["msg_5001"], queued);
        Assert.True(dispatched);
        Assert.Equal(None, again);
        Assert.Equal(["msg_5001"], await fixture.QueuedEventIdsAsync("ciela:R-5001"));
        Assert.Contains("Referral ciela:R-5001: event msg_5001 was recorded but not queued; queued it now", fixture.HandlerLog, StringComparison.Ordinal);
        fixture.AssertNoMemberDataLogged();
    }

    [Fact]
    public async Task A_sweep_queues_at_most_its_batch_and_the_next_run_takes_the_rest()
    {
        string[] referrals = ["R-5011", "R-5012", "R-5013"];
        foreach (var referral in referrals)
        {
            await AcceptAsync(referral, "msg_" + referral);
        }

        foreach (var referral in referrals)
        {
            await fixture.RewindToRecordedOnlyAsync("msg_" + referral);
        }

        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var first = await fixture.SweepAsync();
        var second = await fixture.SweepAsync();
        var third = await fixture.SweepAsync();

        Assert.Equal("Re-queued 2 of 2 undispatched referral event(s) older than 2 s; more may be waiting for the next run.", first);
        Assert.Equal("Re-queued 1 of 1 undispatched referral event(s) older than 2 s.", second);
        Assert.Equal(None, third);
        foreach (var referral in referrals)
        {
            Assert.Equal(["msg_" + referral], await fixture.QueuedEventIdsAsync("ciela:" + referral));
            Assert.True(await fixture.DispatchedAsync("msg_" + referral));
        }
    }

    [Fact]
    public async Task A_redelivery_of_an_event_never_queued_queues_it_and_leaves_the_sweeper_nothing()
    {
        var body = ReferralSamples.GenericCreated("R-5021");
        await AcceptAsync("R-5021", "msg_5021");
        await fixture.RewindToRecordedOnlyAsync("msg_5021");

        using var redelivery = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, body, webhookId: "msg_5021");
        await fixture.WaitForDispatchedAsync("msg_5021");
        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var swept = await fixture.SweepAsync();

        Assert.Equal(HttpStatusCode.Accepted, redelivery.StatusCode);
        Assert.Equal("true", redelivery.Headers.GetValues("Webhook-Duplicate").Single());
        Assert.Equal(None, swept);
        Assert.Equal(["msg_5021"], await fixture.QueuedEventIdsAsync("ciela:R-5021"));
    }

    [Fact]
    public async Task A_claim_whose_event_was_never_recorded_is_released_not_queued_and_the_id_is_free_again()
    {
        // As if the handler stopped after claiming the webhook-id and before recording the event (no 2xx was sent).
        await fixture.ClaimOnlyAsync("msg_5031", "ciela:R-5031");

        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var swept = await fixture.SweepAsync();
        var claimAfterSweep = await fixture.DispatchedAsync("msg_5031");
        var again = await fixture.SweepAsync();
        using var redelivery = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5031"), webhookId: "msg_5031");

        Assert.Equal("Re-queued 0 of 1 undispatched referral event(s) older than 2 s; released 1 webhook-id claim(s) whose event was never recorded.", swept);
        Assert.Null(claimAfterSweep);
        Assert.Equal(None, again);
        Assert.Contains("Webhook msg_5031 from ciela was claimed but its event never recorded; claim released", fixture.HandlerLog, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, redelivery.StatusCode);
        Assert.False(redelivery.Headers.Contains("Webhook-Duplicate"));
        Assert.Equal(["msg_5031"], await fixture.QueuedEventIdsAsync("ciela:R-5031"));
    }

    [Fact]
    public async Task Marks_gathered_within_the_delay_are_written_in_one_transaction_per_platform_not_one_write_per_webhook()
    {
        // Earlier tests' marks are written by now; only this test's show up after this line.
        await Task.Delay(DispatchHub.MarkDelay + TimeSpan.FromSeconds(1));
        var fromLine = fixture.Hub.HandlerOutput.Count;
        var ids = Enumerable.Range(5041, 10).Select(n => "R-" + n).ToArray();

        await Task.WhenAll(ids.Select(id => AcceptAsync(id, "msg_" + id)));
        foreach (var id in ids)
        {
            await fixture.WaitForDispatchedAsync("msg_" + id);
        }

        var transactions = fixture.MarkTransactions(fromLine);
        Assert.Equal(10, transactions.Sum());
        Assert.True(transactions.Count < 10, $"10 marks took {transactions.Count} transactions ({string.Join(", ", transactions)})");
    }

    private async Task AcceptAsync(string referralId, string webhookId)
    {
        using var response = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated(referralId), webhookId: webhookId);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{referralId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
