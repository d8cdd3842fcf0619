using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.LocalHost;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// Issue 5, "kill the handler mid-file, restart → every row exactly once", with a real kill: the handler process gets
/// SIGKILL while it streams a dropped invoice file through the local host, then a second local host starts on the same
/// on-disk Azurite data. The <c>blob-created</c> message the first one was running comes back (the queue's retry), the
/// new handler runs the same blob version again, and the table holds every line once, the run completes with one report,
/// and every invoice-received event id is published (a re-sent batch repeats ids, which consumers dedupe on).
/// </summary>
public sealed class HandlerKillTests
{
    private const string Partner = "cs-kill";
    private const int Lines = 9_000; // invoice line numbers go to 9999
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_handler_killed_mid_file_stores_every_row_exactly_once_after_restart()
    {
        var data = Directory.CreateTempSubdirectory("calaimhub-ingest-kill-").FullName;
        var blobName = $"{Partner}/invoice/2026-01 invoice.csv";
        try
        {
            int storedAtKill;
            var (first, log) = await StartHubAsync(data);
            await using (first)
            {
                await first.Storage.Blobs.GetBlobContainerClient(InboundPath.Container).GetBlobClient(blobName)
                    .UploadAsync(new BinaryData(Samples.Utf8(Samples.Csv(Enumerable.Range(1, Lines).Select(Samples.Invoice)))));

                // Kill as soon as the first transactions are in: the rest of the file is not stored yet.
                var rows = RowsTable(first);
                var deadline = DateTime.UtcNow + Patience;
                while (await CountAsync(rows) == 0)
                {
                    Assert.True(DateTime.UtcNow < deadline, "no row was stored in time:\n" + string.Join('\n', first.HandlerOutput.TakeLast(20)));
                    await Task.Delay(25);
                }

                using (var handler = Process.GetProcessById(first.HandlerProcessId!.Value))
                {
                    handler.Kill();
                }

                Assert.Equal(137, await first.HandlerExited.WaitAsync(Patience)); // 128 + SIGKILL: no graceful anything
                storedAtKill = await CountAsync(rows);
                Assert.InRange(storedAtKill, 1, Lines - 1);

                // The host saw the invocation fail and scheduled the retry; then this host goes away too.
                await WaitForAsync(() => log.Any(l => l.StartsWith("IngestPartnerFile message", StringComparison.Ordinal) && l.Contains("retry after", StringComparison.Ordinal)), "the failed invocation's retry", first, log);
            }

            var (second, secondLog) = await StartHubAsync(data);
            await using var _ = second;
            var runs = second.Storage.Tables.GetTableClient(IngestRuns.TableName);
            var etag = (await second.Storage.Blobs.GetBlobContainerClient(InboundPath.Container).GetBlobClient(blobName).GetPropertiesAsync()).Value.ETag.ToString();
            var runId = BlobFileIngestion.RunId(blobName, etag);
            await WaitForAsync(async () => (await runs.GetEntityIfExistsAsync<TableEntity>(IngestRuns.PartitionFor(Partner), runId)) is { HasValue: true } run
                && run.Value!.GetString("Status") == IngestRuns.Status.Completed, "the completed run after restart", second, secondLog);

            var report = IngestReport.FromJson((await second.Storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer)
                .GetBlobClient(InboundPath.ReportNames(blobName).Json).DownloadContentAsync()).Value.Content.ToString());
            Assert.True((IngestOutcome.Accepted, Lines, 0) == (report.Outcome, report.RowsAccepted, report.RowsRejected), report.Summary() + " " + string.Join("; ", report.Problems.Take(3).Select(p => $"{p.Row}/{p.Column}/{p.Rule}")));

            var stored = new List<TableEntity>();
            await foreach (var row in RowsTable(second).QueryAsync<TableEntity>())
            {
                stored.Add(row);
            }

            // Each batch's member row (row key → CIN), written in the batch's transaction, holds the CIN of every stored line.
            var memberRows = stored.Where(r => r.RowKey.StartsWith(TableRowDestination.MemberRowPrefix, StringComparison.Ordinal)).ToList();
            stored.RemoveAll(memberRows.Contains);
            var fromMemberRows = memberRows.SelectMany(m => System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(m.GetString(TableRowDestination.MemberCinsColumn))!
                .Select(line => (m.PartitionKey, line.Key, line.Value))).ToHashSet();
            Assert.All(stored, r => Assert.Contains((r.PartitionKey, r.RowKey, r.GetString("MemberCin")), fromMemberRows));
            Assert.InRange(memberRows.Count, Lines / (TableRowDestination.MaxBatch - 1), Lines);
            Assert.Equal(Lines, stored.Count);
            Assert.Equal(Lines, stored.Select(r => r.RowKey).Distinct(StringComparer.Ordinal).Count());
            Assert.Equal(
                Enumerable.Range(1, Lines).Select(Samples.Cin).Order(StringComparer.Ordinal),
                stored.Select(r => r.GetString("MemberCin")).Order(StringComparer.Ordinal));

            var eventIds = await EventIdsAsync(second.Storage.Queues.GetQueueClient(DomainEvent.QueueFor(DomainEvent.InvoiceLineReceived)));
            Assert.Equal(Lines, eventIds.Distinct(StringComparer.Ordinal).Count());
            Assert.True(eventIds.Count >= Lines, $"{eventIds.Count} event messages for {Lines} lines");

            Assert.DoesNotContain(second.HandlerOutput, l => l.Contains(Samples.Cin(1), StringComparison.Ordinal) || l.Contains("Quillfeather", StringComparison.Ordinal));
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A local host on the on-disk Azurite folder <paramref name="data"/>, and the lines it logs.</summary>
    private static async Task<(LocalHub Hub, ConcurrentQueue<string> Log)> StartHubAsync(string data)
    {
        var log = new ConcurrentQueue<string>();
        var hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            DataDirectory = data,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableTimerTriggers = false,
            BlobPollInterval = TimeSpan.FromMilliseconds(200),
            Log = log.Enqueue,
            HostOverrides = new Dictionary<string, string>
            {
                ["extensions:queues:maxPollingInterval"] = "00:00:00.250",
                // The retry of the killed invocation comes back this soon (30 s as shipped).
                ["extensions:queues:visibilityTimeout"] = "00:00:05",
            },
            AppSettings = new Dictionary<string, string>
            {
                [$"Ingestion__Partners__{Partner}__Kinds__0"] = "invoice",
                ["Ingestion__WriteParallelism"] = "2",
                // The invoice workflow consumes invoice-events; this test counts the events published there, so it stays off.
                ["AzureWebJobs__InvoiceFiles__Disabled"] = "true",
            },
        });
        return (hub, log);
    }

    private static TableClient RowsTable(LocalHub hub) => hub.Storage.Tables.GetTableClient(TableRowDestination.TableName);

    private static async Task<int> CountAsync(TableClient rows)
    {
        var count = 0;
        await foreach (var _ in rows.QueryAsync<TableEntity>(select: ["RowKey"]))
        {
            count++;
        }

        return count;
    }

    private static async Task<List<string>> EventIdsAsync(QueueClient queue)
    {
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while ((await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value is { Length: > 0 } batch)
        {
            foreach (var message in batch.Where(m => seen.Add(m.MessageId)))
            {
                // Line events only: the queue also carries the run's one file-stored event, which starts the invoices.
                ids.AddRange(TableRowDestination.ReadEvents(message.Body.ToString())
                    .Where(e => e.GetProperty("type").GetString() == DomainEvent.InvoiceLineReceived)
                    .Select(e => e.GetProperty("id").GetString()!));
            }
        }

        return ids;
    }

    private static Task WaitForAsync(Func<bool> condition, string what, LocalHub hub, ConcurrentQueue<string> log) =>
        WaitForAsync(() => Task.FromResult(condition()), what, hub, log);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, LocalHub hub, ConcurrentQueue<string> log)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited {Patience.TotalSeconds:0} s for {what}; host log:\n{string.Join('\n', log.TakeLast(15))}\nhandler:\n{string.Join('\n', hub.HandlerOutput.TakeLast(15))}");
            await Task.Delay(100);
        }
    }
}
