using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Workflows;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// Issue 4: kill the handler process between commit and dispatch, restart, and see every notification delivered
/// exactly once to an idempotent receiver. Two local hubs in turn on one on-disk Azurite folder: the first with the
/// fault point <c>Workflows:FaultInjection:ExitAfterCommit</c> = 1, the second without it, driven by the sweeper.
/// Real clock: no deadline of the presumptive authorization falls inside the test, so the expected notices are exactly
/// those of the one commit.
/// </summary>
public sealed class HandlerCrashEndToEndTests
{
    private const string Cin = "90000011A";
    private static readonly string[] Subscribers = ["authorizations", "audit"];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_handler_killed_between_commit_and_dispatch_delivers_every_notice_exactly_once_after_restart()
    {
        var data = Path.Combine(Path.GetTempPath(), "calaimhub-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        await using var receiver = await IdempotentReceiver.StartAsync(Subscribers);
        try
        {
            // 1. The fault on: the start of a presumptive authorization commits (state, history, dedupe, outbox) and
            //    the handler dies before the outbox goes anywhere.
            string id;
            await using (var first = await StartHubAsync(data, receiver, exitAfterCommit: 1))
            {
                using var api = new HttpClient { BaseAddress = first.ApiBaseAddress };
                var response = await api.PostAsJsonAsync("/api/authorizations", new
                {
                    memberCin = Cin,
                    service = new { program = "ecm", populationsOfFocus = new[] { "justice-involved" } },
                    requestingProviderNpi = "1245319599",
                    referringEntity = "county-jail-health",
                    urgency = "expedited",
                    supportingFacts = new[] { "transitioning-from-incarceration" },
                    consentReference = "ascmi-2026-0011",
                });
                // The front door answers for a handler that died mid-request.
                Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
                // Environment.FailFast aborts the process (SIGABRT): no graceful shutdown, no dispatch.
                Assert.Equal(134, await first.HandlerExited.WaitAsync(Patience));
                Assert.Contains(first.HandlerOutput, l => l.Contains("Workflows:FaultInjection:ExitAfterCommit: killed after commit 1", StringComparison.Ordinal));

                var store = Store(first);
                id = Assert.Single(await StateRowsAsync(first));
                var outbox = Assert.Single(await store.OutboxRowsAsync(id, CancellationToken.None));
                // The partner notices, and the read-model updates (the authorization listing row, the console's deadline
                // row for the notice clock of this presumptive authorization, and the monitoring extract's rows: one per
                // month partition its receipt and period touch), which ride the same outbox.
                Assert.Equal(Expected(id).ToHashSet(), outbox.Work.OfType<DeliverNotice>().Select(n => n.DeliveryId).ToHashSet());
                var updates = Assert.Single(outbox.Work.OfType<ProjectReadModels>()).Updates;
                Assert.Equal([("AuthorizationListing", id), ("ConsoleDeadlines", id + "|notices")], updates.Take(2).Select(u => (u.Table, u.Item)));
                Assert.All(updates.Skip(2), u => Assert.Equal(("MonitoringAuthorizations", id), (u.Table, u.Item)));
                Assert.NotEmpty(updates.Skip(2));
                Assert.Equal([WorkflowEvent.Started], (await store.HistoryAsync(id, CancellationToken.None)).Select(h => h.Name));
                Assert.Equal(0, receiver.RawDeliveries);
            }

            // 2. Restart on the same data, fault off. Nothing re-sends on its own (the request is gone, the sweeper's
            //    schedule is switched off): the sweep run below is what delivers.
            await using var second = await StartHubAsync(data, receiver, exitAfterCommit: null);
            var store2 = Store(second);
            Assert.Single(await store2.OutboxRowsAsync(id, CancellationToken.None));

            Assert.Equal("outbox rows re-dispatched: 1, index rows reconciled: 0, instances purged: 0, dispatch failures: 0, parked timers queued: 0", await SweepAsync(second));

            var expected = Expected(id);
            await receiver.WaitForAsync(expected.Count, Patience, () => Tail(second));
            // A late duplicate (a redelivered queue message) would show up in the raw count; give it a moment to arrive.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var received = receiver.Received.Values.ToArray();
            var report = $"raw deliveries {receiver.RawDeliveries}, duplicates {receiver.Duplicates}, signature failures {receiver.SignatureFailures}; received {string.Join(", ", received.Select(e => $"{e.Id} {e.Type}"))}";
            Assert.True(expected.SetEquals(received.Select(e => e.Id)), report);
            Assert.True(receiver.SignatureFailures == 0, report);
            Assert.Equal(
                [$"{AuthorizationWorkflow.Decided} x{Subscribers.Length}", $"{AuthorizationWorkflow.Received} x{Subscribers.Length}"],
                received.GroupBy(e => e.Type).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}"));
            Assert.All(received, e => Assert.Equal(id, e.Subject));
            Assert.All(received, e => Assert.DoesNotContain(Cin, e.Raw, StringComparison.Ordinal));

            // Nothing left to send: the row is gone and a second sweep finds nothing.
            Assert.Empty(await store2.OutboxRowsAsync(id, CancellationToken.None));
            Assert.Equal("outbox rows re-dispatched: 0, index rows reconciled: 0, instances purged: 0, dispatch failures: 0, parked timers queued: 0", await SweepAsync(second));

            // The start was applied once: one history entry, the state it produced, one workflow for the member.
            Assert.Equal([WorkflowEvent.Started], (await store2.HistoryAsync(id, CancellationToken.None)).Select(h => h.Name));
            Assert.Equal([id], await StateRowsAsync(second));
            using var api2 = new HttpClient { BaseAddress = second.ApiBaseAddress };
            var view = JsonDocument.Parse(await api2.GetStringAsync($"/api/authorizations/{id}")).RootElement;
            Assert.Equal("authorized", view.GetProperty("status").GetString());
            Assert.Equal([WorkflowEvent.Started], view.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("name").GetString()));
            Assert.Equal(expected.Count, receiver.Received.Count);
            var listed = JsonDocument.Parse(await api2.GetStringAsync("/api/authorizations?status=authorized")).RootElement;
            Assert.Equal([id], listed.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("authorizationId").GetString()));
            Assert.DoesNotContain(second.HandlerOutput, l => l.Contains(Cin, StringComparison.Ordinal));
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Issue 11, chaos seed 26732158: an authorization request killed between its commit and its dispatch, on the accelerated
    /// business clock the chaos trial runs (it starts months before today). The client's retry is answered 409 with the
    /// authorization the first attempt started, so the notices can only come from the outbox row, and the sweeper judged
    /// that row's age by the business clock against the storage service's Timestamp: "written in the future", never swept.
    /// </summary>
    [Fact]
    public async Task On_an_accelerated_business_clock_a_request_killed_after_its_commit_is_answered_409_on_retry_and_the_sweeper_still_delivers_its_notices()
    {
        var data = NewDataDirectory();
        await using var receiver = await IdempotentReceiver.StartAsync(Subscribers);
        try
        {
            string id;
            await using (var first = await StartHubAsync(data, receiver, exitAfterCommit: 1, AcceleratedClock()))
            {
                using var api = new HttpClient { BaseAddress = first.ApiBaseAddress };
                Assert.Equal(HttpStatusCode.BadGateway, (await api.PostAsJsonAsync("/api/authorizations", PresumptiveRequest)).StatusCode);
                Assert.Equal(134, await first.HandlerExited.WaitAsync(Patience));
                id = Assert.Single(await StateRowsAsync(first));
                Assert.Single(await Store(first).OutboxRowsAsync(id, CancellationToken.None));
            }

            await using var second = await StartHubAsync(data, receiver, exitAfterCommit: null, AcceleratedClock());
            using var api2 = new HttpClient { BaseAddress = second.ApiBaseAddress };
            // The chaos client's retry of the same request: the member index names the authorization the lost attempt started.
            var retry = await api2.PostAsJsonAsync("/api/authorizations", PresumptiveRequest);
            Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
            Assert.Equal(id, JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.GetProperty("existingAuthorizationId").GetString());

            Assert.Equal("outbox rows re-dispatched: 1, index rows reconciled: 0, instances purged: 0, dispatch failures: 0, parked timers queued: 0", await SweepAsync(second));

            var expected = Expected(id);
            await receiver.WaitForAsync(expected.Count, Patience, () => Tail(second));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.True(expected.SetEquals(receiver.Received.Keys), string.Join(", ", receiver.Received.Values.Select(e => $"{e.Id} {e.Type}")));
            Assert.Equal(0, receiver.Duplicates);
            Assert.Empty(await Store(second).OutboxRowsAsync(id, CancellationToken.None));
        }
        finally
        {
            DeleteDataDirectory(data);
        }
    }

    /// <summary>
    /// Issue 11, chaos seed 28843102: the reminder timer of an expedited request in review fires on the accelerated clock,
    /// its commit (deadline-approaching notices in the outbox) lands, and the handler dies before the dispatch. After the
    /// restart the sweeper delivers the notices, once.
    /// </summary>
    [Fact]
    public async Task On_an_accelerated_business_clock_a_reminder_killed_after_its_commit_is_still_delivered_by_the_sweeper()
    {
        var data = NewDataDirectory();
        await using var receiver = await IdempotentReceiver.StartAsync(Subscribers);
        try
        {
            // 60 virtual minutes from request to reminder, 6 s at 600×, so the request is answered before the kill even on a
            // loaded machine (the chaos trial had 20 minutes; 2 s was too short at a load average of 50); timer messages come back every second.
            var clock = AcceleratedClock(speed: 600);
            clock["Authorizations__ExpeditedReminderLead"] = "2.23:00:00";
            clock["Workflows__MaxTimerDelay"] = "00:00:01";
            string id;
            await using (var first = await StartHubAsync(data, receiver, exitAfterCommit: 2, clock))
            {
                using var api = new HttpClient { BaseAddress = first.ApiBaseAddress };
                var response = await api.PostAsJsonAsync("/api/authorizations", InReviewRequest);
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("authorizationId").GetString()!;
                // Commit 1 was the request; commit 2, the reminder firing, kills the handler before its dispatch.
                Assert.Equal(134, await first.HandlerExited.WaitAsync(Patience));
                Assert.Contains(first.HandlerOutput, l => l.Contains("killed after commit 2", StringComparison.Ordinal));
                var outbox = Assert.Single(await Store(first).OutboxRowsAsync(id, CancellationToken.None));
                Assert.Equal(
                    Subscribers.Select(s => InstanceTransition.DeliveryId(id, $"deadline-approaching:decision:{s}")).ToHashSet(),
                    outbox.Work.OfType<DeliverNotice>().Select(n => n.DeliveryId).ToHashSet());
            }

            await using var second = await StartHubAsync(data, receiver, exitAfterCommit: null, clock);
            Assert.Equal("outbox rows re-dispatched: 1, index rows reconciled: 0, instances purged: 0, dispatch failures: 0, parked timers queued: 0", await SweepAsync(second));

            var expected = Subscribers.SelectMany(s => new[] { $"received:{s}", $"deadline-approaching:decision:{s}" }).Select(key => InstanceTransition.DeliveryId(id, key)).ToHashSet();
            await receiver.WaitForAsync(expected.Count, Patience, () => Tail(second));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.True(expected.SetEquals(receiver.Received.Keys), string.Join(", ", receiver.Received.Values.Select(e => $"{e.Id} {e.Type}")));
            Assert.Equal(
                [$"{AuthorizationWorkflow.DeadlineApproaching} x{Subscribers.Length}", $"{AuthorizationWorkflow.Received} x{Subscribers.Length}"],
                receiver.Received.Values.GroupBy(e => e.Type).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}"));
            Assert.Equal(0, receiver.Duplicates);
        }
        finally
        {
            DeleteDataDirectory(data);
        }
    }

    [Theory]
    [InlineData("WEBSITE_SITE_NAME")]
    [InlineData("WEBSITE_INSTANCE_ID")]
    public void The_fault_point_is_refused_in_Azure(string azureVariable)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Workflows:FaultInjection:ExitAfterCommit"] = "1",
            [azureVariable] = "calaimhub-prod",
        });

        var e = Assert.Throws<InvalidOperationException>(builder.AddWorkflows);
        Assert.Equal("Workflows:FaultInjection is a test setting and is refused in Azure; remove it", e.Message);
    }

    [Fact]
    public void The_fault_point_is_off_by_default() =>
        Assert.Equal(0, new WorkflowOptions().FaultInjection.ExitAfterCommit);

    /// <summary>The delivery ids the start commit must produce: received and decided, once per subscriber.</summary>
    private static HashSet<string> Expected(string id) =>
        Subscribers.SelectMany(s => new[] { $"received:{s}", $"decided:1:{s}" }).Select(key => InstanceTransition.DeliveryId(id, key)).ToHashSet(StringComparer.Ordinal);

    /// <summary>A presumptive request (justice-involved, leaving incarceration): authorized at once, received and decided notices.</summary>
    private static readonly object PresumptiveRequest = new
    {
        memberCin = Cin,
        service = new { program = "ecm", populationsOfFocus = new[] { "justice-involved" } },
        requestingProviderNpi = "1245319599",
        referringEntity = "county-jail-health",
        urgency = "expedited",
        supportingFacts = new[] { "transitioning-from-incarceration" },
        consentReference = "ascmi-2026-0011",
    };

    /// <summary>An expedited request that stays in review (the chaos trial's undecided ones): its decision clock has a reminder.</summary>
    private static readonly object InReviewRequest = new
    {
        memberCin = Cin,
        service = new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } },
        requestingProviderNpi = "1245319599",
        referringEntity = "county-hospital",
        urgency = "expedited",
        supportingFacts = new[] { "experiencing-homelessness", "complex-need-unable-to-self-manage" },
        consentReference = "ascmi-2026-0001",
    };

    /// <summary>The chaos trial's business clock: a Monday morning months before today, running fast.</summary>
    private static Dictionary<string, string> AcceleratedClock(double speed = 60) => new()
    {
        ["Authorizations__AcceleratedClock__Start"] = "2026-05-04T09:00:00-07:00",
        ["Authorizations__AcceleratedClock__Speed"] = speed.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string NewDataDirectory()
    {
        var data = Path.Combine(Path.GetTempPath(), "calaimhub-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        return data;
    }

    private static void DeleteDataDirectory(string data)
    {
        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task<LocalHub> StartHubAsync(string data, IdempotentReceiver receiver, int? exitAfterCommit, IReadOnlyDictionary<string, string>? extraSettings = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Notifications__RequireHttps"] = "false",
            // The test runs the sweeper itself, as the host would on schedule, and with no grace for young rows.
            ["AzureWebJobs__WorkflowSweeper__Disabled"] = "true",
            ["Workflows__SweepGrace"] = "00:00:00",
        };
        for (var i = 0; i < Subscribers.Length; i++)
        {
            settings[$"Authorizations__Subscribers__{i}"] = Subscribers[i];
            settings[$"Notifications__Subscribers__{Subscribers[i]}__Url"] = receiver.UrlFor(Subscribers[i]);
            settings[$"Notifications__Subscribers__{Subscribers[i]}__Secrets__0"] = receiver.SecretFor(Subscribers[i]);
        }

        if (exitAfterCommit is { } n)
        {
            settings["Workflows__FaultInjection__ExitAfterCommit"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return LocalHub.StartAsync(new LocalHubOptions
        {
            DataDirectory = data,
            HttpPort = 0,
            // The killed handler stays dead: the next hub on the same data plays the restart.
            RestartHandler = exitAfterCommit is null,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            AppSettings = settings,
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.100" },
        });
    }

    private static WorkflowStore Store(LocalHub hub) =>
        new(hub.Storage.Tables.GetTableClient(WorkflowOptions.TableName), hub.Storage.Tables.GetTableClient(WorkflowOptions.IndexTableName));

    private static async Task<List<string>> StateRowsAsync(LocalHub hub)
    {
        var ids = new List<string>();
        await foreach (var row in hub.Storage.Tables.GetTableClient(WorkflowOptions.TableName).QueryAsync<TableEntity>(e => e.RowKey == WorkflowStore.StateRow, select: ["PartitionKey"]))
        {
            ids.Add(row.PartitionKey);
        }

        return ids;
    }

    /// <summary>Runs <c>WorkflowSweeper</c> the way the host's timer trigger does, and answers its report.</summary>
    private static async Task<string> SweepAsync(LocalHub hub)
    {
        using var client = new HttpClient { BaseAddress = hub.HandlerAddress };
        var now = DateTimeOffset.UtcNow;
        using var content = new ByteArrayContent(InvocationEnvelope.ForTimer("timer", false, now.AddMinutes(-2), now.AddMinutes(2), now));
        content.Headers.ContentType = new("application/json");
        using var response = await client.PostAsync("WorkflowSweeper", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"WorkflowSweeper answered {(int)response.StatusCode}: {body}");
        return Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("Logs").EnumerateArray()).GetString()!;
    }

    private static string Tail(LocalHub hub) => string.Join(Environment.NewLine, hub.HandlerOutput.TakeLast(20));

    /// <summary>
    /// A partner endpoint that verifies the Standard Webhooks signature, dedupes on <c>webhook-id</c> and counts every
    /// raw delivery. One path and one secret per subscriber.
    /// </summary>
    private sealed class IdempotentReceiver : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly Dictionary<string, string> secrets;
        private int raw;
        private int duplicates;
        private int signatureFailures;

        private IdempotentReceiver(WebApplication app, Dictionary<string, string> secrets)
        {
            this.app = app;
            this.secrets = secrets;
        }

        public ConcurrentDictionary<string, ReceivedEvent> Received { get; } = new(StringComparer.Ordinal);

        public int RawDeliveries => Volatile.Read(ref raw);

        public int Duplicates => Volatile.Read(ref duplicates);

        public int SignatureFailures => Volatile.Read(ref signatureFailures);

        public static async Task<IdempotentReceiver> StartAsync(IEnumerable<string> subscribers)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var receiver = new IdempotentReceiver(builder.Build(), subscribers.ToDictionary(s => s, _ => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
            receiver.app.MapPost("/events/{subscriber}", receiver.ReceiveAsync);
            await receiver.app.StartAsync();
            return receiver;
        }

        public string UrlFor(string subscriber) => $"{app.Urls.First()}/events/{subscriber}";

        public string SecretFor(string subscriber) => secrets[subscriber];

        public async Task WaitForAsync(int count, TimeSpan timeout, Func<string> context)
        {
            var deadline = DateTimeOffset.UtcNow + timeout;
            while (Received.Count < count)
            {
                if (DateTimeOffset.UtcNow > deadline)
                {
                    throw new TimeoutException($"{Received.Count} of {count} notices within {timeout.TotalSeconds} s (raw {RawDeliveries}). Handler:{Environment.NewLine}{context()}");
                }

                await Task.Delay(50);
            }
        }

        private async Task<IResult> ReceiveAsync(string subscriber, HttpRequest request)
        {
            Interlocked.Increment(ref raw);
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var id = request.Headers[StandardWebhookSignature.IdHeader].ToString();
            if (!secrets.TryGetValue(subscriber, out var secret)
                || StandardWebhookSignature.Verify(id, request.Headers[StandardWebhookSignature.TimestampHeader], request.Headers[StandardWebhookSignature.SignatureHeader], buffer.ToArray(), [secret], DateTimeOffset.UtcNow) is not null)
            {
                Interlocked.Increment(ref signatureFailures);
                return Results.Unauthorized();
            }

            var root = JsonDocument.Parse(buffer.ToArray()).RootElement;
            var received = new ReceivedEvent(id, root.GetProperty("type").GetString()!, root.GetProperty("subject").GetString()!, root.GetProperty("data").Clone(), root.GetRawText(), DateTimeOffset.UtcNow, RawDeliveries);
            if (!Received.TryAdd(id, received))
            {
                Interlocked.Increment(ref duplicates);
            }

            return Results.NoContent();
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }
}
