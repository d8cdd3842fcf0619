using System.Diagnostics;
using System.Net;
using Azure.Data.Tables;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using CalAimHub.Testing;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>
/// The short chaos trial of issue 11: two handler instances on one Azurite, notices queued in waves and HTTP requests
/// throughout, while <c>kill -9</c> hits a random instance at a random moment, <see cref="Kills"/> times. Afterwards every
/// notice reached the receiver under its <c>webhook-id</c> (a kill between the POST and its record may repeat one: the
/// receiver dedupes on the id, as the README tells receivers to) and is recorded Delivered once, nothing is left in a queue
/// or its poison queue, and the hub is healthy. The seed is in every failure message.
/// </summary>
public sealed class ChaosTrialTests
{
    private const int Kills = 3;
    private const int Waves = 6;
    private const int NoticesPerWave = 25;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Two_instances_under_random_kill_9_deliver_every_notice_and_lose_nothing()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        await using var receiver = await SubscriberReceiver.StartAsync(200);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            Instances = 2,
            HandlerRestartDelay = TimeSpan.FromMilliseconds(250),
            EnableTimerTriggers = false,
            Log = log.Enqueue,
            AppSettings = new Dictionary<string, string>
            {
                ["Notifications__RequireHttps"] = "false",
                ["Notifications__TimeoutSeconds"] = "5",
                [$"Notifications__Subscribers__{TestHub.Subscriber}__Secrets__0"] = TestHub.Secret,
            },
            HostOverrides = new Dictionary<string, string>
            {
                // A message whose invocation died with its instance comes back in 2 s (30 s as shipped).
                ["extensions:queues:visibilityTimeout"] = "00:00:02",
                ["extensions:queues:maxPollingInterval"] = "00:00:00.250",
            },
        });
        string Context() => $"seed {seed}; hub log:\n{string.Join('\n', log.TakeLast(25))}";

        var queue = hub.Storage.Queues.GetQueueClient("notifications");
        var expected = new List<string>();
        using var api = new HttpClient { BaseAddress = hub.ApiBaseAddress };
        var httpStatuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        using var stopHttp = new CancellationTokenSource();
        var http = Task.Run(async () =>
        {
            while (!stopHttp.IsCancellationRequested)
            {
                try
                {
                    using var response = await api.GetAsync(new Uri("/api/health", UriKind.Relative), stopHttp.Token);
                    httpStatuses.Add(response.StatusCode);
                }
                catch (OperationCanceledException) when (stopHttp.IsCancellationRequested)
                {
                }

                await Task.Delay(50, CancellationToken.None);
            }
        });

        var killsAfterWave = Enumerable.Range(0, Kills).Select(_ => random.Next(Waves)).ToArray();
        var killed = new List<int>();
        for (var wave = 0; wave < Waves; wave++)
        {
            for (var i = 0; i < NoticesPerWave; i++)
            {
                var id = $"chaos-{wave}-{i:00}";
                expected.Add(id);
                await queue.SendMessageAsync(
                    $$"""{"deliveryId":"{{id}}","subscriber":"{{TestHub.Subscriber}}","url":"{{receiver.Url}}","type":"calaimhub.chaos","data":{"wave":{{wave}} } }""");
            }

            foreach (var _ in killsAfterWave.Where(w => w == wave))
            {
                await Task.Delay(random.Next(50, 1500));
                var instance = hub.Instances[random.Next(hub.Instances.Count)];
                // The chosen instance may still be coming back from the previous kill: wait for its new process.
                var pid = await Eventually.ValueAsync(() => Task.FromResult(instance.ProcessId), p => p is not null, Patience, "a running instance to kill " + Context());
                using (var process = Process.GetProcessById(pid!.Value))
                {
                    process.Kill();
                }

                killed.Add(pid.Value);
            }

            await Task.Delay(random.Next(100, 800));
        }

        await Eventually.ValueAsync(
            () => Task.FromResult(receiver.Requests.Select(r => r.Headers[StandardWebhookSignature.IdHeader]).Distinct().Count()),
            n => n == expected.Count, Patience, $"{expected.Count} distinct deliveries; {Context()}");
        await Eventually.ValueAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Length, n => n == 0, Patience, "an empty notifications queue " + Context());
        await stopHttp.CancelAsync();
        await http;

        Assert.Equal(Kills, killed.Count);
        await Eventually.ValueAsync(() => Task.FromResult(hub.Instances.Sum(i => i.Restarts)), n => n == Kills, Patience, "a restart per kill " + Context());
        Assert.All(killed, pid => Assert.Contains(log, l => l.Contains($"(pid {pid}) exited with code 137", StringComparison.Ordinal)));
        var received = receiver.Requests.Select(r => r.Headers[StandardWebhookSignature.IdHeader]).ToArray();
        var report = $"{received.Length} raw deliveries, {received.Length - received.Distinct().Count()} repeated ids, {Kills} kills; {Context()}";
        Assert.True(expected.Order(StringComparer.Ordinal).SequenceEqual(received.Distinct().Order(StringComparer.Ordinal)), report);
        Assert.Empty((await hub.Storage.Queues.GetQueueClient("notifications-poison").PeekMessagesAsync(32)).Value);

        var deliveries = hub.Storage.Tables.GetTableClient("NotificationDeliveries");
        foreach (var id in expected)
        {
            var row = await deliveries.GetEntityAsync<TableEntity>(id, "delivery");
            Assert.True(row.Value.GetString("Status") == "Delivered", $"{id}: {row.Value.GetString("Status")}; {report}");
        }

        // HTTP stayed up: every answer was 200, or 502 for a request whose instance died under it.
        Assert.All(httpStatuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.BadGateway, $"{s}; {report}"));
        Assert.Contains(HttpStatusCode.OK, httpStatuses);
        using var health = await api.GetAsync(new Uri("/api/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
