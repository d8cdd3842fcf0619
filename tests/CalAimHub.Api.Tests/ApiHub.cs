extern alias localhost;

using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using CalAimHub.Hosting.Webhooks;
using localhost::CalAimHub.LocalHost;

namespace CalAimHub.Api.Tests;

/// <summary>The real handler behind the local host on in-memory Azurite, with one signed webhook platform, and its OpenAPI document.</summary>
public sealed class ApiHub : IAsyncLifetime
{
    public const string Platform = "sampleplatform";
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    public LocalHub Hub { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public JsonNode Document { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            AppSettings = new Dictionary<string, string>
            {
                ["Notifications__RequireHttps"] = "false",
                [$"Webhooks__Platforms__{Platform}__Secrets__0"] = Secret,
            },
        });
        Client = new HttpClient { BaseAddress = Hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Document = JsonNode.Parse(await Client.GetStringAsync(new Uri("/api/openapi.json", UriKind.Relative)))!;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Hub.DisposeAsync();
    }

    /// <summary>A POST to the webhook route signed as the platform would sign it.</summary>
    public static HttpRequestMessage SignedWebhook(byte[] body, string webhookId, string platform = Platform, string contentType = "application/json")
    {
        var at = DateTimeOffset.UtcNow;
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/webhooks/{platform}", UriKind.Relative)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Add(StandardWebhookSignature.IdHeader, webhookId);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(webhookId, at, body, [Secret]));
        return request;
    }

    /// <summary>Every entity, blob and queue message in the hub's storage, counted: "nothing stored" is an unchanged count.</summary>
    public async Task<StorageCount> CountStorageAsync()
    {
        var layout = Hub.App.Storage;
        long entities = 0, blobs = 0, messages = 0;
        // Every table in the account, not only the layout's: sharded read models keep their rows in tables the hub creates.
        await foreach (var table in Hub.Storage.Tables.QueryAsync())
        {
            await foreach (var _ in Hub.Storage.Tables.GetTableClient(table.Name).QueryAsync<TableEntity>(select: ["PartitionKey"]))
            {
                entities++;
            }
        }

        foreach (var container in layout.Containers)
        {
            await foreach (var _ in Hub.Storage.Blobs.GetBlobContainerClient(container).GetBlobsAsync())
            {
                blobs++;
            }
        }

        foreach (var queue in layout.QueuesWithPoison)
        {
            messages += (await Hub.Storage.Queues.GetQueueClient(queue).GetPropertiesAsync()).Value.ApproximateMessagesCount;
        }

        return new StorageCount(entities, blobs, messages);
    }
}

public sealed record StorageCount(long Entities, long Blobs, long QueueMessages);
