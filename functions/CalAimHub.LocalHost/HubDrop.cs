using System.CommandLine;
using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;

namespace CalAimHub.LocalHost;

/// <summary>
/// <c>hub drop &lt;file&gt; --partner P --kind K</c>: uploads a partner file to <c>inbound/P/K/&lt;file name&gt;</c> of the running hub,
/// waits for the result report of that upload (its ingest run, derived from the uploaded blob's ETag, so an older report
/// under the same name is never taken for it) and prints a summary: counts, every rule's count, the first problems.
/// Exit code: 0 all rows accepted, 3 partially accepted, 2 rejected, 1 bad arguments, no report in time or no hub running.
/// </summary>
public static class HubDrop
{
    private const int ProblemsShown = 5;

    internal static Command Create(TextWriter output, TextWriter error, bool interactive)
    {
        var file = new Argument<FileInfo>("file") { Description = "The partner file (CSV or XLSX)." };
        var partner = new Option<string>("--partner") { Description = "Partner id (inbound/<partner>/…): letters, digits, '-' and '_'.", Required = true };
        var kind = new Option<string>("--kind") { Description = $"File kind: {string.Join(", ", FileKind.All)}.", Required = true };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the report.", DefaultValueFactory = _ => 300 };
        var repo = new Option<string>("--repo") { Description = "Repository root (.hub/hub.json).", DefaultValueFactory = _ => LocalHubOptions.DefaultRepositoryRoot };
        partner.Validators.Add(result =>
        {
            if (PartnerError(result.GetValueOrDefault<string>()) is { } message)
            {
                result.AddError(message);
            }
        });
        kind.Validators.Add(result =>
        {
            if (KindError(result.GetValueOrDefault<string>()) is { } message)
            {
                result.AddError(message);
            }
        });
        var command = new Command("drop", "Upload a partner file to the running hub's inbound container, wait for its result report, print a summary.")
        {
            file, partner, kind, timeout, repo,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (HubState.ReadRunning(result.GetValue(repo)!, out var reason) is not { } state)
            {
                await error.WriteLineAsync(reason);
                return 1;
            }

            try
            {
                return await RunAsync(state.StorageConnectionString, result.GetValue(file)!, result.GetValue(partner)!, result.GetValue(kind)!, output,
                    TimeSpan.FromSeconds(result.GetValue(timeout)), cancellationToken, interactive);
            }
            catch (Exception e) when (e is RequestFailedException or IOException or ArgumentException)
            {
                await error.WriteLineAsync($"hub drop: {e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Partner ids become blob path segments and table keys: the ingestion's own id rule.</summary>
    internal static string? PartnerError(string? partner) =>
        partner is not null && InboundPath.IsId(partner)
            ? null
            : $"--partner '{partner}' is not a partner id: 1 to 64 letters, digits, '-' or '_'.";

    internal static string? KindError(string? kind) =>
        FileKind.IsKnown(kind) ? null : $"--kind '{kind}' is not a file kind: one of {string.Join(", ", FileKind.All)}.";

    /// <summary>Uploads, waits for this upload's report, summarizes it. <paramref name="progressBar"/> redraws a bar in
    /// place (a terminal); otherwise one line per step, so logs and pipes get no carriage-return garbage.</summary>
    public static async Task<int> RunAsync(
        string storageConnectionString, FileInfo file, string partner, string kind, TextWriter output, TimeSpan timeout, CancellationToken cancellationToken,
        bool progressBar = false)
    {
        if ((PartnerError(partner) ?? KindError(kind)) is { } invalid)
        {
            throw new ArgumentException(invalid);
        }

        if (!file.Exists)
        {
            throw new ArgumentException($"{file.FullName} does not exist.");
        }

        var blobs = new BlobServiceClient(storageConnectionString);
        var blobName = new InboundPath(partner, kind, file.Name).BlobName;
        var reportName = InboundPath.ReportNames(blobName).Json;
        var reportBlob = blobs.GetBlobContainerClient(InboundPath.ResultsContainer).GetBlobClient(reportName);
        var size = string.Create(CultureInfo.InvariantCulture, $"{file.Length / 1048576.0:0.0} MiB");
        IProgress<long>? progress = progressBar ? new ProgressBar(output, file.Length) : null;
        if (!progressBar)
        {
            await output.WriteLineAsync($"Uploading {file.Name} ({size}) to inbound/{blobName} …");
        }

        ETag uploaded;
        await using (var content = file.OpenRead())
        {
            uploaded = (await blobs.GetBlobContainerClient(InboundPath.Container).GetBlobClient(blobName)
                .UploadAsync(content, new BlobUploadOptions { ProgressHandler = progress }, cancellationToken)).Value.ETag;
        }

        if (progressBar)
        {
            progress!.Report(file.Length);
            await output.WriteLineAsync();
        }

        var runId = BlobFileIngestion.RunId(blobName, uploaded.ToString());
        await output.WriteLineAsync($"Uploaded {size} (100%) to inbound/{blobName}; waiting for run {runId} in results/{reportName} …");

        // The report blob keeps its name across uploads of the same file name: only the one naming this upload's run counts.
        var deadline = DateTimeOffset.UtcNow + timeout;
        ETag? seen = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                // If-None-Match: a report already read and not for this run is not downloaded again (304, no body).
                var response = await reportBlob.DownloadContentAsync(
                    new BlobDownloadOptions { Conditions = seen is { } previous ? new BlobRequestConditions { IfNoneMatch = previous } : null },
                    cancellationToken);
                if (response.GetRawResponse().Status != 304)
                {
                    seen = response.Value.Details.ETag;
                    var report = IngestReport.FromJson(response.Value.Content.ToString());
                    if (report.RunId == runId)
                    {
                        return await SummarizeAsync(report, reportName, output);
                    }
                }
            }
            catch (RequestFailedException e) when (e.Status is 404 or 304)
            {
            }

            await Task.Delay(500, cancellationToken);
        }

        await output.WriteLineAsync($"No report for run {runId} within {timeout.TotalSeconds:0} s. Is `hub run` running and is the partner registered?");
        return 1;
    }

    internal static async Task<int> SummarizeAsync(IngestReport report, string reportName, TextWriter output)
    {
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{report.Outcome}: {report.RowsAccepted} accepted, {report.RowsRejected} rejected of {report.RowsRead} rows (run {report.RunId}, schema {report.SchemaVersion ?? "-"})"));
        // Every rule with its count: the whole picture of what is wrong, however many rows it hit.
        foreach (var (rule, count) in report.ProblemsByRule.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal))
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {rule} ×{count}"));
        }

        foreach (var problem in report.Problems.Take(ProblemsShown))
        {
            await output.WriteLineAsync($"  row {problem.Row}{(problem.Column is { } column ? ", " + column : "")}: {problem.Rule} — {problem.Message}");
        }

        var more = Math.Max(report.ProblemCount, report.Problems.Count) - Math.Min(ProblemsShown, report.Problems.Count);
        if (more > 0)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  … and {more} more problem{(more == 1 ? "" : "s")} (results/{reportName}, or the .csv beside it)"));
        }

        return report.Outcome switch { "accepted" => 0, "partially-accepted" => 3, _ => 2 };
    }

    /// <summary>A one-line progress bar, redrawn in place; synchronous so updates never arrive out of order.</summary>
    private sealed class ProgressBar(TextWriter output, long total) : IProgress<long>
    {
        private int _last = -1;

        public void Report(long value)
        {
            var percent = total == 0 ? 100 : (int)(value * 100 / total);
            if (percent == Interlocked.Exchange(ref _last, percent))
            {
                return;
            }

            var filled = percent / 5;
            lock (output)
            {
                output.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string(' ', 20 - filled)}] {percent,3}%  {value / 1048576.0:0.0}/{total / 1048576.0:0.0} MiB"));
            }
        }
    }
}
