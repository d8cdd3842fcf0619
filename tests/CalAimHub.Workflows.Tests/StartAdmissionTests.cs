using System.Net;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Issue 11: new starts are admitted a few at a time (<see cref="WorkflowAdmission"/>); due timers, raised events and the
/// child starts of committed work never wait for a permit, so a backlog of starts cannot hold them up. Orderings only:
/// a held permit keeps the backlog waiting for as long as the test needs, no clock is read.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class StartAdmissionTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static WorkflowDefinition Approval() =>
        WorkflowDefinition.From(new ApprovalWorkflow(TimeSpan.FromHours(1), TimeSpan.FromSeconds(1)));

    [Fact]
    public async Task A_due_timer_and_a_raised_event_commit_while_a_backlog_of_starts_waits_for_its_permits()
    {
        var time = new FakeTimeProvider(T0);
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { MaxConcurrentStarts = 1, StartQueueLimit = 100 }, time, Approval());
        await h.Runtime.StartAsync("approval", "adm-timer", null, CancellationToken.None);
        await h.Runtime.StartAsync("approval", "adm-event", null, CancellationToken.None);
        // adm-timer's cooling-off timer (1 s) is armed now; it falls due below, while the backlog waits.
        await h.Runtime.RaiseEventAsync("adm-timer", "approved", null, "approved-1", CancellationToken.None);

        var held = await h.Runtime.Admission.EnterStartAsync(CancellationToken.None);
        var backlog = Enumerable.Range(0, 20).Select(i => h.Runtime.StartAsync("approval", $"adm-backlog-{i}", null, CancellationToken.None)).ToArray();

        var raised = await h.Runtime.RaiseEventAsync("adm-event", "approved", null, "approved-2", CancellationToken.None);
        var afterEvent = await h.Runtime.GetStateAsync<ApprovalState>("adm-event", CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(2));
        var fired = await h.Runtime.RunTimersAsync(h, "adm-timer");

        Assert.Equal(ApplyOutcome.Applied, raised.Outcome);
        Assert.Equal("cooling-off", afterEvent!.Stage);
        Assert.Contains("timer 'cooling-off' on adm-timer: Applied", fired);
        Assert.Equal(WorkflowRuntimeStatus.Completed, (await h.Runtime.GetAsync("adm-timer", CancellationToken.None))!.Status);
        // The whole backlog is still waiting, and has written nothing (not even index rows).
        Assert.All(backlog, start => Assert.False(start.IsCompleted));
        Assert.Null(await h.Runtime.GetAsync("adm-backlog-0", CancellationToken.None));
        Assert.DoesNotContain((await h.Store.IndexPageAsync(null, null, 1000, CancellationToken.None)).Entries, e => e.InstanceId.StartsWith("adm-backlog-", StringComparison.Ordinal));

        held!.Dispose();
        var started = await Task.WhenAll(backlog);

        Assert.All(started, s => Assert.True(s.Created));
        Assert.Equal(20, started.Select(s => s.Instance.InstanceId).Distinct().Count());
    }

    [Fact]
    public async Task A_start_beyond_the_waiting_line_is_refused_with_its_retry_after_and_stores_nothing()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { MaxConcurrentStarts = 1, StartQueueLimit = 1, StartRetryAfter = TimeSpan.FromSeconds(3) }, null, Approval());
        var held = await h.Runtime.Admission.EnterStartAsync(CancellationToken.None);
        var waiting = h.Runtime.StartAsync("approval", "adm-waiting", null, CancellationToken.None);

        var e = await Assert.ThrowsAsync<WorkflowStartsSaturatedException>(() => h.Runtime.StartAsync("approval", "adm-refused", null, CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(3), e.RetryAfter);
        Assert.Equal("the hub is starting as many workflow instances as it can right now; try again after 3 s", e.Message);
        Assert.Null(await h.Runtime.GetAsync("adm-refused", CancellationToken.None));
        Assert.False(waiting.IsCompleted);
        held!.Dispose();
        Assert.True((await waiting).Created);
        // The refusal left nothing behind that would block the same start later.
        Assert.True((await h.Runtime.StartAsync("approval", "adm-refused", null, CancellationToken.None)).Created);
    }

    [Fact]
    public async Task The_child_start_of_a_committed_event_takes_no_permit_so_a_backlog_cannot_stall_its_dispatch()
    {
        var h = await RuntimeHarness.CreateAsync(azurite, new WorkflowOptions { MaxConcurrentStarts = 1, StartQueueLimit = 10 }, null, Approval(), WorkflowDefinition.From(new SpawningWorkflow()));
        await h.Runtime.StartAsync(SpawningWorkflow.TypeName, "adm-parent", null, CancellationToken.None);
        var held = await h.Runtime.Admission.EnterStartAsync(CancellationToken.None);
        var backlog = h.Runtime.StartAsync("approval", "adm-other", null, CancellationToken.None);

        var spawned = await h.Runtime.RaiseEventAsync("adm-parent", SpawningWorkflow.Spawn, null, "spawn-1", CancellationToken.None);

        Assert.Equal(ApplyOutcome.Applied, spawned.Outcome);
        Assert.Equal(WorkflowRuntimeStatus.Running, (await h.Runtime.GetAsync(SpawningWorkflow.ChildId, CancellationToken.None))!.Status);
        Assert.Empty(await h.Store.OutboxRowsAsync("adm-parent", CancellationToken.None));
        Assert.False(backlog.IsCompleted);
        held!.Dispose();
        Assert.True((await backlog).Created);
    }

    [Theory]
    [InlineData(-1, 2, 0, 2)]
    [InlineData(8, -1, 0, 2)]
    [InlineData(8, 2, -1, 2)]
    [InlineData(8, 2, 0, 0)]
    public void Admission_settings_out_of_range_are_refused_at_start_naming_the_settings(int maxStarts, int underDueWork, int queueLimit, int retryAfterSeconds)
    {
        var options = new WorkflowOptions
        {
            MaxConcurrentStarts = maxStarts, MaxConcurrentStartsUnderDueWork = underDueWork, StartQueueLimit = queueLimit, StartRetryAfter = TimeSpan.FromSeconds(retryAfterSeconds),
        };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkflowAdmission(options));

        Assert.StartsWith(
            $"Workflows:MaxConcurrentStarts ({maxStarts}), Workflows:MaxConcurrentStartsUnderDueWork ({underDueWork}) and Workflows:StartQueueLimit ({queueLimit}) must be 0 or more and Workflows:StartRetryAfter (00:00:0{retryAfterSeconds}) at least 1 s",
            e.Message);
    }

    [Fact]
    public async Task With_no_start_limit_a_start_takes_no_permit()
    {
        using var admission = new WorkflowAdmission(new WorkflowOptions { MaxConcurrentStarts = 0, MaxConcurrentStartsUnderDueWork = 0, StartQueueLimit = 0 });
        using var due = admission.EnterDueWork();

        Assert.Null(await admission.EnterStartAsync(CancellationToken.None));
        Assert.Null(await admission.EnterStartAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_http_start_route_answers_429_problem_json_with_retry_after_and_stores_nothing_when_starts_are_saturated()
    {
        await azurite.Storage.ProvisionAsync(StorageLayout.Load(Path.Combine(AppContext.BaseDirectory, StorageLayout.FileName)));
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("FUNCTIONS_APP_ROOT_PATH", AppContext.BaseDirectory);
            b.UseSetting("AzureWebJobsStorage", azurite.ConnectionString);
            b.UseSetting("Notifications:Subscribers:plan:Url", "http://127.0.0.1:9/notices");
            b.UseSetting("Workflows:MaxConcurrentStarts", "1");
            b.UseSetting("Workflows:StartQueueLimit", "0");
            b.ConfigureServices(s => s.AddWorkflowDecider(new ApprovalWorkflow(TimeSpan.FromDays(5), TimeSpan.FromSeconds(1))));
        });
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add(ClientPrincipal.Header, ClientPrincipal.Development("olga.operator", StaffRoles.All).Encode());
        var id = "adm-http-" + Guid.NewGuid().ToString("N")[..8];
        var runtime = factory.Services.GetRequiredService<WorkflowRuntime>();
        var held = await runtime.Admission.EnterStartAsync(CancellationToken.None);

        using var refused = await client.PostAsync(new Uri($"/api/workflows/approval?instanceId={id}", UriKind.Relative), new StringContent("""{"request":"r-1"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("2", Assert.Single(refused.Headers.GetValues("Retry-After")));
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal("Too many workflow starts", problem.GetProperty("title").GetString());
        Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", problem.GetProperty("type").GetString());
        Assert.Equal("the hub is starting as many workflow instances as it can right now; nothing was stored; start it again after 2 s", problem.GetProperty("detail").GetString());
        held!.Dispose();
        using var status = await client.GetAsync(new Uri($"/api/workflows/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);

        using var retried = await client.PostAsync(new Uri($"/api/workflows/approval?instanceId={id}", UriKind.Relative), new StringContent("""{"request":"r-1"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
    }

    /// <summary>
    /// Issue 11: a queue-triggered start refused by admission first failed its invocation (500), which spends one of the
    /// message's five deliveries; then it waited with its message leased, and the chaos run showed that every worker death
    /// during that wait spends one too (a referral's five deliveries, 15–64 s each, all killed). Now the invocation waits at
    /// most <see cref="WorkflowOptions.QueuedStartPatience"/>, hands the message back as a fresh copy (its own deliveries,
    /// visible after Retry-After) and completes. Both refusals: the waiting line full, and the patience run out in it.
    /// </summary>
    [Theory]
    [InlineData("0", "00:00:30")]
    [InlineData("10", "00:00:00.500")]
    public async Task A_queue_triggered_start_refused_by_admission_hands_its_message_back_as_a_fresh_copy_and_stores_nothing(string startQueueLimit, string patience)
    {
        await using var factory = await HubAsync(startQueueLimit, patience);
        using var client = factory.CreateClient();
        var (referralId, message) = ReferralCreated();
        var runtime = factory.Services.GetRequiredService<WorkflowRuntime>();
        var queue = factory.Services.GetRequiredService<StorageAccount>().Queues.GetQueueClient("referral-events");
        await queue.ClearMessagesAsync();
        var held = await runtime.Admission.EnterStartAsync(CancellationToken.None);

        using var answer = await ReferralEventsInvocation.DeliverAsync(client, message, "m-1", 4);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var logs = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("Logs");
        Assert.Equal("Workflow starts are saturated: message m-1 handed back as a fresh copy, visible again in 1 s.", Assert.Single(logs.EnumerateArray()).GetString());
        Assert.Null(await runtime.GetAsync(referralId, CancellationToken.None));
        Assert.Empty((await queue.PeekMessagesAsync(32)).Value);
        Azure.Storage.Queues.Models.QueueMessage[] copies = [];
        for (var i = 0; i < 50 && copies.Length == 0; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
            copies = (await queue.ReceiveMessagesAsync(32)).Value;
        }

        var copy = Assert.Single(copies);
        // The copy keeps when its first copy was queued (the delivery's InsertionTime), so admission keeps its place.
        Assert.Equal("handed-back first-queued=2026-03-02T09:00:00.0000000Z\n" + message, copy.MessageText);
        Assert.Equal((message, (DateTimeOffset?)ReferralEventsInvocation.InsertedOn), HandedBackMessage.Read(copy.MessageText));
        Assert.Equal(1, copy.DequeueCount); // a fresh message: this receive is its first delivery, not the fifth

        held!.Dispose();
        using var started = await ReferralEventsInvocation.DeliverAsync(client, copy.MessageText, copy.MessageId, (int)copy.DequeueCount, copy.PopReceipt);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        Assert.Equal($"Referral {referralId} started.", Assert.Single(JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("Logs").EnumerateArray()).GetString());
        Assert.Equal("referral", (await runtime.GetAsync(referralId, CancellationToken.None))?.Type);
    }

    [Fact]
    public async Task A_queued_start_first_queued_earlier_is_let_in_ahead_of_one_that_joined_the_line_before_it()
    {
        await using var factory = await HubAsync("10", "00:00:30");
        using var client = factory.CreateClient();
        var (laterId, later) = ReferralCreated();
        var (earlierId, earlier) = ReferralCreated();
        var runtime = factory.Services.GetRequiredService<WorkflowRuntime>();
        var held = await runtime.Admission.EnterStartAsync(CancellationToken.None);
        var laterDelivery = ReferralEventsInvocation.DeliverAsync(client, later, "m-later", 1, insertedOn: DateTimeOffset.UtcNow); // joins the line first
        while (runtime.Admission.Waiting < 1)
        {
            await Task.Delay(10);
        }

        // A copy handed back earlier: first queued on 2 March (ReferralEventsInvocation.InsertedOn), so it goes first.
        var earlierDelivery = ReferralEventsInvocation.DeliverAsync(client, HandedBackMessage.Wrap(earlier, ReferralEventsInvocation.InsertedOn), "m-earlier", 1, insertedOn: DateTimeOffset.UtcNow);
        while (runtime.Admission.Waiting < 2)
        {
            await Task.Delay(10);
        }

        held!.Dispose();
        using var earlierAnswer = await earlierDelivery;
        using var laterAnswer = await laterDelivery;

        Assert.Equal(HttpStatusCode.OK, earlierAnswer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, laterAnswer.StatusCode);
        var first = (await runtime.GetAsync(earlierId, CancellationToken.None))!.CreatedTime;
        var second = (await runtime.GetAsync(laterId, CancellationToken.None))!.CreatedTime;
        Assert.True(first < second, $"the earlier-queued referral started {first:O}, the one that joined the line first {second:O}");
    }

    [Fact]
    public async Task The_line_lets_in_the_start_whose_work_arrived_first_not_the_one_that_joined_first()
    {
        using var admission = new WorkflowAdmission(new WorkflowOptions { MaxConcurrentStarts = 1, StartQueueLimit = 10 });
        var held = await admission.EnterStartAsync(CancellationToken.None);
        var newer = admission.EnterStartAsync(CancellationToken.None).AsTask(); // an HTTP start: arrived now
        ValueTask<IDisposable?> older;
        using (admission.ForQueuedWork(DateTimeOffset.UtcNow.AddMinutes(-5))) // a handed-back copy, first queued 5 minutes ago
        {
            older = admission.EnterStartAsync(CancellationToken.None);
        }

        Assert.Equal(2, admission.Waiting);
        held!.Dispose();
        var first = await older;

        Assert.False(newer.IsCompleted);
        Assert.Equal(1, admission.Waiting);
        first!.Dispose();
        (await newer)!.Dispose();
        Assert.Equal(0, admission.Waiting);
    }

    [Fact]
    public async Task Due_work_lowers_the_limit_to_its_floor_and_its_end_lets_the_waiting_starts_in()
    {
        using var admission = new WorkflowAdmission(new WorkflowOptions { MaxConcurrentStarts = 3, MaxConcurrentStartsUnderDueWork = 1, StartQueueLimit = 10 });
        var due = admission.EnterDueWork();
        var running = await admission.EnterStartAsync(CancellationToken.None);
        var second = admission.EnterStartAsync(CancellationToken.None).AsTask();
        var third = admission.EnterStartAsync(CancellationToken.None).AsTask();

        Assert.Equal(2, admission.Waiting);
        due.Dispose();
        await Task.WhenAll(second, third);

        Assert.Equal(0, admission.Waiting);
        var fourth = admission.EnterStartAsync(CancellationToken.None).AsTask();
        Assert.False(fourth.IsCompleted); // three in progress: the full limit
        running!.Dispose();
        (await fourth)!.Dispose();
        (await second)!.Dispose();
        (await third)!.Dispose();
    }

    [Fact]
    public async Task A_queued_start_whose_patience_runs_out_leaves_the_line_and_the_next_is_let_in()
    {
        using var admission = new WorkflowAdmission(new WorkflowOptions { MaxConcurrentStarts = 1, StartQueueLimit = 10, QueuedStartPatience = TimeSpan.FromMilliseconds(50) });
        var held = await admission.EnterStartAsync(CancellationToken.None);
        Task<IDisposable?> impatient;
        using (admission.ForQueuedWork(DateTimeOffset.UtcNow.AddMinutes(-1)))
        {
            impatient = admission.EnterStartAsync(CancellationToken.None).AsTask();
        }

        var patient = admission.EnterStartAsync(CancellationToken.None).AsTask();

        var e = await Assert.ThrowsAsync<WorkflowStartsSaturatedException>(() => impatient);
        Assert.Equal("the hub is starting as many workflow instances as it can right now; try again after 2 s", e.Message);
        Assert.Equal(1, admission.Waiting);
        held!.Dispose();
        (await patient)!.Dispose();
        Assert.Equal(0, admission.Waiting);
    }

    [Theory]
    [InlineData("{\"a\":1}")]
    [InlineData("handed-back first-queued=yesterday\n{\"a\":1}")]
    [InlineData("handed-back first-queued=2026-03-02T09:00:00.0000000Z")]
    public void A_text_without_a_well_formed_hand_back_header_is_read_as_the_body_itself(string text)
    {
        Assert.Equal((text, (DateTimeOffset?)null), HandedBackMessage.Read(text));
    }

    [Fact]
    public void A_handed_back_copy_reads_back_as_its_body_and_first_queued_time_even_if_the_body_has_line_breaks()
    {
        var firstQueued = new DateTimeOffset(2026, 3, 2, 1, 0, 0, TimeSpan.FromHours(-8));
        var wrapped = HandedBackMessage.Wrap("line 1\nline 2", firstQueued);

        Assert.Equal("handed-back first-queued=2026-03-02T09:00:00.0000000Z\nline 1\nline 2", wrapped);
        Assert.Equal(("line 1\nline 2", (DateTimeOffset?)firstQueued), HandedBackMessage.Read(wrapped));
    }

    [Fact]
    public void A_queued_start_patience_of_zero_is_refused_at_startup()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkflowAdmission(new WorkflowOptions { QueuedStartPatience = TimeSpan.Zero }));
        Assert.StartsWith("Workflows:QueuedStartPatience (00:00:00) must be more than 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_start_refused_inside_a_domain_route_is_429_problem_json_with_retry_after_not_a_500()
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        http.Response.Body = new MemoryStream();

        var handled = await new CalAimHub.Functions.Workflows.WorkflowStartsSaturatedHandler().TryHandleAsync(http, new WorkflowStartsSaturatedException(TimeSpan.FromSeconds(2)), CancellationToken.None);

        Assert.True(handled);
        Assert.Equal(429, http.Response.StatusCode);
        Assert.Equal("2", http.Response.Headers.RetryAfter.ToString());
        http.Response.Body.Position = 0;
        var problem = JsonDocument.Parse(http.Response.Body).RootElement;
        Assert.Equal("Too many workflow starts", problem.GetProperty("title").GetString());
        Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", problem.GetProperty("type").GetString());
        Assert.Equal("the hub is starting as many workflow instances as it can right now; try again after 2 s", problem.GetProperty("detail").GetString());
        Assert.False(await new CalAimHub.Functions.Workflows.WorkflowStartsSaturatedHandler().TryHandleAsync(http, new InvalidOperationException("other"), CancellationToken.None));
    }

    private async Task<WebApplicationFactory<Program>> HubAsync(string startQueueLimit, string queuedStartPatience)
    {
        await azurite.Storage.ProvisionAsync(StorageLayout.Load(Path.Combine(AppContext.BaseDirectory, StorageLayout.FileName)));
        return new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("FUNCTIONS_APP_ROOT_PATH", AppContext.BaseDirectory);
            b.UseSetting("AzureWebJobsStorage", azurite.ConnectionString);
            b.UseSetting("Workflows:MaxConcurrentStarts", "1");
            b.UseSetting("Workflows:StartQueueLimit", startQueueLimit);
            b.UseSetting("Workflows:QueuedStartPatience", queuedStartPatience);
            b.UseSetting("Workflows:StartRetryAfter", "00:00:01");
            b.UseSetting("Referrals:AuthorizationServices", "");
        });
    }

    /// <summary>A new referral as the <c>referral-events</c> queue carries it, and its hub id.</summary>
    private static (string ReferralId, string Message) ReferralCreated()
    {
        var platformId = "sr-" + Guid.NewGuid().ToString("N")[..8];
        var referralId = CalAimHub.Domain.Referrals.ReferralEvent.HubReferralId("ehrwest", platformId);
        var created = new CalAimHub.Domain.Referrals.ReferralEvent(
            "evt-" + platformId, "ehrwest", referralId, platformId, CalAimHub.Domain.Referrals.ReferralEventKind.Created, CalAimHub.Domain.Referrals.ReferralStatus.Pending,
            "requested", null, new CalAimHub.Domain.Referrals.ReferralService("medically-tailored-meals", []), null, new CalAimHub.Domain.Referrals.ReferringEntity("Valley Clinic", null),
            null, CalAimHub.Domain.Referrals.ReferralUrgency.Routine, T0, T0);
        return (referralId, JsonSerializer.Serialize(created, CalAimHub.Domain.Referrals.ReferralJson.Options));
    }

    /// <summary>start → waits; "spawn" → starts child instance <see cref="ChildId"/> (an approval).</summary>
    private sealed class SpawningWorkflow : IWorkflowDecider<string>
    {
        public const string TypeName = "spawning";
        public const string Spawn = "spawn";
        public const string ChildId = "adm-child";
        public string Type => TypeName;
        public int Version => 1;
        public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { Spawn };
        public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(_ => null);
        public string InitialState => "new";

        public IReadOnlyList<WorkflowAction> Decide(string state, WorkflowEvent @event, DateTimeOffset now) => (state, @event.Name) switch
        {
            ("waiting", Spawn) => [new StartChildWorkflow(ChildId, "approval", null)],
            _ => [],
        };

        public string Evolve(string state, WorkflowEvent @event) => (state, @event.Name) switch
        {
            ("new", WorkflowEvent.Started) => "waiting",
            ("waiting", Spawn) => "spawned",
            _ => state,
        };
    }
}

internal static class AdmissionTestRuns
{
    /// <summary>Plays WorkflowTimers until <paramref name="instanceId"/> has finished (a safety timeout only, nothing is timed).</summary>
    public static Task<List<string>> RunTimersAsync(this WorkflowRuntime runtime, RuntimeHarness h, string instanceId) =>
        h.RunTimersAsync(async () => (await runtime.GetAsync(instanceId, CancellationToken.None))?.IsTerminal == true, TimeSpan.FromSeconds(60));
}
