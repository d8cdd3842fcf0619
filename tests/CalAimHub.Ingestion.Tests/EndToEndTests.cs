using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;

namespace CalAimHub.Ingestion.Tests;

/// <summary>Through the local host exactly as in Azure: blob in <c>inbound</c> → BlobCreated event → IngestPartnerFile → storage.</summary>
[Collection(HubCollection.Name)]
public sealed class EndToEndTests(HubFixture hub)
{
    [Fact]
    public async Task A_dropped_rtf_is_reported_stored_announced_and_notified()
    {
        var rows = Enumerable.Range(1, 250).Select(n => n % 50 == 0 ? Samples.RtfA(n).With("ECM Provider NPI", "1234567890") : Samples.RtfA(n)).ToArray();
        const string blob = $"{HubFixture.Partner}/rtf/2025-12 RTF.csv";
        await hub.DropAsync(blob, Samples.Utf8(Samples.Csv(rows)));

        var report = await hub.WaitForReportAsync(blob);

        Assert.Equal((IngestOutcome.PartiallyAccepted, 250, 245, 5), (report.Outcome, report.RowsRead, report.RowsAccepted, report.RowsRejected));
        Assert.Equal([51, 101, 151, 201, 251], report.Problems.Select(p => p.Row));
        Assert.All(report.Problems, p => Assert.Equal(("ECM Provider NPI", "value.npi"), (p.Column, p.Rule)));
        var stored = await hub.RowsOfAsync(HubFixture.Partner, "rtf");
        Assert.Equal(245, stored.Count);
        Assert.Equal(245, stored.Select(r => r.GetString("MemberCin")).Distinct().Count());
        Assert.Equal(report.RunId, stored[0].GetString("IngestRunId"));
        var csv = await hub.Results.GetBlobClient(blob + ".report.csv").DownloadContentAsync();
        Assert.Equal(1 + 5, csv.Value.Content.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True((await hub.Inbound.GetBlobClient(blob).ExistsAsync()).Value, "the original blob is kept");

        var events = (await hub.DomainEventsAsync()).Where(e => e.GetProperty("data").GetProperty("partnerId").GetString() == HubFixture.Partner &&
            e.GetProperty("type").GetString() == "calaimhub.rtf.referral-status-updated").ToArray();
        Assert.Equal(245, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count());

        var run = (await hub.Runs.GetEntityAsync<TableEntity>(HubFixture.Partner, report.RunId)).Value;
        Assert.Equal(("completed", IngestOutcome.PartiallyAccepted, "A-2023.1", 245), (run.GetString("Status"), run.GetString("Outcome"), run.GetString("SchemaVersion"), run.GetInt32("RowsAccepted")));
        Assert.NotNull(run.GetInt64("TotalMs"));

        var delivery = await WaitForAsync(() => hub.Deliveries.FirstOrDefault(d => d.Id == "ingest-" + report.RunId));
        using var cloudEvent = JsonDocument.Parse(delivery.Body);
        Assert.Equal("calaimhub.file.processed", cloudEvent.RootElement.GetProperty("type").GetString());
        Assert.Equal(245, cloudEvent.RootElement.GetProperty("data").GetProperty("rowsAccepted").GetInt32());
    }

    [Fact]
    public async Task Dropping_the_same_file_twice_stores_each_row_once_and_repeats_only_event_ids()
    {
        var file = Samples.Utf8(Samples.Csv(Enumerable.Range(1, 120).Select(Samples.Invoice)));
        const string blob = $"{HubFixture.Partner}/invoice/INV-2026-0001.csv";

        await hub.DropAsync(blob, file);
        var first = await hub.WaitForReportAsync(blob);
        await hub.DropAsync(blob, file, overwrite: true);
        var second = await hub.WaitForReportAsync(blob);

        Assert.NotEqual(first.RunId, second.RunId);
        Assert.Equal((120, 120), (first.RowsAccepted, second.RowsAccepted));
        var stored = await hub.RowsOfAsync(HubFixture.Partner, "invoice");
        Assert.Equal(120, stored.Count);
        Assert.All(stored, r => Assert.Equal(second.RunId, r.GetString("IngestRunId")));
        var published = await hub.DomainEventsAsync(); // read once: reading hides the messages for 30 s
        var events = published.Where(e => e.GetProperty("type").GetString() == "calaimhub.invoice.received").ToArray();
        Assert.Equal(120, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
        // Every line's event names its batch's member row, which holds that line's CIN (the event itself carries none).
        var memberRows = (await hub.RowsOfAsync(HubFixture.Partner, "invoice", memberRows: true))
            .ToDictionary(m => (m.PartitionKey, m.RowKey), m => JsonSerializer.Deserialize<Dictionary<string, string>>(m.GetString(TableRowDestination.MemberCinsColumn))!);
        var cins = stored.ToDictionary(r => (r.PartitionKey, r.RowKey), r => r.GetString("MemberCin"));
        Assert.All(events, e =>
        {
            var data = e.GetProperty("data");
            var row = (data.GetProperty("partitionKey").GetString()!, data.GetProperty("rowKey").GetString()!);
            Assert.False(data.TryGetProperty("MemberCin", out _));
            Assert.Equal(cins[row], memberRows[(row.Item1, data.GetProperty(TableRowDestination.MemberRowField).GetString()!)][row.Item2]);
        });
        Assert.All(events, e => Assert.Contains(e.GetProperty("data").GetProperty("runId").GetString(), new[] { first.RunId, second.RunId }));
        // One file-stored event per run, after its lines, counting them: the invoice consumer starts each invoice once from it.
        var fileStored = published.Where(e => e.GetProperty("type").GetString() == DomainEvent.FileStoredType)
            .Select(e => (Run: e.GetProperty("data").GetProperty("runId").GetString()!, Lines: e.GetProperty("data").GetProperty("lines").GetString()!)).Order().ToArray();
        Assert.Equal(new[] { (first.RunId, "120"), (second.RunId, "120") }.Order().ToArray(), fileStored);
    }

    [Theory]
    [InlineData("nobody/rtf/a.csv", "file.unknown-partner")]
    [InlineData(HubFixture.Partner + "/mif/a.csv", "file.unknown-kind")]
    [InlineData(HubFixture.Silent + "/rtf/a.csv", "file.kind-not-allowed")]
    [InlineData("loose-file.csv", "file.path")]
    public async Task A_file_that_cannot_be_routed_gets_a_rejection_report_and_stores_nothing(string blob, string rule)
    {
        await hub.DropAsync(blob, Samples.Utf8(Samples.Csv([Samples.RtfA(900)])));

        var report = await hub.WaitForReportAsync(blob);

        Assert.Equal((IngestOutcome.Rejected, rule), (report.Outcome, report.Problems.Single().Rule));
        Assert.DoesNotContain(await hub.RowsOfAsync(blob.Split('/')[0], "rtf"), r => r.GetString("MemberCin") == Samples.Cin(900));
    }

    [Fact]
    public async Task A_binary_file_is_rejected_and_nothing_is_stored()
    {
        const string blob = $"{HubFixture.Silent}/referral/scan.pdf";
        await hub.DropAsync(blob, [0x25, 0x50, 0x44, 0x46, 0x2D, 0x31, 0x2E, 0x37, 0x0A, 0x00, 0xFF, 0xFE]);

        var report = await hub.WaitForReportAsync(blob);

        Assert.Equal("file.binary", report.Problems.Single().Rule);
        Assert.Empty(await hub.RowsOfAsync(HubFixture.Silent, "referral"));
    }

    [Fact]
    public async Task No_member_phi_reaches_the_handler_logs()
    {
        var rows = Enumerable.Range(700, 40).Select(n => Samples.Referral(n).With("Member Last Name", "Zzyzxphi" + n)).ToList();
        rows[3] = rows[3].With("Member CIN", "98765432");
        rows[4] = rows[4].With("Member Date of Birth", "02/31/1960");
        const string blob = $"{HubFixture.Silent}/referral/batch-phi.csv";
        await hub.DropAsync(blob, Samples.Utf8(Samples.Csv(rows)));

        var report = await hub.WaitForReportAsync(blob);

        Assert.Equal(38, report.RowsAccepted);
        var logs = string.Join('\n', hub.Hub.HandlerOutput);
        Assert.Contains(report.RunId, logs, StringComparison.Ordinal); // the run is logged …
        Assert.DoesNotContain("Zzyzxphi", logs, StringComparison.Ordinal); // … its members are not
        Assert.DoesNotContain("98765432", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("02/31/", logs, StringComparison.Ordinal);
        Assert.All(rows, r => Assert.DoesNotContain(r["Member CIN"], logs, StringComparison.Ordinal));
        Assert.DoesNotContain("batch-phi", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dry_run_answers_the_report_and_stores_nothing()
    {
        using var client = new HttpClient { BaseAddress = hub.Hub.ApiBaseAddress };
        var file = Samples.Utf8(Samples.Csv([Samples.Otf(801), Samples.Otf(802).With("ECM Provider TIN", "07-1234567")]));
        using var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        using var response = await client.PostAsync(new Uri($"/api/files/validate?kind=otf&partner={HubFixture.Partner}", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = IngestReport.FromJson(await response.Content.ReadAsStringAsync());
        Assert.True(report.DryRun);
        Assert.Equal((1, 1), (report.RowsAccepted, report.RowsRejected));
        Assert.Equal((3, "ECM Provider TIN", "value.tin"), (report.Problems.Single().Row, report.Problems.Single().Column, report.Problems.Single().Rule));
        Assert.Empty(await hub.RowsOfAsync(HubFixture.Partner, "otf"));
    }

    [Fact]
    public async Task A_dry_run_larger_than_the_servers_default_body_limit_is_validated()
    {
        using var client = new HttpClient { BaseAddress = hub.Hub.ApiBaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var file = OtfFileOfAtLeast(31_000_000); // Kestrel's default limit is 30,000,000 bytes
        using var content = new ByteArrayContent(file.Bytes);

        using var response = await client.PostAsync(new Uri($"/api/files/validate?kind=otf&partner={HubFixture.Partner}", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = IngestReport.FromJson(await response.Content.ReadAsStringAsync());
        Assert.Equal((IngestOutcome.Accepted, file.Rows, 0), (report.Outcome, report.RowsAccepted, report.RowsRejected));
    }

    [Fact]
    public async Task A_dry_run_over_the_HTTP_limit_is_a_413_pointing_to_the_drop_path()
    {
        using var client = new HttpClient { BaseAddress = hub.Hub.ApiBaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        using var content = new ByteArrayContent(OtfFileOfAtLeast(HubFixture.ValidateLimit + 1).Bytes);

        using var response = await client.PostAsync(new Uri($"/api/files/validate?kind=otf&partner={HubFixture.Partner}", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("File too large to validate over HTTP", problem.RootElement.GetProperty("title").GetString());
        Assert.Equal(
            "a dry run over HTTP takes files up to 41,943,040 bytes (the Functions HTTP limit); drop the file into inbound/<partner>/<kind>/ instead: " +
            "files up to 536,870,912 bytes are checked there, and the report says the same",
            problem.RootElement.GetProperty("detail").GetString());
    }

    private static (byte[] Bytes, int Rows) OtfFileOfAtLeast(long bytes)
    {
        var row = Samples.Csv([Samples.Otf(1)]).Split("\r\n")[1].Length + 2;
        var rows = (int)(bytes / row) + 1;
        return (Samples.Utf8(Samples.Csv(Enumerable.Range(1, rows).Select(Samples.Otf))), rows);
    }

    [Theory]
    [InlineData("?kind=mif&partner=" + HubFixture.Partner, "kind")]
    [InlineData("?kind=rtf", "partner")]
    [InlineData("?kind=rtf&partner=nobody", "partner")]
    public async Task A_dry_run_with_bad_parameters_is_a_problem_json_400(string query, string field)
    {
        using var client = new HttpClient { BaseAddress = hub.Hub.ApiBaseAddress };

        using var response = await client.PostAsync(new Uri("/api/files/validate" + query, UriKind.Relative), new ByteArrayContent([1]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Hub_drop_uploads_waits_for_the_report_and_summarizes_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"referrals-{Guid.NewGuid():n}.csv");
        await File.WriteAllTextAsync(path, Samples.Csv([Samples.Referral(601), Samples.Referral(602).With("Urgency", "Whenever"), Samples.Referral(603)]));
        using var output = new StringWriter();
        try
        {
            var exitCode = await CalAimHub.LocalHost.HubDrop.RunAsync(hub.Hub.StorageConnectionString, new FileInfo(path), HubFixture.Partner, "referral", output, TimeSpan.FromSeconds(90), CancellationToken.None);

            var text = output.ToString();
            Assert.Equal(3, exitCode);
            Assert.Contains("100%", text, StringComparison.Ordinal);
            Assert.Contains("partially-accepted: 2 accepted, 1 rejected of 3 rows", text, StringComparison.Ordinal);
            Assert.Contains("row 3, Urgency: value.code", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } value && !EqualityComparer<T>.Default.Equals(value, default!))
            {
                return value;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("condition not met within 30 s");
    }
}
