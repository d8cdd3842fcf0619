using System.Net;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CalAimHub.Workflows.Tests;

/// <summary>The management API of the real handler app (in-process server) on a real Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkflowsApiTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private WebApplicationFactory<Program> factory = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        await azurite.Storage.ProvisionAsync(StorageLayout.Load(Path.Combine(AppContext.BaseDirectory, StorageLayout.FileName)));
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("FUNCTIONS_APP_ROOT_PATH", AppContext.BaseDirectory);
            b.UseSetting("AzureWebJobsStorage", azurite.ConnectionString);
            b.UseSetting("Notifications:Subscribers:plan:Url", "http://127.0.0.1:9/notices");
            b.ConfigureServices(s =>
            {
                s.AddWorkflowDecider(new ApprovalWorkflow(TimeSpan.FromDays(5), TimeSpan.FromSeconds(1)));
                s.AddWorkflowDecider(new ListingWorkflow());
            });
        });
        client = factory.CreateClient();
        // Signed in as App Service authentication would sign in an operator (the handler refuses requests without a principal).
        client.DefaultRequestHeaders.Add(ClientPrincipal.Header, ClientPrincipal.Development("olga.operator", StaffRoles.All).Encode());
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await factory.DisposeAsync();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonElement> ReadAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Start_answers_202_with_the_durable_functions_check_status_payload()
    {
        using var response = await client.PostAsync(new Uri("/api/workflows/approval", UriKind.Relative), Json("""{"request":"r-1"}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await ReadAsync(response);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal($"http://localhost/api/workflows/{id}", body.GetProperty("statusQueryGetUri").GetString());
        Assert.Equal($"http://localhost/api/workflows/{id}/events/{{eventName}}", body.GetProperty("sendEventPostUri").GetString());
        Assert.Equal($"http://localhost/api/workflows/{id}/terminate?reason={{text}}", body.GetProperty("terminatePostUri").GetString());
        Assert.Equal(response.Headers.Location!.ToString(), body.GetProperty("statusQueryGetUri").GetString());
    }

    [Fact]
    public async Task Status_shows_runtime_status_custom_status_input_times_and_history_on_request()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-status-1", UriKind.Relative), Json("""{"request":"r-2"}"""));
        using var raised = await client.PostAsync(new Uri("/api/workflows/api-status-1/events/approved", UriKind.Relative), Json("{}"));
        Assert.Equal(HttpStatusCode.Accepted, raised.StatusCode);

        using var response = await client.GetAsync(new Uri("/api/workflows/api-status-1?showHistory=true", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var status = await ReadAsync(response);
        Assert.Equal("approval", status.GetProperty("name").GetString());
        Assert.Equal("api-status-1", status.GetProperty("instanceId").GetString());
        Assert.Equal("Running", status.GetProperty("runtimeStatus").GetString());
        Assert.Equal("""{"request":"r-2"}""", status.GetProperty("input").GetRawText());
        Assert.Equal("""{"stage":"cooling-off"}""", status.GetProperty("customStatus").GetRawText());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("output").ValueKind);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", status.GetProperty("createdTime").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", status.GetProperty("lastUpdatedTime").GetString());
        Assert.Equal(["started", "approved"], status.GetProperty("historyEvents").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        // Who raised each event is part of the audit record.
        Assert.Equal(["olga.operator", "olga.operator"], status.GetProperty("historyEvents").EnumerateArray().Select(e => e.GetProperty("by").GetProperty("name").GetString()));
        Assert.Equal("local-olga.operator", status.GetProperty("historyEvents")[1].GetProperty("by").GetProperty("objectId").GetString());

        using var withoutHistory = await client.GetAsync(new Uri("/api/workflows/api-status-1", UriKind.Relative));
        Assert.False((await ReadAsync(withoutHistory)).TryGetProperty("historyEvents", out var h) && h.ValueKind != JsonValueKind.Null);
    }

    [Fact]
    public async Task Starting_with_an_existing_instance_id_is_idempotent()
    {
        using var first = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-idem-1", UriKind.Relative), Json("""{"n":1}"""));
        using var second = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-idem-1", UriKind.Relative), Json("""{"n":2}"""));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("api-idem-1", (await ReadAsync(second)).GetProperty("id").GetString());
        using var status = await client.GetAsync(new Uri("/api/workflows/api-idem-1", UriKind.Relative));
        Assert.Equal("""{"n":1}""", (await ReadAsync(status)).GetProperty("input").GetRawText());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_a_400_problem_and_changes_nothing()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-bad-1", UriKind.Relative), null);

        using var response = await client.PostAsync(new Uri("/api/workflows/api-bad-1/events/approved", UriKind.Relative), Json("{not json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await ReadAsync(response);
        // Refused at the edge by the app's one strict JSON reader, before the workflows API sees it.
        Assert.Equal("Invalid JSON body", problem.GetProperty("title").GetString());
        Assert.Equal("'$' is not valid JSON (line 1, byte 2)", problem.GetProperty("detail").GetString());
        var runtime = factory.Services.GetRequiredService<WorkflowRuntime>();
        Assert.Single(await runtime.Store.HistoryAsync("api-bad-1", CancellationToken.None));
    }

    [Theory]
    [InlineData("/api/workflows/nosuchtype", "Unknown workflow type", 404)]
    [InlineData("/api/workflows/approval?instanceId=has%2Fslash", "Invalid instance id", 400)]
    [InlineData("/api/workflows/api-missing-1/events/approved", "No such instance", 404)]
    [InlineData("/api/workflows/api-missing-1/events/$terminate", "Reserved event name", 400)]
    [InlineData("/api/workflows/api-missing-1/terminate", "No such instance", 404)]
    public async Task Bad_requests_are_problem_json_with_a_title_that_names_the_problem(string url, string title, int status)
    {
        using var response = await client.PostAsync(new Uri(url, UriKind.Relative), Json("{}"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(title, (await ReadAsync(response)).GetProperty("title").GetString());
    }

    [Fact]
    public async Task Terminate_finishes_the_instance_and_later_events_get_410()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-term-1", UriKind.Relative), null);

        using var terminate = await client.PostAsync(new Uri("/api/workflows/api-term-1/terminate?reason=withdrawn", UriKind.Relative), null);
        using var status = await client.GetAsync(new Uri("/api/workflows/api-term-1", UriKind.Relative));
        using var late = await client.PostAsync(new Uri("/api/workflows/api-term-1/events/approved", UriKind.Relative), Json("{}"));

        Assert.Equal(HttpStatusCode.Accepted, terminate.StatusCode);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var body = await ReadAsync(status);
        Assert.Equal("Terminated", body.GetProperty("runtimeStatus").GetString());
        Assert.Equal("withdrawn", body.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Gone, late.StatusCode);
        Assert.Equal("instance 'api-term-1' is Terminated and takes no more events", (await ReadAsync(late)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Suspend_holds_events_and_resume_applies_them()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-susp-1", UriKind.Relative), null);
        using var suspend = await client.PostAsync(new Uri("/api/workflows/api-susp-1/suspend", UriKind.Relative), null);

        using var held = await client.PostAsync(new Uri("/api/workflows/api-susp-1/events/approved", UriKind.Relative), Json("{}"));
        Assert.Equal("Held", (await ReadAsync(held)).GetProperty("outcome").GetString());
        using var suspended = await client.GetAsync(new Uri("/api/workflows/api-susp-1", UriKind.Relative));
        Assert.Equal("Suspended", (await ReadAsync(suspended)).GetProperty("runtimeStatus").GetString());

        using var resume = await client.PostAsync(new Uri("/api/workflows/api-susp-1/resume", UriKind.Relative), null);
        using var resumed = await client.GetAsync(new Uri("/api/workflows/api-susp-1", UriKind.Relative));
        var body = await ReadAsync(resumed);
        Assert.Equal("Running", body.GetProperty("runtimeStatus").GetString());
        Assert.Equal("""{"stage":"cooling-off"}""", body.GetProperty("customStatus").GetRawText());
    }

    [Fact]
    public async Task Purge_deletes_a_finished_instance_then_it_is_404()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-purge-1", UriKind.Relative), null);
        using var terminated = await client.PostAsync(new Uri("/api/workflows/api-purge-1/terminate", UriKind.Relative), null);

        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        using var purge = await client.DeleteAsync(new Uri("/api/workflows/api-purge-1", UriKind.Relative));
        using var status = await client.GetAsync(new Uri("/api/workflows/api-purge-1", UriKind.Relative));
        using var again = await client.DeleteAsync(new Uri("/api/workflows/api-purge-1", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        Assert.Equal(1, (await ReadAsync(purge)).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Theory]
    [InlineData(false, "Running")]
    [InlineData(true, "Suspended")]
    public async Task Purging_a_live_instance_is_409_terminate_first_and_keeps_it(bool suspend, string status)
    {
        var id = "api-purge-live-" + status;
        using var started = await client.PostAsync(new Uri($"/api/workflows/approval?instanceId={id}", UriKind.Relative), null);
        if (suspend)
        {
            using var suspended = await client.PostAsync(new Uri($"/api/workflows/{id}/suspend", UriKind.Relative), null);
        }

        using var purge = await client.DeleteAsync(new Uri($"/api/workflows/{id}", UriKind.Relative));

        await AssertProblemAsync(purge, HttpStatusCode.Conflict, "Instance not finished", $"instance '{id}' is {status}; terminate it first (POST /api/workflows/{id}/terminate), then purge");
        using var after = await client.GetAsync(new Uri($"/api/workflows/{id}?showHistory=true", UriKind.Relative));
        var body = await ReadAsync(after);
        Assert.Equal(status, body.GetProperty("runtimeStatus").GetString());
        Assert.True(body.GetProperty("timers").TryGetProperty(ApprovalWorkflow.ReviewDeadline, out _));
    }

    [Theory]
    [InlineData("referral", "ciela:R-precreated-1", "POST /api/webhooks/{platform}")]
    [InlineData("authorization", "auth-precreated-1", "POST /api/authorizations")]
    public async Task A_type_with_a_domain_api_cannot_be_started_through_the_generic_route(string type, string instanceId, string route)
    {
        using var response = await client.PostAsync(new Uri($"/api/workflows/{type}?instanceId={instanceId}", UriKind.Relative), Json("""{"anything":1}"""));

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, "Started by its domain API only",
            $"workflow type '{type}' is started only by {route}, which checks what this generic route cannot; nothing was stored");
        using var status = await client.GetAsync(new Uri($"/api/workflows/{instanceId}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        using var listed = await client.GetAsync(new Uri($"/api/workflows?type={type}", UriKind.Relative));
        Assert.DoesNotContain(instanceId, await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"delaySeconds":"soon"}""", "delaySeconds", "must be a whole number of seconds from 0 to 3600")]
    [InlineData("""{"delaySeconds":86400}""", "delaySeconds", "must be a whole number of seconds from 0 to 3600")]
    [InlineData("""{"delay":5}""", "delay", "is not a workflow-probe input; the only property is delaySeconds")]
    [InlineData("[5]", "$", "the input must be a JSON object such as {\"delaySeconds\": 5}, or no body at all")]
    public async Task A_generic_start_reads_the_input_with_the_types_reader_and_stores_nothing_on_bad_input(string input, string field, string detail)
    {
        var id = "api-probe-bad-" + Guid.NewGuid().ToString("N")[..8];

        using var response = await client.PostAsync(new Uri($"/api/workflows/workflow-probe?instanceId={id}", UriKind.Relative), Json(input));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Invalid workflow input", $"{field}: {detail}; nothing was stored");
        Assert.Equal(field, problem.GetProperty("field").GetString());
        using var status = await client.GetAsync(new Uri($"/api/workflows/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        using var good = await client.PostAsync(new Uri($"/api/workflows/workflow-probe?instanceId={id}", UriKind.Relative), Json("""{"delaySeconds":600}"""));
        Assert.Equal(HttpStatusCode.Accepted, good.StatusCode);
    }

    [Fact]
    public async Task An_event_name_the_type_does_not_declare_is_400_listing_the_declared_names_and_records_nothing()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-unknown-event-1", UriKind.Relative), null);

        using var response = await client.PostAsync(new Uri("/api/workflows/api-unknown-event-1/events/approve", UriKind.Relative), Json("{}"));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Unknown event name",
            "workflow type 'approval' takes no event 'approve'; its events: approved, note; nothing was recorded");
        var runtime = factory.Services.GetRequiredService<WorkflowRuntime>();
        Assert.Equal([WorkflowEvent.Started], (await runtime.Store.HistoryAsync("api-unknown-event-1", CancellationToken.None)).Select(h => h.Name));
    }

    [Fact]
    public async Task An_unknown_event_name_is_refused_on_a_suspended_instance_too_instead_of_being_held()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-unknown-event-2", UriKind.Relative), null);
        using var suspended = await client.PostAsync(new Uri("/api/workflows/api-unknown-event-2/suspend", UriKind.Relative), null);

        using var response = await client.PostAsync(new Uri("/api/workflows/api-unknown-event-2/events/aproved", UriKind.Relative), Json("{}"));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Unknown event name",
            "workflow type 'approval' takes no event 'aproved'; its events: approved, note; nothing was recorded");
        var instance = await factory.Services.GetRequiredService<WorkflowRuntime>().GetAsync("api-unknown-event-2", CancellationToken.None);
        Assert.Empty(instance!.Held);
    }

    [Theory]
    [InlineData("GET", "/api/workflows/api-nl-1%0A")]
    [InlineData("POST", "/api/workflows/approval?instanceId=api-nl-1%0A")]
    [InlineData("POST", "/api/workflows/api-nl-1%0A/events/approved")]
    [InlineData("POST", "/api/workflows/api-nl-1%0A/terminate")]
    [InlineData("POST", "/api/workflows/api-nl-1%0A/suspend")]
    [InlineData("POST", "/api/workflows/api-nl-1%0A/resume")]
    [InlineData("DELETE", "/api/workflows/api-nl-1%0A")]
    public async Task An_instance_id_with_a_trailing_newline_is_400_not_a_storage_error(string method, string url)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(url, UriKind.Relative)) { Content = method == "POST" ? Json("{}") : null };

        using var response = await client.SendAsync(request);

        // The app's input edge refuses the control character before the route; the route's own check (`\z`, not `$`)
        // refuses it too, for any caller of the runtime that is not HTTP.
        var parameter = url.Contains("?instanceId", StringComparison.Ordinal) ? "query parameter 'instanceId'" : "the path segment 'instanceId'";
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Invalid request parameter", $"{parameter} contains a control character (such as a line break or NUL); remove it from the URL");
        Assert.False(WorkflowsApi.IsValidInstanceId("api-nl-1\n"));
        Assert.True(WorkflowsApi.IsValidInstanceId("api-nl-1"));
    }

    [Fact]
    public async Task A_continuation_token_the_hub_did_not_issue_is_400_never_an_empty_page()
    {
        for (var i = 0; i < 3; i++)
        {
            using var s = await client.PostAsync(new Uri($"/api/workflows/listing?instanceId=token-{i}", UriKind.Relative), Json("""{"deadlineDays":1}"""));
        }

        using var first = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/workflows?type=listing&top=1", UriKind.Relative));
        using var page = await client.SendAsync(first);
        var issued = page.Headers.GetValues(WorkflowsApi.ContinuationHeader).Single();
        var parts = issued.Split('.');
        string[] foreign =
        [
            "1!token-1",                                      // a raw table continuation, or anything made up
            "c1.bm90LWEtdG9rZW4.AAAAAAAAAAAAAAAAAAAAAA",      // the right shape with a made-up signature
            $"{parts[0]}.{parts[1]}x.{parts[2]}",             // an issued token, edited
        ];

        foreach (var token in foreign)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/workflows?type=listing&top=1", UriKind.Relative));
            request.Headers.Add(WorkflowsApi.ContinuationHeader, token);
            using var response = await client.SendAsync(request);
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Invalid continuation token",
                "pass back the x-ms-continuation-token of the previous page of the same listing unchanged");
        }

        // A token of one listing does not continue another (another type's partition would answer a wrong page).
        using var other = await client.GetAsync(new Uri($"/api/workflows?type=approval&continuationToken={Uri.EscapeDataString(issued)}", UriKind.Relative));
        await AssertProblemAsync(other, HttpStatusCode.BadRequest, "Invalid continuation token",
            "pass back the x-ms-continuation-token of the previous page of the same listing unchanged");
        using var same = await client.GetAsync(new Uri($"/api/workflows?type=listing&top=1&continuationToken={Uri.EscapeDataString(issued)}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Single((await ReadAsync(same)).EnumerateArray());
    }

    private async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string title, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await ReadAsync(response);
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        return problem;
    }

    [Fact]
    public async Task List_filters_by_type_status_and_deadline_and_pages_with_continuation_tokens()
    {
        for (var i = 0; i < 5; i++)
        {
            using var s = await client.PostAsync(new Uri($"/api/workflows/listing?instanceId=list-{i}", UriKind.Relative), Json($$"""{"deadlineDays":{{i}}}"""));
        }

        using var t = await client.PostAsync(new Uri("/api/workflows/list-4/terminate", UriKind.Relative), null);

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/workflows?type=listing&top=2", UriKind.Relative));
            if (token is not null)
            {
                request.Headers.Add(WorkflowsApi.ContinuationHeader, token);
            }

            using var page = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            seen.AddRange((await ReadAsync(page)).EnumerateArray().Select(e => e.GetProperty("instanceId").GetString()!));
            token = page.Headers.TryGetValues(WorkflowsApi.ContinuationHeader, out var v) ? v.Single() : null;
            pages++;
        }
        while (token is not null);

        Assert.Equal(["list-0", "list-1", "list-2", "list-3", "list-4"], seen.Order(StringComparer.Ordinal));
        Assert.True(pages >= 3);

        using var terminated = await client.GetAsync(new Uri("/api/workflows?type=listing&runtimeStatus=Terminated", UriKind.Relative));
        Assert.Equal(["list-4"], (await ReadAsync(terminated)).EnumerateArray().Select(e => e.GetProperty("instanceId").GetString()));

        var before = DateTimeOffset.UtcNow.AddDays(2).AddHours(1).ToString("O");
        using var due = await client.GetAsync(new Uri($"/api/workflows?type=listing&runtimeStatus=Running&deadlineBefore={Uri.EscapeDataString(before)}", UriKind.Relative));
        Assert.Equal(["list-0", "list-1", "list-2"], (await ReadAsync(due)).EnumerateArray().Select(e => e.GetProperty("instanceId").GetString()!).Order(StringComparer.Ordinal));

        using var bad = await client.GetAsync(new Uri("/api/workflows?runtimeStatus=Sleeping", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("runtimeStatus 'Sleeping' is not one of Pending, Running, Completed, Failed, Terminated, Suspended", (await ReadAsync(bad)).GetProperty("detail").GetString());
    }

    /// <summary>Sets a deadline from its input, so listings have something to filter on.</summary>
    private sealed class ListingWorkflow : IWorkflowDecider<ListingState>
    {
        public string Type => "listing";
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal);
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public ListingState InitialState => new(0);

        public IReadOnlyList<WorkflowAction> Decide(ListingState state, WorkflowEvent @event, DateTimeOffset now) =>
            @event.Name == WorkflowEvent.Started && @event.DataAs<ListingState>() is { } input ? [new SetNextDeadline(now.AddDays(input.DeadlineDays))] : [];

        public ListingState Evolve(ListingState state, WorkflowEvent @event) => @event.DataAs<ListingState>() ?? state;
    }

    private sealed record ListingState(int DeadlineDays);
}
