using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Domain.Workflows;
using CalAimHub.LocalHost;
using CalAimHub.Workflows;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Timer lateness under the local host (issue 4: "a timer fires within 1 s of its due time (p99) under the local
/// host"). <see cref="LocalHub"/> runs in-memory Azurite, the real handler process and host.json's queue polling
/// (idle backoff up to <c>extensions.queues.maxPollingInterval</c>); N instances of the built-in
/// <c>workflow-probe</c> type are driven through the HTTP management API: start (durable timer of 1–4 s), one
/// <c>ping</c> event, timer, complete. Lateness = the committed <c>timer-fired</c> event's time (history
/// <c>recordedAt</c>, read back with <c>?showHistory=true</c>) − the due time (probe output <c>dueAt</c>).
/// <para>
/// Load shape, same for both variants: bursts (busy queue: many timers due within a second or two of each other)
/// separated by idle gaps longer than the poller's backoff, then a trickle (one instance every 0.3–3 s, the last 30 % of
/// it every 3.5–6 s: the queue is idle between timers long enough for the poller to back off fully, which is where
/// the host's backoff hurts).
/// </para>
/// <para>
/// Baseline, same process and same Azurite, run at the same time: the same runtime (same <see cref="WorkflowOptions"/>
/// as the handler, same probe decider, same schedule) with the timer queue drained by in-process 50 ms pollers
/// (the <c>workflows</c> benchmark's consumer) instead of the host's listener → HTTP → handler. The difference
/// between the two is what the host's polling and dispatch add.
/// </para>
/// </summary>
public static class WorkflowsHubBenchmark
{
    private const int Bursts = 5;
    private const int BurstSize = 40;
    private static readonly TimeSpan BurstGap = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(int instances)
    {
        var trickle = Math.Max(instances - (Bursts * BurstSize), 0);
        var burstTotal = instances - trickle;
        var schedule = Schedule(instances, burstTotal);
        var load0 = LoadAverage();
        Console.WriteLine($"workflows-hub: {instances} workflow-probe instances ({Bursts} bursts of ≤{BurstSize}, {BurstGap.TotalSeconds:0} s apart, then {trickle} trickled), load avg at start {load0}, {Environment.ProcessorCount} cores");

        var hubLog = new ConcurrentQueue<string>();
        await using var hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
            Log = line => hubLog.Enqueue(line),
        });
        var poll = hub.App.Host.Queues.MaxPollingInterval;
        var batch = hub.App.Host.Queues.BatchSize;
        Console.WriteLine($"local host: host.json maxPollingInterval {poll}, batchSize {batch}; handler pid {hub.HandlerProcessId}");
        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        // Warm-up (JIT in both processes, connections), not measured.
        await HubRunAsync(client, "warm", Schedule(10, 10), CancellationToken.None);

        // Both variants at once, same schedule, same Azurite, same machine load: the baseline sees what the hub run sees.
        // The handler's effective options, as it logs them at start (TimerLead may be derived from host.json).
        var logged = EffectiveLead(hub);
        var options = new WorkflowOptions { TimerLead = logged ?? new WorkflowOptions().TimerLead };
        var hubTask = HubRunAsync(client, "hub", schedule, CancellationToken.None);
        var inProcessTask = InProcessRunAsync(hub, options, schedule);
        var load1 = "";
        _ = Task.Delay(TimeSpan.FromSeconds(60)).ContinueWith(_ => load1 = LoadAverage(), TaskScheduler.Default);
        var hubRun = await hubTask;
        var inProcess = await inProcessTask;
        var load2 = LoadAverage();

        string Ms(double v) => v.ToString("#,0", CultureInfo.InvariantCulture);
        string Row(string name, double[] v) =>
            $"| {name} | {v.Length} | {Ms(Percentile(v, 0.5))} / {Ms(Percentile(v, 0.99))} / {Ms(Percentile(v, 1))} ms | {v.Count(x => x > 1000)} |";
        Console.WriteLine();
        Console.WriteLine($"timer lateness (committed timer-fired − due), handler TimerLead {options.TimerLead.TotalSeconds:0} s ({(logged is null ? "WorkflowOptions default" : "as the handler logged it")}), load avg (1/5/15 min) start {load0}, after 60 s {load1}, end {load2}");
        Console.WriteLine("| consumer of workflow-timers | timers | p50 / p99 / max | > 1 s |");
        Console.WriteLine("|---|---|---|---|");
        void Rows(string name, Run run)
        {
            Console.WriteLine(Row(name + ", all", run.All));
            foreach (var phase in new[] { "burst", "trickle", "idle" })
            {
                Console.WriteLine(Row($"  … {phase} ({PhaseText(phase)})", run.ByPhase.GetValueOrDefault(phase, [])));
            }
        }

        Rows($"local host listener (maxPollingInterval {poll.TotalSeconds:0.###} s, batch {batch}) → HTTP → handler", hubRun);
        Rows("baseline: same runtime in process, 3 × 50 ms pollers, same schedule", inProcess);
        Console.WriteLine($"early fires (timer-fired before due): hub {hubRun.All.Count(x => x < 0)}, in process {inProcess.All.Count(x => x < 0)}");
    }

    private static string PhaseText(string phase) => phase switch
    {
        "burst" => $"{BurstSize} starts within 1.5 s",
        "trickle" => "starts 0.3–3 s apart",
        _ => "starts 3.5–6 s apart",
    };

    /// <summary>When each instance starts (offset from the run's start) and whether it belongs to a burst.</summary>
    private static (TimeSpan At, string Phase, int DelaySeconds)[] Schedule(int instances, int burstTotal)
    {
        var random = new Random(4);
        var list = new List<(TimeSpan, string, int)>();
        for (var i = 0; i < burstTotal; i++)
        {
            // A burst: BurstSize starts within ~1.5 s, delays 1–4 s, so dozens of timers fall due within seconds.
            var burst = i / BurstSize;
            list.Add((burst * BurstGap + TimeSpan.FromMilliseconds(random.Next(0, 1500)), "burst", random.Next(1, 5)));
        }

        // Trickle: first 0.3–3 s apart, then (the last 30 %) 3.5–6 s apart, so the idle poller reaches its longest
        // interval (the backoff 0.1 → 0.2 → … → maxPollingInterval takes ~3 s of silence to get to 2 s).
        var t = ((burstTotal + BurstSize - 1) / BurstSize * BurstGap) + TimeSpan.FromSeconds(2);
        var sparseFrom = instances - ((instances - burstTotal) * 3 / 10);
        for (var i = burstTotal; i < instances; i++)
        {
            list.Add((t, i < sparseFrom ? "trickle" : "idle", random.Next(1, 5)));
            t += TimeSpan.FromMilliseconds(i < sparseFrom ? random.Next(300, 3000) : random.Next(3500, 6000));
        }

        return [.. list.OrderBy(x => x.Item1)];
    }

    private sealed record Run(double[] All, Dictionary<string, double[]> ByPhase);

    private static async Task<Run> HubRunAsync(HttpClient client, string name, (TimeSpan At, string Phase, int DelaySeconds)[] schedule, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var ids = new List<(string Id, string Phase)>();
        var tasks = new List<Task>();
        for (var i = 0; i < schedule.Length; i++)
        {
            var (at, phase, delay) = schedule[i];
            var wait = at - watch.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            var id = $"{name}-{i}";
            ids.Add((id, phase));
            tasks.Add(Task.Run(async () =>
            {
                using (var start = await client.PostAsync(new Uri($"/api/workflows/workflow-probe?instanceId={id}", UriKind.Relative),
                    new StringContent($$"""{"delaySeconds":{{delay}}}""", Encoding.UTF8, "application/json"), ct))
                {
                    Check(start, HttpStatusCode.Accepted, "start");
                }

                using var ping = await client.PostAsync(new Uri($"/api/workflows/{id}/events/{WorkflowProbe.PingEvent}", UriKind.Relative),
                    new StringContent("{}", Encoding.UTF8, "application/json"), ct);
                Check(ping, HttpStatusCode.Accepted, "ping");
            }, ct));
        }

        await Task.WhenAll(tasks);
        var all = new List<(string Phase, double Ms)>();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        foreach (var (id, phase) in ids)
        {
            while (true)
            {
                using var response = await client.GetAsync(new Uri($"/api/workflows/{id}?showHistory=true", UriKind.Relative), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
                    var due = status.GetProperty("output").GetProperty("dueAt").GetDateTimeOffset();
                    var fired = status.GetProperty("historyEvents").EnumerateArray()
                        .Single(e => e.GetProperty("name").GetString() == WorkflowEvent.TimerFired).GetProperty("recordedAt").GetDateTimeOffset();
                    var lateness = (fired - due).TotalMilliseconds;
                    all.Add((phase, lateness));
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{id} did not complete within 3 minutes of the last start");
                }

                await Task.Delay(200, ct);
            }
        }

        return Split(all);
    }

    /// <summary>The baseline: the runtime in this process on the hub's Azurite, own tables and queues.</summary>
    private static async Task<Run> InProcessRunAsync(LocalHub hub, WorkflowOptions settings, (TimeSpan At, string Phase, int DelaySeconds)[] schedule)
    {
        var queues = new QueueServiceClient(hub.StorageConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await using var inProcess = await InProcessWorkflows.CreateAsync(hub.Storage.Tables, queues, "Bench", new WorkflowProbe(), settings);
        var runtime = inProcess.Runtime;
        var lateness = new ConcurrentDictionary<string, double>();
        inProcess.ConsumeTimers(3, async handled =>
        {
            if (handled.Result is { Outcome: ApplyOutcome.Applied })
            {
                // Same measure as the hub run: the committed timer-fired event's recordedAt − due.
                var history = await runtime.Store.HistoryAsync(handled.Timer.InstanceId, CancellationToken.None);
                var fired = history.Single(e => e.Name == WorkflowEvent.TimerFired).RecordedAt;
                lateness[handled.Timer.InstanceId] = (fired - handled.Timer.DueAt).TotalMilliseconds;
            }
        });
        var watch = Stopwatch.StartNew();
        var tasks = new List<Task>();
        var phaseOf = new Dictionary<string, string>();
        for (var i = 0; i < schedule.Length; i++)
        {
            var (at, phase, delay) = schedule[i];
            var wait = at - watch.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var id = $"inproc-{i}";
            phaseOf[id] = phase;
            tasks.Add(Task.Run(async () =>
            {
                await runtime.StartAsync(WorkflowProbe.TypeName, id, WorkflowJson.ToElement(new { delaySeconds = delay }), CancellationToken.None);
                await runtime.RaiseEventAsync(id, WorkflowProbe.PingEvent, null, null, CancellationToken.None);
            }));
        }

        await Task.WhenAll(tasks);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (lateness.Count < schedule.Length && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        if (lateness.Count < schedule.Length)
        {
            throw new TimeoutException($"in-process baseline: {lateness.Count} of {schedule.Length} timers fired");
        }

        return Split([.. lateness.Select(p => (phaseOf[p.Key], p.Value))]);
    }

    private static Run Split(List<(string Phase, double Ms)> all) =>
        new([.. all.Select(x => x.Ms)], all.GroupBy(x => x.Phase).ToDictionary(g => g.Key, g => g.Select(x => x.Ms).ToArray()));

    /// <summary>The lead the handler logged at start ("Workflow timer lead N s"), if it logs one; else the default applies.</summary>
    private static TimeSpan? EffectiveLead(LocalHub hub)
    {
        const string marker = "Workflow timer lead ";
        var line = hub.HandlerOutput.FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        var text = line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Split(' ')[0];
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : null;
    }

    private static void Check(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{what}: HTTP {(int)response.StatusCode}, expected {(int)expected}: {response.Content.ReadAsStringAsync().Result}");
        }
    }

    private static double Percentile(double[] values, double p)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
