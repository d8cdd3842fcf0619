using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Workflows.Tests;

/// <summary>One real Azurite (the repo's own npm install, in memory) for the test assembly's storage tests.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private Process? process;

    public static string RepositoryRoot { get; } = typeof(AzuriteFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    public string ConnectionString { get; private set; } = "";

    public StorageAccount Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        int blob = FreePort(), queue = FreePort(), table = FreePort();
        process = Process.Start(new ProcessStartInfo(Path.Combine(RepositoryRoot, "node_modules/.bin/azurite"),
            ["--inMemoryPersistence", "--blobPort", $"{blob}", "--queuePort", $"{queue}", "--tablePort", $"{table}", "--skipApiVersionCheck", "--silent", "--loose", "--disableTelemetry"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";
        Storage = StorageAccount.FromConnectionString(ConnectionString, QueueMessageEncoding.Base64);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, table);
                using var tcp2 = new TcpClient();
                await tcp2.ConnectAsync(IPAddress.Loopback, queue);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Fresh tables and queues per test, so tests never see each other's instances.</summary>
    public async Task<(WorkflowStore Store, WorkflowQueues Queues)> NewRuntimeStorageAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var workflows = Storage.Tables.GetTableClient("Workflows" + suffix);
        var index = Storage.Tables.GetTableClient("WorkflowIndex" + suffix);
        var work = Storage.Queues.GetQueueClient("workflow-work-" + suffix);
        var timers = Storage.Queues.GetQueueClient("workflow-timers-" + suffix);
        await workflows.CreateIfNotExistsAsync();
        await index.CreateIfNotExistsAsync();
        await work.CreateIfNotExistsAsync();
        await timers.CreateIfNotExistsAsync();
        return (new WorkflowStore(workflows, index), new WorkflowQueues(work, timers));
    }

    public Task DisposeAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
        }

        process?.Dispose();
        return Task.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
