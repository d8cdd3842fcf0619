using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The closed loop end to end through the local host: signed webhooks in, the ReferralEvents / ReferralStatusFiles
/// functions, the referral workflow on the runtime (accelerated clock), signed CloudEvents notices out. Each test uses its
/// own Community Supports service, so its providers are the only candidates in the shared directory.
/// </summary>
public sealed class ReferralWorkflowEndToEndTests(ReferralHub hub) : IClassFixture<ReferralHub>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static bool Phase(JsonElement workflow, string phase) => workflow.GetProperty("phase").GetString() == phase;

    private static int Offers(JsonElement workflow) => workflow.GetProperty("offers").GetArrayLength();

    private static string OfferNpi(JsonElement workflow, int index) => workflow.GetProperty("offers")[index].GetProperty("npi").GetString()!;

    [Fact]
    public async Task Webhook_referral_is_routed_accepted_and_closed_with_signed_notices_once_per_step()
    {
        const string id = "R-E2E-1";
        await hub.PutProviderAsync("1000000004", "Meals Second", "medically-tailored-meals", available: 2);
        await hub.PutProviderAsync("1000000012", "Meals First", "medically-tailored-meals", available: 9);

        var created = await hub.WebhookAsync(ReferralHub.Created(id, "medically-tailored-meals"));
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        var routed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");
        Assert.Equal("1000000012", OfferNpi(routed, 0));
        Assert.NotEqual(JsonValueKind.Null, routed.GetProperty("nextDeadline").ValueKind);

        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", "1000000012"))).StatusCode);
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "accepted"), Wait, "accepted");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Outreach Initiated", "1000000012", occurredAt: "2026-05-06T10:00:00-07:00"))).StatusCode);
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "outreach-initiated"), Wait, "outreach");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Referral Loop Closed", "1000000012", "Services Received", "2026-05-07T10:00:00-07:00"))).StatusCode);
        var closed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "closed"), Wait, "closed");

        Assert.Equal("Services Received", closed.GetProperty("closureReason").GetString());
        Assert.Equal("Completed", closed.GetProperty("runtimeStatus").GetString());
        Assert.Equal(["Pending", "Accepted", "Outreach Initiated", "Referral Loop Closed"],
            closed.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()));
        var view = await hub.ReferralAsync(referralId);
        Assert.Equal(("Referral Loop Closed", "completed"), (view.GetProperty("status").GetString(), view.GetProperty("taskStatus").GetString()));

        var notices = await hub.WaitForNoticesAsync(referralId, n => n.Count >= 4, Wait);
        await Task.Delay(500);
        notices = hub.NoticesFor(referralId);
        string[] expected = [$"{ReferralHub.Platform}:{ReferralWorkflow.Assigned}", $"members:{ReferralWorkflow.Assigned}", $"{ReferralHub.Platform}:{ReferralWorkflow.Closed}", $"members:{ReferralWorkflow.Closed}"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), notices.Select(n => $"{n.Subscriber}:{n.Type}").Order(StringComparer.Ordinal));
        Assert.Equal(0, hub.DuplicateDeliveries);
        Assert.Equal("Services Received", notices.First(n => n.Type == ReferralWorkflow.Closed).Data.GetProperty("closureReason").GetString());
        Assert.All(notices, n => Assert.DoesNotContain(ReferralSamples.Cin, n.Raw));
        Assert.Equal(0, hub.SignatureFailures);

        var list = JsonDocument.Parse(await hub.Api.GetStringAsync(new Uri("/api/referrals?status=Referral%20Loop%20Closed", UriKind.Relative))).RootElement;
        Assert.Contains(list.GetProperty("items").EnumerateArray(), i => i.GetProperty("referralId").GetString() == referralId);
        var pending = JsonDocument.Parse(await hub.Api.GetStringAsync(new Uri("/api/referrals?status=Pending", UriKind.Relative))).RootElement;
        Assert.DoesNotContain(pending.GetProperty("items").EnumerateArray(), i => i.GetProperty("referralId").GetString() == referralId);
        Assert.Equal(HttpStatusCode.BadRequest, (await hub.Api.GetAsync(new Uri("/api/referrals?status=Lost", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_provider_the_platform_chose_is_offered_and_announced_under_its_directory_name_even_when_full()
    {
        const string id = "R-E2E-NAME";
        await hub.PutProviderAsync("1679576722", "Day Hab Full House", "day-habilitation-programs", available: 0);
        var body = ReferralHub.Created(id, "day-habilitation-programs").Replace("\"urgency\"", "\"receivingProviderNpi\": \"1679576722\", \"urgency\"", StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(body)).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        var routed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", "1679576722"))).StatusCode);
        var notices = await hub.WaitForNoticesAsync(referralId, n => n.Any(x => x.Type == ReferralWorkflow.Assigned), Wait);

        var offer = routed.GetProperty("offers")[0];
        Assert.Equal(("1679576722", "Day Hab Full House"), (offer.GetProperty("npi").GetString(), offer.GetProperty("name").GetString()));
        var assigned = notices.First(n => n.Type == ReferralWorkflow.Assigned).Data;
        Assert.Equal(("1679576722", "Day Hab Full House"), (assigned.GetProperty("providerNpi").GetString(), assigned.GetProperty("providerName").GetString()));
    }

    [Fact]
    public async Task Decline_reroutes_to_the_next_provider_and_the_next_provider_can_accept()
    {
        const string id = "R-E2E-2";
        await hub.PutProviderAsync("1000000020", "Respite First", "respite-services", available: 9);
        await hub.PutProviderAsync("1000000038", "Respite Second", "respite-services", available: 2);
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "respite-services"))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");

        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Declined", "1000000020", "no capacity"))).StatusCode);
        var rerouted = await hub.WaitForWorkflowAsync(referralId, w => Offers(w) == 2, Wait, "re-routed");

        Assert.Equal("1000000038", OfferNpi(rerouted, 1));
        Assert.Equal("declined", rerouted.GetProperty("offers")[0].GetProperty("outcome").GetString());
        var declined = await hub.WaitForNoticesAsync(referralId, n => n.Count(x => x.Type == ReferralWorkflow.Declined) == 2, Wait);
        Assert.All(declined, n => Assert.Equal("no capacity", n.Data.GetProperty("reason").GetString()));

        // The intake takes the workflow's status as current: Pending again after the re-route, so Accepted is legal.
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", "1000000038", occurredAt: "2026-05-06T10:00:00-07:00"))).StatusCode);
        var accepted = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "accepted"), Wait, "accepted by the second");
        Assert.Equal("accepted", accepted.GetProperty("offers")[1].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task No_answer_by_the_deadline_reroutes_then_the_end_of_the_list_escalates_to_plan_staff()
    {
        const string id = "R-E2E-3";
        await hub.PutProviderAsync("1000000046", "Asthma First", "asthma-remediation", available: 9);
        await hub.PutProviderAsync("1000000053", "Asthma Second", "asthma-remediation", available: 2);
        // Discharge: 24 virtual hours to answer, 4 real seconds at this speed.
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "asthma-remediation", "discharge"))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";

        var rerouted = await hub.WaitForWorkflowAsync(referralId, w => Offers(w) == 2, Wait, "re-routed at the deadline");
        var first = rerouted.GetProperty("offers")[0];
        Assert.Equal(("timed-out", "1000000053"), (first.GetProperty("outcome").GetString(), OfferNpi(rerouted, 1)));
        Assert.Equal(first.GetProperty("dueAt").GetDateTimeOffset() - first.GetProperty("offeredAt").GetDateTimeOffset(), TimeSpan.FromHours(24));

        var escalated = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "escalated"), Wait, "escalated");
        Assert.NotEqual(JsonValueKind.Null, escalated.GetProperty("escalatedAt").ValueKind);
        var notices = await hub.WaitForNoticesAsync(
            referralId, n => n.Any(x => x.Type == ReferralWorkflow.Escalated) && n.Count(x => x.Type == ReferralWorkflow.NoResponse) >= 2, Wait);
        var escalation = Assert.Single(notices, n => n.Type == ReferralWorkflow.Escalated);
        Assert.Equal("plan-staff", escalation.Subscriber);

        // The referrer hears of each silent provider once, with its deadline; the second one says it went to plan staff.
        await Task.Delay(500);
        var silent = hub.NoticesFor(referralId).Where(n => n.Type == ReferralWorkflow.NoResponse).OrderBy(n => n.Data.GetProperty("providerNpi").GetString(), StringComparer.Ordinal).ToArray();
        Assert.Equal(2, silent.Length);
        Assert.All(silent, n => Assert.Equal(ReferralHub.Platform, n.Subscriber));
        Assert.Equal(["1000000046", "1000000053"], silent.Select(n => n.Data.GetProperty("providerNpi").GetString()));
        var offers = escalated.GetProperty("offers");
        for (var i = 0; i < 2; i++)
        {
            var due = offers[i].GetProperty("dueAt").GetDateTimeOffset();
            Assert.Equal($"no answer by {due.ToOffset(TimeSpan.FromHours(-7)):yyyy-MM-dd'T'HH:mm:sszzz}", silent[i].Data.GetProperty("reason").GetString());
        }

        Assert.Equal((true, false), (silent[0].Data.GetProperty("rerouted").GetBoolean(), silent[1].Data.GetProperty("rerouted").GetBoolean()));
        Assert.True(silent[1].Data.GetProperty("escalated").GetBoolean());
        Assert.Equal(0, hub.DuplicateDeliveries);

        var list = JsonDocument.Parse(await hub.Api.GetStringAsync(new Uri("/api/referrals?status=escalated", UriKind.Relative))).RootElement;
        Assert.Contains(list.GetProperty("items").EnumerateArray(), i => i.GetProperty("referralId").GetString() == referralId);
    }

    [Fact]
    public async Task The_same_status_from_an_rtf_file_and_a_webhook_is_applied_once()
    {
        const string id = "R-E2E-4";
        const string npi = "1000000061";
        await hub.PutProviderAsync(npi, "Rent Only", "transitional-rent");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "transitional-rent"))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");

        // What ingestion leaves for an RTF row reporting Accepted on 5 May: the row (with the CIN) and its domain event batch.
        await SendRtfStatusAsync("rtf-row-1", npi, "Accepted", "2026-05-05");
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "accepted"), Wait, "accepted from the file");

        // The provider's platform reports the same status for the same day: 202 (legal), and applied no second time.
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", npi, occurredAt: "2026-05-05T16:00:00-07:00"))).StatusCode);
        await SendRtfStatusAsync("rtf-row-1", npi, "Accepted", "2026-05-05");
        await DrainAsync("referral-events");
        await DrainAsync("referral-status-events");

        var eventId = ReferralWorkflowEvents.StatusEventId(referralId, ReferralStatus.Accepted, new DateOnly(2026, 5, 5));
        var history = await hub.Api.GetStringAsync(new Uri($"/api/workflows/{Uri.EscapeDataString(referralId)}?showHistory=true", UriKind.Relative));
        Assert.Equal(1, Occurrences(history, eventId));
        var workflow = (await hub.ReferralAsync(referralId)).GetProperty("workflow");
        Assert.Single(workflow.GetProperty("history").EnumerateArray(), h => h.GetProperty("status").GetString() == "Accepted");
        Assert.Equal("rtf", workflow.GetProperty("history")[1].GetProperty("source").GetString());
        var assigned = await hub.WaitForNoticesAsync(referralId, n => n.Count(x => x.Type == ReferralWorkflow.Assigned) >= 2, Wait);
        await Task.Delay(500);
        Assert.Equal(2, hub.NoticesFor(referralId).Count(x => x.Type == ReferralWorkflow.Assigned));

        // And the file path moves the loop on too.
        await SendRtfStatusAsync("rtf-row-2", npi, "Outreach Initiated", "2026-05-06");
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "outreach-initiated"), Wait, "outreach from the file");
    }

    [Fact]
    public async Task Referral_events_queued_twice_after_a_lost_dispatch_mark_are_applied_once()
    {
        // A lost dispatch mark (the handler killed after its 202, or a failed mark write) puts an event on
        // referral-events a second time, from the sweeper or a redelivery: the workflow must apply it once.
        const string id = "R-E2E-DUP";
        const string npi = "1000000087";
        await hub.PutProviderAsync(npi, "Tenancy Only", "housing-tenancy-sustaining");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "housing-tenancy-sustaining"), "msg_dup_created")).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", npi), "msg_dup_accepted")).StatusCode);
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "accepted"), Wait, "accepted");
        await hub.WaitForNoticesAsync(referralId, n => n.Count(x => x.Type == ReferralWorkflow.Assigned) >= 2, Wait);

        // The copies, as the sweeper sends them: the recorded event, again.
        var referrals = hub.Hub.Storage.Tables.GetTableClient("Referrals");
        var queue = hub.Hub.Storage.Queues.GetQueueClient("referral-events");
        foreach (var eventId in new[] { "msg_dup_created", "msg_dup_accepted" })
        {
            var row = await referrals.GetEntityAsync<TableEntity>(referralId, "event|" + eventId);
            await queue.SendMessageAsync(row.Value.GetString("Event"));
        }

        await DrainAsync("referral-events");
        await Task.Delay(500);

        var workflow = (await hub.ReferralAsync(referralId)).GetProperty("workflow");
        Assert.Equal(["Pending", "Accepted"], workflow.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("status").GetString()));
        Assert.Equal(1, Offers(workflow));
        Assert.True(Phase(workflow, "accepted"));
        var history = await hub.Api.GetStringAsync(new Uri($"/api/workflows/{Uri.EscapeDataString(referralId)}?showHistory=true", UriKind.Relative));
        Assert.Equal(1, Occurrences(history, ReferralWorkflowEvents.StatusEventId(referralId, ReferralStatus.Accepted, new DateOnly(2026, 5, 5))));
        Assert.Equal(2, hub.NoticesFor(referralId).Count(x => x.Type == ReferralWorkflow.Assigned));
        Assert.Equal(0, hub.DuplicateDeliveries);
    }

    [Fact]
    public async Task A_member_county_from_the_webhook_routes_to_the_provider_serving_that_county()
    {
        const string id = "R-E2E-COUNTY";
        const string service = "community-transition-services";
        // Without the county, Alameda's provider (more room) would be offered first.
        await hub.PutProviderAsync("1000000079", "Transition Alameda", service, available: 9, county: "Alameda");
        await hub.PutProviderAsync("1000000087", "Transition Fresno", service, available: 2, county: "Fresno");

        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, service, county: "Fresno County"))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        var routed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");

        Assert.Equal("1000000087", OfferNpi(routed, 0));
        Assert.DoesNotContain(hub.Hub.HandlerOutput, l => l.Contains("Fresno County", StringComparison.OrdinalIgnoreCase)); // member data, never logged
    }

    [Fact]
    public async Task A_service_needing_authorization_waits_for_the_plan_then_is_routed_and_the_referrer_hears_it_authorized()
    {
        const string id = "R-E2E-AUTH-1";
        const string npi = "1000000095";
        await hub.PutProviderAsync(npi, "Recuperative Care Only", ReferralHub.AuthorizedServices[0]);

        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, ReferralHub.AuthorizedServices[0]))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        var waiting = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-authorization"), Wait, "awaiting authorization");
        var authorizationId = waiting.GetProperty("authorizationId").GetString()!;
        Assert.Equal(ReferralWorkflow.AuthorizationInstanceId(referralId), authorizationId);
        Assert.Equal(0, Offers(waiting));

        // The child is an authorization like any other: plan staff see and decide it through the authorizations API.
        var authorization = await WaitForAuthorizationAsync(authorizationId);
        Assert.Equal(("in-review", referralId), (authorization.GetProperty("status").GetString(), authorization.GetProperty("request").GetProperty("parentInstanceId").GetString()));
        using (var decided = await hub.Api.PostAsJsonAsync($"/api/authorizations/{authorizationId}/decision", new { outcome = "approve", decidedBy = "staff-17" }))
        {
            Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
            Assert.Equal("authorized", (await decided.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }

        var routed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed after the approval");
        Assert.Equal(("approve", npi), (routed.GetProperty("authorizationOutcome").GetString(), OfferNpi(routed, 0)));
        var notices = await hub.WaitForNoticesAsync(referralId, n => n.Count(x => x.Type == ReferralWorkflow.Authorization) == 2, Wait);
        var toReferrer = Assert.Single(notices, n => n.Type == ReferralWorkflow.Authorization && n.Subscriber == ReferralHub.Platform);
        Assert.Equal(("approve", authorizationId), (toReferrer.Data.GetProperty("authorizationOutcome").GetString(), toReferrer.Data.GetProperty("authorizationId").GetString()));
        Assert.Equal(0, hub.SignatureFailures); // the receiver keeps only notices whose signature verified
        Assert.All(notices, n => Assert.DoesNotContain(ReferralSamples.Cin, n.Raw));
    }

    [Fact]
    public async Task A_denied_authorization_closes_the_referral_and_tells_the_referrer_why()
    {
        const string id = "R-E2E-AUTH-2";
        await hub.PutProviderAsync("1000000103", "Post-Hospital Housing Only", ReferralHub.AuthorizedServices[1]);

        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, ReferralHub.AuthorizedServices[1]))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        var waiting = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-authorization"), Wait, "awaiting authorization");
        var authorizationId = waiting.GetProperty("authorizationId").GetString()!;
        await WaitForAuthorizationAsync(authorizationId);
        using (var denied = await hub.Api.PostAsJsonAsync(
            $"/api/authorizations/{authorizationId}/decision", new { outcome = "deny", reason = "no qualifying hospital stay", decidedBy = "staff-17" }))
        {
            Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        }

        var closed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "closed"), Wait, "closed by the denial");
        Assert.Equal(("Not authorized: no qualifying hospital stay", 0), (closed.GetProperty("closureReason").GetString(), Offers(closed)));
        var notices = await hub.WaitForNoticesAsync(referralId, n => n.Count(x => x.Subscriber == ReferralHub.Platform) == 2, Wait);
        var decided = Assert.Single(notices, n => n.Subscriber == ReferralHub.Platform && n.Type == ReferralWorkflow.Authorization);
        var closure = Assert.Single(notices, n => n.Subscriber == ReferralHub.Platform && n.Type == ReferralWorkflow.Closed);
        Assert.Equal(("deny", "no qualifying hospital stay"), (decided.Data.GetProperty("authorizationOutcome").GetString(), decided.Data.GetProperty("reason").GetString()));
        Assert.Equal("Not authorized: no qualifying hospital stay", closure.Data.GetProperty("closureReason").GetString());
    }

    [Fact]
    public async Task Notices_are_stamped_with_real_time_while_the_business_clock_runs_fast()
    {
        const string id = "R-E2E-CLOCK";
        const string npi = "1000000111";
        await hub.PutProviderAsync(npi, "Homemaker Only", "personal-care-and-homemaker");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "personal-care-and-homemaker"))).StatusCode);
        var referralId = $"{ReferralHub.Platform}:{id}";
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", npi))).StatusCode);

        var notices = await hub.WaitForNoticesAsync(referralId, n => n.Count(x => x.Type == ReferralWorkflow.Assigned) == 2, Wait);

        // The fixture's business clock started on 4 May 2026 at 6 virtual hours per second: the event's own time follows it ...
        var assigned = notices.First(n => n.Type == ReferralWorkflow.Assigned);
        var eventTime = JsonDocument.Parse(assigned.Raw).RootElement.GetProperty("time").GetDateTimeOffset();
        Assert.InRange(eventTime, DateTimeOffset.Parse("2026-05-04T09:00:00-07:00"), DateTimeOffset.Parse("2026-05-04T09:00:00-07:00").AddDays(90));
        // ... while webhook-timestamp is real time, so any receiver's replay window accepts it.
        Assert.All(notices, n => Assert.InRange(n.ReceivedAt - n.SignedAt, TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(5)));
    }

    /// <summary>Polls <c>GET /api/authorizations/{id}</c> until the child workflow the referral started exists.</summary>
    private async Task<JsonElement> WaitForAuthorizationAsync(string authorizationId)
    {
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var response = await hub.Api.GetAsync(new Uri($"/api/authorizations/{authorizationId}", UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"authorization {authorizationId} not started in {Wait.TotalSeconds} s");
    }

    private async Task SendRtfStatusAsync(string rowKey, string npi, string status, string date)
    {
        const string partition = "partner1~rtf~00";
        await hub.Hub.Storage.Tables.GetTableClient("IngestedRows").UpsertEntityAsync(new TableEntity(partition, rowKey)
        {
            ["MemberCin"] = ReferralSamples.Cin,
            ["EcmProviderNpi"] = npi,
            ["ReferralStatus"] = status,
            ["DateOfReferralStatusUpdate"] = date,
        });
        var batch = $$"""
            [{"specversion":"1.0","id":"evt-{{rowKey}}","type":"calaimhub.rtf.referral-status-updated","source":"/calaimhub/ingestion/partner1/rtf",
              "subject":"{{partition}}/{{rowKey}}","time":"2026-05-07T00:00:00Z","datacontenttype":"application/json",
              "data":{"partnerId":"partner1","kind":"rtf","partitionKey":"{{partition}}","rowKey":"{{rowKey}}","ReferralStatus":"{{status}}",
                      "DateOfReferralStatusUpdate":"{{date}}","EcmProviderNpi":"{{npi}}" } },
             {"specversion":"1.0","id":"evt-other-{{rowKey}}","type":"calaimhub.referral.received","source":"/x","subject":"y","time":"2026-05-07T00:00:00Z","data":{ } }]
            """;
        await hub.Hub.Storage.Queues.GetQueueClient("referral-status-events").SendMessageAsync(batch);
    }

    private async Task DrainAsync(string queue)
    {
        var client = hub.Hub.Storage.Queues.GetQueueClient(queue);
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (DateTimeOffset.UtcNow < deadline && (await client.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
        {
            await Task.Delay(100);
        }

        await Task.Delay(500);
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task A_referral_cannot_be_pre_created_generically_and_its_events_for_a_failed_instance_are_dead_lettered_with_the_reason()
    {
        const string id = "R-E2E-FAILED";
        var referralId = $"{ReferralHub.Platform}:{id}";

        // Issue 10: anyone could pre-create the referral's instance (Failed, from bad input) and its real events were then dropped.
        using (var precreate = await hub.Api.PostAsync(new Uri($"/api/workflows/referral?instanceId={referralId}", UriKind.Relative),
            new StringContent("""{"not":"a referral start"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, precreate.StatusCode);
            var problem = JsonDocument.Parse(await precreate.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("Started by its domain API only", problem.GetProperty("title").GetString());
            Assert.Equal("workflow type 'referral' is started only by POST /api/webhooks/{platform}, which checks what this generic route cannot; nothing was stored",
                problem.GetProperty("detail").GetString());
        }

        using (var status = await hub.Api.GetAsync(new Uri($"/api/workflows/{referralId}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        }

        // An instance can still end Failed (a decider failure, or one pre-created before this rule): leave one so.
        var tables = hub.Hub.Storage.Tables;
        var store = new WorkflowStore(tables.GetTableClient(WorkflowOptions.TableName), tables.GetTableClient(WorkflowOptions.IndexTableName));
        var now = DateTimeOffset.UtcNow;
        var failed = WorkflowInstance.New(referralId, ReferralWorkflow.TypeName, 1, null, now) with
        {
            Status = Domain.Workflows.WorkflowRuntimeStatus.Failed, Reason = "decider 'referral' v1 threw InvalidOperationException on event 'started'", Seq = 1,
        };
        await store.UpsertIndexAsync(WorkflowIndexEntry.Of(failed), CancellationToken.None);
        await store.CommitAsync(new WorkflowCommit(null, failed, [], [WorkflowRuntime.StartEventId], []), null, CancellationToken.None);

        // The real referral arrives: the intake accepts it, and ReferralEvents must not drop it at info level.
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "environmental-accessibility-adaptations"), webhookId: "msg_failed_created")).StatusCode);

        var deadLetter = await WaitForDeadLetterAsync("msg_failed_created");
        Assert.Equal($"referral {referralId}: its workflow instance is Failed and takes no more events; created event msg_failed_created was not applied", deadLetter.Reason);
        Assert.Equal(("ReferralEvents", "referral-events", 1), (deadLetter.Function, deadLetter.Queue, deadLetter.Attempts));
        Assert.DoesNotContain(ReferralSamples.Cin, deadLetter.Reason, StringComparison.Ordinal);
        using var original = JsonDocument.Parse(DeadLetter.OriginalMessage(deadLetter.ToJson()));
        Assert.Equal(referralId, original.RootElement.GetProperty("referralId").GetString());

        // A later status for the same referral is not dropped either.
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", "1000000111"), webhookId: "msg_failed_accepted")).StatusCode);
        var statusLetter = await WaitForDeadLetterAsync("msg_failed_accepted");
        Assert.Equal($"referral {referralId}: its workflow instance is Failed and takes no more events; status 'Accepted' of event msg_failed_accepted was not applied", statusLetter.Reason);
        Assert.Equal(1, statusLetter.Attempts);
    }

    /// <summary>The dead letter of webhook <paramref name="eventId"/> on <c>referral-events-poison</c> (where <c>hub status</c> counts it and <c>hub replay</c> takes it back).</summary>
    private async Task<DeadLetter> WaitForDeadLetterAsync(string eventId)
    {
        var poison = hub.Hub.Storage.Queues.GetQueueClient(StorageLayout.PoisonQueue("referral-events"));
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if ((await poison.ExistsAsync()).Value)
            {
                foreach (var message in (await poison.PeekMessagesAsync(32)).Value)
                {
                    if (DeadLetter.TryParse(message.Body.ToString()) is { } letter && letter.Reason.Contains($" {eventId} ", StringComparison.Ordinal))
                    {
                        return letter;
                    }
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no dead letter for {eventId} on {poison.Name} in {Wait.TotalSeconds} s");
    }
}
