using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Issue 6, "Measured": webhook intake under load on loopback. <see cref="LocalHub"/> runs in-memory Azurite and the real
/// handler (queue and timer triggers off: intake only, nothing consumes <c>referral-events</c>). In the same run, in this
/// process, a bare ASP.NET Core endpoint does only what the intake must do before its 202: read the body and make the one
/// queue write (to <c>bare-events</c> on the same Azurite). Load comes from a second process (this program re-invoked with
/// <c>webhooks-load</c>): open loop at a fixed rate, each request a signed generic <c>referral.created</c> event with a unique
/// webhook-id and referral id, bounded by count and time. Targets, one after the other, each after a short warm-up: bare, the
/// handler directly (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c>), the handler behind the local host's front door.
/// Latency is measured from the request's scheduled send time (no coordinated omission) and, beside it, from the actual send.
/// </summary>
public static class WebhooksBenchmark
{
    private const string Platform = "benchplat";
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task RunAsync(int rate, int seconds, bool probe)
    {
        var secret = Environment.GetEnvironmentVariable("WEBHOOK_BENCH_SECRET") ?? "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Console.WriteLine($"webhooks: {rate} req/s for {seconds} s per target (open loop, second process), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, load avg at start {LoadAverage()}, {Environment.ProcessorCount} cores");

        var hubLog = new ConcurrentQueue<string>();
        await using var hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            EnableQueueTriggers = false,
            EnableTimerTriggers = false,
            Log = line => { if (hubLog.Count < 200) { hubLog.Enqueue(line); } },
            HandlerOutputSink = line => { if (hubLog.Count < 400) { hubLog.Enqueue(line); } },
            AppSettings = new Dictionary<string, string>
            {
                [$"Webhooks__Platforms__{Platform}__Secrets__0"] = secret,
                ["Logging__LogLevel__Default"] = "Warning",
            },
        });

        Console.WriteLine($"  handler {hub.HandlerAddress}, front door {hub.ApiBaseAddress}");
        // The bare endpoint: same Azurite, one queue write, 202.
        var queue = new QueueClient(hub.StorageConnectionString, "bare-events");
        await queue.CreateIfNotExistsAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var bare = builder.Build();
        bare.MapPost("/api/webhooks/{platform}", async (string platform, HttpRequest request, CancellationToken ct) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, ct);
            await queue.SendMessageAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), ct);
            return Results.Accepted();
        });
        await bare.StartAsync();

        var targets = new (string Name, string Url)[]
        {
            ("bare ASP.NET endpoint, one queue write", bare.Urls.First() + $"/api/webhooks/{Platform}"),
            ("handler direct (FUNCTIONS_CUSTOMHANDLER_PORT)", new Uri(hub.HandlerAddress, $"api/webhooks/{Platform}").ToString()),
            ("handler behind the local host front door", new Uri(hub.ApiBaseAddress, $"api/webhooks/{Platform}").ToString()),
        };

        var fixedRuns = new List<(string Name, LoadResult Result)>();
        // Where the CPU goes (warm-up included): Azurite is one single-threaded node process, so its CPU per request
        // bounds the throughput and, near that bound, the tail.
        int?[] processes = [hub.AzuriteProcessId, hub.HandlerProcessId, Environment.ProcessId];
        foreach (var (name, url) in targets)
        {
            var before = processes.Select(p => BenchmarkMachine.CpuSeconds(p)).ToArray();
            var result = await RunLoadAsync(url, secret, rate, seconds, maxInFlight: 512, warmupSeconds: 3);
            var cpu = processes.Select((p, i) => (BenchmarkMachine.CpuSeconds(p) - before[i]) * 1000 / Math.Max(result.Ok, 1)).ToArray();
            fixedRuns.Add((name, result));
            Console.WriteLine($"  {name}: {result.Summary()}  (load avg {LoadAverage()})");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    CPU ms per 2xx request: Azurite {cpu[0]:0.00}, handler {cpu[1]:0.00}, this process (bare endpoint, front door) {cpu[2]:0.00}"));
            if (result.Ok == 0)
            {
                Console.WriteLine(string.Join('\n', hubLog.TakeLast(40)));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"fixed rate {rate} req/s, {seconds} s each, signed generic referral.created events, unique webhook-ids");
        Console.WriteLine("| target | sent | 2xx | 429 | other failed | sustained 2xx req/s | p50 ms | p99 ms | max ms | p99 from send ms | 429 p99 ms |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, r) in fixedRuns)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {r.Sent} | {r.Ok} | {r.Shed} | {r.Failed - r.Shed} | {r.Throughput:0.0} | {r.P50:0.0} | {r.P99:0.0} | {r.Max:0.0} | {r.P99FromSend:0.0} | {r.ShedP99:0.0} |"));
        }

        var b = fixedRuns[0].Result;
        foreach (var (name, r) in fixedRuns.Skip(1))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: throughput ratio vs bare {r.Throughput / b.Throughput:0.00}; p99 {r.P99:0.0} ms (target ≤ 50: {(r.P99 <= 50 ? "met" : "MISSED")})"));
        }

        if (probe)
        {
            Console.WriteLine();
            Console.WriteLine("open-loop max-throughput probe: 3000 req/s offered for 8 s, at most 64 in flight (requests over the cap are not sent)");
            Console.WriteLine("| target | offered | sent | 2xx | other | sustained req/s | p50 ms (from send) | p99 ms (from send) |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            var probes = new List<LoadResult>();
            foreach (var (name, url) in targets)
            {
                var r = await RunLoadAsync(url, secret, 3000, 8, maxInFlight: 64, warmupSeconds: 1);
                probes.Add(r);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {r.Offered} | {r.Sent} | {r.Ok} | {r.Failed} | {r.Throughput:0.0} | {r.P50FromSend:0.0} | {r.P99FromSend:0.0} |"));
            }

            for (var i = 1; i < probes.Count; i++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{targets[i].Name}: max-throughput ratio vs bare {probes[i].Throughput / probes[0].Throughput:0.00}"));
            }
        }

        Console.WriteLine($"load avg at end {LoadAverage()}");
    }

    private static async Task<LoadResult> RunLoadAsync(string url, string secret, int rate, int seconds, int maxInFlight, int warmupSeconds)
    {
        var self = Environment.ProcessPath!;
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            arguments.Add(Assembly.GetEntryAssembly()!.Location);
        }

        arguments.AddRange(["webhooks-load", "--url", url, "--rate", rate.ToString(CultureInfo.InvariantCulture), "--seconds", seconds.ToString(CultureInfo.InvariantCulture),
            "--max-in-flight", maxInFlight.ToString(CultureInfo.InvariantCulture), "--warmup", warmupSeconds.ToString(CultureInfo.InvariantCulture)]);
        var start = new ProcessStartInfo(self, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.Environment["WEBHOOK_BENCH_SECRET"] = secret; // not on the command line
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + warmupSeconds + 60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"load generator for {url} did not finish; stderr: {await stderr}");
        }

        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (process.ExitCode != 0 || lines.Length == 0)
        {
            throw new InvalidOperationException($"load generator exited {process.ExitCode}: {await stderr}");
        }

        if ((await stderr).Length > 0)
        {
            Console.Error.WriteLine((await stderr).Trim());
        }

        return JsonSerializer.Deserialize<LoadResult>(lines[^1], Json)!;
    }

    /// <summary>
    /// The load generator (second process): a warm-up at a quarter of the rate (not measured), then requests i = 0..rate×seconds−1
    /// each scheduled at t0 + i/rate and sent without waiting for earlier ones (open loop); over <c>maxInFlight</c> outstanding
    /// a request is not sent and counted. Hard bounds: the count, 10 s per request, and the run's duration + 15 s.
    /// </summary>
    public static async Task<int> LoadAsync(string[] args)
    {
        string Arg(string name) => args.SkipWhile(a => a != name).Skip(1).First();
        var url = Arg("--url");
        var rate = int.Parse(Arg("--rate"), CultureInfo.InvariantCulture);
        var seconds = int.Parse(Arg("--seconds"), CultureInfo.InvariantCulture);
        var maxInFlight = int.Parse(Arg("--max-in-flight"), CultureInfo.InvariantCulture);
        var warmup = int.Parse(Arg("--warmup"), CultureInfo.InvariantCulture);
        var secret = Environment.GetEnvironmentVariable("WEBHOOK_BENCH_SECRET") ?? throw new InvalidOperationException("WEBHOOK_BENCH_SECRET not set");
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxInFlight, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        var runId = Guid.NewGuid().ToString("N")[..10];
        // Cold start is not what is measured: 30 requests one at a time first (JIT, connection pools), then the open-loop warm-up.
        for (var i = 0; i < 30; i++)
        {
            using var request = Signed(url, secret, $"s{runId}-{i}");
            using var response = await client.SendAsync(request);
        }

        await RunPhaseAsync(client, url, secret, $"w{runId}", Math.Max(rate / 4, 10), warmup, maxInFlight, measure: false);
        var result = await RunPhaseAsync(client, url, secret, $"m{runId}", rate, seconds, maxInFlight, measure: true);
        Console.WriteLine(JsonSerializer.Serialize(result, Json));
        return 0;
    }

    private static int errorsLogged;

    private static async Task<LoadResult> RunPhaseAsync(HttpClient client, string url, string secret, string prefix, int rate, int seconds, int maxInFlight, bool measure)
    {
        var total = rate * seconds;
        var fromSchedule = new double[total];
        var fromSend = new double[total];
        var status = new int[total];
        var inFlight = 0;
        var skipped = 0;
        var tasks = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        var hardStop = TimeSpan.FromSeconds(seconds + 15);
        for (var i = 0; i < total && clock.Elapsed < hardStop; i++)
        {
            var due = i * 1000.0 / rate;
            var wait = due - clock.Elapsed.TotalMilliseconds;
            if (wait > 1.5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait - 1));
            }

            while (clock.Elapsed.TotalMilliseconds < due)
            {
                Thread.SpinWait(50);
            }

            if (Volatile.Read(ref inFlight) >= maxInFlight)
            {
                skipped++;
                status[i] = -1;
                continue;
            }

            Interlocked.Increment(ref inFlight);
            var index = i;
            tasks.Add(Task.Run(async () =>
            {
                var sentAt = clock.Elapsed.TotalMilliseconds;
                try
                {
                    using var request = Signed(url, secret, $"{prefix}-{index}");
                    using var response = await client.SendAsync(request);
                    status[index] = (int)response.StatusCode;
                }
                catch (Exception e)
                {
                    status[index] = 0;
                    if (Interlocked.Increment(ref errorsLogged) <= 3)
                    {
                        await Console.Error.WriteLineAsync($"request {index} to {url}: {e.GetType().Name}: {e.Message} {e.InnerException?.Message}");
                    }
                }
                finally
                {
                    var done = clock.Elapsed.TotalMilliseconds;
                    fromSchedule[index] = done - due;
                    fromSend[index] = done - sentAt;
                    Interlocked.Decrement(ref inFlight);
                }
            }));
        }

        await Task.WhenAll(tasks);
        var elapsed = clock.Elapsed.TotalSeconds;
        if (!measure)
        {
            return new LoadResult();
        }

        var okIndexes = Enumerable.Range(0, total).Where(i => status[i] is >= 200 and < 300).ToArray();
        var shedIndexes = Enumerable.Range(0, total).Where(i => status[i] == 429).ToArray();
        var scheduled = okIndexes.Select(i => fromSchedule[i]).Order().ToArray();
        var sent = okIndexes.Select(i => fromSend[i]).Order().ToArray();
        return new LoadResult
        {
            Offered = total,
            Sent = total - skipped,
            Ok = okIndexes.Length,
            Failed = total - skipped - okIndexes.Length,
            Shed = shedIndexes.Length,
            ShedP99 = Percentile([.. shedIndexes.Select(i => fromSchedule[i]).Order()], 0.99),
            // Each failing status with its count (0: no answer within 10 s or a connection error).
            FailedStatuses = string.Join(",", Enumerable.Range(0, total).Where(i => status[i] >= 0 && status[i] is < 200 or >= 300)
                .GroupBy(i => status[i]).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}")),
            Seconds = elapsed,
            Throughput = okIndexes.Length / elapsed,
            P50 = Percentile(scheduled, 0.50),
            P99 = Percentile(scheduled, 0.99),
            Max = scheduled.Length == 0 ? 0 : scheduled[^1],
            P50FromSend = Percentile(sent, 0.50),
            P99FromSend = Percentile(sent, 0.99),
        };
    }

    private static HttpRequestMessage Signed(string url, string secret, string key)
    {
        var id = "evt_" + key;
        var body = Encoding.UTF8.GetBytes($$"""
            {"type":"referral.created","referralId":"LOAD-{{key}}","occurredAt":"2026-05-01T09:30:00-07:00","service":{"code":"medically-tailored-meals"},"member":{"cin":"91234567A"},"referringEntity":{"name":"Load Test Hospital","npi":"1234567893"},"urgency":"routine"}
            """);
        var at = DateTimeOffset.UtcNow;
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add(StandardWebhookSignature.IdHeader, id);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(id, at, body, [secret]));
        return request;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];


    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}

public sealed record LoadResult
{
    public int Offered { get; init; }
    public int Sent { get; init; }
    public int Ok { get; init; }
    public int Failed { get; init; }
    public string FailedStatuses { get; init; } = "";

    /// <summary>Answered 429 (admission control shed them; a platform retries after Retry-After).</summary>
    public int Shed { get; init; }

    /// <summary>How fast the 429s came back, from the scheduled send time.</summary>
    public double ShedP99 { get; init; }
    public double Seconds { get; init; }
    public double Throughput { get; init; }
    public double P50 { get; init; }
    public double P99 { get; init; }
    public double Max { get; init; }
    public double P50FromSend { get; init; }
    public double P99FromSend { get; init; }

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"{Ok}/{Sent} 2xx{(Failed > 0 ? $" ({Failed} failed: {FailedStatuses})" : "")}, {Throughput:0.0} req/s, p50 {P50:0.0} ms, p99 {P99:0.0} ms, max {Max:0.0} ms (from send: p50 {P50FromSend:0.0}, p99 {P99FromSend:0.0})");
}
