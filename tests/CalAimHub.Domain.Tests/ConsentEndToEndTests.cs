using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Consent;
using CalAimHub.Domain.Reconciliation;
using CalAimHub.Functions.Consent;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using static CalAimHub.Domain.Consent.DisclosureCategories;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// The hub for issue 14's consent half: Azurite in memory, the real handler behind the local host, blob events on
/// <c>inbound</c> with one provider partner that sends RTFs, and a signed-notice receiver for that provider.
/// </summary>
public sealed class ConsentHubFixture : IAsyncLifetime
{
    public const string Provider = "prov-ecm-7";
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private WebApplication? receiver;

    public LocalHub Hub { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public ConcurrentQueue<(string Type, string Raw, JsonElement Data)> Notices { get; } = new();

    public int SignatureFailures;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/events", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            if (CalAimHub.Hosting.Webhooks.StandardWebhookSignature.Verify(request.Headers["webhook-id"].ToString(), request.Headers["webhook-timestamp"].ToString(),
                    request.Headers["webhook-signature"], buffer.ToArray(), [Secret], DateTimeOffset.UtcNow) is not null)
            {
                Interlocked.Increment(ref SignatureFailures);
                return Results.Unauthorized();
            }

            using var body = JsonDocument.Parse(buffer.ToArray());
            var to = request.QueryString.Value == "?plan" ? "plan:" : "";
            Notices.Enqueue((to + body.RootElement.GetProperty("type").GetString()!, body.RootElement.GetRawText(), body.RootElement.GetProperty("data").Clone()));
            return Results.NoContent();
        });
        await app.StartAsync();
        receiver = app;
        var url = app.Urls.First() + "/events";

        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = true,
            BlobPollInterval = TimeSpan.FromMilliseconds(200),
            AppSettings = new Dictionary<string, string>
            {
                ["Notifications__RequireHttps"] = "false",
                [$"Ingestion__Partners__{Provider}__Kinds__0"] = "rtf",
                [$"Ingestion__Partners__{Provider}__Subscriber"] = Provider,
                [$"Ingestion__Partners__{Provider}__NotificationUrl"] = url,
                [$"Notifications__Subscribers__{Provider}__Url"] = url,
                [$"Notifications__Subscribers__{Provider}__Secrets__0"] = Secret,
                ["Notifications__Subscribers__reconciliations__Url"] = url + "?plan",
                ["Notifications__Subscribers__reconciliations__Secrets__0"] = Secret,
            },
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.100" },
        });
        Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress };
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (Hub is not null)
        {
            await Hub.DisposeAsync();
        }

        if (receiver is not null)
        {
            await receiver.DisposeAsync();
        }
    }

    public string HandlerOutput => string.Join('\n', Hub.HandlerOutput);
}

/// <summary>
/// Issue 14, "Tests that must exist", the consent half, end to end through the local host: consents recorded through the
/// API withhold a category and Part 2 information at the gate, a revocation takes effect for the next decision, the
/// disclosure log's accounting lists exactly what was recorded, and an RTF dropped for a provider and period with
/// recorded member files is reconciled with every planted mismatch found, reported and notified without member data.
/// </summary>
public sealed class ConsentEndToEndTests(ConsentHubFixture hub) : IClassFixture<ConsentHubFixture>
{
    private static readonly DateOnly Day = new(2026, 12, 1);
    private static readonly string[] Asked = [Identity, Contact, Utilization, SubstanceUseDisorder];

    private static object Consent(string cin, string document, string kind = "grant", object? choices = null, string[]? part2 = null, string effectiveOn = "2026-11-15") => new
    {
        cin,
        kind,
        formVersion = kind == "grant" ? "ascmi-ab133-2024" : "ascmi-revocation-2024",
        sourceDocument = document,
        effectiveOn,
        choices,
        part2Recipients = part2,
    };

    [Fact]
    public async Task Consent_withholds_a_category_and_Part_2_and_a_revocation_takes_effect_for_the_next_decision()
    {
        const string withholdsContact = "91110001A", part2Named = "91110002B", noConsent = "91110003C";
        Assert.Equal(HttpStatusCode.Created, (await hub.Api.PostAsJsonAsync("/api/members/consents",
            Consent(withholdsContact, "forms/e2e-1.pdf", choices: new Dictionary<string, string> { [Contact] = "do-not-share" }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await hub.Api.PostAsJsonAsync("/api/members/consents",
            Consent(part2Named, "forms/e2e-2.pdf", part2: [ConsentHubFixture.Provider]))).StatusCode);
        var gate = new TableConsentRegistry(hub.Hub.Storage);

        var decisions = await gate.DecideAsync(ConsentHubFixture.Provider, [withholdsContact, part2Named, noConsent], Asked, Day, CancellationToken.None);

        Assert.Equal([Contact, SubstanceUseDisorder], decisions[withholdsContact].Withheld.Order(StringComparer.Ordinal));
        Assert.Empty(decisions[part2Named].Withheld);
        Assert.Equal([SubstanceUseDisorder], decisions[noConsent].Withheld);
        var otherProvider = await gate.DecideAsync("prov-other", [part2Named], Asked, Day, CancellationToken.None);
        Assert.Equal([SubstanceUseDisorder], otherProvider[part2Named].Withheld);

        // The member revokes, effective the day after: today's file still shares, the next day's withholds all it may.
        Assert.Equal(HttpStatusCode.Created, (await hub.Api.PostAsJsonAsync("/api/members/consents",
            Consent(part2Named, "forms/e2e-2-revoked.pdf", kind: "revocation", effectiveOn: "2026-12-02"))).StatusCode);
        var sameDay = await gate.DecideAsync(ConsentHubFixture.Provider, [part2Named], Asked, Day, CancellationToken.None);
        var nextFile = await gate.DecideAsync(ConsentHubFixture.Provider, [part2Named], Asked, Day.AddDays(1), CancellationToken.None);
        Assert.Empty(sameDay[part2Named].Withheld);
        Assert.Equal([Contact, SubstanceUseDisorder, Utilization], nextFile[part2Named].Withheld.Order(StringComparer.Ordinal));
        Assert.Equal([Identity], nextFile[part2Named].Shared);

        using var search = await hub.Api.PostAsJsonAsync("/api/members/consents/search", new { cin = part2Named });
        var consents = (await search.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("consents");
        Assert.Equal(["revocation", "grant"], consents.EnumerateArray().Select(c => c.GetProperty("kind").GetString()));

        Assert.DoesNotContain(withholdsContact, hub.HandlerOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(part2Named, hub.HandlerOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_disclosure_log_lists_exactly_what_was_recorded_for_the_member_page_by_page()
    {
        const string cin = "92220001A", other = "92220002B";
        var log = new TableDisclosureLog(hub.Hub.Storage);
        var at = new DateTimeOffset(2026, 11, 1, 14, 0, 0, TimeSpan.Zero);
        Disclosure Disclosed(string path, string member, DateTimeOffset when, string[] shared, string[] withheld) =>
            new(Disclosure.IdFor(path, member), member, ConsentHubFixture.Provider, "ecm-mif", path, when, shared, withheld);
        var mif = Disclosed("outbound/prov-ecm-7/mif/2026-11/mif.csv", cin, at, [Identity, DisclosureCategories.Authorization, Utilization], [Contact, SubstanceUseDisorder]);
        var mini = Disclosed("outbound/prov-ecm-7/mini-mif/2026-11/mini-1.csv", cin, at.AddDays(9), [Identity, DisclosureCategories.Authorization, Contact], [SubstanceUseDisorder]);
        await log.RecordAsync([mif, mini, Disclosed("outbound/prov-ecm-7/mif/2026-11/mif.csv", other, at, [Identity], [])], CancellationToken.None);
        await log.RecordAsync([mif], CancellationToken.None); // a re-run of the same file: overwritten, not doubled

        var items = new List<JsonElement>();
        string? continuation = null;
        var pages = 0;
        do
        {
            using var response = await hub.Api.PostAsJsonAsync("/api/members/disclosures/search", new { cin, top = 1, continuation });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.Content.ReadFromJsonAsync<JsonElement>();
            items.AddRange(page.GetProperty("items").EnumerateArray());
            continuation = page.GetProperty("continuation").GetString();
            pages++;
        }
        while (continuation is not null && pages < 5);

        Assert.Equal(2, items.Count);
        var byPath = items.ToDictionary(i => i.GetProperty("documentPath").GetString()!);
        Assert.Equal([mif.DocumentPath, mini.DocumentPath], byPath.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([Identity, DisclosureCategories.Authorization, Utilization], byPath[mif.DocumentPath].GetProperty("categoriesDisclosed").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal([Contact, SubstanceUseDisorder], byPath[mif.DocumentPath].GetProperty("categoriesWithheld").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal((ConsentHubFixture.Provider, "ecm-mif", at), (byPath[mif.DocumentPath].GetProperty("recipientId").GetString(),
            byPath[mif.DocumentPath].GetProperty("purpose").GetString(), byPath[mif.DocumentPath].GetProperty("disclosedAt").GetDateTimeOffset()));

        using var period = await hub.Api.PostAsJsonAsync("/api/members/disclosures/search", new { cin, from = "2026-11-05T00:00:00Z" });
        var inPeriod = (await period.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items");
        Assert.Equal([mini.DocumentPath], inPeriod.EnumerateArray().Select(i => i.GetProperty("documentPath").GetString()));

        // A continuation from one member's search does not page another's.
        using var first = await hub.Api.PostAsJsonAsync("/api/members/disclosures/search", new { cin, top = 1 });
        var token = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("continuation").GetString();
        using var stolen = await hub.Api.PostAsJsonAsync("/api/members/disclosures/search", new { cin = other, continuation = token });
        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        Assert.Equal("'continuation' is not a token this search gave; start again without it",
            (await stolen.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_RTF_dropped_for_a_period_with_sent_member_files_is_reconciled_and_each_planted_mismatch_found()
    {
        const string period = "2026-11";
        const string same = "93330001A", otherAuth = "93330002B", otherStart = "93330003C", missing = "93330004D", miniNoReferral = "93330005E", stranger = "93330009Z";
        var start = new DateOnly(2026, 11, 1);
        var end = new DateOnly(2027, 10, 31);
        var log = new TableDisclosureLog(hub.Hub.Storage);
        var sentAt = new DateTimeOffset(2026, 11, 1, 14, 0, 0, TimeSpan.Zero);
        await log.RecordSentFileAsync(new SentMemberFile(ConsentHubFixture.Provider, period, SentFileKinds.Mif, "outbound/prov-ecm-7/mif/2026-11/mif.csv", sentAt,
        [
            new(same, "A-1", start, end, ["ref-1"]),
            new(otherAuth, "A-2", start, end, []),
            new(otherStart, "A-3", start, end, []),
            new(missing, "A-4", start, end, []),
        ]), firstRecording: false, CancellationToken.None);
        await log.RecordSentFileAsync(new SentMemberFile(ConsentHubFixture.Provider, period, SentFileKinds.MiniMif, "outbound/prov-ecm-7/mini-mif/2026-11/mini-1.csv",
            sentAt.AddDays(9), [new(miniNoReferral, "A-5", start, end, [])]), firstRecording: false, CancellationToken.None);
        var ledger = new CalAimHub.Functions.Outbound.OutboundLedger(hub.Hub.Storage);
        await ledger.SaveAsync(new(ConsentHubFixture.Provider, period, SentFileKinds.Mif, period, "delivered", ["outbound/prov-ecm-7/mif/2026-11/mif.csv"], ["h1"], 4,
            new Dictionary<string, int>(), "ecm-mif", sentAt, sentAt, null), CancellationToken.None);

        const string file = "2026-11 RTF.csv";
        var csv = RtfB(
            (same, "A-1", "11/01/2026", "Accepted"),
            (otherAuth, "A-2X", "11/01/2026", ""),
            (otherStart, "A-3", "11/15/2026", ""),
            (miniNoReferral, "A-5", "11/01/2026", "Accepted"),
            (stranger, "A-9", "11/01/2026", ""));
        await hub.Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{ConsentHubFixture.Provider}/rtf/{file}")
            .UploadAsync(BinaryData.FromString(csv), overwrite: true);

        var route = $"/api/files/{ConsentHubFixture.Provider}/rtf/{Uri.EscapeDataString(file)}/reconciliation";
        JsonElement report = default;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var response = await hub.Api.GetAsync(new Uri(route, UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                report = await response.Content.ReadFromJsonAsync<JsonElement>();
                break;
            }

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            await Task.Delay(200);
        }

        Assert.True(report.ValueKind == JsonValueKind.Object, $"no reconciliation within 60 s; handler:\n{string.Join('\n', hub.Hub.HandlerOutput.TakeLast(30))}");
        Assert.Equal("mismatches", report.GetProperty("outcome").GetString());
        var byRule = report.GetProperty("problemsByRule").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(new Dictionary<string, int>
        {
            [MismatchKinds.AssignedMemberMissing] = 1,
            [MismatchKinds.MemberNeverAssigned] = 1,
            [MismatchKinds.AuthorizationNumberDiffers] = 1,
            [MismatchKinds.AuthorizationStartDiffers] = 1,
            [MismatchKinds.ReferralNeverSent] = 1,
        }, byRule);
        var problems = report.GetProperty("problems").EnumerateArray().ToDictionary(p => p.GetProperty("rule").GetString()!);
        Assert.Equal(("A-2X", 3), (problems[MismatchKinds.AuthorizationNumberDiffers].GetProperty("value").GetString(), problems[MismatchKinds.AuthorizationNumberDiffers].GetProperty("row").GetInt32()));
        Assert.Equal("2026-11-15", problems[MismatchKinds.AuthorizationStartDiffers].GetProperty("value").GetString());
        Assert.Equal(0, problems[MismatchKinds.AssignedMemberMissing].GetProperty("row").GetInt32());
        Assert.Equal("*******4D", problems[MismatchKinds.AssignedMemberMissing].GetProperty("value").GetString());
        var text = report.GetRawText();
        foreach (var cin in new[] { same, otherAuth, otherStart, missing, miniNoReferral, stranger })
        {
            Assert.DoesNotContain(cin, text, StringComparison.Ordinal);
            Assert.DoesNotContain(cin, hub.HandlerOutput, StringComparison.Ordinal);
        }

        // The same report as CSV, the ingestion report's format.
        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(route, UriKind.Relative));
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var csvAnswer = await hub.Api.SendAsync(csvRequest);
        var csvText = Encoding.UTF8.GetString(await csvAnswer.Content.ReadAsByteArrayAsync()).TrimStart('\uFEFF');
        Assert.StartsWith("row,column,value,rule,severity,message,hint\r\n", csvText, StringComparison.Ordinal);
        Assert.Equal(6, csvText.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);

        // The console figure for the provider and period.
        var figures = await hub.Api.GetFromJsonAsync<JsonElement>($"/api/console/reconciliations?provider={ConsentHubFixture.Provider}");
        var figure = Assert.Single(figures.GetProperty("items").EnumerateArray(), f => f.GetProperty("period").GetString() == period);
        Assert.Equal((period, false, 5, 5, 5), (figure.GetProperty("period").GetString(), figure.GetProperty("reconciled").GetBoolean(),
            figure.GetProperty("membersSent").GetInt32(), figure.GetProperty("membersReturned").GetInt32(), figure.GetProperty("mismatches").GetInt32()));

        // The provider's notice: signed, the report's path and counts, no member data.
        var notice = await WaitForNoticeAsync("calaimhub.rtf.reconciled", n => n.Data.GetProperty("report").GetString()!.Contains(file, StringComparison.Ordinal));
        Assert.Equal($"results/{ConsentHubFixture.Provider}/rtf/{file}.reconciliation.json", notice.Data.GetProperty("report").GetString());
        Assert.Equal(0, hub.SignatureFailures);
        foreach (var cin in new[] { same, otherAuth, otherStart, missing, miniNoReferral, stranger })
        {
            Assert.DoesNotContain(cin, notice.Raw, StringComparison.Ordinal);
        }

        // The plan's notice: signed with the plan subscriber's secret, counts and the report's path only.
        var planNotice = await WaitForNoticeAsync("plan:calaimhub.rtf.reconciled", n => n.Data.GetProperty("report").GetString()!.Contains(file, StringComparison.Ordinal));
        Assert.Equal(0, hub.SignatureFailures);
        Assert.Equal(ConsentHubFixture.Provider, planNotice.Data.GetProperty("providerId").GetString());
        var planPeriod = Assert.Single(planNotice.Data.GetProperty("periods").EnumerateArray());
        Assert.Equal((period, false, 5, 5), (planPeriod.GetProperty("period").GetString(), planPeriod.GetProperty("reconciled").GetBoolean(),
            planPeriod.GetProperty("membersSent").GetInt32(), planPeriod.GetProperty("membersReturned").GetInt32()));
        Assert.Equal(["period", "reconciled", "membersSent", "membersReturned", "mismatchesByKind"], planPeriod.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["providerId", "periods", "report", "reportCsv", "reportRoute"], planNotice.Data.EnumerateObject().Select(p => p.Name));
        foreach (var cin in new[] { same, otherAuth, otherStart, missing, miniNoReferral, stranger })
        {
            Assert.DoesNotContain(cin, planNotice.Raw, StringComparison.Ordinal);
        }

        // The result is on the provider's ledger row, which is all the console's outbound list reads.
        var listed = await hub.Api.GetFromJsonAsync<JsonElement>($"/api/console/outbound?period={period}&provider={ConsentHubFixture.Provider}");
        Assert.False(Assert.Single(listed.GetProperty("items").EnumerateArray()).GetProperty("reconciled").GetBoolean());
        var row = (await hub.Hub.Storage.Tables.GetTableClient("OutboundFiles").GetEntityAsync<Azure.Data.Tables.TableEntity>(period, $"{ConsentHubFixture.Provider}~mif~{period}")).Value;
        Assert.Equal((false, 5, route), (row.GetBoolean("Reconciled"), row.GetInt32("ReconciliationMismatches"), row.GetString("ReconciliationReport")));
    }

    [Fact]
    public async Task A_redelivered_file_stored_event_reconciles_once_and_a_kill_between_store_and_reconcile_still_reconciles()
    {
        const string period = "2026-10";
        const string member = "93340001A";
        const string file = "2026-10 RTF.csv";
        var day = new DateOnly(2026, 10, 1);
        var sentAt = new DateTimeOffset(2026, 10, 1, 14, 0, 0, TimeSpan.Zero);
        await new TableDisclosureLog(hub.Hub.Storage).RecordSentFileAsync(new SentMemberFile(ConsentHubFixture.Provider, period, SentFileKinds.Mif,
            "outbound/prov-ecm-7/mif/2026-10/mif.csv", sentAt, [new(member, "A-10", day, new DateOnly(2027, 10, 31), [])]), firstRecording: false, CancellationToken.None);
        var ledger = new CalAimHub.Functions.Outbound.OutboundLedger(hub.Hub.Storage);
        await ledger.SaveAsync(new(ConsentHubFixture.Provider, period, SentFileKinds.Mif, period, "delivered", ["outbound/prov-ecm-7/mif/2026-10/mif.csv"], ["h2"], 1,
            new Dictionary<string, int>(), "ecm-mif", sentAt, sentAt, null), CancellationToken.None);

        // The store step alone, as a handler killed right after it leaves things: rows stored, the run's file-stored event
        // queued, no completion (the file sits outside 'inbound', so the hub's own ingestion never sees it).
        const string killedContainer = "inbound-killed";
        var blobs = hub.Hub.Storage.Blobs.GetBlobContainerClient(killedContainer);
        await blobs.CreateIfNotExistsAsync();
        var blobName = $"{ConsentHubFixture.Provider}/rtf/{file}";
        await blobs.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(RtfB("10/2026", (member, "A-10", "10/01/2026", ""))), overwrite: true);
        var options = new CalAimHub.Ingestion.IngestionOptions();
        var ingestion = new CalAimHub.Ingestion.Storage.BlobFileIngestion(new CalAimHub.Ingestion.PartnerFileChannel(CalAimHub.Ingestion.Formats.FormatCatalog.Default, options),
            hub.Hub.Storage.Blobs, hub.Hub.Storage.Tables, hub.Hub.Storage.Queues, options, TimeProvider.System, killedContainer);
        var stored = await ingestion.IngestAsync(blobName, id => new CalAimHub.Ingestion.Formats.PartnerProfile { Id = id, Kinds = ["rtf"] }, 1, CancellationToken.None);
        Assert.Equal((1, false), (stored!.Report.RowsAccepted, stored.AlreadyCompleted));

        var plan = await WaitForNoticeAsync("plan:calaimhub.rtf.reconciled", n => n.Data.GetProperty("report").GetString()!.Contains(file, StringComparison.Ordinal));
        Assert.True(Assert.Single(plan.Data.GetProperty("periods").EnumerateArray()).GetProperty("reconciled").GetBoolean());
        await WaitForNoticeAsync("calaimhub.rtf.reconciled", n => n.Data.GetProperty("report").GetString()!.Contains(file, StringComparison.Ordinal));
        var figures = hub.Hub.Storage.Tables.GetTableClient("ReconciliationFigures");
        var first = (await figures.GetEntityAsync<Azure.Data.Tables.TableEntity>(ConsentHubFixture.Provider, period)).Value.GetDateTimeOffset("ReconciledAt");
        var row = await Eventually(async () => (await hub.Hub.Storage.Tables.GetTableClient("OutboundFiles").GetEntityAsync<Azure.Data.Tables.TableEntity>(period, $"{ConsentHubFixture.Provider}~mif~{period}")).Value,
            r => r.GetString("ReconciledRun") == stored.Report.RunId);
        Assert.True(row.GetBoolean("Reconciled"));

        // The same event delivered again (a visibility timeout ran out): nothing is redone, nothing sent again.
        var evt = CalAimHub.Ingestion.DomainEvent.FileStored(new CalAimHub.Ingestion.FileSubmission(stored.Report.RunId, ConsentHubFixture.Provider, "rtf", file, null, sentAt),
            0, stored.Report);
        foreach (var message in CalAimHub.Ingestion.Storage.TableRowDestination.EventMessages([evt]))
        {
            await hub.Hub.Storage.Queues.GetQueueClient("reconciliation-events").SendMessageAsync(message);
        }

        await Eventually(async () => (await hub.Hub.Storage.Queues.GetQueueClient("reconciliation-events").GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0);
        await Task.Delay(1500);
        Assert.Equal(first, (await figures.GetEntityAsync<Azure.Data.Tables.TableEntity>(ConsentHubFixture.Provider, period)).Value.GetDateTimeOffset("ReconciledAt"));
        Assert.Single(hub.Notices, n => n.Type == "plan:calaimhub.rtf.reconciled" && n.Data.GetProperty("report").GetString()!.Contains(file, StringComparison.Ordinal));
        Assert.Single(hub.Notices, n => n.Type == "calaimhub.rtf.reconciled" && n.Data.GetProperty("report").GetString()!.Contains(file, StringComparison.Ordinal));
        Assert.Contains(hub.Hub.HandlerOutput, l => l.Contains($"Reconciliation of run {stored.Report.RunId} (partner {ConsentHubFixture.Provider}) is already on the outbound ledger", StringComparison.Ordinal));
        Assert.Equal(0, hub.SignatureFailures);
    }

    private async Task<(string Type, string Raw, JsonElement Data)> WaitForNoticeAsync(string type, Func<(string Type, string Raw, JsonElement Data), bool> match)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline && !hub.Notices.Any(n => n.Type == type && match(n)))
        {
            await Task.Delay(100);
        }

        return Assert.Single(hub.Notices, n => n.Type == type && match(n));
    }

    private async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var value = await read();
                if (done(value) || DateTimeOffset.UtcNow > deadline)
                {
                    Assert.True(done(value), $"not reached within 60 s; handler:\n{string.Join('\n', hub.Hub.HandlerOutput.TakeLast(30))}");
                    return value;
                }
            }
            catch (Azure.RequestFailedException) when (DateTimeOffset.UtcNow < deadline)
            {
            }

            await Task.Delay(200);
        }
    }

    /// <summary>An RTF in layout B (it carries the Authorization Number), one row per member.</summary>
    private static string RtfB(params (string Cin, string Authorization, string Start, string ReferralStatus)[] rows) => RtfB("11/2026", rows);

    private static string RtfB(string period, params (string Cin, string Authorization, string Start, string ReferralStatus)[] rows)
    {
        string[] header =
        [
            "Member Client Index Number (CIN)", "Status of Member Engagement", "ECM Benefit Start Date", "ECM Benefit End Date", "Authorization Number",
            "ECM Provider Name", "ECM Provider NPI", "Member Information RTF Production Date", "Member Information RTF Reporting Period",
            "Referral Status", "Date of Referral Status Update",
        ];
        var lines = rows.Select(r => string.Join(',', r.Cin, "3", r.Start, "10/31/2027", r.Authorization, "Seventh ECM", "1000000004", "12/01/2026", period,
            r.ReferralStatus, r.ReferralStatus.Length > 0 ? "11/20/2026" : ""));
        return string.Join("\r\n", [string.Join(',', header), .. lines]) + "\r\n";
    }
}
