using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using CalAimHub.Benchmarks;

var root = typeof(ColdStart).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
var command = args.FirstOrDefault() ?? "coldstart";
var runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(10);

switch (command)
{
    case "coldstart":
        await ColdStart.RunAsync(root, runs);
        return 0;
    case "workflows":
        await WorkflowsBenchmark.RunAsync(root, args.SkipWhile(a => a != "--instances").Skip(1).Select(int.Parse).FirstOrDefault(2000),
            args.Contains("--compare-admission"), args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(3),
            // --max-starts 8/2,4/1: MaxConcurrentStarts / MaxConcurrentStartsUnderDueWork of each "after" policy to compare.
            args.SkipWhile(a => a != "--max-starts").Skip(1).Select(v => v.Split(',').Select(p => p.Split('/')).Select(p => (int.Parse(p[0]), int.Parse(p[1]))).ToArray()).FirstOrDefault());
        return 0;
    case "workflows-hub":
        await WorkflowsHubBenchmark.RunAsync(args.SkipWhile(a => a != "--instances").Skip(1).Select(int.Parse).FirstOrDefault(300));
        return 0;
    case "ingestion":
        await IngestionBenchmark.RunAsync(root, args.SkipWhile(a => a != "--rows").Skip(1).Select(int.Parse).FirstOrDefault(100_000), args.SkipWhile(a => a != "--parallelism").Skip(1).Select(int.Parse).FirstOrDefault(8), args.Contains("--dry-run-only"),
            args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(2), args.Contains("--fresh-emulator"));
        return 0;
    case "ingestion-handler":
        await IngestionHandlerBenchmark.RunAsync(root, args.SkipWhile(a => a != "--rows").Skip(1).Select(int.Parse).FirstOrDefault(1_000_000));
        return 0;
    case "webhooks":
        await WebhooksBenchmark.RunAsync(args.SkipWhile(a => a != "--rate").Skip(1).Select(int.Parse).FirstOrDefault(200), args.SkipWhile(a => a != "--seconds").Skip(1).Select(int.Parse).FirstOrDefault(20), !args.Contains("--no-probe"));
        return 0;
    case "invoices":
        await InvoicesBenchmark.RunAsync(root, args.SkipWhile(a => a != "--lines").Skip(1).Select(int.Parse).FirstOrDefault(100_000),
            args.SkipWhile(a => a != "--lines-per-invoice").Skip(1).Select(int.Parse).FirstOrDefault(10), args.SkipWhile(a => a != "--members").Skip(1).Select(int.Parse).FirstOrDefault(1000),
            args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(2));
        return 0;
    case "invoice-figures":
        await InvoiceFiguresBenchmark.RunAsync(args.SkipWhile(a => a != "--invoices").Skip(1).Select(int.Parse).FirstOrDefault(1_000_000),
            args.SkipWhile(a => a != "--months").Skip(1).Select(int.Parse).FirstOrDefault(12), args.SkipWhile(a => a != "--providers").Skip(1).Select(int.Parse).FirstOrDefault(200),
            args.SkipWhile(a => a != "--requests").Skip(1).Select(int.Parse).FirstOrDefault(200), args.SkipWhile(a => a != "--version-rows").Skip(1).Select(int.Parse).FirstOrDefault(100_000));
        return 0;
    case "console":
        await ConsoleBenchmark.RunAsync(args.SkipWhile(a => a != "--items").Skip(1).Select(int.Parse).FirstOrDefault(100_000), args.SkipWhile(a => a != "--requests").Skip(1).Select(int.Parse).FirstOrDefault(100),
            args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(4), args.Contains("--fresh-read-models"), args.Contains("--upkeep-after-load"),
            args.SkipWhile(a => a != "--upkeep").Skip(1).Select(w => w.Split(',').Select(v => Enum.Parse<UpkeepWork>(v.Replace("-", "", StringComparison.Ordinal), ignoreCase: true)).ToArray()).FirstOrDefault([UpkeepWork.Authorizations]), args.Contains("--loaded-workflows"));
        return 0;
    case "queue-receive":
        // --waiting 1000,7200,30000: messages left waiting (invisible) in another queue before each size's receives.
        await QueueReceiveBenchmark.RunAsync(root, args.SkipWhile(a => a != "--waiting").Skip(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).FirstOrDefault([1_000, 7_200, 30_000, 100_000]),
            args.SkipWhile(a => a != "--receives").Skip(1).Select(int.Parse).FirstOrDefault(40));
        return 0;
    case "table-size":
        await TableSizeBenchmark.RunAsync(root, args.SkipWhile(a => a != "--rows").Skip(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).FirstOrDefault([250_000, 1_000_000]),
            args.SkipWhile(a => a != "--cycles").Skip(1).Select(int.Parse).FirstOrDefault(1000));
        return 0;
    case "sweep":
        await SweepBenchmark.RunAsync(root, args.SkipWhile(a => a != "--instances").Skip(1).Select(int.Parse).FirstOrDefault(100_000), args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(3));
        return 0;
    case "monitoring-upkeep":
        await MonitoringUpkeepBenchmark.RunAsync(args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).FirstOrDefault(5));
        return 0;
    case "outbound":
        // --members 50000,100000,200000: the assignment feed sizes, measured in this order in one process. --lock /work/bench.lock:
        // the shared benchmark lock is taken for each seeding and each phase and released between them (run without flock). --files N:
        // only the first N of the 500 providers' files are generated (each file as large as at the full run); N,M,... gives one per size.
        // --b-first: the generator before the raw loop at each size (peak memory of (b) without (a)'s leftovers).
        await OutboundBenchmark.RunAsync(root, args.SkipWhile(a => a != "--members").Skip(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).FirstOrDefault([50_000, 100_000, 200_000]),
            args.SkipWhile(a => a != "--lock").Skip(1).FirstOrDefault(), args.SkipWhile(a => a != "--files").Skip(1).Select(v => v.Split(',').Select(int.Parse).ToArray()).FirstOrDefault(), args.Contains("--b-first"));
        return 0;
    case "cli":
        await CliBenchmark.RunAsync(root, runs);
        return 0;
    case "chaos":
        return await ChaosCommand.RunAsync(args);
    case "webhooks-load":
        // The webhooks benchmark's load generator, run by it as a second process.
        return await WebhooksBenchmark.LoadAsync(args);
    default:
        Console.Error.WriteLine($"unknown benchmark '{command}'; known: coldstart, workflows, workflows-hub, ingestion, webhooks, cli, chaos, console, queue-receive, table-size, sweep, monitoring-upkeep, invoices, invoice-figures, outbound");
        return 2;
}

namespace CalAimHub.Benchmarks
{
    /// <summary>
    /// Cold start of the published handler (self-contained linux-x64, as deployed): process start to the first 200 on
    /// GET /, the Functions host's readiness probe. Baseline: an empty ASP.NET Core app published the same way, run
    /// alternately in the same process so machine noise hits both.
    /// </summary>
    public static class ColdStart
    {
        public static async Task RunAsync(string root, int runs)
        {
            var work = Directory.CreateTempSubdirectory("calaimhub-bench-").FullName;
            try
            {
                var handler = await BenchmarkMachine.PublishAsync(Path.Combine(root, "functions/CalAimHub.Functions/CalAimHub.Functions.csproj"), Path.Combine(work, "handler"));
                var baseline = await BenchmarkMachine.PublishAsync(Path.Combine(root, "tests/CalAimHub.Benchmarks.Baseline/CalAimHub.Benchmarks.Baseline.csproj"), Path.Combine(work, "baseline"));
                var handlerExe = Path.Combine(handler, "CalAimHub.Functions");
                var baselineExe = Path.Combine(baseline, "CalAimHub.Benchmarks.Baseline");

                // One warm-up each: the first start also pays for the OS file cache.
                await MeasureAsync(handlerExe);
                await MeasureAsync(baselineExe);
                var handlerTimes = new List<double>();
                var baselineTimes = new List<double>();
                for (var i = 0; i < runs; i++)
                {
                    handlerTimes.Add(await MeasureAsync(handlerExe));
                    baselineTimes.Add(await MeasureAsync(baselineExe));
                }

                var h = Median(handlerTimes);
                var b = Median(baselineTimes);
                Console.WriteLine($"cold start, process start → first 200 on GET /, {runs} runs each (ms)");
                Console.WriteLine("| app | median | min | max |");
                Console.WriteLine("|---|---|---|---|");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| CalAimHub.Functions (published, self-contained, R2R) | {h:0} | {handlerTimes.Min():0} | {handlerTimes.Max():0} |"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| baseline: empty ASP.NET Core app, same publish | {b:0} | {baselineTimes.Min():0} | {baselineTimes.Max():0} |"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio handler/baseline: {h / b:0.00}"));
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        }

        private static async Task<double> MeasureAsync(string executable)
        {
            var port = BenchmarkMachine.FreePort();
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(new ProcessStartInfo(executable)
            {
                WorkingDirectory = Path.GetDirectoryName(executable)!,
                Environment =
                {
                    ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                    ["FUNCTIONS_APP_ROOT_PATH"] = Path.GetDirectoryName(executable)!,
                    ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                while (watch.Elapsed < TimeSpan.FromSeconds(30))
                {
                    try
                    {
                        using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/"));
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            return watch.Elapsed.TotalMilliseconds;
                        }
                    }
                    catch (HttpRequestException)
                    {
                    }
                    catch (TaskCanceledException)
                    {
                    }

                    await Task.Delay(5);
                }

                throw new TimeoutException($"{executable} did not answer GET / within 30 s");
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        private static double Median(List<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }
}
