using System.Net;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Workflows;
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
        Assert.Equal("Body is not JSON", problem.GetProperty("title").GetString());
        Assert.Equal("send a JSON value (object, array, string, number) or no body at all", problem.GetProperty("detail").GetString());
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
    public async Task Purge_deletes_the_instance_then_it_is_404()
    {
        using var started = await client.PostAsync(new Uri("/api/workflows/approval?instanceId=api-purge-1", UriKind.Relative), null);

        using var purge = await client.DeleteAsync(new Uri("/api/workflows/api-purge-1", UriKind.Relative));
        using var status = await client.GetAsync(new Uri("/api/workflows/api-purge-1", UriKind.Relative));
        using var again = await client.DeleteAsync(new Uri("/api/workflows/api-purge-1", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        Assert.Equal(1, (await ReadAsync(purge)).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
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
