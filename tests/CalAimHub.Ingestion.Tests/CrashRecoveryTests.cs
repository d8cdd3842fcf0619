using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// The process dies mid-file (after some transactions committed, before the rest), then the message is retried: every row is
/// stored exactly once and the run completes. Runs the storage side directly on the hub's Azurite, in its own container, so the
/// handler's own trigger does not race it.
/// </summary>
[Collection(HubCollection.Name)]
public sealed class CrashRecoveryTests(HubFixture hub)
{
    private const string Container = "direct-inbound";

    /// <summary>Kills the "process" (throws) on the n-th entity-group transaction, as a crash would.</summary>
    private sealed class CrashAfter(int transactions) : HttpPipelinePolicy
    {
        private int _seen;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal) && Interlocked.Increment(ref _seen) > transactions)
            {
                throw new OperationCanceledException("simulated crash: the handler process was killed");
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    private BlobFileIngestion Ingestion(TableServiceClient tables) => new(
        new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions()),
        hub.Hub.Storage.Blobs,
        tables,
        hub.Hub.Storage.Queues,
        new IngestionOptions { WriteParallelism = 4 },
        TimeProvider.System,
        Container);

    [Fact]
    public async Task Killed_mid_file_and_retried_every_row_is_stored_exactly_once()
    {
        const string partner = "mcp-crash";
        var blobName = $"{partner}/otf/2025-12 OTF.csv";
        var rows = Enumerable.Range(1, 2_000).Select(n => Samples.Otf(n)).ToArray();
        var container = hub.Hub.Storage.Blobs.GetBlobContainerClient(Container);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient(blobName).UploadAsync(new BinaryData(Samples.Utf8(Samples.Csv(rows))), overwrite: true);
        var profile = new PartnerProfile { Id = partner };

        var options = new TableClientOptions();
        options.AddPolicy(new CrashAfter(transactions: 5), HttpPipelinePosition.PerCall);
        var crashing = new TableServiceClient(hub.Hub.StorageConnectionString, options);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Ingestion(crashing).IngestAsync(blobName, _ => profile, attempt: 1, CancellationToken.None));

        var afterCrash = await hub.RowsOfAsync(partner, "otf");
        Assert.InRange(afterCrash.Count, 1, 1_999); // some batches committed, not all
        var runId = BlobFileIngestion.RunId(blobName, (await container.GetBlobClient(blobName).GetPropertiesAsync()).Value.ETag.ToString());
        Assert.Equal(IngestRuns.Status.Running, (await hub.Runs.GetEntityAsync<TableEntity>(partner, runId)).Value.GetString("Status"));

        var retry = Ingestion(hub.Hub.Storage.Tables);
        var result = await retry.IngestAsync(blobName, _ => profile, attempt: 2, CancellationToken.None);
        await retry.CompleteAsync(result!, CancellationToken.None);

        Assert.Equal((IngestOutcome.Accepted, 2_000), (result!.Report.Outcome, result.Report.RowsAccepted));
        var stored = await hub.RowsOfAsync(partner, "otf");
        Assert.Equal(2_000, stored.Count);
        Assert.Equal(2_000, stored.Select(r => r.GetString("MemberCin")).Distinct().Count());

        var again = await retry.IngestAsync(blobName, _ => profile, attempt: 3, CancellationToken.None);
        Assert.True(again!.AlreadyCompleted);
        Assert.Equal(2_000, (await hub.RowsOfAsync(partner, "otf")).Count);
    }
}
