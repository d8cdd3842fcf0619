using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CalAimHub.Functions.Outbound;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Inbound;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// The optional SFTP exchange account (infra/modules/sftp.bicep): per partner an <c>in-{id}</c> container it writes over
/// SFTP and an <c>out-{id}</c> container it reads (<see cref="ExchangeContainers"/>). Configured by
/// <c>Exchange:ConnectionString</c> (Azurite, local) or <c>Exchange:BlobServiceUri</c> (Azure; the identity of
/// <c>AzureWebJobsStorage</c>). Not configured when neither is set: the hub then has blob and API delivery only.
/// </summary>
public sealed class ExchangeAccount(BlobServiceClient? blobs)
{
    public const string Section = "Exchange";

    public static readonly ExchangeAccount None = new(null);

    public BlobServiceClient? Blobs { get; } = blobs;

    public static ExchangeAccount FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        if (section["ConnectionString"] is { Length: > 0 } connectionString)
        {
            return new ExchangeAccount(new BlobServiceClient(connectionString));
        }

        if (section["BlobServiceUri"] is not { Length: > 0 } uri)
        {
            return None;
        }

        var storage = configuration.GetSection(StorageAccount.ConnectionName);
        TokenCredential credential = string.Equals(storage["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(storage["clientId"] is { Length: > 0 } clientId
                ? ManagedIdentityId.FromUserAssignedClientId(clientId)
                : ManagedIdentityId.SystemAssigned)
            : new DefaultAzureCredential();
        return new ExchangeAccount(new BlobServiceClient(new Uri(uri), credential));
    }

    /// <summary>The partner's copy of an outbound file: <c>out-{provider}/{kind}/{file}</c>; null when the provider cannot have SFTP containers.</summary>
    public BlockBlobClient? OutboundCopy(string outboundPath)
    {
        var parts = outboundPath.Split('/', 2);
        return Blobs is not null && parts.Length == 2 && ExchangeContainers.IsSftpPartnerId(parts[0])
            ? Blobs.GetBlobContainerClient(ExchangeContainers.Outbound(parts[0])).GetBlockBlobClient(parts[1])
            : null;
    }
}

/// <summary>
/// Files a partner dropped over SFTP reach the one ingestion: a BlobCreated event from <c>in-{partner}/{kind}/{file}</c> on
/// the exchange account is copied, streamed in staged blocks and committed once, to <c>inbound/{partner}/{kind}/{file}</c> on
/// the main account, whose own BlobCreated event then ingests it like any dropped file (and the main account's versioning
/// and change feed keep the original). The copy carries the source's ETag as metadata, so a redelivered event copies
/// nothing (a new copy would be a new blob version and a second ingestion run).
/// </summary>
public sealed class ExchangeInbound(StorageAccount storage, ExchangeAccount exchange)
{
    public const string SourceETagMetadata = "exchangeetag";

    public async Task<string> ForwardAsync(BlobCreatedEvent blobEvent, InboundPath target, CancellationToken cancellationToken)
    {
        if (exchange.Blobs is null)
        {
            return $"Ignored event {blobEvent.Id}: an exchange-account container, but no Exchange account is configured.";
        }

        var source = exchange.Blobs.GetBlobContainerClient(blobEvent.Container).GetBlobClient(blobEvent.BlobName);
        BlobProperties properties;
        try
        {
            properties = (await source.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return $"Event {blobEvent.Id}: the exchange blob no longer exists; nothing to forward.";
        }

        var etag = properties.ETag.ToString().Trim('"');
        var destination = storage.Blobs.GetBlobContainerClient(InboundPath.Container).GetBlockBlobClient(target.BlobName);
        try
        {
            var existing = (await destination.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            if (existing.Metadata.TryGetValue(SourceETagMetadata, out var copied) && copied == etag)
            {
                return $"Event {blobEvent.Id}: already forwarded to inbound/{target.PartnerId}/{target.Kind}/.";
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }

        await using (var content = await source.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
        {
            BufferSize = 4 * 1024 * 1024,
            Conditions = new BlobRequestConditions { IfMatch = properties.ETag },
        }, cancellationToken))
        {
            await using var staging = new BlockStagingStream(destination);
            await content.CopyToAsync(staging, 4 * 1024 * 1024, cancellationToken);
            await staging.CompleteAsync(cancellationToken);
            await destination.CommitBlockListAsync(staging.Blocks, new CommitBlockListOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = properties.ContentType },
                Metadata = new Dictionary<string, string> { [SourceETagMetadata] = etag },
            }, cancellationToken);
        }

        return $"Event {blobEvent.Id}: forwarded from the exchange account to inbound/{target.PartnerId}/{target.Kind}/.";
    }
}
