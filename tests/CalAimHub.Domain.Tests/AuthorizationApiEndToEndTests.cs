using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// The authorization API through the local host: HTTP front door → handler → workflow runtime on Azurite → outbox →
/// Notify → signed CloudEvents to a loopback receiver. The handler clock runs 43,200× (see the fixture).
/// </summary>
[Collection(nameof(AuthorizationHubCollection))]
public class AuthorizationApiEndToEndTests(AuthorizationHubFixture hub)
{
    private const string OtherNpi = "1245319599";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static object EcmRequest(string cin, string pof = "experiencing-homelessness-adults", string npi = OtherNpi, string urgency = "routine", string[]? facts = null) => new
    {
        memberCin = cin,
        service = new { program = "ecm", populationsOfFocus = new[] { pof } },
        requestingProviderNpi = npi,
        referringEntity = "county-hospital",
        urgency,
        supportingFacts = facts ?? ["experiencing-homelessness", "complex-need-unable-to-self-manage"],
        consentReference = "ascmi-2026-0001",
    };

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static DateTimeOffset TimeOf(ReceivedEvent e) => JsonDocument.Parse(e.Raw).RootElement.GetProperty("time").GetDateTimeOffset();

    private static JsonElement Clock(JsonElement view, string id) =>
        view.GetProperty("clocks").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    private async Task<int> WorkflowCountAsync()
    {
        var count = 0;
        await foreach (var _ in hub.Hub.Storage.Tables.GetTableClient("Workflows").QueryAsync<TableEntity>(e => e.RowKey == "state", select: ["PartitionKey"]))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task A_routine_request_approved_in_time_is_authorized_and_both_notices_reach_the_receiver()
    {
        var created = await hub.PostAsync("/api/authorizations", EcmRequest("90000001A"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var view = await JsonOf(created);
        var id = view.GetProperty("authorizationId").GetString()!;
        Assert.Equal($"/api/authorizations/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("in-review", view.GetProperty("status").GetString());

        var decided = await hub.PostAsync($"/api/authorizations/{id}/decision", new { outcome = "approve", decidedBy = "staff-17" });
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        view = await JsonOf(decided);
        Assert.Equal("authorized", view.GetProperty("status").GetString());
        var decision = Clock(view, "decision");
        Assert.Equal("stopped", decision.GetProperty("state").GetString());
        Assert.False(decision.GetProperty("breached").GetBoolean());
        Assert.True(decision.GetProperty("remainingSeconds").GetInt64() > 0);

        var approvedEvent = await hub.WaitForEventAsync(id, AuthorizationWorkflow.Decided, Patience);
        Assert.Equal("approve", approvedEvent.Data.GetProperty("outcome").GetString());
        Assert.Contains(hub.EventsFor(id), e => e.Type == AuthorizationWorkflow.Received);
        Assert.Equal(0, hub.SignatureFailures);
        Assert.All(hub.EventsFor(id), e => Assert.DoesNotContain("90000001A", e.Raw, StringComparison.Ordinal));

        var full = await JsonOf(await hub.Api.GetAsync($"/api/authorizations/{id}"));
        Assert.Equal(["started", "decision"], full.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("name").GetString()).Take(2));
    }

    [Fact]
    public async Task An_undecided_routine_request_reminds_then_escalates_at_the_exact_working_day_deadline()
    {
        var created = await hub.PostAsync("/api/authorizations", EcmRequest("90000002A"));
        var view = await JsonOf(created);
        var id = view.GetProperty("authorizationId").GetString()!;
        var receivedAt = view.GetProperty("request").GetProperty("receivedAt").GetDateTimeOffset();
        var expectedDue = CaliforniaWorkingDays.Current.EndOfWorkingDays(receivedAt, 5);
        Assert.Equal(expectedDue, Clock(view, "decision").GetProperty("dueAt").GetDateTimeOffset());

        var breach = await hub.WaitForEventAsync(id, AuthorizationWorkflow.DeadlineBreached, Patience);
        // Notify may deliver two queued notices in either order, so order is judged by event time, not arrival.
        var reminder = await hub.WaitForEventAsync(id, AuthorizationWorkflow.DeadlineApproaching, Patience);
        Assert.Equal(("decision", expectedDue), (breach.Data.GetProperty("clock").GetString(), breach.Data.GetProperty("dueAt").GetDateTimeOffset()));
        Assert.True(breach.Data.GetProperty("escalated").GetBoolean());
        // Never early: each notice is stamped with the (virtual) time its timer was applied.
        Assert.True(TimeOf(breach) >= expectedDue);
        Assert.InRange(TimeOf(reminder), expectedDue.AddDays(-1), expectedDue);

        view = await JsonOf(await hub.Api.GetAsync($"/api/authorizations/{id}"));
        var clock = Clock(view, "decision");
        Assert.Equal(expectedDue, clock.GetProperty("breachedAt").GetDateTimeOffset());
        Assert.Equal("running", clock.GetProperty("state").GetString());
        Assert.True(clock.GetProperty("remainingSeconds").GetInt64() < 0);
        Assert.True(view.GetProperty("escalated").GetBoolean());
        Assert.Equal("in-review", view.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_expedited_justice_involved_request_is_authorized_presumptively()
    {
        var created = await hub.PostAsync("/api/authorizations", EcmRequest("90000003A", "justice-involved", urgency: "expedited", facts: ["transitioning-from-incarceration"]));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var view = await JsonOf(created);
        var id = view.GetProperty("authorizationId").GetString()!;
        Assert.Equal("authorized", view.GetProperty("status").GetString());
        Assert.Equal("justice-involved-population-of-focus", view.GetProperty("presumptiveBasis").GetString());
        var period = view.GetProperty("period");
        var start = period.GetProperty("startsAt").GetDateTimeOffset();
        Assert.Equal(AuthorizationPeriods.EndOf(start, 12, CaliforniaWorkingDays.Current), period.GetProperty("endsAt").GetDateTimeOffset());
        Assert.Equal("approve", (await hub.WaitForEventAsync(id, AuthorizationWorkflow.Decided, Patience)).Data.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task A_duplicate_request_is_answered_with_the_existing_authorization_and_who_holds_it_and_starts_nothing()
    {
        var first = await JsonOf(await hub.PostAsync("/api/authorizations", EcmRequest("90000004A", npi: AuthorizationHubFixture.TrustedNpi)));
        var id = first.GetProperty("authorizationId").GetString()!;
        var before = await WorkflowCountAsync();

        var second = await hub.PostAsync("/api/authorizations", EcmRequest("90000004A", "serious-mental-health-sud", facts: ["serious-mental-health-or-sud-need"]));

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        var problem = await JsonOf(second);
        Assert.Equal(id, problem.GetProperty("existingAuthorizationId").GetString());
        Assert.Equal("authorized", problem.GetProperty("authorizationStatus").GetString());
        Assert.Equal(409, problem.GetProperty("status").GetInt32());
        Assert.Equal(AuthorizationHubFixture.TrustedNpi, problem.GetProperty("heldBy").GetProperty("requestingProviderNpi").GetString());
        Assert.Equal(
            $"this member already has an open or active authorization (authorized) for 'ecm' ({id}), held by NPI {AuthorizationHubFixture.TrustedNpi} (county-hospital); no new request was started",
            problem.GetProperty("detail").GetString());
        Assert.Equal(before, await WorkflowCountAsync());

        var member = await JsonOf(await hub.Api.GetAsync("/api/members/90000004A/authorizations"));
        Assert.True(member.GetProperty("authorized").GetBoolean());
        Assert.Equal(member.GetProperty("authorizations").GetRawText(),
            (await JsonOf(await hub.PostAsync("/api/members/authorizations/lookup", new { memberCin = "90000004a" }))).GetProperty("authorizations").GetRawText());
        var held = Assert.Single(member.GetProperty("authorizations").EnumerateArray());
        Assert.Equal((id, "ecm"), (held.GetProperty("authorizationId").GetString(), held.GetProperty("service").GetString()));
    }

    [Fact]
    public async Task Concurrent_requests_for_the_same_member_and_service_start_exactly_one_workflow()
    {
        var before = await WorkflowCountAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => hub.PostAsync("/api/authorizations", EcmRequest("90000009A"))));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.Equal(before + 1, await WorkflowCountAsync());
    }

    /// <summary>
    /// What a request that died between claiming the member index row (ECM) and starting its workflow leaves behind: the
    /// claim, and (unless <paramref name="markerAge"/> is null) the unstarted-claim marker it wrote first, as if written
    /// that long ago (real time).
    /// </summary>
    private async Task<AuthorizationRequest> ClaimLeftBehindAsync(string authorizationId, string cin, TimeSpan? markerAge)
    {
        var orphan = AuthorizationScenario.Request() with { AuthorizationId = authorizationId, MemberCin = cin, ReceivedAt = DateTimeOffset.Parse("2026-05-04T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture) };
        var table = hub.Hub.Storage.Tables.GetTableClient("MemberAuthorizations");
        if (markerAge is { } age)
        {
            await table.AddEntityAsync(new TableEntity("unstarted-claims", (DateTimeOffset.UtcNow - age).UtcTicks.ToString("D19", System.Globalization.CultureInfo.InvariantCulture) + "|" + authorizationId)
            {
                ["AuthorizationId"] = authorizationId,
                ["MemberCin"] = cin,
                ["ServiceKey"] = "ecm",
            });
        }

        await table.AddEntityAsync(new TableEntity(cin, "ecm")
        {
            ["AuthorizationId"] = orphan.AuthorizationId,
            ["RequestingProviderNpi"] = orphan.RequestingProviderNpi,
            ["ReferringEntity"] = orphan.ReferringEntity,
            ["ClaimedAt"] = orphan.ReceivedAt,
            ["Request"] = JsonSerializer.Serialize(orphan, CalAimHub.Domain.Workflows.WorkflowJson.Options),
        });
        return orphan;
    }

    private async Task<int> UnstartedMarkersAsync(string authorizationId)
    {
        var count = 0;
        await foreach (var _ in hub.Hub.Storage.Tables.GetTableClient("MemberAuthorizations").QueryAsync<TableEntity>(
            e => e.PartitionKey == "unstarted-claims" && e.GetString("AuthorizationId") == authorizationId))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task A_claim_left_behind_by_a_crash_is_started_by_the_next_request_not_duplicated()
    {
        var orphan = await ClaimLeftBehindAsync("auth-orphan-1", "90000010A", markerAge: null); // a marker is the sweeper's business, not this path's

        var response = await hub.PostAsync("/api/authorizations", EcmRequest("90000010A"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("auth-orphan-1", (await JsonOf(response)).GetProperty("existingAuthorizationId").GetString());
        var started = await JsonOf(await hub.Api.GetAsync("/api/authorizations/auth-orphan-1"));
        Assert.Equal(orphan.ReceivedAt, started.GetProperty("request").GetProperty("receivedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task The_members_list_shows_a_claim_left_behind_as_not_started_and_writes_nothing_the_sweeper_starts_it()
    {
        // The chaos trial's case: the claimant died before its start and nobody asks for the service again; a partner
        // that never got its answer reads the member's list. A read must not start it (viewers read; readers race).
        await ClaimLeftBehindAsync("auth-orphan-2", "90000011A", markerAge: TimeSpan.FromMinutes(10));
        var before = await WorkflowCountAsync();

        var member = await JsonOf(await hub.Api.GetAsync("/api/members/90000011A/authorizations"));
        var lookedUp = await JsonOf(await hub.PostAsync("/api/members/authorizations/lookup", new { memberCin = "90000011A" }));

        var listed = member.GetProperty("authorizations").EnumerateArray().Single();
        Assert.Equal("auth-orphan-2", listed.GetProperty("authorizationId").GetString());
        Assert.False(listed.TryGetProperty("status", out _)); // no status: claimed, its workflow not started yet
        Assert.True(listed.GetProperty("openOrActive").GetBoolean()); // it blocks a new request for ECM
        Assert.False(member.GetProperty("authorized").GetBoolean());
        Assert.Equal(member.GetProperty("authorizations").GetRawText(), lookedUp.GetProperty("authorizations").GetRawText());
        using (var notYet = await hub.Api.GetAsync("/api/authorizations/auth-orphan-2"))
        {
            Assert.Equal(HttpStatusCode.NotFound, notYet.StatusCode);
        }

        Assert.Equal(before, await WorkflowCountAsync());

        Assert.Equal("Started 1 of 1 unstarted authorization claim(s) older than 120 s; 0 needed no start.", await hub.SweepClaimsAsync());
        using var opened = await hub.Api.GetAsync("/api/authorizations/auth-orphan-2");
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        listed = (await JsonOf(await hub.Api.GetAsync("/api/members/90000011A/authorizations"))).GetProperty("authorizations").EnumerateArray().Single();
        Assert.Equal("in-review", listed.GetProperty("status").GetString());
        Assert.Equal(0, await UnstartedMarkersAsync("auth-orphan-2"));
        Assert.Equal(before + 1, await WorkflowCountAsync());
    }

    [Fact]
    public async Task A_request_that_started_its_workflow_leaves_no_unstarted_claim_marker()
    {
        var created = await hub.PostAsync("/api/authorizations", EcmRequest("90000012A"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await JsonOf(created)).GetProperty("authorizationId").GetString()!;

        Assert.Equal(0, await UnstartedMarkersAsync(id));
    }

    [Fact]
    public async Task A_bad_request_is_a_problem_naming_every_field_and_starts_nothing()
    {
        var before = await WorkflowCountAsync();

        var response = await hub.PostAsync("/api/authorizations", new
        {
            service = new { program = "ecm", populationsOfFocus = new[] { "homeless" } },
            requestingProviderNpi = "1234567890",
            referringEntity = "county-hospital",
            urgency = "soon",
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await JsonOf(response);
        Assert.Equal("Invalid authorization request", problem.GetProperty("title").GetString());
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal("'memberCin' is required (and 3 more; see errors)", problem.GetProperty("detail").GetString());
        var errors = problem.GetProperty("errors").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(m => m.GetString()).Single());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["memberCin"] = "is required",
            ["requestingProviderNpi"] = "fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit",
            ["urgency"] = "must be 'routine' or 'expedited'",
            ["service.populationsOfFocus[0]"] = "'homeless' is not an ECM Population of Focus; use one of " + string.Join(", ", CodeSets.PopulationsOfFocus.Current.Ids),
        }, errors);
        Assert.Equal(before, await WorkflowCountAsync());
    }

    [Fact]
    public async Task A_malformed_CIN_is_refused_without_echoing_it()
    {
        var response = await hub.PostAsync("/api/authorizations", EcmRequest("12345X"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"memberCin\":[\"must be a Medi-Cal CIN: 8 digits followed by a letter\"]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("12345X", text, StringComparison.Ordinal);

        var lookup = await hub.Api.GetAsync("/api/members/12345X/authorizations");
        Assert.Equal(HttpStatusCode.BadRequest, lookup.StatusCode);
        Assert.DoesNotContain("12345X", await lookup.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_JSON_and_bad_decisions_are_exact_problems()
    {
        using var invalid = new StringContent("{\"memberCin\": ", System.Text.Encoding.UTF8, "application/json");
        var response = await hub.Api.PostAsync("/api/authorizations", invalid);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("'$.memberCin' is not valid JSON (line 1, byte 15)", (await JsonOf(response)).GetProperty("detail").GetString());

        var created = await JsonOf(await hub.PostAsync("/api/authorizations", EcmRequest("90000005A")));
        var id = created.GetProperty("authorizationId").GetString()!;

        var noReason = await hub.PostAsync($"/api/authorizations/{id}/decision", new { outcome = "deny", decidedBy = "staff-17" });
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        Assert.Equal("'reason' is required to deny: state the DHCS criterion not met", (await JsonOf(noReason)).GetProperty("detail").GetString());

        var badOutcome = await hub.PostAsync($"/api/authorizations/{id}/decision", new { outcome = "maybe", decidedBy = "staff-17" });
        Assert.Equal("'outcome' must be 'approve', 'deny' or 'pend'", (await JsonOf(badOutcome)).GetProperty("detail").GetString());

        var unknown = await hub.PostAsync("/api/authorizations/auth-nope/decision", new { outcome = "approve", decidedBy = "staff-17" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("no authorization 'auth-nope'", (await JsonOf(unknown)).GetProperty("detail").GetString());

        // The operators' generic route checks the data against the record the decider reads: without it, a malformed
        // decision would be recorded and silently change nothing.
        var generic = await hub.PostAsync($"/api/workflows/{id}/events/decision", new { outcome = "approve" });
        Assert.Equal(HttpStatusCode.BadRequest, generic.StatusCode);
        Assert.Equal("event 'decision' of workflow type 'authorization': 'decidedBy' is required; nothing was recorded",
            (await JsonOf(generic)).GetProperty("detail").GetString());
        var stray = await hub.PostAsync($"/api/workflows/{id}/events/decision", new { outcome = "approve", decidedBy = "staff-17", approvedUnits = 3 });
        Assert.Equal("event 'decision' of workflow type 'authorization': 'approvedUnits' The JSON property 'approvedUnits' could not be mapped to any .NET member contained in type 'CalAimHub.Domain.Authorizations.DecisionData'; nothing was recorded",
            (await JsonOf(stray)).GetProperty("detail").GetString());

        Assert.Equal("in-review", (await JsonOf(await hub.Api.GetAsync($"/api/authorizations/{id}"))).GetProperty("status").GetString());
        Assert.DoesNotContain(
            (await JsonOf(await hub.Api.GetAsync($"/api/workflows/{id}?showHistory=true"))).GetProperty("historyEvents").EnumerateArray(),
            e => e.GetProperty("name").GetString() == AuthorizationEvents.Decision);
    }

    [Fact]
    public async Task The_one_extension_moves_the_deadline_and_a_second_is_refused()
    {
        var created = await JsonOf(await hub.PostAsync("/api/authorizations", EcmRequest("90000007A")));
        var id = created.GetProperty("authorizationId").GetString()!;
        var receivedAt = created.GetProperty("request").GetProperty("receivedAt").GetDateTimeOffset();

        var extended = await hub.PostAsync($"/api/authorizations/{id}/extension", new { reason = "awaiting records", extendedBy = "staff-17" });
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        var due = AuthorizationDeadline.Current.ExtendedDecisionDue(receivedAt, CaliforniaWorkingDays.Current);
        Assert.Equal(due, Clock(await JsonOf(extended), "decision").GetProperty("dueAt").GetDateTimeOffset());
        await hub.WaitForEventAsync(id, AuthorizationWorkflow.Extended, Patience);

        var again = await hub.PostAsync($"/api/authorizations/{id}/extension", new { reason = "still waiting", extendedBy = "staff-17" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal($"the decision clock was already extended once, to {due:O}; only one extension is allowed", (await JsonOf(again)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_joint_housing_request_blocks_each_of_its_services_until_it_closes()
    {
        var trio = new
        {
            memberCin = "90000008A",
            service = new { program = "community-supports", services = CodeSets.CommunitySupports.HousingTrio },
            requestingProviderNpi = OtherNpi,
            referringEntity = "cbo-7",
            urgency = "routine",
        };
        var created = await JsonOf(await hub.PostAsync("/api/authorizations", trio));
        var id = created.GetProperty("authorizationId").GetString()!;

        var single = await hub.PostAsync("/api/authorizations", new
        {
            memberCin = "90000008A",
            service = new { program = "community-supports", services = new[] { "housing-deposits" } },
            requestingProviderNpi = AuthorizationHubFixture.TrustedNpi,
            referringEntity = "cbo-9",
            urgency = "routine",
        });
        Assert.Equal(HttpStatusCode.Conflict, single.StatusCode);
        var problem = await JsonOf(single);
        Assert.Equal((id, "housing-deposits", "in-review"), (problem.GetProperty("existingAuthorizationId").GetString(), problem.GetProperty("service").GetString(), problem.GetProperty("authorizationStatus").GetString()));

        // Denied, and the notices sent: the authorization is closed, so a new request is welcome.
        await hub.PostAsync($"/api/authorizations/{id}/decision", new { outcome = "deny", reason = "criteria not attested", decidedBy = "staff-17" });
        var closed = await JsonOf(await hub.PostAsync($"/api/authorizations/{id}/notices-sent", new { sentBy = "staff-17" }));
        Assert.Equal(("denied", "Completed"), (closed.GetProperty("status").GetString(), closed.GetProperty("runtimeStatus").GetString()));

        var retry = await hub.PostAsync("/api/authorizations", trio);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        var member = await JsonOf(await hub.Api.GetAsync("/api/members/90000008A/authorizations"));
        Assert.Equal(3, member.GetProperty("authorizations").EnumerateArray().Count(a => a.GetProperty("openOrActive").GetBoolean()));
    }

    [Fact]
    public async Task The_handler_log_never_contains_a_member_CIN()
    {
        await hub.PostAsync("/api/authorizations", EcmRequest("90000006A"));
        await hub.PostAsync("/api/authorizations", EcmRequest("90000006A"));
        await hub.Api.GetAsync("/api/members/90000006A/authorizations");
        Assert.DoesNotContain(hub.Hub.HandlerOutput, line => line.Contains("90000006A", StringComparison.Ordinal) || line.Contains("9000000", StringComparison.Ordinal));
    }
}

[CollectionDefinition(nameof(AuthorizationHubCollection))]
public sealed class AuthorizationHubCollection : ICollectionFixture<AuthorizationHubFixture>;
