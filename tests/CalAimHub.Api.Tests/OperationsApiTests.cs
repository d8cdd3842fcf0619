using System.Net;
using System.Text.Json.Nodes;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Staff;

namespace CalAimHub.Api.Tests;

/// <summary>The operations routes against the real handler (signed in as App Service authentication would sign staff in).</summary>
public sealed class OperationsApiTests(StaffHub hub) : IClassFixture<StaffHub>
{
    private static HttpRequestMessage As(HttpMethod method, string path, params string[] roles)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Add(ClientPrincipal.Header, ClientPrincipal.Development("olga", roles).Encode());
        return request;
    }

    private async Task<JsonNode> JsonAsync(HttpRequestMessage request, HttpStatusCode status)
    {
        using var response = await hub.Handler.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>A dead letter as the handler writes it when a Notify message fails its last attempt (the queue is not polled: the hub has no Notify trigger running on it here).</summary>
    private async Task<string> PoisonAsync(string queue, string reason)
    {
        var letter = new DeadLetter("Notify", queue, "m-" + Guid.NewGuid().ToString("N")[..8], 5, reason, DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), """{"deliveryId":"d-1","subscriber":"plan-a"}""");
        var sent = await hub.Hub.Storage.Queues.GetQueueClient(queue + "-poison").SendMessageAsync(letter.ToJson());
        return sent.Value.MessageId;
    }

    [Fact]
    public async Task A_poison_message_is_listed_with_its_recorded_reason_and_no_content_then_replayed_by_an_operator()
    {
        var id = await PoisonAsync("domain-events", "subscriber answered 500");

        var list = await JsonAsync(As(HttpMethod.Get, "/api/console/poison/domain-events?top=200", StaffRoles.Viewer), HttpStatusCode.OK);
        var item = list["items"]!.AsArray().Single(i => i!["messageId"]!.GetValue<string>() == id)!;
        Assert.Equal("subscriber answered 500", item["reason"]!.GetValue<string>());
        Assert.Equal(5, item["dequeueCount"]!.GetValue<int>());
        Assert.DoesNotContain("plan-a", item.ToJsonString(), StringComparison.Ordinal);
        Assert.StartsWith("Notify gave up on message m-", item["summary"]!.GetValue<string>(), StringComparison.Ordinal);

        var overview = await JsonAsync(As(HttpMethod.Get, "/api/console/operations", StaffRoles.Viewer), HttpStatusCode.OK);
        var queue = overview["queues"]!.AsArray().Single(q => q!["name"]!.GetValue<string>() == "domain-events")!;
        Assert.True(queue["poisonDepth"]!.GetValue<int>() >= 1);

        var refused = await JsonAsync(As(HttpMethod.Post, $"/api/console/poison/domain-events/{id}/replay", StaffRoles.Viewer, StaffRoles.Decider), HttpStatusCode.Forbidden);
        Assert.Equal($"POST /api/console/poison/domain-events/{id}/replay needs the 'operator' role; olga has viewer, decider", refused["detail"]!.GetValue<string>());

        var replayed = await JsonAsync(As(HttpMethod.Post, $"/api/console/poison/domain-events/{id}/replay", StaffRoles.Operator), HttpStatusCode.Accepted);
        Assert.Equal("domain-events", replayed["replayedTo"]!.GetValue<string>());
        var back = await hub.Hub.Storage.Queues.GetQueueClient("domain-events").PeekMessagesAsync(32);
        Assert.Contains(back.Value, m => m.Body.ToString() == """{"deliveryId":"d-1","subscriber":"plan-a"}""");

        var again = await JsonAsync(As(HttpMethod.Post, $"/api/console/poison/domain-events/{id}/replay", StaffRoles.Operator), HttpStatusCode.NotFound);
        Assert.Equal("No such poison message", again["title"]!.GetValue<string>());
        Assert.Equal($"domain-events-poison holds no message '{id}' (already replayed, or expired); list them with GET /api/console/poison/domain-events", again["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Replaying_one_message_leaves_the_others_in_the_poison_queue_and_visible()
    {
        // domain-events has no trigger in this hub: what is replayed stays on the queue for the test to see.
        var keep = await PoisonAsync("domain-events", "kept");
        var replay = await PoisonAsync("domain-events", "replayed");

        await JsonAsync(As(HttpMethod.Post, $"/api/console/poison/domain-events/{replay}/replay", StaffRoles.Operator), HttpStatusCode.Accepted);

        var listed = (await JsonAsync(As(HttpMethod.Get, "/api/console/poison/domain-events", StaffRoles.Viewer), HttpStatusCode.OK))["items"]!.AsArray()
            .Select(i => i!["messageId"]!.GetValue<string>()).ToArray();
        Assert.Contains(keep, listed);
        Assert.DoesNotContain(replay, listed);
    }

    [Theory]
    [InlineData("GET", "/api/console/poison/no-such-queue")]
    [InlineData("POST", "/api/console/poison/no-such-queue/abc/replay")]
    public async Task An_unknown_queue_is_404_listing_the_queues(string method, string path)
    {
        var problem = await JsonAsync(As(new HttpMethod(method), path, StaffRoles.Operator), HttpStatusCode.NotFound);

        Assert.Equal("No such queue", problem["title"]!.GetValue<string>());
        Assert.Equal("'no-such-queue' is not a queue of this hub; the queues are " + string.Join(", ", hub.Hub.App.Storage.Queues), problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Top_outside_1_to_200_is_400()
    {
        var problem = await JsonAsync(As(HttpMethod.Get, "/api/console/poison/notifications?top=201", StaffRoles.Viewer), HttpStatusCode.BadRequest);

        Assert.Equal("Invalid top", problem["title"]!.GetValue<string>());
        Assert.Equal("'top' must be a whole number from 1 to 200", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failed_instance_is_listed_with_its_reason_from_the_index()
    {
        var workflows = hub.Hub.Storage.Tables.GetTableClient("WorkflowIndex");
        var state = hub.Hub.Storage.Tables.GetTableClient("Workflows");
        await workflows.AddEntityAsync(new Azure.Data.Tables.TableEntity("authorization", "auth-failed-1")
        {
            ["Status"] = "Failed", ["Created"] = DateTimeOffset.UtcNow, ["Updated"] = DateTimeOffset.UtcNow, ["Seq"] = 2L,
        });
        await state.AddEntityAsync(new Azure.Data.Tables.TableEntity("auth-failed-1", "state")
        {
            ["Type"] = "authorization", ["Version"] = 1, ["Status"] = "Failed", ["Seq"] = 2L, ["Reason"] = "decider 'authorization' v1 threw InvalidOperationException on event 'decision'",
            ["Created"] = DateTimeOffset.UtcNow, ["Updated"] = DateTimeOffset.UtcNow,
        });

        var overview = await JsonAsync(As(HttpMethod.Get, "/api/console/operations", StaffRoles.Viewer), HttpStatusCode.OK);

        var failed = overview["failedInstances"]!.AsArray().Single(f => f!["instanceId"]!.GetValue<string>() == "auth-failed-1")!;
        Assert.Equal("decider 'authorization' v1 threw InvalidOperationException on event 'decision'", failed["reason"]!.GetValue<string>());
        Assert.Equal("#/authorizations/auth-failed-1", failed["link"]!.GetValue<string>());
        Assert.Equal("authorization", failed["workflowType"]!.GetValue<string>());
    }
}

/// <summary>The monitoring extract on demand: generated by an operator, downloaded by any staff role.</summary>
public sealed class MonitoringExtractApiTests(StaffHub hub) : IClassFixture<StaffHub>
{
    private static HttpRequestMessage As(HttpMethod method, string path, params string[] roles)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Add(ClientPrincipal.Header, ClientPrincipal.Development("olga", roles).Encode());
        return request;
    }

    private static async Task<JsonNode> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    [Fact]
    public async Task An_operator_generates_a_month_and_a_viewer_downloads_its_xlsx_and_json()
    {
        using var before = await hub.Handler.SendAsync(As(HttpMethod.Get, "/api/console/extracts/2026-06", StaffRoles.Viewer));
        var missing = await ProblemAsync(before, HttpStatusCode.NotFound);
        Assert.Equal("Extract not generated", missing["title"]!.GetValue<string>());
        Assert.Equal("no monitoring extract for 2026-06 yet; an operator generates it with POST /api/console/extracts/2026-06 (the timer does on the 1st of the next month)", missing["detail"]!.GetValue<string>());

        using var refused = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/console/extracts/2026-06", StaffRoles.Viewer, StaffRoles.Decider));
        Assert.Equal("POST /api/console/extracts/2026-06 needs the 'operator' role; olga has viewer, decider", (await ProblemAsync(refused, HttpStatusCode.Forbidden))["detail"]!.GetValue<string>());

        using var generated = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/console/extracts/2026-06", StaffRoles.Operator));
        Assert.Equal(HttpStatusCode.OK, generated.StatusCode);
        var summary = JsonNode.Parse(await generated.Content.ReadAsStringAsync())!;
        Assert.Equal("2026-06", summary["month"]!.GetValue<string>());
        Assert.Equal("/api/console/extracts/2026-06?format=xlsx", summary["files"]![0]!["url"]!.GetValue<string>());

        using var xlsx = await hub.Handler.SendAsync(As(HttpMethod.Get, "/api/console/extracts/2026-06", StaffRoles.Viewer));
        Assert.Equal(HttpStatusCode.OK, xlsx.StatusCode);
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx.Content.Headers.ContentType?.MediaType);
        Assert.Equal("calaimhub-monitoring-2026-06.xlsx", xlsx.Content.Headers.ContentDisposition?.FileNameStar ?? xlsx.Content.Headers.ContentDisposition?.FileName);
        var bytes = await xlsx.Content.ReadAsByteArrayAsync();
        Assert.Equal((byte)'P', bytes[0]); // a zip package
        Assert.Equal((byte)'K', bytes[1]);

        using var json = await hub.Handler.SendAsync(As(HttpMethod.Get, "/api/console/extracts/2026-06?format=json", StaffRoles.Viewer));
        var extract = JsonNode.Parse(await json.Content.ReadAsStringAsync())!;
        Assert.Equal("2026-06", extract["month"]!.GetValue<string>());
        Assert.Equal("06/01/2026", extract["periodStart"]!.GetValue<string>());
        Assert.Equal("06/30/2026", extract["periodEnd"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("GET", "/api/console/extracts/2026-13", "Invalid month", "'month' must be a month written yyyy-MM, such as 2026-11")]
    [InlineData("POST", "/api/console/extracts/11-2026", "Invalid month", "'month' must be a month written yyyy-MM, such as 2026-11")]
    [InlineData("GET", "/api/console/extracts/2026-06?format=csv", "Invalid format", "'format' must be xlsx or json")]
    [InlineData("POST", "/api/console/extracts/2999-01", "Month not begun", "'month' 2999-01 has not begun; nothing was generated")]
    public async Task Bad_months_and_formats_are_400_naming_the_parameter(string method, string path, string title, string detail)
    {
        using var response = await hub.Handler.SendAsync(As(new HttpMethod(method), path, StaffRoles.Operator));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(title, problem["title"]!.GetValue<string>());
        Assert.Equal(detail, problem["detail"]!.GetValue<string>());
    }
}
