using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Api.Tests;

/// <summary>
/// The console data routes on the live handler (own hub, so the counts are exactly what the test wrote): read-model
/// rows written through the real projection path (projection → diff → <see cref="ReadModelStore.ApplyAsync(ProjectionUpdate, CancellationToken)"/>),
/// then every route's answer checked to the value, and its 400s to the parameter.
/// </summary>
public sealed class ConsoleApiTests(ApiHub hub) : IClassFixture<ApiHub>
{
    private static readonly CaliforniaWorkingDays Calendar = CaliforniaWorkingDays.Current;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private ReadModelStore Store => new(hub.Hub.Storage.Tables);

    private static AuthorizationClock Clock(string id, ClockKind kind, DateTimeOffset due, DateTimeOffset? breached = null, DateTimeOffset? satisfied = null) =>
        new(id, kind, due.AddDays(-3), due, null, false, false, satisfied, breached);

    private static AuthorizationState Authorization(string id, string pof, params AuthorizationClock[] clocks) => AuthorizationState.Initial with
    {
        Status = clocks.Any(c => c.Kind == ClockKind.Decision && c.Open) ? AuthorizationStatus.InReview : AuthorizationStatus.Authorized,
        Request = new AuthorizationRequest(id, "90000999A", RequestedService.Ecm(pof), "1245319599", "county-hospital", Urgency.Routine, [], null, Now.AddDays(-4)),
        Clocks = clocks,
        Escalated = clocks.Any(c => c.BreachedAt is not null),
    };

    private static ReferralState Referral(string id, string entity, DateTimeOffset referredAt, params RoutingAttempt[] attempts) => ReferralState.Initial with
    {
        Phase = attempts.Any(a => a.Open) ? ReferralPhase.AwaitingAcknowledgement : attempts.Any(a => a.Outcome == AttemptOutcome.Accepted) ? ReferralPhase.Accepted : ReferralPhase.Escalated,
        Status = attempts.Any(a => a.Outcome == AttemptOutcome.Accepted) ? ReferralStatus.Accepted : ReferralStatus.Pending,
        ReferralId = id,
        Platform = "sampleplatform",
        Service = new ReferralService("ecm", ["experiencing-homelessness-adults"]),
        ReferringEntity = new ReferringEntity(entity, null),
        ReferredAt = referredAt,
        Attempts = attempts,
        EscalatedAt = attempts.All(a => a.Outcome is AttemptOutcome.TimedOut or AttemptOutcome.Declined) ? referredAt.AddDays(3) : null,
    };

    private static RoutingAttempt Offer(int number, string npi, DateTimeOffset offeredAt, AttemptOutcome? outcome, double hoursToAnswer = 0) =>
        new(number, npi, null, offeredAt, offeredAt.AddDays(2), outcome, outcome == AttemptOutcome.Declined ? "full" : null, outcome is null ? null : offeredAt.AddHours(hoursToAnswer));

    private async Task ProjectAsync<TState>(IWorkflowProjection<TState> projection, string id, TState state)
        where TState : notnull
    {
        foreach (var update in projection.Project(null, new ProjectedInstance<TState>(id, WorkflowRuntimeStatus.Running, 1, state), new WorkflowEvent("start", WorkflowEvent.Started, null, Now)))
        {
            await Store.ApplyAsync(update, CancellationToken.None);
        }
    }

    private async Task<JsonNode> GetAsync(string path)
    {
        using var response = await hub.Client.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task Today_deadlines_and_weekly_breaches_count_exactly_what_the_projections_wrote()
    {
        var authorizations = new AuthorizationConsoleProjection(Calendar);
        var referrals = new ReferralConsoleProjection(Calendar);
        // Due in 2 h; due in 30 h; breached 3 h ago and still open; notices due in 1 h after a late (breached) decision; due in
        // 2 min, so (unless the hour turns first) in the partial hour both windows start with: counted once in each.
        await ProjectAsync(authorizations, "auth-today-1", Authorization("auth-today-1", "justice-involved", Clock("decision", ClockKind.Decision, Now.AddHours(2))));
        await ProjectAsync(authorizations, "auth-today-2", Authorization("auth-today-2", "justice-involved", Clock("decision", ClockKind.Decision, Now.AddHours(30))));
        await ProjectAsync(authorizations, "auth-today-3", Authorization("auth-today-3", "justice-involved", Clock("decision", ClockKind.Decision, Now.AddHours(-3), breached: Now.AddHours(-3))));
        await ProjectAsync(authorizations, "auth-today-4", Authorization("auth-today-4", "justice-involved",
            Clock("decision", ClockKind.Decision, Now.AddHours(-10), breached: Now.AddHours(-10), satisfied: Now.AddHours(-9)), Clock("notices", ClockKind.Notices, Now.AddHours(1))));
        await ProjectAsync(authorizations, "auth-today-5", Authorization("auth-today-5", "justice-involved", Clock("decision", ClockKind.Decision, Now.AddMinutes(2))));
        // A referral offer due in 5 h, after a first offer that went unanswered (a breach of its provider's deadline).
        await ProjectAsync(referrals, "sampleplatform:r-today", Referral("sampleplatform:r-today", "County Jail Health", Now.AddDays(-3),
            Offer(1, "1245319599", Now.AddDays(-2).AddHours(-19), AttemptOutcome.TimedOut, 48), Offer(2, "1003000126", Now.AddHours(-43), null) with { DueAt = Now.AddHours(5) }));

        var today = await GetAsync("/api/console/today");
        var deadlines = await GetAsync("/api/console/deadlines?window=next5WorkingDays&type=authorization");
        var breachedReferrals = await GetAsync("/api/console/deadlines?window=breached&type=referral");
        var firstPage = await GetAsync("/api/console/deadlines?window=next5WorkingDays&top=2");
        var secondPage = await GetAsync("/api/console/deadlines?window=next5WorkingDays&top=2&continuation=" + Uri.EscapeDataString(firstPage["continuation"]!.GetValue<string>()));
        var weekly = await GetAsync("/api/console/breaches/weekly?weeks=3");

        Assert.Equal(
            ["authorization 3 4 1", "referral 1 1 0"],
            today["byType"]!.AsArray().Select(t => $"{t!["workflowType"]} {t["dueNext24h"]} {t["dueNext5WorkingDays"]} {t["breached"]}"));
        Assert.Equal(
            ["auth-today-5 decision decision", "auth-today-4 notices notice", "auth-today-1 decision decision", "sampleplatform:r-today ack:2 accept"],
            today["dueNext24h"]!.AsArray().Select(d => $"{d!["instanceId"]} {d["itemId"]} {d["deadline"]}"));
        var breached = Assert.Single(today["breached"]!.AsArray())!;
        Assert.Equal(("auth-today-3", true, "#/authorizations/auth-today-3"), (breached["instanceId"]!.GetValue<string>(), breached["breached"]!.GetValue<bool>(), breached["link"]!.GetValue<string>()));
        Assert.Equal(Now.AddHours(-3).ToUnixTimeSeconds(), breached["dueAt"]!.GetValue<DateTimeOffset>().ToUnixTimeSeconds());
        Assert.Equal(["auth-today-5", "auth-today-4", "auth-today-1", "auth-today-2"], deadlines["items"]!.AsArray().Select(d => d!["instanceId"]!.GetValue<string>()));
        Assert.Empty(breachedReferrals["items"]!.AsArray());
        Assert.Equal(2, firstPage["items"]!.AsArray().Count);
        var thirdPage = await GetAsync("/api/console/deadlines?window=next5WorkingDays&top=2&continuation=" + Uri.EscapeDataString(secondPage["continuation"]!.GetValue<string>()));
        Assert.Equal(["auth-today-5", "auth-today-4", "auth-today-1", "sampleplatform:r-today", "auth-today-2"],
            new[] { firstPage, secondPage, thirdPage }.SelectMany(p => p["items"]!.AsArray()).Select(d => d!["instanceId"]!.GetValue<string>()));
        // A page that ends exactly at a due day's end may still carry a continuation: it leads to nothing more.
        if (thirdPage["continuation"] is { } more)
        {
            Assert.Empty((await GetAsync("/api/console/deadlines?window=next5WorkingDays&top=2&continuation=" + Uri.EscapeDataString(more.GetValue<string>())))["items"]!.AsArray());
        }

        // Weekly: the three breaches (two authorization clocks, one unanswered offer), each in the week of its California date.
        var weeks = weekly["weeks"]!.AsArray();
        Assert.Equal(6, weeks.Count);
        long Breaches(DateTimeOffset at, string type) => weeks.Where(w => w!["weekStart"]!.GetValue<string>() == ConsoleTables.WeekStart(Calendar.DateOf(at)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) && w["workflowType"]!.GetValue<string>() == type)
            .Sum(w => w!["breaches"]!.GetValue<long>());
        Assert.Equal(3, weeks.Sum(w => w!["breaches"]!.GetValue<long>()));
        var sameWeek = ConsoleTables.WeekStart(Calendar.DateOf(Now.AddHours(-3))) == ConsoleTables.WeekStart(Calendar.DateOf(Now.AddHours(-10)));
        Assert.Equal(sameWeek ? 2 : 1, Breaches(Now.AddHours(-3), "authorization"));
        Assert.Equal(1, Breaches(Now.AddDays(-2).AddHours(-19).AddDays(2), "referral"));
    }

    [Theory]
    [InlineData("2027-03-10T18:30:00Z", 60, 0, 71, 73)] // more due before 19:00 than the list of what is due next shows
    [InlineData("2027-04-21T18:30:00Z", 30, 40, 81, 83)] // fewer
    [InlineData("2027-06-09T18:30:30Z", 30, 40, 80, 83)] // now has seconds: the 24 hours end at tomorrow's 18:30:00
    public async Task Today_counts_the_partial_hours_at_the_windows_ends_exactly(string at, int dueThisHour, int dueNextHour, long next24h, long next5WorkingDays)
    {
        // At a fixed instant months ahead (due days no other test or case writes, weeks apart): deadlines every 20 s from
        // now (the first in the partial minute when now has seconds), then every 20 s from 19:00; ten in the last half
        // hour of the 24-hour window, one 10 s before now + 24 h, two just after (all within 5 working days).
        var now = DateTimeOffset.Parse(at, CultureInfo.InvariantCulture);
        var authorizations = new AuthorizationConsoleProjection(Calendar);
        var due = Enumerable.Range(1, dueThisHour).Select(k => now.AddSeconds(20 * k))
            .Concat(Enumerable.Range(0, dueNextHour).Select(k => now.AddMinutes(30).AddSeconds(20 * k)))
            .Concat(Enumerable.Range(0, 10).Select(k => now.AddDays(1).AddMinutes(-25 + k)))
            .Concat([now.AddDays(1).AddSeconds(-10), now.AddDays(1), now.AddDays(1).AddMinutes(10)]).ToList();
        foreach (var (when, k) in due.Select((d, k) => (d, k)))
        {
            await ProjectAsync(authorizations, $"edge-{at[..10]}-{k}", Authorization($"edge-{at[..10]}-{k}", "justice-involved", Clock("decision", ClockKind.Decision, when)));
        }

        var today = await new ConsoleQueries(Store, Calendar, new CalAimHub.Functions.Referrals.ReferralDirectory(hub.Hub.Storage)).TodayAsync(now, CancellationToken.None);

        var counts = today.ByType.Single(t => t.WorkflowType == AuthorizationWorkflow.TypeName);
        Assert.Equal((next24h, next5WorkingDays), (counts.DueNext24h, counts.DueNext5WorkingDays));
        Assert.Equal(due.Take(ConsoleQueries.ListCap), today.DueNext24h.Select(d => d.DueAt));
    }

    [Fact]
    public async Task The_referral_funnel_providers_entities_and_open_referrals_are_exact()
    {
        var referrals = new ReferralConsoleProjection(Calendar);
        // 25 days ago: its unanswered offers (breaches) fall outside the 3 weeks the other test counts (same hub).
        var day = Now.AddDays(-25);
        // (p:4's offer is due in 20 days: outside the other test's next-5-working-days counts.)
        // Accepted after 3 h by A; declined by A then accepted after 10 h by B; unanswered by A, by B, escalated; open with B for 1 h; closed.
        await ProjectAsync(referrals, "p:1", Referral("p:1", "County Jail Health", day, Offer(1, "1111111111", day, AttemptOutcome.Accepted, 3)));
        await ProjectAsync(referrals, "p:2", Referral("p:2", "County Jail Health", day, Offer(1, "1111111111", day, AttemptOutcome.Declined, 1), Offer(2, "2222222222", day.AddHours(1), AttemptOutcome.Accepted, 10)));
        await ProjectAsync(referrals, "p:3", Referral("p:3", "Hospital Discharge Unit", day, Offer(1, "1111111111", day, AttemptOutcome.TimedOut, 48), Offer(2, "2222222222", day.AddDays(2), AttemptOutcome.TimedOut, 48)));
        await ProjectAsync(referrals, "p:4", Referral("p:4", "Hospital Discharge Unit", Now.AddHours(-1), Offer(1, "2222222222", Now.AddHours(-1), null) with { DueAt = Now.AddDays(20) }));
        var closed = Referral("p:5", "County Jail Health", day, Offer(1, "2222222222", day, AttemptOutcome.Accepted, 20)) with
        {
            Phase = ReferralPhase.Closed, Status = ReferralStatus.ReferralLoopClosed, ClosureReason = ReferralStatuses.ServicesReceived, ClosedAt = Now.AddDays(-1),
            History = [new StatusEntry(ReferralStatus.OutreachInitiated, DateOnly.FromDateTime(day.UtcDateTime), "webhook", null, day)],
        };
        await ProjectAsync(referrals, "p:5", closed);

        var from = Calendar.DateOf(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var funnel = await GetAsync($"/api/console/referrals/funnel?from={from}&to={from}");
        var all = await GetAsync("/api/console/referrals/funnel");
        var providers = await GetAsync($"/api/console/referrals/providers?from={from}");
        var providerPage = await GetAsync($"/api/console/referrals/providers?from={from}&top=1");
        var nextProvider = await GetAsync($"/api/console/referrals/providers?from={from}&top=1&continuation={providerPage["continuation"]}");
        var entities = await GetAsync($"/api/console/referrals/referring-entities?from={from}");
        var open = await GetAsync("/api/console/referrals/open?olderThanDays=0");
        var old = await GetAsync("/api/console/referrals/open?olderThanDays=5");

        Assert.Equal("""{"from":"FROM","to":"FROM","pending":0,"accepted":3,"outreachInitiated":1,"loopClosed":1,"declined":1,"escalated":1,"total":4}""".Replace("FROM", from, StringComparison.Ordinal), funnel.ToJsonString());
        Assert.Equal(5, all["total"]!.GetValue<long>());
        Assert.Equal(1, all["pending"]!.GetValue<long>());
        // Offers from that day to today. A: 3 (accepted after 3 h, declined, unanswered); B: 4 (accepted after 10 h and
        // after 20 h, unanswered, still open): the lower median of 10 h and 20 h is 10.
        Assert.Equal(
            ["1111111111 3 1 0.3333 3 1 0.3333", "2222222222 4 2 0.5 10 1 0.25"],
            providers["items"]!.AsArray().Select(p => $"{p!["providerNpi"]} {p["offers"]} {p["accepted"]} {p["acceptanceRate"]} {p["medianHoursToAccept"]} {p["noResponse"]} {p["noResponseRate"]}"));
        Assert.Equal("1111111111", Assert.Single(providerPage["items"]!.AsArray())!["providerNpi"]!.GetValue<string>());
        Assert.Equal("2222222222", Assert.Single(nextProvider["items"]!.AsArray())!["providerNpi"]!.GetValue<string>());
        Assert.Null(nextProvider["continuation"]);
        Assert.Equal(
            ["County Jail Health 3 Services Received=1", "Hospital Discharge Unit 2 "],
            entities["items"]!.AsArray().Select(e => $"{e!["referringEntity"]} {e["referrals"]} {string.Join(",", e["closureReasons"]!.AsArray().Select(r => $"{r!["reason"]}={r["count"]}"))}"));
        Assert.Equal(["p:1", "p:2", "p:3", "p:4"], open["items"]!.AsArray().Select(o => o!["referralId"]!.GetValue<string>()));
        Assert.Equal(["p:1", "p:2", "p:3"], old["items"]!.AsArray().Select(o => o!["referralId"]!.GetValue<string>()));
        Assert.Equal((25, "#/referrals/p:1", "Accepted"), (old["items"]![0]!["ageDays"]!.GetValue<int>(), old["items"]![0]!["link"]!.GetValue<string>(), old["items"]![0]!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Provider_figures_of_any_period_sum_its_days_whether_read_from_days_or_weekly_roll_ups()
    {
        // One offer a day for 28 days, 33 to 60 days ago (outside the other tests' periods), each accepted and its loop
        // closed (so nothing is open or due). Periods of every alignment: inside a week, across weeks, whole weeks.
        var referrals = new ReferralConsoleProjection(Calendar);
        const string npi = "3333333333";
        var offered = new List<DateOnly>();
        for (var k = 0; k < 28; k++)
        {
            var at = Now.AddDays(-60 + k);
            offered.Add(Calendar.DateOf(at));
            await ProjectAsync(referrals, $"w:{k}", Referral($"w:{k}", "Week Test Entity", Now.AddDays(-61), Offer(1, npi, at, AttemptOutcome.Accepted, 2)) with
            {
                Phase = ReferralPhase.Closed, Status = ReferralStatus.ReferralLoopClosed, ClosureReason = ReferralStatuses.ServicesReceived, ClosedAt = at.AddHours(3),
            });
        }

        // The last dates there are: no "next Monday" to compute (found answering 500 by probing).
        Assert.Empty((await GetAsync("/api/console/referrals/providers?from=9999-12-25&to=9999-12-31"))["items"]!.AsArray());
        Assert.Empty((await GetAsync("/api/console/referrals/providers?from=9999-12-20&to=9999-12-31"))["items"]!.AsArray());

        var first = offered[0];
        foreach (var (start, days) in from start in Enumerable.Range(0, 7) from days in new[] { 1, 6, 7, 8, 14, 15, 20 } select (start, days))
        {
            var (from, to) = (first.AddDays(start), first.AddDays(start + days - 1));
            var page = await GetAsync($"/api/console/referrals/providers?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&top=200");
            var figures = page["items"]!.AsArray().Single(p => p!["providerNpi"]!.GetValue<string>() == npi)!;
            var expected = offered.Count(d => d >= from && d <= to);
            Assert.True(
                (expected, expected, 2) == (figures["offers"]!.GetValue<long>(), figures["accepted"]!.GetValue<long>(), figures["medianHoursToAccept"]!.GetValue<int>()),
                $"{from:yyyy-MM-dd} ({from.DayOfWeek})..{to:yyyy-MM-dd}: expected {expected} offers, got {figures.ToJsonString()}");
        }
    }

    [Fact]
    public async Task The_authorization_list_filters_by_population_of_focus_and_breached()
    {
        var listing = new AuthorizationListingProjection();
        await ProjectAsync(listing, "auth-list-1", Authorization("auth-list-1", "justice-involved", Clock("decision", ClockKind.Decision, Now.AddHours(-3), breached: Now.AddHours(-3))));
        await ProjectAsync(listing, "auth-list-2", Authorization("auth-list-2", "justice-involved", Clock("decision", ClockKind.Decision, Now.AddHours(5))));
        await ProjectAsync(listing, "auth-list-3", Authorization("auth-list-3", "experiencing-homelessness-adults", Clock("decision", ClockKind.Decision, Now.AddHours(6))));

        var justice = await GetAsync("/api/authorizations?pof=justice-involved");
        var breached = await GetAsync("/api/authorizations?breached=true");
        var onTime = await GetAsync("/api/authorizations?breached=false&pof=experiencing-homelessness-adults");

        static IEnumerable<string> Ids(JsonNode list) => list["items"]!.AsArray().Select(i => i!["authorizationId"]!.GetValue<string>());
        Assert.Equal(["auth-list-1", "auth-list-2"], Ids(justice));
        Assert.Equal(["auth-list-1"], Ids(breached));
        Assert.Equal(["auth-list-3"], Ids(onTime));
        Assert.True(breached["items"]![0]!["breached"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_authorization_list_pages_across_its_shard_tables_with_a_token_bound_to_its_filters()
    {
        var listing = new AuthorizationListingProjection();
        var ids = Enumerable.Range(0, 7).Select(i => $"auth-page-{i}").ToList();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            await ProjectAsync(listing, id, Authorization(id, "birth-equity", Clock("decision", ClockKind.Decision, Now.AddDays(30).AddHours(i))));
        }

        var listed = new List<string>();
        string? continuation = null;
        do
        {
            var page = await GetAsync("/api/authorizations?pof=birth-equity&top=3" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)));
            listed.AddRange(page["items"]!.AsArray().Select(i => i!["authorizationId"]!.GetValue<string>()));
            continuation = page["continuation"]?.GetValue<string>();
            if (continuation is not null)
            {
                // Bound to its filters: the same token with another population of focus is refused.
                using var other = await hub.Client.GetAsync(new Uri("/api/authorizations?pof=justice-involved&top=3&continuation=" + Uri.EscapeDataString(continuation), UriKind.Relative));
                Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
            }
        }
        while (continuation is not null);

        Assert.Equal(ids, listed);
    }

    [Fact]
    public async Task Partner_file_runs_are_listed_newest_first_with_their_top_rules_and_report_route()
    {
        var index = new FileRunIndex(hub.Hub.Storage.Tables);
        IngestReport Report(string partner, string kind, string file, int accepted, int rejected, Dictionary<string, int> rules) => new()
        {
            RunId = Guid.NewGuid().ToString("N"), PartnerId = partner, Kind = kind, File = file, Outcome = rejected == 0 ? IngestOutcome.Accepted : IngestOutcome.PartiallyAccepted,
            RowsAccepted = accepted, RowsRejected = rejected, ProblemsByRule = rules,
        };
        await index.WriteAsync(Report("plan-a", "rtf", "old.csv", 10, 0, []), Now.AddHours(-2), CancellationToken.None);
        await index.WriteAsync(Report("plan-a", "rtf", "new file.csv", 7, 3, new() { ["cin-format"] = 2, ["date-order"] = 1 }), Now.AddHours(-1), CancellationToken.None);
        await index.WriteAsync(Report("plan-b", "otf", "other.csv", 1, 0, []), Now, CancellationToken.None);

        var rtf = await GetAsync("/api/console/files?partner=plan-a&kind=rtf");
        var all = await GetAsync("/api/console/files?top=1");

        Assert.Equal(["new file.csv", "old.csv"], rtf["items"]!.AsArray().Select(f => f!["file"]!.GetValue<string>()));
        var run = rtf["items"]![0]!;
        Assert.Equal(("partially-accepted", 7, 3, "/api/files/plan-a/rtf/new%20file.csv/report"),
            (run["status"]!.GetValue<string>(), run["acceptedRows"]!.GetValue<int>(), run["rejectedRows"]!.GetValue<int>(), run["reportUrl"]!.GetValue<string>()));
        Assert.Equal(["cin-format=2", "date-order=1"], run["topRules"]!.AsArray().Select(r => $"{r!["rule"]}={r["count"]}"));
        Assert.Equal("other.csv", Assert.Single(all["items"]!.AsArray())!["file"]!.GetValue<string>());
        Assert.NotNull(all["continuation"]);
    }

    [Fact]
    public async Task A_continuation_is_good_only_for_the_list_and_filters_that_gave_it()
    {
        var index = new FileRunIndex(hub.Hub.Storage.Tables);
        foreach (var (file, hours) in new[] { ("a.csv", 3), ("b.csv", 2), ("c.csv", 1) })
        {
            await index.WriteAsync(new IngestReport { RunId = Guid.NewGuid().ToString("N"), PartnerId = "plan-token", Kind = "rtf", File = file, Outcome = IngestOutcome.Accepted, RowsAccepted = 1 }, Now.AddHours(-hours), CancellationToken.None);
        }

        var first = await GetAsync("/api/console/files?partner=plan-token&kind=rtf&top=1");
        var token = Uri.EscapeDataString(first["continuation"]!.GetValue<string>());
        var second = await GetAsync($"/api/console/files?partner=plan-token&kind=rtf&top=1&continuation={token}");
        using var otherFilter = await hub.Client.GetAsync(new Uri($"/api/console/files?partner=plan-other&kind=rtf&top=1&continuation={token}", UriKind.Relative));
        using var otherList = await hub.Client.GetAsync(new Uri($"/api/console/referrals/open?continuation={token}", UriKind.Relative));

        Assert.Equal("c.csv", Assert.Single(first["items"]!.AsArray())!["file"]!.GetValue<string>());
        Assert.Equal("b.csv", Assert.Single(second["items"]!.AsArray())!["file"]!.GetValue<string>());
        foreach (var refused in new[] { otherFilter, otherList })
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("'continuation' is not a token this list gave; start again without it", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("/api/console/deadlines?window=tomorrow", "'window' 'tomorrow' is not a window; use 'next24h' (default), 'next5WorkingDays' or 'breached'")]
    [InlineData("/api/console/deadlines?type=invoice", "'type' 'invoice' is not a workflow type with deadlines; use 'authorization' or 'referral'")]
    [InlineData("/api/console/deadlines?top=201", "'top' '201' is not a page size; use a whole number from 1 to 200 (default 50)")]
    [InlineData("/api/console/deadlines?continuation=bm90LWEtdG9rZW4", "'continuation' is not a token this list gave; start again without it")]
    // Forged: base64url of a real key ("1111111111"), the shape an unsigned token had — it must not page on from there.
    [InlineData("/api/console/referrals/providers?continuation=MTExMTExMTExMQ", "'continuation' is not a token this list gave; start again without it")]
    [InlineData("/api/console/referrals/open?continuation=c1.MTExMTExMTExMQ.AAAAAAAAAAAAAAAAAAAAAA", "'continuation' is not a token this list gave; start again without it")]
    [InlineData("/api/console/breaches/weekly?weeks=0", "'weeks' '0' is not a number of weeks; use a whole number from 1 to 104 (default 12)")]
    [InlineData("/api/console/referrals/funnel?from=2026-13-01", "'from' '2026-13-01' is not a date; use yyyy-MM-dd, e.g. 2026-07-01")]
    [InlineData("/api/console/referrals/funnel?from=2026-07-02&to=2026-07-01", "'from' '2026-07-02' is after 'to' (2026-07-01)")]
    [InlineData("/api/console/referrals/providers?from=2026-01-01&to=2026-07-01", "'to' the period 2026-01-01..2026-07-01 is 182 days; ask for at most 92")]
    [InlineData("/api/console/referrals/referring-entities?top=0", "'top' '0' is not a page size; use a whole number from 1 to 200 (default 50)")]
    [InlineData("/api/console/referrals/open?olderThanDays=-1", "'olderThanDays' '-1' is not a number of days; use a whole number from 0 to 3650 (default 0)")]
    [InlineData("/api/console/files?kind=letters", "'kind' 'letters' is not a file kind; use one of rtf, otf, invoice, referral, remittance, assignment")]
    [InlineData("/api/authorizations?pof=astronauts", "'pof' 'astronauts' is not an ECM population of focus; use one of experiencing-homelessness-adults, experiencing-homelessness-families, avoidable-hospital-ed-utilization, serious-mental-health-sud, justice-involved, at-risk-ltc-institutionalization, nursing-facility-transition, ccs-additional-needs, child-welfare, birth-equity")]
    [InlineData("/api/authorizations?breached=yes", "'breached' 'yes' is not 'true' or 'false'")]
    [InlineData("/api/authorizations?continuation=zzz%7C%7C", "'continuation' is not a token this listing gave (with these filters); start again without it")]
    public async Task A_bad_console_parameter_is_a_400_naming_it(string path, string detail)
    {
        using var response = await hub.Client.GetAsync(new Uri(path, UriKind.Relative));
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(path.StartsWith("/api/authorizations", StringComparison.Ordinal) ? "Invalid authorization query" : "Invalid console query", problem["title"]!.GetValue<string>());
        Assert.Equal(detail, problem["detail"]!.GetValue<string>());
    }
}
