using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Ingestion.Validation;
using CalAimHub.LocalHost;
using Sylvan.Data.Csv;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Partner file ingestion on Azurite, one process, one generated RTF (version A) CSV of N rows:
/// (a) baseline: a plain SDK loop — stream the blob, parse with Sylvan, hash the same key, build the same entities, upsert in
///     100-row entity-group transactions per partition with the same parallelism;
/// (b) full ingestion: <see cref="BlobFileIngestion"/> (sniff, schema match, validation, normalization, duplicates, events,
///     run record, reports);
/// (c) validation-only dry run over the same file on local disk.
/// Peak working set is measured per phase (Linux VmHWM, reset between phases).
/// </summary>
public static class IngestionBenchmark
{
    public static async Task RunAsync(string root, int rows, int parallelism, bool dryRunOnly = false, int roundCount = 2, bool freshEmulator = false)
    {
        var work = Directory.CreateTempSubdirectory("calaimhub-ingest-bench-").FullName;
        try
        {
            var file = Path.Combine(work, "bench.csv");
            var generate = Stopwatch.StartNew();
            RtfBenchmarkFile.Generate(file, rows);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated {rows:N0} RTF rows, {new FileInfo(file).Length / 1048576.0:0} MiB, in {generate.Elapsed.TotalSeconds:0.0} s"));

            if (dryRunOnly)
            {
                var only = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions { MaxFileBytes = long.MaxValue });
                // Twice in one process: the first run includes JIT (tier-0 code, then tier-1 with PGO while it runs), the second is
                // what a long-running host does with its next file.
                foreach (var run in new[] { "cold, first in process", "warm, second in process" })
                {
                    var (time, peak, accepted) = await PhaseAsync(async () =>
                    {
                        await using var stream = File.OpenRead(file);
                        var submission = new FileSubmission("dry-bench", "bench", "rtf", "bench.csv", new PartnerProfile { Id = "bench" }, DateTimeOffset.UtcNow, DryRun: true);
                        return (await only.RunAsync(submission, stream, stream.Length, new DryRunDestination(), CancellationToken.None)).RowsAccepted;
                    });
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| (c) validation-only dry run, {rows:N0} rows (local file), {run} | {time.TotalSeconds:0.00} s | {rows / time.TotalSeconds:N0} rows/s | {rows / _lastCpu.TotalSeconds:N0} rows per CPU-s | {peak / 1048576.0:0} MiB | accepted {accepted:N0} | load {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |"));
                }

                return;
            }

            var options = new IngestionOptions { WriteParallelism = parallelism, MaxFileBytes = long.MaxValue };
            var channel = new PartnerFileChannel(FormatCatalog.Default, options);
            var partner = new PartnerProfile { Id = "bench" };

            var drySummary = "";
            var (dryTime, dryPeak, dryAccepted) = await PhaseAsync(async () =>
            {
                await using var stream = File.OpenRead(file);
                var submission = new FileSubmission("dry-bench", "bench", "rtf", "bench.csv", partner, DateTimeOffset.UtcNow, DryRun: true);
                var report = await channel.RunAsync(submission, stream, stream.Length, new DryRunDestination(), CancellationToken.None);
                drySummary = report.Summary() + " " + string.Join("; ", report.Problems.Take(3).Select(p => $"{p.Row}/{p.Column}/{p.Rule}"));
                return report.RowsAccepted;
            });
            var dryCpu = _lastCpu;

            // (a) and (b) alternate. Shared emulator (default): two rounds, the first also warms Azurite and the JIT, the
            // second (like-for-like upserts) is reported. Fresh emulator (--fresh-emulator, for 1M rows): each phase gets its
            // own empty in-memory Azurite, so neither pays for the other's million entities in the emulator's heap.
            var rounds = new List<string>();
            TimeSpan rawTime = default, fullTime = default, rawCpu = default, fullCpu = default;
            long rawPeak = 0, fullPeak = 0;
            int rawRows = 0, fullAccepted = 0;
            const string blobName = "bench/rtf/bench.csv";
            Emulator? shared = freshEmulator ? null : await Emulator.StartAsync(root, file, blobName);
            try
            {
                for (var round = 1; round <= roundCount; round++)
                {
                    var forBaseline = shared ?? await Emulator.StartAsync(root, file, blobName);
                    try
                    {
                        (rawTime, rawPeak, rawRows) = await PhaseAsync(() => BaselineAsync(forBaseline.Blobs.GetBlobContainerClient("inbound").GetBlobClient(blobName), forBaseline.Tables.GetTableClient(BaselineTable), parallelism));
                        rawCpu = _lastCpu;
                    }
                    finally
                    {
                        if (shared is null)
                        {
                            await forBaseline.DisposeAsync();
                        }
                    }

                    var forIngestion = shared ?? await Emulator.StartAsync(root, file, blobName);
                    try
                    {
                        (fullTime, fullPeak, fullAccepted) = await PhaseAsync(async () =>
                        {
                            // A fresh blob version per round: a re-run of the same version would be skipped as already reported.
                            await forIngestion.Blobs.GetBlobContainerClient("inbound").GetBlobClient(blobName).SetMetadataAsync(new Dictionary<string, string> { ["round"] = $"{round}" });
                            var ingestion = new BlobFileIngestion(channel, forIngestion.Blobs, forIngestion.Tables, forIngestion.Queues, options, TimeProvider.System);
                            var result = await ingestion.IngestAsync(blobName, _ => partner, 1, CancellationToken.None);
                            return result!.Report.RowsAccepted;
                        });
                        fullCpu = _lastCpu;
                    }
                    finally
                    {
                        if (shared is null)
                        {
                            await forIngestion.DisposeAsync();
                        }
                    }

                    rounds.Add(string.Create(CultureInfo.InvariantCulture, $"round {round}: (a) {rawTime.TotalSeconds:0.0} s, (b) {fullTime.TotalSeconds:0.0} s, b/a {rawTime / fullTime:0.00}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
                    Console.WriteLine(rounds[^1]);
                }
            }
            finally
            {
                if (shared is not null)
                {
                    await shared.DisposeAsync();
                }
            }

            if (dryAccepted != rows || rawRows != rows || fullAccepted != rows)
            {
                throw new InvalidOperationException($"row counts differ ({drySummary}): dry run {dryAccepted}, baseline {rawRows}, full {fullAccepted}, generated {rows}");
            }

            double Rate(TimeSpan t) => rows / t.TotalSeconds;
            Console.WriteLine($"ingestion, {rows:N0}-row RTF CSV on Azurite (in memory, {(freshEmulator ? "a fresh emulator per phase" : "one emulator")}), write parallelism {parallelism}, {Environment.ProcessorCount} cores");
            rounds.ForEach(Console.WriteLine);
            Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine("| phase | time | rows/s | handler CPU | peak working set |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| (a) baseline: plain SDK loop, same entities, batching, parallelism | {rawTime.TotalSeconds:0.0} s | {Rate(rawTime):N0} | {rawCpu.TotalSeconds:0.0} s | {rawPeak / 1048576.0:0} MiB |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| (b) full ingestion (validate, store, events, run record, report) | {fullTime.TotalSeconds:0.0} s | {Rate(fullTime):N0} | {fullCpu.TotalSeconds:0.0} s | {fullPeak / 1048576.0:0} MiB |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| (c) validation-only dry run (local file) | {dryTime.TotalSeconds:0.0} s | {Rate(dryTime):N0} | {dryCpu.TotalSeconds:0.0} s | {dryPeak / 1048576.0:0} MiB |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio b/a (rows/s): {rawTime / fullTime:0.00}"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>An in-memory Azurite on free ports with the ingestion's containers, tables and queues and the file uploaded.</summary>
    private sealed record Emulator(Azurite Azurite, BlobServiceClient Blobs, TableServiceClient Tables, QueueServiceClient Queues) : IAsyncDisposable
    {
        public static async Task<Emulator> StartAsync(string root, string file, string blobName)
        {
            // A million entities outgrow Node's default heap ceiling; the emulator would die mid-run.
            var azurite = await Azurite.StartInMemoryAsync(root, new Dictionary<string, string> { ["NODE_OPTIONS"] = "--max-old-space-size=16384" });
            var connection = azurite.ConnectionString;
            var emulator = new Emulator(azurite, new BlobServiceClient(connection), new TableServiceClient(connection),
                new QueueServiceClient(connection, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }));
            await emulator.Blobs.GetBlobContainerClient("inbound").CreateIfNotExistsAsync();
            await emulator.Blobs.GetBlobContainerClient("results").CreateIfNotExistsAsync();
            foreach (var table in new[] { TableRowDestination.TableName, IngestRuns.TableName, BaselineTable })
            {
                await emulator.Tables.CreateTableIfNotExistsAsync(table);
            }

            foreach (var queue in new[] { DomainEvent.QueueName, DomainEvent.ReferralStatusQueueName })
            {
                await emulator.Queues.GetQueueClient(queue).CreateIfNotExistsAsync();
            }

            await using var upload = File.OpenRead(file);
            await emulator.Blobs.GetBlobContainerClient("inbound").GetBlobClient(blobName).UploadAsync(upload, new BlobUploadOptions { TransferOptions = new() { MaximumTransferSize = 8 << 20 } });
            return emulator;
        }

        public ValueTask DisposeAsync() => Azurite.DisposeAsync();
    }

    private const string BaselineTable = "BaselineRows";

    /// <summary>CPU seconds this process spent in the last phase: on a shared machine, wall time alone says little.</summary>
    private static TimeSpan _lastCpu;

    private static async Task<(TimeSpan Time, long PeakBytes, int Rows)> PhaseAsync(Func<Task<int>> phase)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        BenchmarkMachine.ResetPeakWorkingSet(Environment.ProcessId);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var rows = await phase();
        watch.Stop();
        _lastCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return (watch.Elapsed, BenchmarkMachine.MemoryStatus(Environment.ProcessId, "VmHWM:"), rows);
    }

    /// <summary>The plain loop: what any service would do to get these rows into a table, with nothing checked.</summary>
    private static async Task<int> BaselineAsync(BlobClient blob, TableClient table, int parallelism)
    {
        var schema = FormatCatalog.Default.Schema("rtf-a");
        await using var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(false) { BufferSize = 4 << 20 });
        using var text = new StreamReader(stream, Encoding.UTF8);
        await using var csv = await CsvDataReader.CreateAsync(text, new CsvDataReaderOptions { HasHeaders = true, Delimiter = ',', BufferSize = 1 << 16 });
        var fields = Enumerable.Range(0, csv.FieldCount).Select(i => schema.Columns.Single(c => c.Name == csv.GetName(i)).Field).ToArray();
        var keyColumns = schema.Key.Select(k => schema.Columns.ToList().FindIndex(c => c.Name == k)).ToArray();
        var buffers = new Dictionary<string, List<TableTransactionAction>>();
        var slots = new SemaphoreSlim(parallelism);
        var inFlight = new List<Task>();
        var count = 0;
        async Task Submit(List<TableTransactionAction> batch)
        {
            await slots.WaitAsync();
            inFlight.RemoveAll(t => t.IsCompleted);
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    await table.SubmitTransactionAsync(batch);
                }
                finally
                {
                    slots.Release();
                }
            }));
        }

        while (await csv.ReadAsync())
        {
            var values = new string[fields.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = csv.GetString(i);
            }

            var (rowKey, bucket) = AcceptedRow.Key("rtf", schema, keyColumns, values);
            var entity = new TableEntity(AcceptedRow.Partition("bench", "rtf", bucket), rowKey);
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i].Length > 0)
                {
                    entity[fields[i]] = values[i];
                }
            }

            if (!buffers.TryGetValue(entity.PartitionKey, out var buffer))
            {
                buffers[entity.PartitionKey] = buffer = new List<TableTransactionAction>(100);
            }

            buffer.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
            if (buffer.Count == 100)
            {
                buffers.Remove(entity.PartitionKey);
                await Submit(buffer);
            }

            count++;
        }

        foreach (var buffer in buffers.Values)
        {
            await Submit(buffer);
        }

        await Task.WhenAll(inFlight);
        return count;
    }
}
