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
        await fixture.RewindToRecordedOnlyAsync("ciela:R-5001", "msg_5001");

        var tooYoung = await fixture.SweepAsync();
        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var swept = await fixture.SweepAsync();
        var queued = await fixture.QueuedEventIdsAsync("ciela:R-5001");
        var dispatched = await fixture.DispatchedAsync("ciela:R-5001", "msg_5001");
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
            await fixture.RewindToRecordedOnlyAsync("ciela:" + referral, "msg_" + referral);
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
            Assert.True(await fixture.DispatchedAsync("ciela:" + referral, "msg_" + referral));
        }
    }

    [Fact]
    public async Task A_redelivery_of_an_event_never_queued_queues_it_and_leaves_the_sweeper_nothing()
    {
        var body = ReferralSamples.GenericCreated("R-5021");
        await AcceptAsync("R-5021", "msg_5021");
        await fixture.RewindToRecordedOnlyAsync("ciela:R-5021", "msg_5021");

        using var redelivery = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, body, webhookId: "msg_5021");
        await fixture.WaitForDispatchedAsync("ciela:R-5021", "msg_5021");
        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var swept = await fixture.SweepAsync();

        Assert.Equal(HttpStatusCode.Accepted, redelivery.StatusCode);
        Assert.Equal("true", redelivery.Headers.GetValues("Webhook-Duplicate").Single());
        Assert.Equal(None, swept);
        Assert.Equal(["msg_5021"], await fixture.QueuedEventIdsAsync("ciela:R-5021"));
    }

    [Fact]
    public async Task A_created_event_whose_webhook_id_another_body_owns_is_removed_not_queued()
    {
        await AcceptAsync("R-5031", "msg_5031");
        await fixture.RewindToRecordedOnlyAsync("ciela:R-5031", "msg_5031");
        // As if the request stopped after its blind commit, having lost the id's claim to another body.
        await fixture.Hub.Storage.Tables.GetTableClient("WebhookEvents").UpdateEntityAsync(
            new Azure.Data.Tables.TableEntity(DispatchHub.Platform, "msg_5031") { ["BodyHash"] = "another-body" }, Azure.ETag.All, Azure.Data.Tables.TableUpdateMode.Merge);

        await Task.Delay(DispatchHub.Grace + TimeSpan.FromSeconds(1));
        var swept = await fixture.SweepAsync();

        Assert.Equal("Re-queued 0 of 1 undispatched referral event(s) older than 2 s.", swept);
        Assert.Empty(await fixture.QueuedEventIdsAsync("ciela:R-5031"));
        Assert.Null(await fixture.DispatchedAsync("ciela:R-5031", "msg_5031"));
        using var view = await fixture.Api.GetAsync(new Uri("/api/referrals/ciela:R-5031", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, view.StatusCode);
        Assert.Contains("Referral ciela:R-5031: event msg_5031 was recorded under a webhook-id another body owns; removed, not queued", fixture.HandlerLog, StringComparison.Ordinal);
        Assert.Equal(None, await fixture.SweepAsync());
    }

    private async Task AcceptAsync(string referralId, string webhookId)
    {
        using var response = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated(referralId), webhookId: webhookId);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{referralId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
