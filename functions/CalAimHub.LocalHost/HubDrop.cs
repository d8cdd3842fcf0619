using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace CalAimHub.LocalHost;

/// <summary>
/// <c>hub drop &lt;file&gt; --partner P --kind K</c>: uploads a partner file to <c>inbound/P/K/&lt;file name&gt;</c> of the running hub
/// with a progress bar, waits for its result report in <c>results</c> and prints a short summary (accepted, rejected, top problems).
/// Exit code: 0 all rows accepted, 3 partially accepted, 2 rejected, 1 no report in time or no hub running.
/// </summary>
public static class HubDrop
{
    internal static Command Create(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("file") { Description = "The partner file (CSV or XLSX)." };
        var partner = new Option<string>("--partner") { Description = "Partner id (inbound/<partner>/…).", Required = true };
        var kind = new Option<string>("--kind") { Description = "File kind: rtf, otf, invoice or referral.", Required = true };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the report.", DefaultValueFactory = _ => 300 };
        var repo = new Option<string>("--repo") { Description = "Repository root (.hub/hub.json).", DefaultValueFactory = _ => LocalHubOptions.DefaultRepositoryRoot };
        var command = new Command("drop", "Upload a partner file to the running hub's inbound container, wait for the result report, print a summary.")
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
                    TimeSpan.FromSeconds(result.GetValue(timeout)), cancellationToken);
            }
            catch (Exception e) when (e is Azure.RequestFailedException or IOException or ArgumentException)
            {
                await error.WriteLineAsync($"hub drop: {e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}");
                return 1;
            }
        });
        return command;
    }

    public static async Task<int> RunAsync(string storageConnectionString, FileInfo file, string partner, string kind, TextWriter output, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new ArgumentException($"{file.FullName} does not exist.");
        }

        var blobs = new BlobServiceClient(storageConnectionString);
        var blobName = $"{partner}/{kind}/{file.Name}";
        var reportBlob = blobs.GetBlobContainerClient("results").GetBlobClient(blobName + ".report.json");
        var started = DateTimeOffset.UtcNow;
        var progress = new ProgressBar(output, file.Length);
        await using (var content = file.OpenRead())
        {
            await blobs.GetBlobContainerClient("inbound").GetBlobClient(blobName).UploadAsync(content, new BlobUploadOptions { ProgressHandler = progress }, cancellationToken);
        }

        progress.Report(file.Length);
        await output.WriteLineAsync();
        await output.WriteLineAsync($"Uploaded to inbound/{blobName}; waiting for results/{blobName}.report.json …");

        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                var properties = await reportBlob.GetPropertiesAsync(cancellationToken: cancellationToken);
                if (properties.Value.LastModified >= started.AddSeconds(-1))
                {
                    var report = (await reportBlob.DownloadContentAsync(cancellationToken)).Value.Content.ToString();
                    return await SummarizeAsync(report, output);
                }
            }
            catch (Azure.RequestFailedException e) when (e.Status == 404)
            {
            }

            await Task.Delay(500, cancellationToken);
        }

        await output.WriteLineAsync($"No report within {timeout.TotalSeconds:0} s. Is `hub run` running and is the partner registered?");
        return 1;
    }

    internal static async Task<int> SummarizeAsync(string reportJson, TextWriter output)
    {
        using var document = JsonDocument.Parse(reportJson);
        var report = document.RootElement;
        var outcome = report.GetProperty("outcome").GetString();
        int Count(string name) => report.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{outcome}: {Count("rowsAccepted")} accepted, {Count("rowsRejected")} rejected of {Count("rowsRead")} rows (run {report.GetProperty("runId").GetString()}, schema {(report.TryGetProperty("schemaVersion", out var v) ? v.GetString() : "-")})"));
        if (report.TryGetProperty("problemsByRule", out var byRule))
        {
            foreach (var rule in byRule.EnumerateObject().OrderByDescending(r => r.Value.GetInt32()).Take(5))
            {
                await output.WriteLineAsync($"  {rule.Name} ×{rule.Value.GetInt32()}");
            }
        }

        foreach (var problem in report.GetProperty("problems").EnumerateArray().Take(5))
        {
            await output.WriteLineAsync($"  row {problem.GetProperty("row").GetInt32()}{(problem.TryGetProperty("column", out var c) && c.ValueKind == JsonValueKind.String ? ", " + c.GetString() : "")}: {problem.GetProperty("rule").GetString()} — {problem.GetProperty("message").GetString()}");
        }

        return outcome switch { "accepted" => 0, "partially-accepted" => 3, _ => 2 };
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
