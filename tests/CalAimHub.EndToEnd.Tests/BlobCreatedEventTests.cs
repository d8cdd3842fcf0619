using System.Text.Json;
using Azure.Messaging.EventGrid;
using CalAimHub.Testing;

namespace CalAimHub.EndToEnd.Tests;

public sealed class BlobCreatedEventTests
{
    [Fact]
    public async Task A_blob_dropped_in_inbound_produces_exactly_one_blob_created_event()
    {
        // The ingestion function would consume the event; switch it off (as in Azure) to look at the queue itself.
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string> { ["AzureWebJobs.IngestPartnerFile.Disabled"] = "true" });
        var blob = hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient("partner-1/rtf/2026-11.csv");
        await blob.UploadAsync(BinaryData.FromString("header\nrow\n"));
        var queue = hub.Storage.Queues.GetQueueClient("blob-created");

        await Eventually.ValueAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Length, n => n >= 1, TimeSpan.FromSeconds(30), "the BlobCreated event");
        await Task.Delay(TimeSpan.FromSeconds(2)); // several poll rounds: a duplicate would be here by now

        var message = Assert.Single((await queue.PeekMessagesAsync(32)).Value);
        var gridEvent = EventGridEvent.Parse(message.Body);
        Assert.Equal("Microsoft.Storage.BlobCreated", gridEvent.EventType);
        Assert.Equal("/blobServices/default/containers/inbound/blobs/partner-1/rtf/2026-11.csv", gridEvent.Subject);
        var data = JsonDocument.Parse(gridEvent.Data.ToString()).RootElement;
        Assert.Equal(blob.Uri.ToString(), data.GetProperty("url").GetString());
        Assert.Equal(11, data.GetProperty("contentLength").GetInt64());
    }
}
