using System.Diagnostics;
using CalAimHub.Testing;

namespace CalAimHub.LocalHost.Tests;

/// <summary>
/// Real handler processes (a small Node.js server, node is there for Azurite) that record every invocation with their pid:
/// a handler killed with SIGKILL is restarted and the work completes; N instances share HTTP and queues, timers fire once.
/// </summary>
public sealed class HandlerInstancesTests : IDisposable
{
    private const string Script = """
        #!/usr/bin/env node
        const http = require('http');
        const fs = require('fs');
        const record = process.env.RECORD_FILE;
        const workMs = Number(process.env.WORK_MS || '0');
        http.createServer((req, res) => {
          let body = '';
          req.on('data', d => body += d);
          req.on('end', () => {
            if (req.url === '/') { res.end('ok'); return; }
            if (req.url.startsWith('/api/pid')) { res.end(String(process.pid)); return; }
            setTimeout(() => {
              fs.appendFileSync(record, `${process.pid} ${req.url} ${JSON.stringify(JSON.parse(body).Data)}\n`);
              res.setHeader('content-type', 'application/json');
              res.end('{"Outputs":{},"Logs":[],"ReturnValue":null}');
            }, req.url === '/Work' ? workMs : 0);
          });
        }).listen(process.env.FUNCTIONS_CUSTOMHANDLER_PORT, '127.0.0.1');
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TestApp _app;
    private readonly string _record;

    public HandlerInstancesTests()
    {
        _app = TestApp.Create(new()
        {
            ["Work"] = TestApp.Queue("work", "item"),
            ["Pid"] = TestApp.Http("pid", "get"),
            ["Tick"] = TestApp.Timer("*/2 * * * * *"),
        });
        var script = Path.Combine(_app.Directory, "handler.js");
        File.WriteAllText(script, Script.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _record = Path.Combine(_app.Directory, "invocations.log");
        File.WriteAllText(_record, "");
    }

    public void Dispose() => _app.Dispose();

    private LocalHubOptions Options(int instances, List<string> log, int workMs) => new()
    {
        AppDirectory = _app.Directory,
        InMemoryStorage = true,
        HttpPort = 0,
        UseLocalSettingsFile = false,
        Instances = instances,
        HandlerRestartDelay = TimeSpan.FromMilliseconds(200),
        AppSettings = new Dictionary<string, string> { ["RECORD_FILE"] = _record, ["WORK_MS"] = workMs.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        HostOverrides = new Dictionary<string, string>
        {
            // A failed invocation (the handler died under it) comes back after 1 s instead of 30.
            ["extensions:queues:visibilityTimeout"] = "00:00:01",
            ["extensions:queues:maxPollingInterval"] = "00:00:00.200",
            ["extensions:queues:batchSize"] = "4",
            ["extensions:queues:newBatchThreshold"] = "2",
        },
        Log = line =>
        {
            lock (log)
            {
                log.Add(line);
            }
        },
    };

    /// <summary>(pid, function, data) per recorded invocation.</summary>
    private (int Pid, string Function, string Data)[] Recorded() =>
        File.ReadAllLines(_record).Where(l => l.Length > 0).Select(l =>
        {
            var parts = l.Split(' ', 3);
            return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1], parts[2]);
        }).ToArray();

    private static async Task<string[]> MessagesAsync(LocalHub hub, string queue) =>
        (await hub.Storage.Queues.GetQueueClient(queue).PeekMessagesAsync(32)).Value.Select(m => m.MessageId).ToArray();

    [Fact]
    public async Task A_handler_killed_with_SIGKILL_is_restarted_with_its_exit_code_logged_and_every_message_still_completes()
    {
        var log = new List<string>();
        await using var hub = await LocalHub.StartAsync(Options(1, log, workMs: 150));
        var work = hub.Storage.Queues.GetQueueClient("work");
        var bodies = Enumerable.Range(1, 24).Select(i => $"m-{i:00}").ToArray();
        foreach (var body in bodies)
        {
            await work.SendMessageAsync(body);
        }

        await Eventually.TrueAsync(() => Recorded().Count(r => r.Function == "/Work") >= 3, Patience, "the first invocations");
        var killed = hub.HandlerProcessId!.Value;
        using (var process = Process.GetProcessById(killed))
        {
            process.Kill();
        }

        Assert.Equal(137, await hub.HandlerExited.WaitAsync(Patience)); // 128 + SIGKILL
        await Eventually.TrueAsync(() => hub.Instances[0].Restarts == 1 && hub.HandlerProcessId is not null, Patience, "the restart");
        var restarted = hub.HandlerProcessId!.Value;
        Assert.NotEqual(killed, restarted);
        Assert.Equal(137, hub.Instances[0].LastExitCode);

        // The hub is still up: HTTP reaches the new process, and every message is handled by it (the ones in flight at the
        // kill come back after visibilityTimeout), none poisoned.
        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };
        Assert.Equal(restarted.ToString(System.Globalization.CultureInfo.InvariantCulture), await client.GetStringAsync("/api/pid"));
        await Eventually.TrueAsync(
            () => bodies.All(b => Recorded().Any(r => r.Function == "/Work" && r.Data.Contains(b, StringComparison.Ordinal))),
            Patience, "every message handled");
        await Eventually.ValueAsync(() => MessagesAsync(hub, "work"), m => m.Length == 0, Patience, "an empty work queue");
        Assert.Empty(await MessagesAsync(hub, "work-poison"));
        var lines = Hubs.Snapshot(log);
        Assert.Contains($"Handler instance 1 (pid {killed}) exited with code 137; restarting in 0.2 s.", lines);
        Assert.Contains(lines, l => l.StartsWith($"Handler instance 1 restarted (restart 1): pid {restarted} on http://127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_restart_a_dead_handler_stays_down()
    {
        var log = new List<string>();
        await using var hub = await LocalHub.StartAsync(Options(1, log, workMs: 0) with { RestartHandler = false });
        using (var process = Process.GetProcessById(hub.HandlerProcessId!.Value))
        {
            process.Kill();
        }

        Assert.Equal(137, await hub.HandlerExited.WaitAsync(Patience));
        await Task.Delay(1000);

        Assert.Equal(0, hub.Instances[0].Restarts);
        Assert.DoesNotContain(Hubs.Snapshot(log), l => l.Contains("restarting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_instances_share_HTTP_round_robin_both_poll_the_queue_and_a_timer_fires_once_per_occurrence()
    {
        var log = new List<string>();
        await using var hub = await LocalHub.StartAsync(Options(2, log, workMs: 100));
        var pids = hub.Instances.Select(i => i.ProcessId!.Value).ToArray();
        Assert.Equal(2, pids.Distinct().Count());

        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };
        var answered = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            answered.Add(int.Parse(await client.GetStringAsync("/api/pid"), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal([3, 3], answered.GroupBy(p => p).Select(g => g.Count()));
        Assert.Equal(pids.Order(), answered.Distinct().Order());

        var work = hub.Storage.Queues.GetQueueClient("work");
        var bodies = Enumerable.Range(1, 40).Select(i => $"m-{i:00}").ToArray();
        foreach (var body in bodies)
        {
            await work.SendMessageAsync(body);
        }

        await Eventually.ValueAsync(() => MessagesAsync(hub, "work"), m => m.Length == 0, Patience, "an empty work queue");
        await Task.Delay(4500); // two more timer occurrences
        var recorded = Recorded();
        var handled = recorded.Where(r => r.Function == "/Work").ToArray();
        // Every message exactly once (a success deletes it), and both instances took some.
        Assert.Equal(bodies, bodies.Where(b => handled.Count(r => r.Data.Contains(b, StringComparison.Ordinal)) == 1));
        Assert.Equal(bodies.Length, handled.Length);
        Assert.Equal(pids.Order(), handled.Select(r => r.Pid).Distinct().Order());

        // One timer firing per occurrence across both instances: "Next" is the occurrence after each firing, never twice.
        var ticks = recorded.Where(r => r.Function == "/Tick").Select(r => r.Data).ToArray();
        Assert.True(ticks.Length >= 2, $"{ticks.Length} timer invocations");
        var nexts = ticks.Select(t => System.Text.Json.JsonDocument.Parse(t).RootElement.GetProperty("timer").GetProperty("ScheduleStatus").GetProperty("Next").GetString()).ToArray();
        Assert.Equal(nexts.Length, nexts.Distinct().Count());
    }
}
