using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using CalAimHub.Domain.Referrals;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Issue 11, found by the full chaos run: a created webhook's first attempt commits its referral blind beside its claim; a
/// claim already there (an attempt before it) sends it to read that claim, and when the read fails it takes its commit back.
/// On an overloaded emulator that read took longer than the platform's patience: the redelivery found the commit, answered
/// Duplicate and queued it, then the first attempt's undo deleted the ledger rows of a referral whose workflow ran (GET 404).
/// Two ledgers on one Azurite, the first one's claim read held at a gate, replay that order exactly.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlindCommitUndoRaceTests(AzuriteFixture azurite)
{
    private const string Platform = "ehrwest";
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 17, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_redelivery_that_queued_the_blind_commit_keeps_it_when_the_first_attempt_takes_it_back()
    {
        var (gate, firstAttempt, redelivery, storage, created, hash) = await FirstAttemptHeldAtItsClaimReadAsync();

        var answer = await redelivery.AcceptAsync(created, hash, CancellationToken.None);
        Assert.Equal(LedgerOutcome.Duplicate, answer.Outcome);

        gate.Open.SetResult();
        var failed = await Assert.ThrowsAsync<RequestFailedException>(() => firstAttempt);
        Assert.Equal("claim read failed (test gate)", failed.Message);

        // Queued by the redelivery, so still recorded: the undo found the row confirmed and left it.
        var history = await redelivery.GetAsync(created.ReferralId, CancellationToken.None);
        Assert.NotNull(history);
        Assert.Equal([created.EventId], history.Events.Select(e => e.EventId));
        var queued = (await storage.Queues.GetQueueClient(TableReferralLedger.QueueName).PeekMessagesAsync(32)).Value;
        Assert.Single(queued, m => m.Body.ToString().Contains(created.ReferralId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_undo_before_the_redelivery_read_leaves_nothing_for_it_to_answer_Duplicate_to()
    {
        var (gate, firstAttempt, redelivery, _, created, hash) = await FirstAttemptHeldAtItsClaimReadAsync();
        gate.Open.SetResult();
        await Assert.ThrowsAsync<RequestFailedException>(() => firstAttempt);
        Assert.Null(await redelivery.GetAsync(created.ReferralId, CancellationToken.None)); // taken back: nobody was answered

        // The redelivery then records and queues it itself.
        Assert.Equal(LedgerOutcome.Accepted, (await redelivery.AcceptAsync(created, hash, CancellationToken.None)).Outcome);
        Assert.NotNull(await redelivery.GetAsync(created.ReferralId, CancellationToken.None));
    }

    [Fact]
    public async Task A_redelivery_on_another_instance_does_not_queue_again_an_event_marked_dispatched_after_it_read_the_claim()
    {
        // The redelivery's read of the referral rows waits until the first request's mark has landed: its claim read (beside
        // its first step) said "not dispatched", and its instance's marker never queued the event.
        var rowsRead = new RowsReadGate();
        var (first, storage) = Ledger(null);
        var (redelivery, _) = Ledger(rowsRead);
        await Provision(storage);
        var created = Created();
        var hash = TableReferralLedger.BodyHash(Encoding.UTF8.GetBytes(created.EventId));
        Assert.Equal(LedgerOutcome.Accepted, (await first.AcceptAsync(created, hash, CancellationToken.None)).Outcome);

        var again = redelivery.AcceptAsync(created, hash, CancellationToken.None);
        await rowsRead.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The first instance's marker, as it writes the mark after the answer.
        await storage.Tables.GetTableClient(TableReferralLedger.ClaimsTableName).UpdateEntityAsync(
            new TableEntity(Platform, created.EventId) { [TableReferralLedger.DispatchedProperty] = true }, ETag.All, TableUpdateMode.Merge);
        rowsRead.Open.SetResult();

        Assert.Equal(LedgerOutcome.Duplicate, (await again).Outcome);
        var queued = (await storage.Queues.GetQueueClient(TableReferralLedger.QueueName).PeekMessagesAsync(32)).Value;
        Assert.Single(queued, m => m.Body.ToString().Contains(created.ReferralId, StringComparison.Ordinal));
    }

    /// <summary>
    /// A created event whose id an earlier attempt claimed (and died before its commit), sent again: this first attempt's blind
    /// commit has landed and its read of the claim is held at the gate. Also a second ledger for the redelivery.
    /// </summary>
    private async Task<(ClaimReadGate Gate, Task<LedgerResult> FirstAttempt, TableReferralLedger Redelivery, StorageAccount Storage, ReferralEvent Created, string Hash)>
        FirstAttemptHeldAtItsClaimReadAsync()
    {
        var gate = new ClaimReadGate();
        var (first, _) = Ledger(gate);
        var (redelivery, storage) = Ledger(null);
        await Provision(storage);
        var created = Created();
        var hash = TableReferralLedger.BodyHash(Encoding.UTF8.GetBytes(created.EventId));
        await storage.Tables.GetTableClient(TableReferralLedger.ClaimsTableName).AddEntityAsync(new TableEntity(Platform, created.EventId)
        {
            ["BodyHash"] = hash, ["ReferralId"] = created.ReferralId, [TableReferralLedger.DispatchedProperty] = false,
        });

        var firstAttempt = first.AcceptAsync(created, hash, CancellationToken.None);
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitForEventRowAsync(storage, created);
        return (gate, firstAttempt, redelivery, storage, created, hash);
    }

    private (TableReferralLedger Ledger, StorageAccount Storage) Ledger(HttpPipelinePolicy? gate)
    {
        var storage = azurite.Storage;
        if (gate is not null)
        {
            var options = new TableClientOptions();
            options.AddPolicy(gate, HttpPipelinePosition.PerCall);
            storage = new StorageAccount(new BlobServiceClient(azurite.ConnectionString), new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }),
                new TableServiceClient(azurite.ConnectionString, options));
        }

        var marker = new ReferralDispatchMarker(storage, new WebhookIntakeOptions(), NullLogger<ReferralDispatchMarker>.Instance);
        return (new TableReferralLedger(storage, marker, new WebhookIdClaims(storage)), storage);
    }

    private static async Task Provision(StorageAccount storage)
    {
        await storage.Tables.GetTableClient(TableReferralLedger.TableName).CreateIfNotExistsAsync();
        await storage.Tables.GetTableClient(TableReferralLedger.ClaimsTableName).CreateIfNotExistsAsync();
        await storage.Queues.GetQueueClient(TableReferralLedger.QueueName).CreateIfNotExistsAsync();
    }

    private static async Task WaitForEventRowAsync(StorageAccount storage, ReferralEvent created)
    {
        var table = storage.Tables.GetTableClient(TableReferralLedger.TableName);
        for (var i = 0; i < 300; i++)
        {
            if ((await table.GetEntityIfExistsAsync<TableEntity>(created.ReferralId, "event|" + created.EventId)).HasValue)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the first attempt's blind commit never landed");
    }

    private static ReferralEvent Created()
    {
        var platformId = "race-" + Guid.NewGuid().ToString("N")[..8];
        return new ReferralEvent(
            "evt-" + platformId, Platform, ReferralEvent.HubReferralId(Platform, platformId), platformId, ReferralEventKind.Created, ReferralStatus.Pending,
            "requested", null, new ReferralService("medically-tailored-meals", []), null, new ReferringEntity("Valley Clinic", null),
            null, ReferralUrgency.Routine, T0, T0);
    }

    /// <summary>Holds the first query of the <c>Referrals</c> table until opened, then lets it through.</summary>
    private sealed class RowsReadGate : HttpPipelinePolicy
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.Contains("/" + TableReferralLedger.TableName + "()", StringComparison.Ordinal)
                && Reached.TrySetResult())
            {
                await Open.Task;
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    /// <summary>Holds the first read of a <c>WebhookEvents</c> row until opened, then fails it, as a read that outlived its request.</summary>
    private sealed class ClaimReadGate : HttpPipelinePolicy
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.Contains(TableReferralLedger.ClaimsTableName + "(", StringComparison.Ordinal))
            {
                Reached.TrySetResult();
                await Open.Task;
                throw new RequestFailedException("claim read failed (test gate)");
            }

            await ProcessNextAsync(message, pipeline);
        }
    }
}
