using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using CalAimHub.Hosting.FunctionApp;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Hosting.Storage;

/// <summary>
/// Clients for the hub's storage account, configured like the Functions host's <c>AzureWebJobsStorage</c>
/// connection: a connection string locally (Azurite), identity-based service URIs in Azure
/// (<c>AzureWebJobsStorage__blobServiceUri</c>, <c>__queueServiceUri</c>, <c>__tableServiceUri</c> or
/// <c>__accountName</c>, with <c>__credential=managedidentity</c> and <c>__clientId</c>).
/// </summary>
public sealed class StorageAccount
{
    public const string ConnectionName = "AzureWebJobsStorage";

    public StorageAccount(BlobServiceClient blobs, QueueServiceClient queues, TableServiceClient tables)
    {
        Blobs = blobs;
        Queues = queues;
        Tables = tables;
    }

    public BlobServiceClient Blobs { get; }
    public QueueServiceClient Queues { get; }
    public TableServiceClient Tables { get; }

    public static StorageAccount FromConnectionString(string connectionString, QueueMessageEncoding encoding) => new(
        new BlobServiceClient(connectionString),
        new QueueServiceClient(connectionString, QueueOptions(encoding)),
        new TableServiceClient(connectionString));

    public static StorageAccount FromConfiguration(IConfiguration configuration, QueueMessageEncoding encoding)
    {
        var connectionString = configuration[ConnectionName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return FromConnectionString(connectionString, encoding);
        }

        var section = configuration.GetSection(ConnectionName);
        var accountName = section["accountName"];
        Uri ServiceUri(string service) => section[$"{service}ServiceUri"] is { Length: > 0 } uri
            ? new Uri(uri)
            : accountName is { Length: > 0 }
                ? new Uri($"https://{accountName}.{service}.core.windows.net")
                : throw new FunctionAppDefinitionException(
                    $"Storage is not configured: set {ConnectionName} (connection string) or {ConnectionName}__{service}ServiceUri / {ConnectionName}__accountName.");

        TokenCredential credential = string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(section["clientId"] is { Length: > 0 } clientId
                ? ManagedIdentityId.FromUserAssignedClientId(clientId)
                : ManagedIdentityId.SystemAssigned)
            : new DefaultAzureCredential();
        return new StorageAccount(
            new BlobServiceClient(ServiceUri("blob"), credential),
            new QueueServiceClient(ServiceUri("queue"), credential, QueueOptions(encoding)),
            new TableServiceClient(ServiceUri("table"), credential));
    }

    /// <summary>Creates every container, queue (with its poison queue) and table of the layout; existing ones are kept.</summary>
    public async Task ProvisionAsync(StorageLayout layout, CancellationToken cancellationToken = default)
    {
        foreach (var container in layout.Containers)
        {
            await Blobs.GetBlobContainerClient(container).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        foreach (var queue in layout.QueuesWithPoison)
        {
            await Queues.GetQueueClient(queue).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        foreach (var table in layout.Tables)
        {
            await Tables.CreateTableIfNotExistsAsync(table, cancellationToken);
        }
    }

    private static QueueClientOptions QueueOptions(QueueMessageEncoding encoding) => new()
    {
        MessageEncoding = encoding,
    };
}
