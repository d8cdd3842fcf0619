using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Azure.Messaging.EventGrid;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;

namespace CalAimHub.LocalHost;

/// <summary>
/// Plays the Event Grid subscription that delivers <c>Microsoft.Storage.BlobCreated</c> events for one container to a
/// storage queue (Azurite has no Event Grid): polls the container and, for each blob version (name + ETag) not yet
/// announced, enqueues one Event Grid schema event as one queue message. Announced versions are remembered in the table
/// <see cref="TableName"/> (local-host state only), so a restart over on-disk data does not announce them again and an
/// overwritten blob (new ETag) is announced again, as Event Grid would.
/// </summary>
internal sealed class BlobCreatedEvents
{
    public const string TableName = "LocalHostBlobEvents";
    public const string EventType = "Microsoft.Storage.BlobCreated";
    public const string Topic = "/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/" + Azurite.AccountName;

    private readonly BlobContainerClient _container;
    private readonly QueueClient _queue;
    private readonly TableClient _table;
    private readonly TimeSpan _interval;
    private readonly Action<string> _log;
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);

    public BlobCreatedEvents(BlobContainerClient container, QueueClient queue, TableServiceClient tables, TimeSpan interval, Action<string> log)
    {
        _container = container;
        _queue = queue;
        _table = tables.GetTableClient(TableName);
        _interval = interval;
        _log = log;
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _table.CreateIfNotExistsAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {_container.Name}");
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            _announced.Add(entity.RowKey);
        }
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await ScanOnceAsync(stopping);
                await Task.Delay(_interval, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException)
            {
                _log($"BlobCreated emulation: {e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}; retrying.");
                await Task.Delay(_interval, stopping).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Announces every blob version not announced yet; returns how many events were enqueued.</summary>
    public async Task<int> ScanOnceAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Traits = BlobTraits.Metadata }, cancellationToken))
        {
            var etag = blob.Properties.ETag ?? default;
            var rowKey = RowKey(blob.Name, etag);
            if (_announced.Contains(rowKey))
            {
                continue;
            }

            var blobEvent = CreateEvent(_container.Name, blob, _container.GetBlobClient(blob.Name).Uri);
            // Enqueue, then record. A crash between the two announces the blob again on the next start: a duplicate with
            // the same event id (derived from name + ETag), which receivers dedupe, as they must for Event Grid's
            // at-least-once delivery anyway. Record-then-enqueue could lose the event, which is worse.
            await _queue.SendMessageAsync(JsonSerializer.Serialize(blobEvent), cancellationToken);
            await _table.UpsertEntityAsync(
                new TableEntity(_container.Name, rowKey)
                {
                    ["BlobName"] = blob.Name,
                    ["ETag"] = etag.ToString(),
                    ["EventId"] = blobEvent.Id,
                },
                TableUpdateMode.Replace,
                cancellationToken);
            _announced.Add(rowKey);
            count++;
            // The blob name can identify a partner and a member file, but not a member; the event id is enough to trace.
            _log($"BlobCreated event {blobEvent.Id} enqueued on {_queue.Name} for a blob in '{_container.Name}'.");
        }

        return count;
    }

    internal static EventGridEvent CreateEvent(string container, BlobItem blob, Uri blobUri)
    {
        var etag = (blob.Properties.ETag ?? default).ToString().Trim('"');
        var id = EventId(container, blob.Name, blob.Properties.ETag ?? default);
        var lastModified = blob.Properties.LastModified ?? blob.Properties.CreatedOn ?? DateTimeOffset.UnixEpoch;
        var data = new JsonObject
        {
            ["api"] = "PutBlob",
            ["clientRequestId"] = DerivedGuid(id, "client").ToString(),
            ["requestId"] = DerivedGuid(id, "request").ToString(),
            ["eTag"] = etag,
            ["contentType"] = blob.Properties.ContentType ?? "application/octet-stream",
            ["contentLength"] = blob.Properties.ContentLength ?? 0,
            ["blobType"] = "BlockBlob",
            ["url"] = blobUri.AbsoluteUri,
            ["sequencer"] = lastModified.UtcTicks.ToString("x32", CultureInfo.InvariantCulture),
            ["storageDiagnostics"] = new JsonObject { ["batchId"] = DerivedGuid(id, "batch").ToString() },
        };
        return new EventGridEvent(
            $"/blobServices/default/containers/{container}/blobs/{blob.Name}",
            EventType,
            "1",
            BinaryData.FromString(data.ToJsonString()))
        {
            Id = id,
            Topic = Topic,
            EventTime = lastModified,
        };
    }

    /// <summary>Deterministic per blob version, so a re-announcement after a crash carries the same id.</summary>
    internal static string EventId(string container, string blobName, ETag etag) =>
        DerivedGuid($"{container}/{blobName}", etag.ToString().Trim('"')).ToString();

    /// <summary>Table keys cannot hold '/', '\', '#', '?' or control characters and are limited to 1 KiB: hash name + ETag.</summary>
    internal static string RowKey(string blobName, ETag etag) =>
        Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(blobName + "\n" + etag.ToString().Trim('"'))));

    private static Guid DerivedGuid(string a, string b)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(a + "\n" + b));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5-style (name-based) marker
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
