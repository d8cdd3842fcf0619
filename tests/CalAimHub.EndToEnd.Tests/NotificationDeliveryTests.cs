using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using CalAimHub.Testing;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>Notify through the local host: queue message → handler → signed CloudEvent at a loopback receiver.</summary>
public sealed class NotificationDeliveryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Health_reports_every_storage_service_answering()
    {
        await using var hub = await TestHub.StartAsync();
        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));
        var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        foreach (var component in new[] { "blob", "queue", "table" })
        {
            Assert.Equal("ok", health.GetProperty("storage").GetProperty(component).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task A_notification_arrives_once_as_a_signed_cloud_event_and_no_member_data_is_logged()
    {
        await using var receiver = await SubscriberReceiver.StartAsync(200);
        await using var hub = await TestHub.StartAsync();
        // Member data in the payload: it must reach the subscriber and never the logs.
        var message = Message(receiver.Url, "delivery-ok-1", data: """{"cin":"91234567A","memberName":"Rosa Delgado","birthDate":"1961-04-02"}""");

        await Queue(hub).SendMessageAsync(message);
        await Eventually.ValueAsync(() => Task.FromResult(receiver.Requests.Count), n => n >= 1, Patience, "the delivery");
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second delivery would show up by now

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("delivery-ok-1", request.Headers[StandardWebhookSignature.IdHeader]);
        Assert.Null(StandardWebhookSignature.Verify(
            request.Headers[StandardWebhookSignature.IdHeader],
            request.Headers[StandardWebhookSignature.TimestampHeader],
            request.Headers[StandardWebhookSignature.SignatureHeader],
            request.Body,
            [TestHub.Secret],
            DateTimeOffset.UtcNow));
        Assert.Equal("application/cloudevents+json", request.ContentType?.Split(';')[0]);
        var cloudEvent = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("1.0", cloudEvent.GetProperty("specversion").GetString());
        Assert.Equal("delivery-ok-1", cloudEvent.GetProperty("id").GetString());
        Assert.Equal("calaimhub.test", cloudEvent.GetProperty("type").GetString());
        Assert.Equal("91234567A", cloudEvent.GetProperty("data").GetProperty("cin").GetString());

        var delivery = await hub.Storage.Tables.GetTableClient("NotificationDeliveries").GetEntityAsync<Azure.Data.Tables.TableEntity>("delivery-ok-1", "delivery");
        Assert.Equal("Delivered", delivery.Value.GetString("Status"));
        Assert.Equal(1, delivery.Value.GetInt32("Attempts"));

        var logs = string.Join('\n', hub.HandlerOutput);
        Assert.Contains("delivery-ok-1", logs, StringComparison.Ordinal);
        foreach (var phi in new[] { "91234567A", "Rosa", "Delgado", "1961-04-02" })
        {
            Assert.DoesNotContain(phi, logs, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task A_subscriber_that_always_fails_gets_five_attempts_then_one_poison_message_with_the_reason()
    {
        await using var receiver = await SubscriberReceiver.StartAsync(500);
        await using var hub = await TestHub.StartAsync();

        await Queue(hub).SendMessageAsync(Message(receiver.Url, "delivery-500-1"));
        var poison = await PoisonAsync(hub, expected: 1);

        var letter = DeadLetter.TryParse(Assert.Single(poison));
        Assert.NotNull(letter);
        Assert.Equal("subscriber 'plan-a' answered HTTP 500 (Internal Server Error)", letter.Reason);
        Assert.Equal(5, letter.Attempts);
        Assert.Equal("Notify", letter.Function);
        Assert.Contains("delivery-500-1", letter.Message, StringComparison.Ordinal);
        Assert.Equal(5, receiver.Requests.Count);
        Assert.All(receiver.Requests, r => Assert.Equal("delivery-500-1", r.Headers[StandardWebhookSignature.IdHeader]));
        Assert.Equal(0, (await Queue(hub).GetPropertiesAsync()).Value.ApproximateMessagesCount);

        var delivery = await hub.Storage.Tables.GetTableClient("NotificationDeliveries").GetEntityAsync<Azure.Data.Tables.TableEntity>("delivery-500-1", "delivery");
        Assert.Equal("Failed", delivery.Value.GetString("Status"));
        Assert.Equal(5, delivery.Value.GetInt32("Attempts"));
    }

    [Theory]
    [InlineData("this is not json", "notification message is not valid JSON (line 1, byte 2); send a JSON object with subscriber, url, type and data")]
    [InlineData("""{"deliveryId":"no-url","subscriber":"plan-a","type":"calaimhub.test"}""", "notification message has no 'url'; set it to the subscriber's absolute https endpoint")]
    [InlineData("""{"deliveryId":"no-secret","subscriber":"plan-z","url":"http://127.0.0.1:9/hooks","type":"calaimhub.test"}""", "no signing secret configured for subscriber 'plan-z' (set Notifications__Subscribers__plan-z__Secrets__0 to a whsec_ secret)")]
    public async Task A_bad_notification_is_retried_then_poisoned_with_a_clear_reason_and_the_handler_keeps_running(string message, string reason)
    {
        await using var hub = await TestHub.StartAsync();

        await Queue(hub).SendMessageAsync(message);
        var poison = await PoisonAsync(hub, expected: 1);

        var letter = DeadLetter.TryParse(Assert.Single(poison));
        Assert.NotNull(letter);
        Assert.Equal(reason, letter.Reason);
        Assert.Equal(message, letter.Message);
        Assert.Equal(5, letter.Attempts);
        Assert.False(hub.HandlerExited.IsCompleted, "the handler process must survive bad messages");
        using var client = new HttpClient { BaseAddress = hub.ApiBaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/health", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Replay_puts_a_dead_letter_back_as_the_original_message()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string> { ["AzureWebJobs.Notify.Disabled"] = "true" });
        var original = """{"deliveryId":"replayed","subscriber":"plan-a","url":"http://127.0.0.1:9/hooks","type":"calaimhub.test"}""";
        var letter = new DeadLetter("Notify", "notifications", "m-1", 5, "subscriber 'plan-a' answered HTTP 500 (Internal Server Error)", DateTimeOffset.UtcNow, original);
        await hub.Storage.Queues.GetQueueClient("notifications-poison").SendMessageAsync(letter.ToJson());

        var moved = await HubCli.ReplayAsync(hub.Storage.Queues, "notifications", CancellationToken.None);

        Assert.Equal(1, moved);
        var back = (await Queue(hub).PeekMessagesAsync(32)).Value;
        Assert.Equal(original, Assert.Single(back).Body.ToString());
        Assert.Empty((await hub.Storage.Queues.GetQueueClient("notifications-poison").PeekMessagesAsync(32)).Value);
    }

    private static QueueClient Queue(LocalHub hub) => hub.Storage.Queues.GetQueueClient("notifications");

    private static async Task<IReadOnlyList<string>> PoisonAsync(LocalHub hub, int expected)
    {
        var poisonQueue = hub.Storage.Queues.GetQueueClient("notifications-poison");
        await Eventually.ValueAsync(async () => (await poisonQueue.PeekMessagesAsync(32)).Value.Length, n => n >= expected, Patience, "the poison message");
        await Task.Delay(TimeSpan.FromSeconds(1)); // a duplicate would arrive by now
        return (await poisonQueue.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToArray();
    }

    private static string Message(Uri url, string deliveryId, string data = """{"authorizationId":"A-1","status":"approved"}""") =>
        $$"""{"deliveryId":"{{deliveryId}}","subscriber":"{{TestHub.Subscriber}}","url":"{{url}}","type":"calaimhub.test","data":{{data}}}""";
}
