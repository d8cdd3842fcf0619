using System.Net;
using System.Text.Json;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The intake's short path through the ledger: a created event is committed without a read (its 409 falls back to
/// the read, where the dedupe or the transition check decides) and marked dispatched after the 202.
/// </summary>
[Collection(DispatchCollection.Name)]
public sealed class WebhookLedgerFastPathTests(DispatchHub fixture)
{
    [Fact]
    public async Task A_created_event_is_queued_before_the_answer_and_marked_dispatched_after_it()
    {
        await fixture.ClearQueueAsync();

        using var response = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5101"), webhookId: "msg_5101");
        var queuedAtAnswer = await fixture.QueuedEventIdsAsync("ciela:R-5101");
        await fixture.WaitForDispatchedAsync("msg_5101");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(["msg_5101"], queuedAtAnswer);
        Assert.Equal(["msg_5101"], await fixture.QueuedEventIdsAsync("ciela:R-5101"));
    }

    [Fact]
    public async Task A_created_event_for_a_referral_that_exists_falls_back_to_the_read_and_is_409()
    {
        await fixture.ClearQueueAsync();
        using var first = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5102"), webhookId: "msg_5102_a");

        using var second = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5102"), webhookId: "msg_5102_b");
        var problem = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement;
        await fixture.WaitForDispatchedAsync("msg_5102_a");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("referral 'ciela:R-5102' already exists (status 'Pending'); send a status change instead", problem.GetProperty("detail").GetString());
        Assert.Equal("Pending", problem.GetProperty("currentStatus").GetString());
        Assert.Null(await fixture.DispatchedAsync("msg_5102_b"));
        Assert.Equal(["msg_5102_a"], await fixture.QueuedEventIdsAsync("ciela:R-5102"));
    }

    [Fact]
    public async Task An_orphan_left_by_a_refused_blind_commit_is_removed_by_the_real_create()
    {
        using var orphaned = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5105"), webhookId: "msg_5105_a");
        await fixture.OrphanAsync("msg_5105_a");
        await fixture.ClearQueueAsync();

        using var real = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5105"), webhookId: "msg_5105_b");
        await fixture.WaitForDispatchedAsync("msg_5105_b");

        Assert.Equal(HttpStatusCode.Accepted, orphaned.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
        Assert.Equal(["msg_5105_b"], await fixture.RecordedEventIdsAsync("ciela:R-5105"));
        Assert.Equal(["msg_5105_b"], await fixture.QueuedEventIdsAsync("ciela:R-5105"));
    }

    [Fact]
    public async Task A_referral_whose_event_owns_its_claim_is_not_an_orphan_and_a_second_create_is_409()
    {
        using var first = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5106"), webhookId: "msg_5106_a");
        await fixture.WaitForDispatchedAsync("msg_5106_a");

        using var second = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5106", county: "Fresno"), webhookId: "msg_5106_b");

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(["msg_5106_a"], await fixture.RecordedEventIdsAsync("ciela:R-5106"));
    }

    [Fact]
    public async Task A_created_redelivery_after_the_mark_is_a_duplicate_and_not_queued_again()
    {
        await fixture.ClearQueueAsync();
        var body = ReferralSamples.GenericCreated("R-5103");
        using var first = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, body, webhookId: "msg_5103");
        await fixture.WaitForDispatchedAsync("msg_5103");

        using var again = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, body, webhookId: "msg_5103");

        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Webhook-Duplicate").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(["msg_5103"], await fixture.QueuedEventIdsAsync("ciela:R-5103"));
    }

    [Fact]
    public async Task A_status_change_still_takes_the_transition_check()
    {
        using var created = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericCreated("R-5104"), webhookId: "msg_5104_a");
        using var illegal = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericStatus("R-5104", "Outreach Initiated"), webhookId: "msg_5104_b");
        using var legal = await fixture.Api.SendSignedWebhookAsync(DispatchHub.Platform, ReferralSamples.GenericStatus("R-5104", "Accepted"), webhookId: "msg_5104_c");
        await fixture.WaitForDispatchedAsync("msg_5104_a");
        await fixture.WaitForDispatchedAsync("msg_5104_c");

        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, illegal.StatusCode);
        Assert.Equal(
            "referral 'ciela:R-5104' cannot go from 'Pending' to 'Outreach Initiated'; allowed next: 'Pending', 'Accepted', 'Declined', 'Referral Loop Closed'",
            JsonDocument.Parse(await illegal.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, legal.StatusCode);
        Assert.Null(await fixture.DispatchedAsync("msg_5104_b"));
    }
}
