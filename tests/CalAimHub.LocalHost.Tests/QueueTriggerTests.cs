using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Testing;

namespace CalAimHub.LocalHost.Tests;

public sealed class QueueTriggerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static Dictionary<string, System.Text.Json.Nodes.JsonObject> WorkFunction() => new() { ["Work"] = TestApp.Queue("work", "item") };

    private static Dictionary<string, string> FastRetries(int maxDequeueCount) => new()
    {
        ["extensions:queues:visibilityTimeout"] = "00:00:00",
        ["extensions:queues:maxDequeueCount"] = maxDequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task A_failing_invocation_is_tried_maxDequeueCount_times_then_moved_to_poison_with_its_original_body()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        handler.InvocationStatus = _ => 500;
        var log = new List<string>();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler, log) with { HostOverrides = FastRetries(3) });
        const string body = "{\"member\":\"Jane Ñ\",\"cin\":\"91234567A\"}";

        await hub.Storage.Queues.GetQueueClient("work").SendMessageAsync(body);
        var poison = hub.Storage.Queues.GetQueueClient("work-poison");
        await Eventually.ValueAsync(async () => (await poison.PeekMessagesAsync(10)).Value.Length, n => n >= 1, Wait, "a poison message");
        await Task.Delay(1000); // nothing more may happen

        var attempts = handler.Invocations("Work");
        Assert.Equal(3, attempts.Count);
        var counts = attempts.Select(a =>
        {
            using var document = JsonDocument.Parse(a.Body);
            var dequeueCount = document.RootElement.GetProperty("Metadata").GetProperty("DequeueCount");
            Assert.Equal(JsonValueKind.String, dequeueCount.ValueKind);
            return dequeueCount.GetString();
        }).Order().ToArray();
        Assert.Equal(new string?[] { "1", "2", "3" }, counts);
        Assert.All(attempts, a => Assert.Equal(body, InvocationRequest.Parse(Encoding.UTF8.GetBytes(a.Body)).GetText("item")));
        Assert.All(attempts, a => Assert.True(Guid.TryParse(a.Headers["X-Azure-Functions-InvocationId"], out _)));

        var poisoned = (await poison.PeekMessagesAsync(10)).Value;
        Assert.Single(poisoned);
        Assert.Equal(body, poisoned[0].Body.ToString());
        Assert.Empty((await hub.Storage.Queues.GetQueueClient("work").PeekMessagesAsync(10)).Value);
        var lines = Hubs.Snapshot(log);
        Assert.Contains(lines, l => l.Contains("message has reached MaxDequeueCount of 3, moved to queue 'work-poison'.", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("91234567A", StringComparison.Ordinal)); // message bodies never reach the log
    }

    [Fact]
    public async Task A_slow_message_does_not_hold_back_the_next_batch_once_in_flight_work_drops_to_newBatchThreshold()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        var slowFinished = DateTimeOffset.MaxValue;
        var arrivals = new System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset>();
        handler.InvocationStatus = request =>
        {
            var item = InvocationRequest.Parse(Encoding.UTF8.GetBytes(request.Body)).GetText("item");
            arrivals[item] = DateTimeOffset.UtcNow;
            if (item == "slow")
            {
                Thread.Sleep(TimeSpan.FromSeconds(4));
                slowFinished = DateTimeOffset.UtcNow;
            }

            return 200;
        };
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with
        {
            HostOverrides = new Dictionary<string, string>
            {
                ["extensions:queues:batchSize"] = "2",
                ["extensions:queues:newBatchThreshold"] = "1",
                ["extensions:queues:maxPollingInterval"] = "00:00:00.200",
            },
        });
        var queue = hub.Storage.Queues.GetQueueClient("work");

        await queue.SendMessageAsync("slow");
        await Eventually.TrueAsync(() => arrivals.ContainsKey("slow"), Wait, "the slow message to start");
        await queue.SendMessageAsync("fast");
        await Eventually.TrueAsync(() => arrivals.ContainsKey("fast"), Wait, "the fast message");

        Assert.True(arrivals["fast"] < slowFinished, "the fast message ran while the slow one was still in flight");
    }

    [Fact]
    public async Task An_invocation_longer_than_the_message_lease_keeps_the_message_invisible_and_runs_once()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        handler.InvocationStatus = _ =>
        {
            Thread.Sleep(TimeSpan.FromSeconds(5)); // 2.5 leases
            return 200;
        };
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with
        {
            QueueMessageLease = TimeSpan.FromSeconds(2),
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.200" },
        });
        var queue = hub.Storage.Queues.GetQueueClient("work");

        await queue.SendMessageAsync("a large file");
        await Eventually.TrueAsync(() => handler.Invocations("Work").Count == 1, Wait, "the invocation to start");
        await Task.Delay(TimeSpan.FromSeconds(3)); // past the first lease: still invisible, not handed out again
        Assert.Empty((await queue.PeekMessagesAsync(10)).Value);
        await Eventually.ValueAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, Wait, "the message deleted");
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Single(handler.Invocations("Work"));
    }

    [Fact]
    public async Task A_successful_invocation_deletes_the_message_after_one_attempt()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with { HostOverrides = FastRetries(5) });
        var queue = hub.Storage.Queues.GetQueueClient("work");

        await queue.SendMessageAsync("hello");
        await Eventually.TrueAsync(() => handler.Invocations("Work").Count == 1, Wait, "one invocation");
        await Eventually.ValueAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, Wait, "an empty queue");
        await Task.Delay(500);

        Assert.Single(handler.Invocations("Work"));
        Assert.Empty((await hub.Storage.Queues.GetQueueClient("work-poison").PeekMessagesAsync(10)).Value);
        using var envelope = JsonDocument.Parse(handler.Invocations("Work")[0].Body);
        Assert.Equal("\"hello\"", envelope.RootElement.GetProperty("Data").GetProperty("item").GetString());
        Assert.Equal("queue", envelope.RootElement.GetProperty("Metadata").GetProperty("sys").GetProperty("MethodName").GetString());
    }

    [Fact]
    public async Task A_failed_message_comes_back_only_after_visibilityTimeout()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        handler.InvocationStatus = r => handler.Invocations("Work").Count == 1 ? 503 : 200;
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with
        {
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:visibilityTimeout"] = "00:00:02" },
        });

        await hub.Storage.Queues.GetQueueClient("work").SendMessageAsync("retry me");
        await Eventually.TrueAsync(() => handler.Invocations("Work").Count == 1, Wait, "the first attempt");
        await Task.Delay(1000);
        Assert.Single(handler.Invocations("Work"));
        await Eventually.TrueAsync(() => handler.Invocations("Work").Count == 2, Wait, "the second attempt");
    }

    [Theory]
    [InlineData("base64")]
    [InlineData("none")]
    public async Task The_handler_gets_the_message_text_decoded_per_messageEncoding(string encoding)
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with
        {
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:messageEncoding"] = encoding },
        });
        const string text = "{\"type\":\"Microsoft.Storage.BlobCreated\",\"note\":\"é ✓\"}";
        // What a producer such as Event Grid puts in the queue: base64 of the UTF-8 text, or the text itself.
        var raw = encoding == "base64" ? Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) : text;
        var plain = new QueueClient(hub.StorageConnectionString, "work", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

        await plain.SendMessageAsync(raw);
        await Eventually.TrueAsync(() => handler.Invocations("Work").Count == 1, Wait, "one invocation");

        var received = InvocationRequest.Parse(Encoding.UTF8.GetBytes(handler.Invocations("Work")[0].Body)).GetText("item");
        Assert.Equal(text, received);
    }

    [Fact]
    public async Task The_hub_storage_client_writes_base64_when_host_json_says_base64()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with { EnableQueueTriggers = false });
        await hub.Storage.Queues.GetQueueClient("work").SendMessageAsync("plain text");

        var plain = new QueueClient(hub.StorageConnectionString, "work", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var peeked = (await plain.PeekMessagesAsync(1)).Value.Single();
        Assert.Equal(Convert.ToBase64String("plain text"u8.ToArray()), peeked.Body.ToString());
    }

    [Fact]
    public async Task A_message_dequeued_more_than_maxDequeueCount_times_goes_to_poison_without_running()
    {
        using var app = TestApp.Create(WorkFunction());
        await using var handler = await StandInHandler.StartAsync();
        var overrides = FastRetries(2);
        await using var storageHub = await LocalHub.StartAsync(Hubs.For(app, handler) with { EnableQueueTriggers = false, HostOverrides = overrides });
        var queue = storageHub.Storage.Queues.GetQueueClient("work");
        await queue.SendMessageAsync("stale");
        for (var i = 0; i < 3; i++)
        {
            var message = (await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30))).Value.Single();
            await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        }

        // A second host over the same storage, with triggers on: the message arrives with DequeueCount 4 > 2.
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with
        {
            StorageConnectionString = storageHub.StorageConnectionString,
            HostOverrides = overrides,
        });
        var poison = hub.Storage.Queues.GetQueueClient("work-poison");
        var poisoned = await Eventually.ValueAsync(async () => (await poison.PeekMessagesAsync(10)).Value, m => m.Length >= 1, Wait, "a poison message");

        Assert.Equal("stale", Assert.Single(poisoned).Body.ToString());
        Assert.Empty(handler.Invocations("Work"));
        Assert.Null(hub.AzuriteProcessId);
    }
}
