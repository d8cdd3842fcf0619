extern alias localhost;

using System.Reflection;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Workflows.Tests;

/// <summary>One real Azurite (the repo's own npm install, in memory) for the test assembly's storage tests.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private localhost::CalAimHub.LocalHost.Azurite? azurite;

    public static string RepositoryRoot { get; } = typeof(AzuriteFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    public string ConnectionString { get; private set; } = "";

    public StorageAccount Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        azurite = await localhost::CalAimHub.LocalHost.Azurite.StartInMemoryAsync(RepositoryRoot);
        ConnectionString = azurite.ConnectionString;
        Storage = StorageAccount.FromConnectionString(ConnectionString, QueueMessageEncoding.Base64);
    }

    /// <summary>A client of one of this Azurite's tables whose requests pass through <paramref name="policy"/> (to watch them, or to fail one).</summary>
    public TableClient TableThrough(string table, Azure.Core.Pipeline.HttpPipelinePolicy policy)
    {
        var options = new TableClientOptions();
        options.AddPolicy(policy, Azure.Core.HttpPipelinePosition.PerCall);
        return new TableServiceClient(ConnectionString, options).GetTableClient(table);
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
        var parked = Storage.Tables.GetTableClient("ParkedWorkflowTimers" + suffix);
        await parked.CreateIfNotExistsAsync();
        return (new WorkflowStore(workflows, index), new WorkflowQueues(work, timers, parked));
    }

    public async Task DisposeAsync()
    {
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
