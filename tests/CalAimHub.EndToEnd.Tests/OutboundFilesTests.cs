using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using CalAimHub.Testing;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>
/// Issue 14 end to end through the local host: an assignment file in → MIFs for three providers with exact content, a re-run
/// that commits and announces nothing, a mini-MIF for a mid-cycle assignment, a CS authorization status file on its day
/// (a second host whose clock stands just before the 15th's 14:00 UTC timer), signed notices without member data, a
/// provider's fetch with its own key; and a handler killed (SIGKILL) mid-generation leaves no file and the retry completes.
/// </summary>
public sealed class OutboundFilesTests
{
    private const string Plan = "plan-feed";
    private const string ProviderKey = "sunrise-secret-key";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static readonly string Header = File.ReadLines(Path.Combine(Repository(), "samples", "files", "assignment.csv")).First();

    /// <summary>An assignment row: the sample's columns, with the given values and the rest empty.</summary>
    private static string Row(string provider, string type, string service, string date, string cin, string first, string last, string phone = "", string bh = "", string sud = "", string pof = "")
    {
        var columns = Header.Split(',');
        var values = new Dictionary<string, string>
        {
            ["Provider ID"] = provider,
            ["Provider Type"] = type,
            ["Community Support Service"] = service,
            ["Assignment Period"] = "01/2026",
            ["Assignment Date"] = date,
            ["Medi-Cal Member Client Index Number (CIN)"] = cin,
            ["Member First Name"] = first,
            ["Member Last Name"] = last,
            ["Member Date of Birth"] = "03/14/1961",
            ["Medi-Cal Coverage County"] = "Alameda",
            ["Primary Phone Number"] = phone,
            ["Behavioral Health Needs"] = bh,
            ["Substance Use Disorder Needs"] = sud,
            ["Population of Focus"] = pof,
        };
        return string.Join(',', columns.Select(c => values.GetValueOrDefault(c, "") is var v && v.Contains(',', StringComparison.Ordinal) ? $"\"{v}\"" : v));
    }

    private static Dictionary<string, string> Settings(Uri receiver) => new()
    {
        [$"Ingestion__Partners__{Plan}__Kinds__0"] = "assignment",
        ["Outbound__PlanCode"] = "PLANA",
        ["Notifications__RequireHttps"] = "false",
        ["Notifications__TimeoutSeconds"] = "5",
        [$"Notifications__Subscribers__{TestHub.Subscriber}__Secrets__0"] = TestHub.Secret,
        ["Ingestion__Partners__ecm-sunrise__Subscriber"] = TestHub.Subscriber,
        ["Ingestion__Partners__ecm-sunrise__NotificationUrl"] = receiver.ToString(),
        ["Ingestion__Partners__ecm-sunrise__ApiKeySha256__0"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ProviderKey))),
        ["Ingestion__Partners__ecm-lakeside__Subscriber"] = TestHub.Subscriber,
        ["Ingestion__Partners__ecm-lakeside__NotificationUrl"] = receiver.ToString(),
        ["Ingestion__Partners__cs-harbor__Subscriber"] = TestHub.Subscriber,
        ["Ingestion__Partners__cs-harbor__NotificationUrl"] = receiver.ToString(),
    };

    [Fact]
    public async Task Assignments_become_exact_mifs_a_rerun_is_silent_a_mid_cycle_member_gets_a_mini_mif_and_the_cs_status_file_goes_out_on_the_15th()
    {
        var data = Directory.CreateTempSubdirectory("calaimhub-outbound-").FullName;
        await using var receiver = await SubscriberReceiver.StartAsync(200);
        try
        {
            string sunrisePath, lakesidePath, harborPath;
            await using (var hub = await StartAsync(data, Settings(receiver.Url), timers: false))
            {
                using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };

                // An approved ECM authorization for the first member: its number and dates are joined into her MIF line.
                var request = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(await File.ReadAllTextAsync(Path.Combine(Repository(), "samples", "requests", "RequestAuthorization.json")))!;
                request["memberCin"] = JsonSerializer.SerializeToElement("91000041A");
                using var created = await client.PostAsJsonAsync("/api/authorizations", request);
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                var authorizationId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("authorizationId").GetString()!;
                using var decided = await client.PostAsync(new Uri($"/api/authorizations/{authorizationId}/decision", UriKind.Relative),
                    new StringContent(await File.ReadAllTextAsync(Path.Combine(Repository(), "samples", "requests", "DecideAuthorization.json")), Encoding.UTF8, "application/json"));
                Assert.True(decided.IsSuccessStatusCode, await decided.Content.ReadAsStringAsync());
                var view = await Eventually.ValueAsync(async () => JsonDocument.Parse(await client.GetStringAsync($"/api/authorizations/{authorizationId}")).RootElement,
                    v => v.GetProperty("period").ValueKind == JsonValueKind.Object, Patience, "the authorized period");
                var pacific = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
                string Date(JsonElement instant) => TimeZoneInfo.ConvertTime(instant.GetDateTimeOffset(), pacific).ToString("MM/dd/yyyy", System.Globalization.CultureInfo.InvariantCulture);
                var (start, end) = (Date(view.GetProperty("period").GetProperty("startsAt")), Date(view.GetProperty("period").GetProperty("endsAt")));
                var requested = Date(view.GetProperty("request").GetProperty("receivedAt"));
                var decidedOn = Date(view.GetProperty("decisions")[0].GetProperty("decidedAt"));

                await DropAsync(hub, "january.csv",
                    Row("ecm-sunrise", "ECM", "", "12/20/2025", "91000041A", "Rosalind", "Quillfeather", "510-555-0131", "Depression", "Opioid use disorder", "1a"),
                    Row("ecm-sunrise", "ECM", "", "12/20/2025", "91000042B", "Tomas", "Brightwater, Jr.", "", "", "", "3"),
                    Row("ecm-lakeside", "ECM", "", "12/21/2025", "91000043C", "Mei", "Ashgrove", "", "", "", "5"),
                    Row("cs-harbor", "CS", "HTNS", "12/22/2025", "91000044D", "Ines", "Okafor", "510-555-0144"));
                await WaitForAssignmentsAsync(hub, 4);

                using var generate = await client.PostAsync(new Uri("/api/outbound/2026-01/generate", UriKind.Relative), null);
                Assert.Equal(HttpStatusCode.Accepted, generate.StatusCode);
                Assert.Equal(3, JsonDocument.Parse(await generate.Content.ReadAsStringAsync()).RootElement.GetProperty("queued").GetArrayLength());
                var files = await DeliveredAsync(hub, 3);

                sunrisePath = files.Single(f => f.ProviderId == "ecm-sunrise").Path;
                lakesidePath = files.Single(f => f.ProviderId == "ecm-lakeside").Path;
                harborPath = files.Single(f => f.ProviderId == "cs-harbor").Path;
                Assert.Equal(("ecm-sunrise/mif/PLANA_ECM_MIF_ecm-sunrise_202601.csv", "cs-harbor/cs-mif/PLANA_CS_MIF_cs-harbor_202601.csv"), (sunrisePath, harborPath));

                const string EcmHeader = "Member Information File Reporting Period,Member Information File Production Date,Provider ID,Medi-Cal Member Client Index Number (CIN),"
                    + "Medical Record Number (MRN),Member First Name,Member Last Name,Member Date of Birth,Member Gender Code,Member Residential Address,Member Residential City,"
                    + "Member Residential Zip Code,Member Mailing Address,Member Mailing City,Member Mailing Zip Code,Medi-Cal Coverage County,Primary Phone Number,Home Phone Number,"
                    + "Member Email Address,Member Preferred Language (Spoken),Emergency/Alternate Contact Name,Emergency/Alternate Contact Relation,"
                    + "Emergency/Alternate Contact Phone Number,Emergency/Alternate Contact Email Address,Population of Focus,Member Acuity Level,"
                    + "Emergency Department Visits (12 Months),Inpatient Admissions (12 Months),Medical Needs,Behavioral Health Needs,Substance Use Disorder Needs,Housing Type,"
                    + "Social Needs,Authorization Number,Authorization Start Date,Authorization End Date,Date Received Request for Authorization,"
                    + "Date of Referral Authorization Decision,Referring Organization\r\n";
                // The SUD column is 42 CFR Part 2: withheld without a Part 2 consent (the hub baseline), so it is empty.
                Assert.Equal(EcmHeader
                    + $"01/2026,01/01/2026,ecm-sunrise,91000041A,,Rosalind,Quillfeather,03/14/1961,,,,,,,,Alameda,5105550131,,,,,,,,1a,,,,,Depression,,,,{authorizationId},{start},{end},{requested},{decidedOn},St. Rosa Medical Center discharge planning\r\n"
                    + "01/2026,01/01/2026,ecm-sunrise,91000042B,,Tomas,\"Brightwater, Jr.\",03/14/1961,,,,,,,,Alameda,,,,,,,,,3,,,,,,,,,,,,,,\r\n",
                    await TextAsync(hub, sunrisePath));
                Assert.Equal(EcmHeader + "01/2026,01/01/2026,ecm-lakeside,91000043C,,Mei,Ashgrove,03/14/1961,,,,,,,,Alameda,,,,,,,,,5,,,,,,,,,,,,,,\r\n",
                    await TextAsync(hub, lakesidePath));
                Assert.Equal(
                    "Member First Name,Member Last Name,Medical Record Number (MRN),Medi-Cal Member Client Index Number (CIN),Member Gender Code,Client_ID2,Member Residential City,"
                    + "Member Residential Zip Code,Member Mailing Address,Member Mailing City,Member Mailing Zip Code,Medi-Cal Coverage County,Member Date of Birth,Primary Phone Number,"
                    + "Home Phone Number,Referring Organization,Referring Individual Name,Referring Individual Phone Number,Referring Individual Email Address,"
                    + "Emergency/ Alternate Contact Name,Emergency/Alternate Contact Relation,Emergency/Alternate Contact Phone Number,Emergency/Alternate Contact Email Address,"
                    + "Member Email Address,Authorization Number,Authorization Start Date,Authorization End Date,Date Received Request for Authorization,"
                    + "Date of Referral Authorization Decision,Community Support Service\r\n"
                    + "Ines,Okafor,,91000044D,,,,,,,,Alameda,03/14/1961,5105550144,,,,,,,,,,,,,,,,HTNS\r\n",
                    await TextAsync(hub, harborPath));
                Assert.Equal(2, files.Single(f => f.ProviderId == "ecm-sunrise").Withheld["substance-use-disorder"]);

                // Three signed notices, one per file: the path, never member data.
                var notices = await Eventually.ValueAsync(() => Task.FromResult(receiver.Requests.ToArray()), r => r.Length >= 3, Patience, "three notices");
                await Task.Delay(TimeSpan.FromSeconds(2));
                Assert.Equal(3, receiver.Requests.Count);
                foreach (var notice in notices)
                {
                    Assert.Null(StandardWebhookSignature.Verify(notice.Headers[StandardWebhookSignature.IdHeader], notice.Headers[StandardWebhookSignature.TimestampHeader],
                        notice.Headers[StandardWebhookSignature.SignatureHeader], notice.Body, [TestHub.Secret], DateTimeOffset.UtcNow));
                    var body = Encoding.UTF8.GetString(notice.Body);
                    Assert.DoesNotContain("9100004", body, StringComparison.Ordinal);
                    Assert.DoesNotContain("Quillfeather", body, StringComparison.Ordinal);
                    Assert.Equal("calaimhub.outbound.file-available", JsonDocument.Parse(body).RootElement.GetProperty("type").GetString());
                }

                Assert.Equal([harborPath, lakesidePath, sunrisePath], notices.Select(n => JsonDocument.Parse(n.Body).RootElement.GetProperty("data").GetProperty("path").GetString()).Order(StringComparer.Ordinal));

                // A re-run of the period: the same bytes, nothing committed (same ETag), no notice.
                var etags = await ETagsAsync(hub, sunrisePath, lakesidePath, harborPath);
                using (var again = await client.PostAsync(new Uri("/api/outbound/2026-01/generate", UriKind.Relative), null))
                {
                    Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
                }

                await DrainedAsync(hub, "outbound-generation");
                await Task.Delay(TimeSpan.FromSeconds(3));
                Assert.Equal(etags, await ETagsAsync(hub, sunrisePath, lakesidePath, harborPath));
                Assert.Equal(3, receiver.Requests.Count);

                // The provider fetches its file with its own key; without it, 401; the fetch is on the console.
                var fetch = new HttpRequestMessage(HttpMethod.Get, "/api/outbound/" + sunrisePath);
                fetch.Headers.Add("X-Api-Key", ProviderKey);
                using var fetched = await client.SendAsync(fetch);
                Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
                Assert.Equal(await TextAsync(hub, sunrisePath), await fetched.Content.ReadAsStringAsync());
                var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/outbound/" + lakesidePath);
                wrong.Headers.Add("X-Api-Key", ProviderKey);
                using var refused = await client.SendAsync(wrong);
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
                Assert.Equal("send the provider's API key in the X-Api-Key header; a key opens only its own provider's files",
                    JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
                var console = JsonDocument.Parse(await client.GetStringAsync("/api/console/outbound?period=2026-01&provider=ecm-sunrise")).RootElement;
                var item = Assert.Single(console.GetProperty("items").EnumerateArray());
                Assert.Equal((sunrisePath, 2, "delivered"), (item.GetProperty("path").GetString(), item.GetProperty("members").GetInt32(), item.GetProperty("status").GetString()));
                Assert.Equal(JsonValueKind.String, item.GetProperty("fetchedAt").ValueKind);
                Assert.Equal(2, item.GetProperty("withheldFields").GetProperty("substance-use-disorder").GetInt32());
                Assert.Equal(JsonValueKind.Null, item.GetProperty("reconciled").ValueKind); // no RTF for January yet
                // The list reads the ledger row only: a figure alone changes nothing, the reconciler's mark on the row does.
                await hub.Storage.Tables.GetTableClient("ReconciliationFigures").UpsertEntityAsync(new TableEntity("ecm-sunrise", "2026-01") { ["Reconciled"] = true });
                var figureOnly = JsonDocument.Parse(await client.GetStringAsync("/api/console/outbound?period=2026-01&provider=ecm-sunrise")).RootElement;
                Assert.Equal(JsonValueKind.Null, Assert.Single(figureOnly.GetProperty("items").EnumerateArray()).GetProperty("reconciled").ValueKind);
                await hub.Storage.Tables.GetTableClient("OutboundFiles").UpsertEntityAsync(
                    new TableEntity("2026-01", "ecm-sunrise~mif~2026-01") { ["Reconciled"] = false, ["ReconciledRun"] = "run-x" }, TableUpdateMode.Merge);
                var afterRtf = JsonDocument.Parse(await client.GetStringAsync("/api/console/outbound?period=2026-01&provider=ecm-sunrise")).RootElement;
                Assert.False(Assert.Single(afterRtf.GetProperty("items").EnumerateArray()).GetProperty("reconciled").GetBoolean());

                // A member assigned between cycles: a mini-MIF with that member alone, and its notice.
                await DropAsync(hub, "january-late.csv", Row("ecm-lakeside", "ECM", "", "01/17/2026", "91000045E", "Arturo", "Nakamura", "", "", "", "6"));
                var mini = await Eventually.ValueAsync(async () => await FilesAsync(hub, "mini-mif"), f => f.Any(x => x.Status == "delivered"), Patience, "the mini-MIF");
                var miniPath = Assert.Single(mini).Path;
                Assert.StartsWith("ecm-lakeside/mini-mif/PLANA_MINI_MIF_ecm-lakeside_20260117_", miniPath, StringComparison.Ordinal);
                Assert.Equal(EcmHeader + "01/2026,01/17/2026,ecm-lakeside,91000045E,,Arturo,Nakamura,03/14/1961,,,,,,,,Alameda,,,,,,,,,6,,,,,,,,,,,,,,\r\n",
                    await TextAsync(hub, miniPath));
                await Eventually.ValueAsync(() => Task.FromResult(receiver.Requests.Count), n => n >= 4, Patience, "the mini-MIF's notice");

                Assert.DoesNotContain(hub.HandlerOutput, l => l.Contains("9100004", StringComparison.Ordinal) || l.Contains("Quillfeather", StringComparison.Ordinal));
            }

            // The 15th: a host whose clock stands half a minute before the daily 14:00 UTC schedule (the host's start-up
            // included), timers on.
            var shifted = new ShiftedTimeProvider(new DateTimeOffset(2026, 1, 15, 13, 59, 30, TimeSpan.Zero));
            await using (var hub = await StartAsync(data, Settings(receiver.Url), timers: true, shifted))
            {
                var status = await Eventually.ValueAsync(async () => await FilesAsync(hub, "cs-authorization-status"), f => f.Any(x => x.Status == "delivered"), Patience, "the CS status file");
                var path = Assert.Single(status).Path;
                Assert.Equal("cs-harbor/cs-authorization-status/PLANA_CSASF_cs-harbor_20260115.csv", path);
                Assert.Equal(
                    "Member Information File Production Date,Provider ID,Medi-Cal Member Client Index Number (CIN),Medical Record Number (MRN),Member First Name,Member Last Name,"
                    + "Member Date of Birth,Community Support Service,Authorization Number,Member Record Status,Authorization Start Date,Authorization End Date,"
                    + "Date Received Request for Authorization,Date of Referral Authorization Decision\r\n"
                    + "01/15/2026,cs-harbor,91000044D,,Ines,Okafor,03/14/1961,HTNS,,not-requested,,,,\r\n",
                    await TextAsync(hub, path));
                await Eventually.ValueAsync(() => Task.FromResult(receiver.Requests.Count), n => n >= 5, Patience, "the CS status file's notice");
            }
        }
        finally
        {
            TryDelete(data);
        }
    }

    [Fact]
    public async Task A_handler_killed_mid_generation_leaves_no_file_and_the_retry_completes_it()
    {
        const int Members = 1500;
        var data = Directory.CreateTempSubdirectory("calaimhub-outbound-kill-").FullName;
        const string Path = "ecm-big/mif/PLANA_ECM_MIF_ecm-big_202601.csv";
        var settings = new Dictionary<string, string> { [$"Ingestion__Partners__{Plan}__Kinds__0"] = "assignment", ["Outbound__PlanCode"] = "PLANA" };
        try
        {
            await using (var first = await StartAsync(data, settings, timers: false))
            {
                await DropAsync(first, "big.csv", [.. Enumerable.Range(1, Members).Select(n => Row("ecm-big", "ECM", "", "12/20/2025",
                    (91100000 + n).ToString(System.Globalization.CultureInfo.InvariantCulture) + "K", "First" + n, "Last" + n, pof: "1a"))]);
                await WaitForAssignmentsAsync(first, Members);
                using var client = new HttpClient { BaseAddress = first.ApiBaseAddress };
                using (var generate = await client.PostAsync(new Uri("/api/outbound/2026-01/generate", UriKind.Relative), null))
                {
                    Assert.Equal(HttpStatusCode.Accepted, generate.StatusCode);
                }

                await Eventually.ValueAsync(async () => await FilesAsync(first, "mif"), f => f.Any(x => x.Status == "generating"), Patience, "the generation to start");
                using (var handler = Process.GetProcessById(first.HandlerProcessId!.Value))
                {
                    handler.Kill();
                }

                Assert.Equal(137, await first.HandlerExited.WaitAsync(Patience));
                Assert.Equal("generating", Assert.Single(await FilesAsync(first, "mif")).Status);
                var blob = first.Storage.Blobs.GetBlobContainerClient("outbound").GetBlobClient(Path);
                Assert.False((await blob.ExistsAsync()).Value, "a file is visible although its generation was killed");
            }

            await using var second = await StartAsync(data, settings, timers: false);
            var done = await Eventually.ValueAsync(async () => await FilesAsync(second, "mif"), f => f.Any(x => x.Status == "delivered"), Patience, "the retried generation");
            var text = await TextAsync(second, Assert.Single(done).Path);
            var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Members + 1, lines.Length);
            Assert.Equal(Members, lines.Skip(1).Select(l => l.Split(',')[3]).Distinct().Count());
        }
        finally
        {
            TryDelete(data);
        }
    }

    /// <summary>
    /// The SFTP exchange account, on Azurite (which has no SFTP): the same account's blob endpoint stands in for it, with the
    /// per-partner in-/out- containers. An outbound file is also committed to the provider's out- container, byte for byte
    /// and once; a provider without exchange containers is skipped; a file written into an in- container is copied to
    /// inbound/{partner}/… once (a redelivered event copies nothing) and ingested there; a hostile container is ignored.
    /// </summary>
    [Fact]
    public async Task With_an_exchange_account_outbound_files_are_mirrored_to_out_containers_and_in_container_files_are_ingested()
    {
        var data = Directory.CreateTempSubdirectory("calaimhub-exchange-").FullName;
        int[] ports = [.. Enumerable.Range(0, 3).Select(_ => new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0)).Select(l =>
        {
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        })];
        Assert.Equal(3, ports.Distinct().Count());
        var exchange = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint=http://127.0.0.1:{ports[0]}/devstoreaccount1;";
        var settings = new Dictionary<string, string>
        {
            [$"Ingestion__Partners__{Plan}__Kinds__0"] = "assignment",
            ["Ingestion__Partners__ecmsftp__Kinds__0"] = "rtf",
            ["Outbound__PlanCode"] = "PLANA",
            ["Exchange__ConnectionString"] = exchange,
        };
        try
        {
            await using var hub = await LocalHub.StartAsync(new LocalHubOptions
            {
                DataDirectory = data,
                HttpPort = 0,
                BlobPort = ports[0],
                QueuePort = ports[1],
                TablePort = ports[2],
                UseLocalSettingsFile = false,
                EnableTimerTriggers = false,
                BlobPollInterval = TimeSpan.FromMilliseconds(200),
                HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.250" },
                AppSettings = settings,
            });
            var blobs = new Azure.Storage.Blobs.BlobServiceClient(exchange);
            await blobs.GetBlobContainerClient("out-ecmsftp").CreateIfNotExistsAsync();
            await blobs.GetBlobContainerClient("in-ecmsftp").CreateIfNotExistsAsync();

            await DropAsync(hub, "exchange.csv",
                Row("ecmsftp", "ECM", "", "12/20/2025", "91000051A", "Ada", "Lindqvist", "510-555-0151", pof: "1a"),
                Row("ecmsftp", "ECM", "", "12/20/2025", "91000052B", "Bo", "Marsh", pof: "3"),
                Row("ecm-nosftp", "ECM", "", "12/20/2025", "91000053C", "Cy", "Ortega", pof: "5"));
            try
            {
                await WaitForAssignmentsAsync(hub, 3);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException(e.Message + "\nhandler:\n" + string.Join('\n', hub.HandlerOutput.TakeLast(40)), e);
            }
            using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };
            using (var generate = await client.PostAsync(new Uri("/api/outbound/2026-01/generate", UriKind.Relative), null))
            {
                Assert.Equal(HttpStatusCode.Accepted, generate.StatusCode);
            }

            var files = await DeliveredAsync(hub, 2);
            var path = Assert.Single(files, f => f.ProviderId == "ecmsftp").Path;
            Assert.Equal("ecmsftp/mif/PLANA_ECM_MIF_ecmsftp_202601.csv", path);
            var main = hub.Storage.Blobs.GetBlobContainerClient("outbound").GetBlobClient(path);
            var copy = blobs.GetBlobContainerClient("out-ecmsftp").GetBlobClient("mif/PLANA_ECM_MIF_ecmsftp_202601.csv");
            Assert.Equal((await main.DownloadContentAsync()).Value.Content.ToArray(), (await copy.DownloadContentAsync()).Value.Content.ToArray());
            var copied = (await copy.GetPropertiesAsync()).Value;
            Assert.Equal((await main.GetPropertiesAsync()).Value.Metadata["sha256"], copied.Metadata["sha256"]);
            // Only the provider's own out- container holds its file; the provider without exchange containers got none.
            Assert.Equal(["mif/PLANA_ECM_MIF_ecmsftp_202601.csv"], await NamesAsync(blobs.GetBlobContainerClient("out-ecmsftp")));
            Assert.False((await blobs.GetBlobContainerClient("out-ecm-nosftp").ExistsAsync()).Value);

            // A re-run: same bytes, so the copy is not committed again.
            using (var again = await client.PostAsync(new Uri("/api/outbound/2026-01/generate", UriKind.Relative), null))
            {
                Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
            }

            await DrainedAsync(hub, "outbound-generation");
            Assert.Equal(copied.ETag, (await copy.GetPropertiesAsync()).Value.ETag);

            // In: a file the partner wrote over SFTP to in-ecmsftp/rtf/…, announced twice (Event Grid redelivers), and an
            // event from a container that only looks like one.
            var rtf = await File.ReadAllBytesAsync(Path.Combine(Repository(), "samples", "files", "rtf-b.csv"));
            var dropped = (await blobs.GetBlobContainerClient("in-ecmsftp").GetBlobClient("rtf/over-sftp.csv").UploadAsync(new BinaryData(rtf), overwrite: true)).Value;
            var queue = hub.Storage.Queues.GetQueueClient("blob-created");
            foreach (var (container, name) in new[] { ("in-ecmsftp", "rtf/over-sftp.csv"), ("in-ecmsftp", "rtf/over-sftp.csv"), ("in-ECMSFTP", "rtf/over-sftp.csv"), ("in-ecmsftp", "../escape.csv") })
            {
                await queue.SendMessageAsync(JsonSerializer.Serialize(new
                {
                    id = Guid.NewGuid().ToString(),
                    eventType = "Microsoft.Storage.BlobCreated",
                    subject = $"/blobServices/default/containers/{container}/blobs/{name}",
                    data = new { url = $"http://127.0.0.1:{ports[0]}/devstoreaccount1/{container}/{name}", eTag = dropped.ETag.ToString() },
                }));
            }

            var report = hub.Storage.Blobs.GetBlobContainerClient("results").GetBlobClient("ecmsftp/rtf/over-sftp.csv.report.json");
            await Eventually.ValueAsync(async () => (await report.ExistsAsync()).Value, e => e, Patience, "the report of the file dropped over SFTP");
            await DrainedAsync(hub, "blob-created");
            var forwarded = (await hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient("ecmsftp/rtf/over-sftp.csv").GetPropertiesAsync()).Value;
            Assert.Equal(dropped.ETag.ToString().Trim('"'), forwarded.Metadata["exchangeetag"]);
            Assert.Equal(rtf, (await hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient("ecmsftp/rtf/over-sftp.csv").DownloadContentAsync()).Value.Content.ToArray());
            // One copy (one version in inbound/ecmsftp/), one ingestion run; the hostile names reached nothing.
            Assert.Equal(["ecmsftp/rtf/over-sftp.csv"], await NamesAsync(hub.Storage.Blobs.GetBlobContainerClient("inbound"), "ecmsftp/"));
            var runs = 0;
            await foreach (var _ in hub.Storage.Tables.GetTableClient("IngestRuns").QueryAsync<TableEntity>(e => e.PartitionKey == "ecmsftp", select: ["RowKey"]))
            {
                runs++;
            }

            Assert.Equal(1, runs);
            Assert.Equal(forwarded.ETag, (await hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient("ecmsftp/rtf/over-sftp.csv").GetPropertiesAsync()).Value.ETag);
        }
        finally
        {
            TryDelete(data);
        }
    }

    private static async Task<List<string>> NamesAsync(Azure.Storage.Blobs.BlobContainerClient container, string? prefix = null)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
        {
            if (!blob.Name.EndsWith(".manifest.json", StringComparison.Ordinal))
            {
                names.Add(blob.Name);
            }
        }

        return names;
    }

    private sealed record OutboundFile(string ProviderId, string Path, string Status, IReadOnlyDictionary<string, int> Withheld);

    private static async Task<LocalHub> StartAsync(string data, IReadOnlyDictionary<string, string> settings, bool timers, TimeProvider? time = null)
    {
        var log = new ConcurrentQueue<string>();
        return await LocalHub.StartAsync(new LocalHubOptions
        {
            DataDirectory = data,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableTimerTriggers = timers,
            TimeProvider = time ?? TimeProvider.System,
            BlobPollInterval = TimeSpan.FromMilliseconds(200),
            Log = log.Enqueue,
            HostOverrides = new Dictionary<string, string>
            {
                ["extensions:queues:maxPollingInterval"] = "00:00:00.250",
                ["extensions:queues:visibilityTimeout"] = "00:00:03",
            },
            AppSettings = settings,
        });
    }

    private static async Task DropAsync(LocalHub hub, string name, params string[] rows) =>
        await hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{Plan}/assignment/{name}")
            .UploadAsync(new BinaryData(Encoding.UTF8.GetBytes(Header + "\r\n" + string.Join("\r\n", rows) + "\r\n")), overwrite: true);

    private static Task WaitForAssignmentsAsync(LocalHub hub, int members) =>
        Eventually.ValueAsync(async () =>
        {
            var count = 0;
            await foreach (var _ in hub.Storage.Tables.GetTableClient("OutboundAssignments").QueryAsync<TableEntity>(e => e.PartitionKey.CompareTo("period|") < 0 || e.PartitionKey.CompareTo("period|~") > 0, select: ["RowKey"]))
            {
                count++;
            }

            return count;
        }, n => n >= members, Patience, $"{members} assignment rows");

    private static async Task<List<OutboundFile>> DeliveredAsync(LocalHub hub, int files) =>
        await Eventually.ValueAsync(async () => (await FilesAsync(hub, null)).Where(f => f.Status == "delivered").ToList(), f => f.Count >= files, Patience, $"{files} delivered files");

    private static async Task<List<OutboundFile>> FilesAsync(LocalHub hub, string? kind)
    {
        var files = new List<OutboundFile>();
        await foreach (var row in hub.Storage.Tables.GetTableClient("OutboundFiles").QueryAsync<TableEntity>(e => e.PartitionKey == "2026-01"))
        {
            if (kind is null || row.GetString("Kind") == kind)
            {
                files.Add(new OutboundFile(row.GetString("ProviderId")!, JsonSerializer.Deserialize<string[]>(row.GetString("Paths") ?? "[]")!.FirstOrDefault() ?? "",
                    row.GetString("Status")!, JsonSerializer.Deserialize<Dictionary<string, int>>(row.GetString("WithheldFields") ?? "{}")!));
            }
        }

        return files;
    }

    private static async Task<string> TextAsync(LocalHub hub, string path) =>
        (await hub.Storage.Blobs.GetBlobContainerClient("outbound").GetBlobClient(path).DownloadContentAsync()).Value.Content.ToString();

    private static async Task<ETag[]> ETagsAsync(LocalHub hub, params string[] paths) =>
        await Task.WhenAll(paths.Select(async p => (await hub.Storage.Blobs.GetBlobContainerClient("outbound").GetBlobClient(p).GetPropertiesAsync()).Value.ETag));

    private static Task DrainedAsync(LocalHub hub, string queue) =>
        Eventually.ValueAsync(async () => (await hub.Storage.Queues.GetQueueClient(queue).GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, Patience, $"{queue} drained");

    private static string Repository()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "CalAimHub.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException("no CalAimHub.sln above the test output folder");
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Real time moved to a chosen instant: timers fire on their schedule as that clock reads it, at real speed.</summary>
    private sealed class ShiftedTimeProvider(DateTimeOffset start) : TimeProvider
    {
        private readonly TimeSpan offset = start - TimeProvider.System.GetUtcNow();

        public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + offset;
    }
}
