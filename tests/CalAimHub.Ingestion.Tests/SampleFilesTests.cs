using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// The repo's <c>samples/</c> are used here so they cannot rot: every partner file sample validates with no problem, the HSDS
/// export imports through the hub, and the webhook script's signature passes the hub's own verifier.
/// </summary>
[Collection(HubCollection.Name)]
public sealed class SampleFilesTests(HubFixture hub)
{
    private const string Secret = HubFixture.WebhookSecret;

    private static readonly string SamplesFolder = FindSamples();

    private static string FindSamples()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CalAimHub.sln")))
            {
                return Path.Combine(folder.FullName, "samples");
            }
        }

        throw new DirectoryNotFoundException("no CalAimHub.sln above the test output folder");
    }

    [Fact]
    public void Every_file_layout_has_a_sample()
    {
        var samples = Directory.GetFiles(Path.Combine(SamplesFolder, "files")).Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal);

        Assert.Equal(FormatCatalog.Default.Schemas.Select(s => s.Name).Order(StringComparer.Ordinal), samples);
    }

    [Theory]
    [InlineData("rtf-a.csv", "rtf", "rtf-a")]
    [InlineData("rtf-b.csv", "rtf", "rtf-b")]
    [InlineData("otf.csv", "otf", "otf")]
    [InlineData("invoice.csv", "invoice", "invoice")]
    [InlineData("remittance.csv", "remittance", "remittance")]
    [InlineData("assignment.csv", "assignment", "assignment")]
    [InlineData("referral.csv", "referral", "referral")]
    public async Task A_sample_partner_file_validates_with_no_problem(string file, string kind, string schema)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(SamplesFolder, "files", file));
        var channel = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions());

        var (stored, rows) = await Samples.RunAsync(kind, bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        var dry = await channel.RunAsync(Samples.Submission(kind), stream, bytes.Length, new DryRunDestination(), CancellationToken.None);

        foreach (var report in new[] { stored, dry })
        {
            Assert.True(report.ProblemCount == 0, report.Summary() + ": " + string.Join(" | ", report.Problems.Select(p => $"{p.Row}/{p.Column}/{p.Rule}: {p.Message}")));
            Assert.Equal((IngestOutcome.Accepted, schema, 0), (report.Outcome, report.Schema, report.RowsRejected));
            Assert.True(report.RowsAccepted >= 3);
        }

        Assert.Equal(stored.RowsAccepted, rows.Count);
    }

    [Fact]
    public async Task The_hsds_sample_export_imports_every_provider_and_skips_nothing()
    {
        using var client = new HttpClient { BaseAddress = hub.Hub.ApiBaseAddress };
        using var body = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(SamplesFolder, "providers", "hsds-export.json")));
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync(new Uri("/api/providers/import", UriKind.Relative), body);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var summary = JsonDocument.Parse(text).RootElement;
        Assert.Equal(2, summary.GetProperty("imported").GetInt32() + summary.GetProperty("updated").GetInt32() + summary.GetProperty("unchanged").GetInt32());
        Assert.Equal(0, summary.GetProperty("skipped").GetArrayLength());
        using var harbor = await client.GetAsync(new Uri("/api/providers/1543210987", UriKind.Relative));
        var provider = JsonDocument.Parse(await harbor.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Harbor Care ECM", provider.GetProperty("name").GetString());
    }

    private static async Task<(int ExitCode, string Output)> RunScriptAsync(string hubUrl, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(SamplesFolder, "webhooks", "send-signed.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["WEBHOOK_SECRET"] = Secret;
        start.Environment["HUB_URL"] = hubUrl;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await output + await error);
    }

    private static string BodyPath => Path.Combine(SamplesFolder, "webhooks", "referral-created.json");

    [Fact]
    public async Task The_webhook_script_prints_headers_the_hubs_verifier_accepts()
    {
        var (exitCode, output) = await RunScriptAsync("http://127.0.0.1:7071/", "--print", "ciela", BodyPath);

        Assert.True(exitCode == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("POST http://127.0.0.1:7071/api/webhooks/ciela", lines[0]);
        var headers = lines.Skip(1).Select(l => l.Split(": ", 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("application/json", headers["content-type"]);
        Assert.Matches("^msg_[0-9a-f]{24}$", headers["webhook-id"]);
        var body = await File.ReadAllBytesAsync(BodyPath);
        Assert.Null(StandardWebhookSignature.Verify(headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"], body, [Secret], DateTimeOffset.UtcNow));
        Assert.Equal("signature does not match",
            StandardWebhookSignature.Verify(headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"], [.. body, (byte)' '], [Secret], DateTimeOffset.UtcNow));
        // The same bytes as the spec's HMAC over "{id}.{timestamp}.{body}", worked out independently of both.
        var fixedStamp = await RunScriptAsync("http://127.0.0.1:7071", "--print", "--id", "evt-1", "--timestamp", "1700000000", "ciela", BodyPath);
        byte[] signed = [.. "evt-1.1700000000."u8, .. body];
        var expected = System.Security.Cryptography.HMACSHA256.HashData(Convert.FromBase64String(Secret["whsec_".Length..]), signed);
        Assert.Contains("webhook-signature: v1," + Convert.ToBase64String(expected), fixedStamp.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_webhook_script_posts_the_body_it_signed()
    {
        var received = new TaskCompletionSource<(IHeaderDictionary Headers, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var listener = builder.Build();
        listener.MapPost("/api/webhooks/{platform}", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            received.TrySetResult((new HeaderDictionary(request.Headers.ToDictionary(h => h.Key, h => h.Value)), buffer.ToArray()));
            return Results.Accepted();
        });
        await listener.StartAsync();

        var (exitCode, output) = await RunScriptAsync(listener.Urls.Single(), "ciela", BodyPath);

        Assert.True(exitCode == 0, output);
        Assert.Contains("HTTP/1.1 202", output, StringComparison.Ordinal);
        var (headers, body) = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(await File.ReadAllBytesAsync(BodyPath), body);
        Assert.Equal("application/json", headers.ContentType.ToString());
        Assert.Null(StandardWebhookSignature.Verify(headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"], body, [Secret], DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task The_webhook_script_and_sample_event_are_accepted_by_the_hubs_intake()
    {
        var (exitCode, output) = await RunScriptAsync(hub.Hub.ApiBaseAddress.ToString(), HubFixture.WebhookPlatform, BodyPath);

        Assert.True(exitCode == 0, output);
        Assert.Contains("HTTP/1.1 202", output, StringComparison.Ordinal);
        Assert.Contains("\"platformReferralId\":\"R-1001\"", output, StringComparison.Ordinal);
    }
}
