using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Benchmarks;

/// <summary>
/// The validation-only dry run in the handler as deployed: <c>CalAimHub.Functions</c> published self-contained for linux-x64
/// with ReadyToRun (the coldstart case's publish), started with one registered partner and no storage (the dry run stores
/// nothing), then a generated RTF version A CSV is POSTed to <c>/api/files/validate?kind=rtf&amp;partner=bench</c> as the first
/// request after start (cold: ReadyToRun code, no JIT of the hot path before tier-1) and again (warm). Reported beside the same
/// file through <see cref="PartnerFileChannel"/> in this process (JIT, as <c>ingestion --dry-run-only</c> measures it).
/// The handler's peak working set is its VmHWM (/proc/&lt;pid&gt;/status), reset before each request.
/// </summary>
public static class IngestionHandlerBenchmark
{
    /// <summary>
    /// The endpoint's body limit as deployed (<c>Ingestion:MaxValidateBytes</c>, the Functions front end's 100 MB HTTP limit). A
    /// larger file is cut to the rows that fit.
    /// </summary>
    public const long DeployedBodyLimit = 104_857_600;

    private const string Partner = "bench";

    public static async Task RunAsync(string root, int rows)
    {
        var work = Directory.CreateTempSubdirectory("calaimhub-handler-bench-").FullName;
        Process? handler = null;
        try
        {
            var publish = Stopwatch.StartNew();
            var folder = await BenchmarkMachine.PublishAsync(Path.Combine(root, "functions/CalAimHub.Functions/CalAimHub.Functions.csproj"), Path.Combine(work, "handler"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"published the handler (self-contained linux-x64, ReadyToRun) in {publish.Elapsed.TotalSeconds:0} s"));

            var file = Path.Combine(work, "bench.csv");
            var written = RtfBenchmarkFile.Generate(file, rows, DeployedBodyLimit);
            var bytes = new FileInfo(file).Length;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated {written:N0} RTF A rows, {bytes:N0} bytes ({bytes / 1048576.0:0.0} MiB)") +
                (written < rows ? string.Create(CultureInfo.InvariantCulture, $": capped from {rows:N0}, the largest file under the endpoint's body limit of {DeployedBodyLimit:N0} bytes") : ""));

            var port = BenchmarkMachine.FreePort();
            handler = Start(Path.Combine(folder, "CalAimHub.Functions"), port);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(10) };
            await WaitReadyAsync(client, handler);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"handler ready, pid {handler.Id}, working set at rest {BenchmarkMachine.MemoryStatus(handler.Id, "VmRSS:") / 1048576.0:0} MiB"));
            Console.WriteLine("| run | request time | rows/s (request) | channel time (report) | rows/s (channel) | rows per handler CPU-s | peak working set | load |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            foreach (var run in new[] { "published handler, cold: first request after start", "published handler, warm: second request", "published handler, warm: third request" })
            {
                BenchmarkMachine.ResetPeakWorkingSet(handler.Id);
                handler.Refresh();
                var cpu = handler.TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                var report = await ValidateAsync(client, file);
                watch.Stop();
                handler.Refresh();
                var used = handler.TotalProcessorTime - cpu;
                var channel = report.CompletedAt - report.StartedAt;
                Check(report, written);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {run} | {watch.Elapsed.TotalSeconds:0.00} s | {written / watch.Elapsed.TotalSeconds:N0} | {channel.TotalSeconds:0.00} s | {written / channel.TotalSeconds:N0} | {written / used.TotalSeconds:N0} | {BenchmarkMachine.MemoryStatus(handler.Id, "VmHWM:") / 1048576.0:0} MiB | {BenchmarkMachine.LoadAverage()} |"));
            }

            var answer = await OverLimitAsync(port);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"a body declared one byte over the limit ({DeployedBodyLimit + 1:N0} bytes) is answered: {answer}"));

            await StopAsync(handler);
            handler = null;

            // The same file in this process: JIT-compiled, the in-process figure the ingestion case reports.
            var inProcess = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions { MaxFileBytes = long.MaxValue });
            foreach (var run in new[] { "in process (JIT), cold", "in process (JIT), warm" })
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                BenchmarkMachine.ResetPeakWorkingSet(Environment.ProcessId);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                await using var stream = File.OpenRead(file);
                var submission = new FileSubmission("dry-bench", Partner, "rtf", "bench.csv", new PartnerProfile { Id = Partner }, DateTimeOffset.UtcNow, DryRun: true);
                var report = await inProcess.RunAsync(submission, stream, stream.Length, new DryRunDestination(), CancellationToken.None);
                watch.Stop();
                var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                Check(report, written);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {run} | | | {watch.Elapsed.TotalSeconds:0.00} s | {written / watch.Elapsed.TotalSeconds:N0} | {written / used.TotalSeconds:N0} | {BenchmarkMachine.MemoryStatus(Environment.ProcessId, "VmHWM:") / 1048576.0:0} MiB | {BenchmarkMachine.LoadAverage()} |"));
            }
        }
        finally
        {
            if (handler is not null)
            {
                await StopAsync(handler);
            }

            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<IngestReport> ValidateAsync(HttpClient client, string file)
    {
        await using var body = File.OpenRead(file);
        using var content = new StreamContent(body, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        content.Headers.ContentLength = body.Length;
        using var response = await client.PostAsync(new Uri($"/api/files/validate?kind=rtf&partner={Partner}", UriKind.Relative), content);
        var json = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? IngestReport.FromJson(json) : throw new InvalidOperationException($"validate answered {(int)response.StatusCode}: {json}");
    }

    /// <summary>
    /// The handler's answer to a body declared one byte over the limit: its status line. Raw HTTP, because the handler answers
    /// and closes before reading the body, which an HttpClient still sending it reports only as a broken pipe.
    /// </summary>
    private static async Task<string> OverLimitAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var head = string.Create(CultureInfo.InvariantCulture,
            $"POST /api/files/validate?kind=rtf&partner={Partner} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: {DeployedBodyLimit + 1}\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(new byte[1 << 16]); // the start of a body
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "(connection closed without an answer)";
    }

    private static void Check(IngestReport report, int rows)
    {
        if (report.RowsAccepted != rows)
        {
            throw new InvalidOperationException($"expected {rows:N0} accepted rows: {report.Summary()}");
        }
    }

    private static Process Start(string executable, int port)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = Path.GetDirectoryName(executable)!,
            Environment =
            {
                ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["FUNCTIONS_APP_ROOT_PATH"] = Path.GetDirectoryName(executable)!,
                // Never called by a dry run; the handler only needs a connection string to start.
                ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
                [$"Ingestion__Partners__{Partner}__Kinds__0"] = "rtf",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(HttpClient client, Process handler)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (handler.HasExited)
            {
                throw new InvalidOperationException($"the handler exited with {handler.ExitCode} before it was ready");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("the handler did not answer GET / within 60 s");
    }

    private static async Task StopAsync(Process handler)
    {
        if (!handler.HasExited)
        {
            handler.Kill(entireProcessTree: true);
        }

        await handler.WaitForExitAsync();
        handler.Dispose();
    }
}
