using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// The local host with the real handler process, Azurite in memory on free ports, and a loopback webhook receiver standing in
/// for the partner's notification endpoint. Partner <see cref="Partner"/> is registered; <see cref="Silent"/> is registered
/// without a subscriber.
/// </summary>
public sealed class HubFixture : IAsyncLifetime
{
    public const string Partner = "mcp-e2e";
    public const string Silent = "cbo-quiet";
    public const string Reporter = "cbo-reports"; // its files are only read back through the report API (FileReportApiTests)
    public const string Subscriber = "sub-e2e";
    public const long ValidateLimit = 40L * 1024 * 1024;
    public const string WebhookPlatform = "samples";
    public const string WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private WebApplication? _receiver;

    public LocalHub Hub { get; private set; } = null!;
    public ConcurrentQueue<(string Id, string Body)> Deliveries { get; } = new();
    public BlobContainerClient Inbound => Hub.Storage.Blobs.GetBlobContainerClient(InboundPath.Container);
    public BlobContainerClient Results => Hub.Storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer);
    public TableClient Rows => Hub.Storage.Tables.GetTableClient(TableRowDestination.TableName);
    public TableClient Runs => Hub.Storage.Tables.GetTableClient(IngestRuns.TableName);
    public QueueClient DomainEvents => Hub.Storage.Queues.GetQueueClient(DomainEvent.QueueName);
    public QueueClient ReferralStatusEvents => Hub.Storage.Queues.GetQueueClient(DomainEvent.ReferralStatusQueueName);

    public QueueClient InvoiceEvents => Hub.Storage.Queues.GetQueueClient(DomainEvent.InvoiceQueueName);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _receiver = builder.Build();
        _receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            Deliveries.Enqueue((request.Headers["webhook-id"].ToString(), await reader.ReadToEndAsync()));
            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        await _receiver.StartAsync();
        var hook = _receiver.Urls.Single() + "/hook";

        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableTimerTriggers = false,
            BlobPollInterval = TimeSpan.FromMilliseconds(200),
            HostOverrides = new Dictionary<string, string> { ["extensions:queues:maxPollingInterval"] = "00:00:00.250" },
            AppSettings = new Dictionary<string, string>
            {
                [$"Ingestion__Partners__{Partner}__Subscriber"] = Subscriber,
                [$"Ingestion__Partners__{Partner}__NotificationUrl"] = hook,
                [$"Ingestion__Partners__{Silent}__Kinds__0"] = "referral",
                [$"Ingestion__Partners__{Reporter}__Kinds__0"] = "otf",
                ["Notifications__RequireHttps"] = "false",
                // Above Kestrel's own 30 MB default, below the front door's 100 MB: both limits can be tested.
                ["Ingestion__MaxValidateBytes"] = ValidateLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // These tests read the published events themselves; the referral workflow would consume its queue.
                ["AzureWebJobs.ReferralStatusFiles.Disabled"] = "true",
                // The tests read the invoice lines and file-stored events off invoice-events; the invoice consumer would take them first.
                ["AzureWebJobs.InvoiceFiles.Disabled"] = "true",
                // The webhook sample is posted to the real intake (SampleFilesTests); the referral workflow need not run it.
                [$"Webhooks__Platforms__{WebhookPlatform}__Secrets__0"] = WebhookSecret,
                ["AzureWebJobs.ReferralEvents.Disabled"] = "true",
                [$"Notifications__Subscribers__{Subscriber}__Secrets__0"] = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            },
        });
    }

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();
        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    public async Task DropAsync(string blobName, byte[] content, bool overwrite = false) =>
        await Inbound.GetBlobClient(blobName).UploadAsync(new BinaryData(content), overwrite);

    /// <summary>Waits for the run of the blob's current version to complete and returns its report.</summary>
    public async Task<IngestReport> WaitForReportAsync(string blobName, TimeSpan? timeout = null)
    {
        var etag = (await Inbound.GetBlobClient(blobName).GetPropertiesAsync()).Value.ETag.ToString();
        var runId = BlobFileIngestion.RunId(blobName, etag);
        var partition = IngestRuns.PartitionFor(InboundPath.TryParse(blobName)?.PartnerId ?? "_unrouted");
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (DateTime.UtcNow < deadline)
        {
            var run = await Runs.GetEntityIfExistsAsync<TableEntity>(partition, runId);
            if (run.HasValue && run.Value!.GetString("Status") == IngestRuns.Status.Completed)
            {
                var json = await Results.GetBlobClient(InboundPath.ReportNames(blobName).Json).DownloadContentAsync();
                return IngestReport.FromJson(json.Value.Content.ToString());
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"no completed run {runId} for {blobName} within the timeout; handler output:\n{string.Join('\n', Hub.HandlerOutput.TakeLast(30))}");
    }

    /// <param name="memberRows">The batches' member rows (invoice lines' CINs, <see cref="TableRowDestination.MemberRowPrefix"/>) instead of the stored rows.</param>
    public async Task<List<TableEntity>> RowsOfAsync(string partnerId, string kind, bool memberRows = false)
    {
        var rows = new List<TableEntity>();
        var low = $"{partnerId}~{kind}~";
        await foreach (var row in Rows.QueryAsync<TableEntity>(e => e.PartitionKey.CompareTo(low) >= 0 && e.PartitionKey.CompareTo(low + "\uffff") < 0))
        {
            if (row.RowKey.StartsWith(TableRowDestination.MemberRowPrefix, StringComparison.Ordinal) == memberRows)
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    /// <summary>Every domain event on the queue (peeked, not consumed: at most 32 messages per peek, so received and restored).</summary>
    /// <summary>Every domain event published, whichever consumer's queue it went to.</summary>
    public async Task<List<JsonElement>> DomainEventsAsync() => [.. await EventsOnAsync(DomainEvents), .. await EventsOnAsync(ReferralStatusEvents), .. await EventsOnAsync(InvoiceEvents)];

    private static async Task<List<JsonElement>> EventsOnAsync(QueueClient queue)
    {
        var events = new List<JsonElement>();
        var seen = new HashSet<string>();
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30))).Value;
            if (batch.Length == 0)
            {
                break;
            }

            foreach (var message in batch)
            {
                if (seen.Add(message.MessageId))
                {
                    events.AddRange(TableRowDestination.ReadEvents(message.Body.ToString()));
                }
            }
        }

        return events;
    }
}

[CollectionDefinition(Name)]
public sealed class HubCollection : ICollectionFixture<HubFixture>
{
    public const string Name = "hub";
}
