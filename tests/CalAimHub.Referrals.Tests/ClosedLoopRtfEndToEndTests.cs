using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The hub for the full closed loop with a real file drop: like <see cref="ReferralHub"/> (Azurite in memory, the real
/// handler, accelerated clock, signed receiver per subscriber), plus blob events on the <c>inbound</c> container and a
/// registered ingestion partner, so an RTF CSV uploaded under <c>inbound/{partner}/rtf/</c> goes through ingestion and its
/// referral-status event reaches <c>ReferralStatusFiles</c>. The receiver keeps every raw delivery, so redeliveries count.
/// </summary>
public sealed class ClosedLoopHub : SignedNoticeHub
{
    public const string Partner = "ecm-rtf-e2e";

    /// <summary>Every delivery as received (raw, in arrival order), redeliveries included.</summary>
    public ConcurrentQueue<Notice> Deliveries { get; } = new();

    protected override IReadOnlyList<string> Platforms => [ReferralHub.Platform];

    protected override bool BlobEvents => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings => [new($"Ingestion__Partners__{Partner}__Kinds__0", "rtf")];

    protected override void OnDelivery(SignedDelivery delivery) => Deliveries.Enqueue(Notice.From(delivery));
    public Task PutProviderAsync(string npi, string name, string service, int available) => Api.PutProviderAsync(npi, name, service, available);
    public Task<HttpResponseMessage> WebhookAsync(string body) => Api.SendSignedWebhookAsync(ReferralHub.Platform, body);
    public Task<JsonElement> ReferralAsync(string referralId) => Api.ReferralAsync(referralId);
    public Task<JsonElement> WaitForWorkflowAsync(string referralId, Func<JsonElement, bool> until, TimeSpan timeout, string what) =>
        Api.WaitForWorkflowAsync(referralId, until, timeout, what, () => $"\nhandler:\n{string.Join('\n', Hub.HandlerOutput.TakeLast(40))}");
}

/// <summary>
/// Issue 6, "Tests that must exist", the end-to-end case: referral created by a signed webhook → routed → the first provider
/// stays silent → re-routed at the acknowledgement deadline (accelerated clock), the referrer told → accepted by the second
/// provider → closed by an RTF file dropped under <c>inbound/{partner}/rtf/</c> (real ingestion, real
/// <c>ReferralStatusFiles</c> matching by CIN + NPI) → the referrer (and the member) notified exactly once per notifying
/// step, every delivery validly signed.
/// </summary>
public sealed class ClosedLoopRtfEndToEndTests(ClosedLoopHub hub) : IClassFixture<ClosedLoopHub>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    private const string Service = "housing-deposits";
    private const string FirstNpi = "1000000012";
    private const string SecondNpi = "1000000004";

    private static bool Phase(JsonElement workflow, string phase) => workflow.GetProperty("phase").GetString() == phase;

    [Fact]
    public async Task Webhook_referral_times_out_reroutes_is_accepted_and_closed_by_an_rtf_drop_with_one_signed_notice_per_step()
    {
        const string id = "R-E2E-RTF-1";
        var referralId = $"{ReferralHub.Platform}:{id}";
        await hub.PutProviderAsync(FirstNpi, "Deposits First", Service, available: 9);
        await hub.PutProviderAsync(SecondNpi, "Deposits Second", Service, available: 2);

        // 1. Created by a signed webhook (routine: 2 business days to answer, ~8 real seconds at 6 virtual hours per second).
        var created = await hub.WebhookAsync(ReferralHub.Created(id, Service));
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);

        // 2. Routed to the best-ranked provider, with a deadline.
        var routed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");
        Assert.Equal(FirstNpi, routed.GetProperty("offers")[0].GetProperty("npi").GetString());
        Assert.NotEqual(JsonValueKind.Null, routed.GetProperty("nextDeadline").ValueKind);

        // 3. The first provider says nothing: at the deadline the referral goes to the next one.
        var rerouted = await hub.WaitForWorkflowAsync(referralId, w => w.GetProperty("offers").GetArrayLength() == 2, Wait, "re-routed at the deadline");
        var first = rerouted.GetProperty("offers")[0];
        Assert.Equal("timed-out", first.GetProperty("outcome").GetString());
        Assert.Equal(first.GetProperty("dueAt").GetDateTimeOffset(), first.GetProperty("answeredAt").GetDateTimeOffset());
        Assert.Equal(SecondNpi, rerouted.GetProperty("offers")[1].GetProperty("npi").GetString());
        Assert.Equal("awaiting-acknowledgement", rerouted.GetProperty("phase").GetString());

        // 4. The second provider accepts (its platform's signed webhook).
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Status(id, "Accepted", SecondNpi, occurredAt: "2026-05-06T11:00:00-07:00"))).StatusCode);
        var accepted = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "accepted"), Wait, "accepted by the second provider");
        Assert.Equal("accepted", accepted.GetProperty("offers")[1].GetProperty("outcome").GetString());

        // 5. Closed via a real RTF file drop: the member's CIN, the accepting provider's NPI, status, date and closure reason.
        var blob = $"{ClosedLoopHub.Partner}/rtf/2026-05 RTF.csv";
        var csv = RtfCsv(ReferralSamples.Cin, SecondNpi, "Referral Loop Closed", "05/06/2026", "Services Received");
        await hub.Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient(blob).UploadAsync(BinaryData.FromString(csv), overwrite: true);
        var closed = await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "closed"), Wait, "closed by the RTF drop");

        Assert.Equal("Services Received", closed.GetProperty("closureReason").GetString());
        Assert.Equal("Completed", closed.GetProperty("runtimeStatus").GetString());
        var history = closed.GetProperty("history").EnumerateArray().Select(h => (h.GetProperty("status").GetString(), h.GetProperty("source").GetString())).ToArray();
        Assert.Equal(("Accepted", "webhook"), history[^2]);
        Assert.Equal(("Referral Loop Closed", "rtf"), history[^1]);
        var view = await hub.ReferralAsync(referralId);
        Assert.Equal(("Referral Loop Closed", "completed"), (view.GetProperty("status").GetString(), view.GetProperty("taskStatus").GetString()));

        // 6. Notices: wait for the closure pair, let stragglers and redeliveries arrive, then count raw deliveries.
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (DateTimeOffset.UtcNow < deadline && hub.Deliveries.Count(n => n.Subject == referralId && n.Type == ReferralWorkflow.Closed) < 2)
        {
            await Task.Delay(100);
        }

        await Task.Delay(1500);
        var raw = hub.Deliveries.Where(n => n.Subject == referralId).OrderBy(n => n.Order).ToArray();
        Assert.Equal(0, hub.SignatureFailures);
        Assert.Equal(raw.Length, raw.Select(n => n.Id).Distinct().Count()); // no redelivery of any webhook-id

        string[] expected =
        [
            $"{ReferralHub.Platform}:{ReferralWorkflow.NoResponse}",
            $"{ReferralHub.Platform}:{ReferralWorkflow.Assigned}", $"members:{ReferralWorkflow.Assigned}",
            $"{ReferralHub.Platform}:{ReferralWorkflow.Closed}", $"members:{ReferralWorkflow.Closed}",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), raw.Select(n => $"{n.Subscriber}:{n.Type}").Order(StringComparer.Ordinal));

        // The referrer's view in order: the first provider did not answer by its deadline (re-routed), assigned to the
        // second provider, then closed with the file's reason. In order of the events' own time: the notifications queue is
        // not first-in first-out, so two notices of one step (no-response and assigned) may arrive either way round, and a
        // receiver orders by the CloudEvent time (seen arriving swapped once, with the machine busy).
        static DateTimeOffset EventTime(Notice n) => JsonDocument.Parse(n.Raw).RootElement.GetProperty("time").GetDateTimeOffset();
        var referrer = new[] { ReferralWorkflow.NoResponse, ReferralWorkflow.Assigned, ReferralWorkflow.Closed }
            .Select(type => Assert.Single(raw, n => n.Subscriber == ReferralHub.Platform && n.Type == type)).ToArray();
        Assert.True(EventTime(referrer[0]) <= EventTime(referrer[1]) && EventTime(referrer[1]) < EventTime(referrer[2]),
            string.Join(", ", referrer.Select(n => $"{n.Type} at {EventTime(n):O}")));
        Assert.Equal((FirstNpi, true), (referrer[0].Data.GetProperty("providerNpi").GetString(), referrer[0].Data.GetProperty("rerouted").GetBoolean()));
        Assert.StartsWith("no answer by ", referrer[0].Data.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.All(referrer[1..], n => Assert.Equal(SecondNpi, n.Data.GetProperty("providerNpi").GetString()));
        Assert.Equal("Services Received", referrer[2].Data.GetProperty("closureReason").GetString());
        Assert.All(raw, n => Assert.DoesNotContain(ReferralSamples.Cin, n.Raw));
    }

    /// <summary>A one-row RTF (layout A) as a partner would send it; column names and codes from the rtf-a schema.</summary>
    [Fact]
    public async Task An_rtf_status_for_a_failed_referral_instance_is_dead_lettered_with_its_reason_not_counted_as_unmatched()
    {
        const string id = "R-E2E-RTF-FAILED";
        const string npi = "1000000020";
        var referralId = $"{ReferralHub.Platform}:{id}";
        await hub.PutProviderAsync(npi, "Transitions Only", "community-transition-services", available: 9);
        Assert.Equal(HttpStatusCode.Accepted, (await hub.WebhookAsync(ReferralHub.Created(id, "community-transition-services"))).StatusCode);
        await hub.WaitForWorkflowAsync(referralId, w => Phase(w, "awaiting-acknowledgement"), Wait, "routed");

        // The instance ends Failed with its state kept (what a decider failure leaves).
        var tables = hub.Hub.Storage.Tables;
        var store = new CalAimHub.Workflows.WorkflowStore(tables.GetTableClient(CalAimHub.Workflows.WorkflowOptions.TableName), tables.GetTableClient(CalAimHub.Workflows.WorkflowOptions.IndexTableName));
        var (stored, _) = await store.LoadAsync(referralId, null, CancellationToken.None);
        var failed = stored!.Instance with
        {
            Status = CalAimHub.Domain.Workflows.WorkflowRuntimeStatus.Failed, Reason = "decider 'referral' v1 threw InvalidOperationException on event 'status-reported'",
            Seq = stored.Instance.Seq + 1, Timers = stored.Instance.Timers.Clear(),
        };
        await store.CommitAsync(new CalAimHub.Workflows.WorkflowCommit(stored.Instance, failed, [], [], []), stored.ETag, CancellationToken.None);

        var csv = RtfCsv(ReferralSamples.Cin, npi, "Accepted", "05/04/2026", "");
        await hub.Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{ClosedLoopHub.Partner}/rtf/2026-05 RTF failed.csv").UploadAsync(BinaryData.FromString(csv), overwrite: true);

        var poison = hub.Hub.Storage.Queues.GetQueueClient(CalAimHub.Hosting.Storage.StorageLayout.PoisonQueue("referral-status-events"));
        CalAimHub.Hosting.Invocations.DeadLetter? letter = null;
        var deadline = DateTimeOffset.UtcNow + Wait;
        while (letter is null && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(200);
            if ((await poison.ExistsAsync()).Value)
            {
                letter = (await poison.PeekMessagesAsync(32)).Value.Select(m => CalAimHub.Hosting.Invocations.DeadLetter.TryParse(m.Body.ToString()))
                    .FirstOrDefault(d => d?.Reason.Contains(referralId, StringComparison.Ordinal) == true);
            }
        }

        Assert.NotNull(letter);
        Assert.Equal($"referral workflow instance(s) {referralId} are Failed and take no more events; their RTF statuses in this batch were not applied", letter.Reason);
        Assert.Equal(("ReferralStatusFiles", "referral-status-events", 1), (letter.Function, letter.Queue, letter.Attempts));
        Assert.DoesNotContain(ReferralSamples.Cin, letter.Reason, StringComparison.Ordinal);
    }

    private static string RtfCsv(string cin, string npi, string status, string date, string reason)
    {
        var row = new (string Column, string Value)[]
        {
            ("Primary Payer (MCP) Identifier", "MCP001"), ("MCP Name", "Example Health Plan"), ("Member Client Index Number (CIN)", cin),
            ("Member Last Name", "Quillfeather"), ("Member First Name", "Rosalind"), ("Member New Address Indicator", "N"),
            ("Member Homelessness Indicator", "N"), ("Member Residential Address", ""), ("Member Residential City", ""),
            ("Member Residential State", ""), ("Member Residential Zip", ""), ("Member New Phone Number Indicator", "N"),
            ("Member Phone Number", ""), ("Member POF Indicator", "Y"), ("Member POF", "1a"), ("Member ECM Status", "Enrolled"),
            ("Member Acuity Level", "High"), ("ECM Enrollment Start Date", "03/01/2026"), ("ECM Enrollment End Date", ""),
            ("Date of Latest Care Plan Revision", "04/20/2026"), ("Date of Most Recent Care Conference", ""),
            ("Date Assessment Started", "03/02/2026"), ("Date of Most Recent Completed Assessment", "03/09/2026"),
            ("Date of Most Recent Encounter with Member", "04/28/2026"), ("ECM Lead Care Manager Name", "Casey Caremanager"),
            ("ECM Lead Care Manager Phone Number", "(555) 555-0100"), ("ECM Lead Care Manager Email", "casey@provider.example"),
            ("Discontinuation Date", ""), ("Discontinuation Reason Code", ""), ("Discontinuation Reason", ""), ("In Person", "2"),
            ("Telephonic/Video", "1"), ("Member Information Return Transmission File Production Date", "05/01/2026"),
            ("Member Information File Reporting Period", "04/2026"), ("ECM Provider Name", "Deposits Second"), ("ECM Provider NPI", npi),
            ("ECM Provider TIN", "12-3456789"), ("ECM Provider Phone Number", "555-555-0101"), ("Referral Status", status),
            ("Date of Referral Status Update", date), ("Reason for Referral Loop Closure", reason),
        };
        return string.Join(',', row.Select(c => c.Column)) + "\r\n" + string.Join(',', row.Select(c => c.Value)) + "\r\n";
    }
}
