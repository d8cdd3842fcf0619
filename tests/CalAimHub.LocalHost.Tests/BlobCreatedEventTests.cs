using System.Text;
using Azure.Messaging.EventGrid;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Testing;

namespace CalAimHub.LocalHost.Tests;

public sealed class BlobCreatedEventTests
{
    private static async Task<PeekedMessage[]> WaitForEventsAsync(LocalHub hub, int count) =>
        await Eventually.ValueAsync(
            async () => (await hub.Storage.Queues.GetQueueClient("blob-created").PeekMessagesAsync(32)).Value,
            m => m.Length >= count,
            TimeSpan.FromSeconds(20),
            $"{count} BlobCreated event(s)");

    [Fact]
    public async Task A_new_blob_gets_exactly_one_BlobCreated_event_even_across_a_restart_over_on_disk_data()
    {
        using var app = TestApp.Create(new() { ["Health"] = TestApp.Http("health", "get") });
        await using var handler = await StandInHandler.StartAsync();
        var data = Path.Combine(Path.GetTempPath(), "hub-test-data-" + Guid.NewGuid().ToString("N")[..8]);
        var log = new List<string>();
        var options = Hubs.For(app, handler, log) with { InMemoryStorage = false, DataDirectory = data, BlobPollInterval = TimeSpan.FromMilliseconds(200) };
        try
        {
            EventGridEvent first;
            await using (var hub = await LocalHub.StartAsync(options))
            {
                var blob = hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient("partner-1/rtf/RTF 2026-03.txt");
                await blob.UploadAsync(BinaryData.FromString("H|header"));
                var properties = (await blob.GetPropertiesAsync()).Value;

                var messages = await WaitForEventsAsync(hub, 1);
                await Task.Delay(1000);
                messages = (await hub.Storage.Queues.GetQueueClient("blob-created").PeekMessagesAsync(32)).Value;
                first = EventGridEvent.Parse(Assert.Single(messages).Body);

                Assert.Equal("Microsoft.Storage.BlobCreated", first.EventType);
                Assert.Equal("/blobServices/default/containers/inbound/blobs/partner-1/rtf/RTF 2026-03.txt", first.Subject);
                Assert.Equal("/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1", first.Topic);
                Assert.Equal("1", first.DataVersion);
                var created = first.Data.ToObjectFromJson<BlobCreatedData>()!;
                Assert.Equal("PutBlob", created.api);
                Assert.Equal("BlockBlob", created.blobType);
                Assert.Equal(8, created.contentLength);
                Assert.Equal(properties.ETag.ToString().Trim('"'), created.eTag);
                Assert.Equal(blob.Uri.AbsoluteUri, created.url);
                Assert.False(string.IsNullOrEmpty(created.sequencer));
                Assert.True(Guid.TryParse(created.requestId, out _));

                // The queue holds base64 text (host.json messageEncoding), like Event Grid's delivery to a queue the host decodes.
                var raw = new QueueClient(hub.StorageConnectionString, "blob-created", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
                var rawText = (await raw.PeekMessagesAsync(1)).Value.Single().Body.ToString();
                Assert.Equal(messages[0].Body.ToString(), Encoding.UTF8.GetString(Convert.FromBase64String(rawText)));
            }

            await using (var hub = await LocalHub.StartAsync(options))
            {
                await Task.Delay(1500); // several polls
                var messages = (await hub.Storage.Queues.GetQueueClient("blob-created").PeekMessagesAsync(32)).Value;
                Assert.Equal(first.Id, EventGridEvent.Parse(Assert.Single(messages).Body).Id);

                // Overwritten → new ETag → announced again, with another id.
                await hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient("partner-1/rtf/RTF 2026-03.txt")
                    .UploadAsync(BinaryData.FromString("H|header v2"), overwrite: true);
                messages = await WaitForEventsAsync(hub, 2);
                await Task.Delay(1000);
                messages = (await hub.Storage.Queues.GetQueueClient("blob-created").PeekMessagesAsync(32)).Value;
                Assert.Equal(2, messages.Length);
                var second = EventGridEvent.Parse(messages[1].Body);
                Assert.NotEqual(first.Id, second.Id);
                Assert.Equal(first.Subject, second.Subject);
            }

            Assert.DoesNotContain(Hubs.Snapshot(log), l => l.Contains("RTF 2026-03", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void The_event_id_is_deterministic_per_blob_version_and_the_row_key_is_table_safe()
    {
        var a = BlobCreatedEvents.EventId("inbound", "p/x.txt", new Azure.ETag("\"0x1\""));
        Assert.Equal(a, BlobCreatedEvents.EventId("inbound", "p/x.txt", new Azure.ETag("0x1")));
        Assert.NotEqual(a, BlobCreatedEvents.EventId("inbound", "p/x.txt", new Azure.ETag("0x2")));
        var rowKey = BlobCreatedEvents.RowKey("a/b\\c#d?e", new Azure.ETag("0x1"));
        Assert.DoesNotContain(rowKey, c => c is '/' or '\\' or '#' or '?' || char.IsControl(c));
        Assert.Equal(43, rowKey.Length);
    }

#pragma warning disable IDE1006, CA1812 // JSON shape of the event data
    private sealed record BlobCreatedData(string api, string clientRequestId, string requestId, string eTag, string contentType, long contentLength, string blobType, string url, string sequencer);
#pragma warning restore IDE1006, CA1812
}
