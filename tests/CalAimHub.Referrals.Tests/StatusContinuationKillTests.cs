using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The referral hub with <c>ReferralStatusFiles</c> bounded to 2 statuses per invocation and the fault point that kills the
/// handler once, right after it sent a continuation and before the message it continues completed. 60× clock: the
/// acknowledgement deadlines stay days of business time away, minutes of real time.
/// </summary>
public sealed class StatusContinuationHub : SignedNoticeHub
{
    public string KillMarker { get; } = Path.Combine(Path.GetTempPath(), "calaimhub-status-kill-" + Guid.NewGuid().ToString("N"));

    /// <summary>Every delivery as received, redeliveries included.</summary>
    public ConcurrentQueue<Notice> Deliveries { get; } = new();

    protected override IReadOnlyList<string> Platforms => [ReferralHub.Platform];

    protected override double ClockSpeed => 60;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Referrals__StatusEventsPerInvocation", "2"),
        new("Referrals__FaultInjection__ExitOnceAfterStatusContinuation", KillMarker),
    ];

    protected override void OnDelivery(SignedDelivery delivery) => Deliveries.Enqueue(Notice.From(delivery));
}

/// <summary>
/// Issue 11: an RTF referral-status batch is worked in bounded slices, each slice's rest a fresh continuation message, so a
/// worker dying during a long batch costs one slice and one delivery, not the batch's five (the full chaos run poisoned ten
/// 80-status batches that ran 42–191 s). Killed between sending a continuation and completing its message, the batch's
/// statuses are still applied exactly once each, with one notice per webhook-id, and nothing is poisoned.
/// </summary>
public sealed class StatusContinuationKillTests(StatusContinuationHub hub) : IClassFixture<StatusContinuationHub>
{
    private const string Service = "housing-deposits";
    private const string Npi = "1000000038";
    private const string RowPartition = "ecm-rtf-cont~rtf~00";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_batch_killed_after_its_continuation_was_sent_applies_every_status_exactly_once_without_poison()
    {
        await hub.Api.PutProviderAsync(Npi, "Deposits Continued", Service, available: 9);
        var ids = Enumerable.Range(1, 5).Select(i => $"R-CONT-{i}").ToArray();
        var cins = Enumerable.Range(1, 5).Select(i => $"9300000{i}C").ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            var created = await hub.Api.SendSignedWebhookAsync(ReferralHub.Platform, Created(ids[i], cins[i]));
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        }

        foreach (var id in ids)
        {
            await Wait_(id, w => w.GetProperty("phase").GetString() == "awaiting-acknowledgement", "routed");
        }

        // What ingestion stores and publishes for five RTF rows in one transaction: the rows (the handler reads the CIN
        // from them) and one CloudEvents batch message of their five status events.
        var rows = hub.Hub.Storage.Tables.GetTableClient("IngestedRows");
        await rows.CreateIfNotExistsAsync();
        var batch = new JsonArray();
        for (var i = 0; i < ids.Length; i++)
        {
            var rowKey = $"row-{i + 1:d4}";
            await rows.UpsertEntityAsync(new TableEntity(RowPartition, rowKey) { ["MemberCin"] = cins[i] });
            batch.Add(new JsonObject
            {
                ["specversion"] = "1.0",
                ["id"] = $"evt-cont-{i + 1}",
                ["type"] = "calaimhub.rtf.referral-status-updated",
                ["source"] = "/calaimhub/ingestion/ecm-rtf-cont/rtf",
                ["subject"] = rowKey,
                ["data"] = new JsonObject
                {
                    ["partitionKey"] = RowPartition, ["rowKey"] = rowKey, ["EcmProviderNpi"] = Npi,
                    ["ReferralStatus"] = "Accepted", ["DateOfReferralStatusUpdate"] = "2026-05-04",
                },
            });
        }

        await hub.Hub.Storage.Queues.GetQueueClient("referral-status-events").SendMessageAsync(batch.ToJsonString());

        var accepted = new List<JsonElement>();
        foreach (var id in ids)
        {
            accepted.Add(await Wait_(id, w => w.GetProperty("phase").GetString() == "accepted", "accepted by the RTF batch"));
        }

        // The fault point fired: the handler died after a continuation went out, and the host restarted it.
        Assert.True(File.Exists(hub.KillMarker));
        Assert.Contains(hub.Hub.HandlerOutput, l => l.Contains("Referrals:FaultInjection:ExitOnceAfterStatusContinuation: killed after sending a continuation", StringComparison.Ordinal));
        Assert.Equal(1, hub.Hub.Instances.Sum(i => i.Restarts));
        // Slices of at most two: 5 statuses take three invocations at least, two of which continue.
        Assert.True(hub.Hub.HandlerOutput.Count(l => l.Contains("sent on in a continuation message", StringComparison.Ordinal)) >= 2, Tail());

        // Each status applied once: one rtf 'Accepted' in each referral's history.
        foreach (var workflow in accepted)
        {
            var history = workflow.GetProperty("history").EnumerateArray().Select(h => (h.GetProperty("status").GetString(), h.GetProperty("source").GetString())).ToArray();
            Assert.Equal(1, history.Count(h => h == ("Accepted", "rtf")));
        }

        // Let the redelivered slice and the duplicate continuation run out, then count: no poison, queue drained.
        var queue = hub.Hub.Storage.Queues.GetQueueClient("referral-status-events");
        var deadline = DateTimeOffset.UtcNow + Wait;
        while ((await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(0, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var poison = hub.Hub.Storage.Queues.GetQueueClient(CalAimHub.Hosting.Storage.StorageLayout.PoisonQueue("referral-status-events"));
        Assert.False((await poison.ExistsAsync()).Value && (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0, Tail());

        // One 'assigned' notice per referral to the platform and to the member subscriber; a redelivery repeats its id.
        var assigned = hub.Deliveries.Where(n => n.Type == ReferralWorkflow.Assigned && ids.Any(id => n.Subject == $"{ReferralHub.Platform}:{id}")).ToArray();
        Assert.Equal(ids.Length * 2, assigned.Select(n => n.Id).Distinct().Count());
        Assert.Equal(
            ids.SelectMany(id => new[] { $"{ReferralHub.Platform}|{ReferralHub.Platform}:{id}", $"members|{ReferralHub.Platform}:{id}" }).Order(StringComparer.Ordinal),
            assigned.DistinctBy(n => n.Id).Select(n => $"{n.Subscriber}|{n.Subject}").Order(StringComparer.Ordinal));
        Assert.Equal(0, hub.SignatureFailures);
    }

    /// <summary>Polls the referral's workflow view; while the killed handler restarts the front door answers 502, and that is waited out.</summary>
    private async Task<JsonElement> Wait_(string id, Func<JsonElement, bool> until, string what)
    {
        var deadline = DateTimeOffset.UtcNow + Wait;
        var last = "";
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var response = await hub.Api.GetAsync(new Uri($"/api/referrals/{Uri.EscapeDataString($"{ReferralHub.Platform}:{id}")}", UriKind.Relative));
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.IsSuccessStatusCode
                && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone() is var view
                && view.TryGetProperty("workflow", out var workflow) && workflow.ValueKind == JsonValueKind.Object && until(workflow))
            {
                return workflow;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"referral {id}: {what} not reached in {Wait.TotalSeconds} s; last: {last}\nhandler:\n{Tail()}");
    }

    private string Tail() => string.Join('\n', hub.Hub.HandlerOutput.TakeLast(40));

    private static string Created(string referralId, string cin) => $$"""
        {
          "type": "referral.created",
          "referralId": "{{referralId}}",
          "occurredAt": "2026-05-01T09:30:00-07:00",
          "service": { "code": "{{Service}}" },
          "member": { "cin": "{{cin}}" },
          "referringEntity": { "name": "St. Rosa Delgado Medical Center", "npi": "{{ReferralSamples.ReferrerNpi}}" },
          "urgency": "routine"
        }
        """;
}
