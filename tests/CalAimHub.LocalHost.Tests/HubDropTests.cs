using Azure.Storage.Blobs;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.LocalHost.Tests;

/// <summary>
/// <c>hub drop</c> against Azurite, with the test playing the ingestion: it writes the report the handler would write.
/// </summary>
public sealed class HubDropTests : IAsyncLifetime
{
    private const string Partner = "ecm-drop";
    private Azurite _azurite = null!;
    private BlobServiceClient _blobs = null!;
    private string _file = "";

    public async Task InitializeAsync()
    {
        _azurite = await Azurite.StartInMemoryAsync(LocalHubOptions.DefaultRepositoryRoot);
        _blobs = new BlobServiceClient(_azurite.ConnectionString);
        await _blobs.GetBlobContainerClient("inbound").CreateIfNotExistsAsync();
        await _blobs.GetBlobContainerClient("results").CreateIfNotExistsAsync();
        _file = Path.Combine(Path.GetTempPath(), $"hub-drop-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(_file, "a,b\n1,2\n");
    }

    public async Task DisposeAsync()
    {
        File.Delete(_file);
        await _azurite.DisposeAsync();
    }

    private string BlobName => $"{Partner}/rtf/{Path.GetFileName(_file)}";

    private static IngestReport Report(string runId, string outcome, int problemCount, IReadOnlyDictionary<string, int> byRule, int listed) => new()
    {
        RunId = runId,
        PartnerId = Partner,
        Kind = "rtf",
        File = "f.csv",
        Outcome = outcome,
        RowsRead = 40,
        RowsAccepted = outcome == "accepted" ? 40 : 10,
        RowsRejected = outcome == "accepted" ? 0 : 30,
        ProblemCount = problemCount,
        ProblemsByRule = byRule,
        Problems = Enumerable.Range(2, listed).Select(row => new Problem(row, "CIN", null, "cin.format", $"problem on row {row}", "fix it")).ToArray(),
    };

    private Task WriteReportAsync(IngestReport report) =>
        _blobs.GetBlobContainerClient("results").GetBlobClient(BlobName + ".report.json").UploadAsync(BinaryData.FromString(report.ToJson()), overwrite: true);

    [Fact]
    public async Task Drop_waits_for_the_report_of_its_own_upload_not_the_previous_one_and_prints_every_rule_and_how_many_more_problems()
    {
        // The previous drop of the same file name left an accepted report, written a moment ago.
        await WriteReportAsync(Report("run-previous", "accepted", 0, new Dictionary<string, int>(), 0));
        var rules = Enumerable.Range(1, 8).ToDictionary(i => $"rule.{i}", i => 10 - i);
        var ingestion = Task.Run(async () =>
        {
            // The ingestion: sees the new blob version, takes a while, writes that run's report.
            var blob = _blobs.GetBlobContainerClient("inbound").GetBlobClient(BlobName);
            while (!await blob.ExistsAsync())
            {
                await Task.Delay(50);
            }

            await Task.Delay(1500);
            var etag = (await blob.GetPropertiesAsync()).Value.ETag.ToString();
            await WriteReportAsync(Report(BlobFileIngestion.RunId(BlobName, etag), "partially-accepted", 44, rules, 12));
        });
        using var output = new StringWriter();

        var exitCode = await HubDrop.RunAsync(_azurite.ConnectionString, new FileInfo(_file), Partner, "rtf", output, TimeSpan.FromSeconds(30), CancellationToken.None);
        await ingestion;

        var lines = output.ToString().ReplaceLineEndings("\n").TrimEnd().Split('\n');
        Assert.Equal(3, exitCode);
        Assert.DoesNotContain(lines, l => l.Contains("run-previous", StringComparison.Ordinal));
        Assert.StartsWith("partially-accepted: 10 accepted, 30 rejected of 40 rows (run run-", lines[2], StringComparison.Ordinal);
        Assert.Equal(rules.OrderByDescending(r => r.Value).Select(r => $"  {r.Key} ×{r.Value}"), lines[3..11]);
        Assert.Equal(Enumerable.Range(2, 5).Select(row => $"  row {row}, CIN: cin.format — problem on row {row}"), lines[11..16]);
        Assert.Equal($"  … and 39 more problems (results/{BlobName}.report.json, or the .csv beside it)", lines[16]);
        Assert.Equal(17, lines.Length);
    }

    [Fact]
    public async Task Without_a_terminal_drop_prints_plain_lines_and_no_carriage_returns()
    {
        using var output = new StringWriter();

        var exitCode = await HubDrop.RunAsync(_azurite.ConnectionString, new FileInfo(_file), Partner, "rtf", output, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(1, exitCode);
        var text = output.ToString();
        Assert.DoesNotContain('\r', text.ReplaceLineEndings("\n"));
        var etag = (await _blobs.GetBlobContainerClient("inbound").GetBlobClient(BlobName).GetPropertiesAsync()).Value.ETag.ToString();
        var runId = BlobFileIngestion.RunId(BlobName, etag);
        Assert.Equal(
            [
                $"Uploading {Path.GetFileName(_file)} (0.0 MiB) to inbound/{BlobName} …",
                $"Uploaded 0.0 MiB (100%) to inbound/{BlobName}; waiting for run {runId} in results/{BlobName}.report.json …",
                $"No report for run {runId} within 1 s. Is `hub run` running and is the partner registered?",
            ],
            text.ReplaceLineEndings("\n").TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("--kind", "../../results/x", "--kind '../../results/x' is not a file kind: one of rtf, otf, invoice, referral, remittance, assignment.")]
    [InlineData("--kind", "RTF", "--kind 'RTF' is not a file kind: one of rtf, otf, invoice, referral, remittance, assignment.")]
    [InlineData("--partner", "../results", "--partner '../results' is not a partner id: 1 to 64 letters, digits, '-' or '_'.")]
    [InlineData("--partner", "plan a", "--partner 'plan a' is not a partner id: 1 to 64 letters, digits, '-' or '_'.")]
    public async Task A_kind_or_partner_that_could_leave_inbound_is_refused_and_nothing_is_uploaded(string option, string value, string message)
    {
        string[] args = ["drop", _file, "--partner", option == "--partner" ? value : Partner, "--kind", option == "--kind" ? value : "rtf"];
        using var error = new StringWriter();
        var cli = new HubCli(TextWriter.Null, error);

        var parsed = cli.Root.Parse(args);
        var exitCode = await parsed.InvokeAsync();

        Assert.Equal(message, Assert.Single(parsed.Errors).Message);
        Assert.Equal(1, exitCode);
        var direct = await Assert.ThrowsAsync<ArgumentException>(() => HubDrop.RunAsync(
            _azurite.ConnectionString, new FileInfo(_file), option == "--partner" ? value : Partner, option == "--kind" ? value : "rtf", TextWriter.Null,
            TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(message, direct.Message);
        foreach (var container in new[] { "inbound", "results" })
        {
            Assert.Empty(await _blobs.GetBlobContainerClient(container).GetBlobsAsync().ToArrayAsync());
        }
    }
}
