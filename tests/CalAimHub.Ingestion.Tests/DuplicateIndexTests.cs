using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// The duplicate index past its in-memory capacity: sorted runs spilled to a temporary file must give the same answers as the
/// table alone (every repeat found, naming the row of the first occurrence), and the file must not outlive the run.
/// </summary>
public sealed class DuplicateIndexTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("calaimhub-keyindex-test-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Duplicates_of_rows_in_spilled_runs_name_the_first_row_in_the_storing_run_and_the_dry_run()
    {
        // Capacity 8: rows 2–9, 10–17, 18–25 and 26–33 are spilled as four runs; rows 34–41 stay in the table.
        var rows = Enumerable.Range(1, 40).Select(Samples.RtfA).ToList();
        rows.Add(Samples.RtfA(1));                                                              // row 42 = row 2, first run
        rows.Add(Samples.RtfA(13).With("Member Acuity Level", "Low"));                         // row 43 = row 14, second run
        rows.Add(Samples.RtfA(38));                                                             // row 44 = row 39, still in memory
        rows.Add(Samples.RtfA(30).With("Member Client Index Number (CIN)", Samples.Cin(30).ToLowerInvariant())); // row 45 = row 31
        rows.Add(Samples.RtfA(41));                                                             // row 46: new key, spills the table again
        rows.Add(Samples.RtfA(39));                                                             // row 47 = row 40, now on disk
        var file = Samples.Utf8(Samples.Csv(rows));
        var channel = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions { MaxFileBytes = 1 << 26, DuplicateIndexCapacity = 8, SpillFolder = _folder });
        var storing = new FolderWatchingDestination(_folder);

        var stored = await channel.RunAsync(Samples.Submission("rtf") with { DryRun = false }, new MemoryStream(file, writable: false), file.Length, storing, CancellationToken.None);
        var dry = await channel.RunAsync(Samples.Submission("rtf"), new MemoryStream(file, writable: false), file.Length, new DryRunDestination(), CancellationToken.None);

        (int Row, int First)[] expected = [(42, 2), (43, 14), (44, 39), (45, 31), (47, 40)];
        foreach (var report in new[] { stored, dry })
        {
            Assert.Equal((46, 41, 5, IngestOutcome.PartiallyAccepted), (report.RowsRead, report.RowsAccepted, report.RowsRejected, report.Outcome));
            Assert.Equal(expected.Select(e => (e.Row, (string?)null, Rules.Duplicate)), report.Problems.Select(p => (p.Row, p.Column, p.Rule)));
            Assert.Equal(expected.Select(e => $"row repeats row {e.First}:"), report.Problems.Select(p => p.Message[..p.Message.IndexOf(':', StringComparison.Ordinal)] + ":"));
        }

        Assert.Equal(Enumerable.Range(2, 40).Append(46), storing.Rows);
        Assert.Equal(1, storing.MostFilesSeen); // the index did spill, into the configured folder, one file
        Assert.Empty(Directory.GetFileSystemEntries(_folder)); // and deleted it when the run ended
    }

    [Fact]
    public void The_spill_file_is_created_only_past_the_capacity_and_deleted_on_dispose()
    {
        Span<byte> hash = stackalloc byte[32];
        string path;
        using (var index = new KeyIndex(capacity: 4, spillFolder: _folder))
        {
            for (var row = 2; row < 6; row++)
            {
                Key(row, hash);
                Assert.True(index.TryAdd(hash, row, out _));
            }

            Assert.Null(index.SpillPath); // at the capacity, not past it: nothing on disk
            Assert.Empty(Directory.GetFileSystemEntries(_folder));

            for (var row = 6; row < 20; row++)
            {
                Key(row, hash);
                Assert.True(index.TryAdd(hash, row, out _));
            }

            path = index.SpillPath!;
            Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
            Assert.Equal(4, index.SpilledRuns); // rows 2–5, 6–9, 10–13, 14–17; 18 and 19 in memory
            Assert.Equal(18, index.Count);
            Key(3, hash);
            Assert.False(index.TryAdd(hash, 99, out var first));
            Assert.Equal(3, first);
        }

        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void A_spilling_index_answers_exactly_like_the_in_memory_index_on_random_keys()
    {
        var random = new Random(20261125);
        using var memory = new KeyIndex(capacity: 1 << 20);
        using var spilling = new KeyIndex(capacity: 500, spillFolder: _folder);
        var added = new List<byte[]>();
        var repeats = 0;
        for (var row = 2; row < 40_002; row++)
        {
            var key = new byte[32];
            var pick = random.Next(10);
            if (pick < 3 && added.Count > 0)
            {
                added[random.Next(added.Count)].CopyTo(key, 0); // a repeat of any earlier key, spilled or not
            }
            else
            {
                random.NextBytes(key.AsSpan(0, 16));
                if (pick == 3 && added.Count > 0)
                {
                    added[random.Next(added.Count)].AsSpan(0, 8).CopyTo(key); // same high half, other low half
                }
                else if (pick == 4 && added.Count > 0)
                {
                    added[random.Next(added.Count)].AsSpan(8, 8).CopyTo(key.AsSpan(8)); // same low half, other high half
                }
            }

            var inMemory = memory.TryAdd(key, row, out var firstInMemory);
            var spilled = spilling.TryAdd(key, row, out var firstSpilled);
            Assert.Equal((inMemory, firstInMemory), (spilled, firstSpilled));
            if (inMemory)
            {
                added.Add(key);
            }
            else
            {
                repeats++;
            }
        }

        Assert.Equal(memory.Count, spilling.Count);
        Assert.Equal(0, memory.SpilledRuns);
        Assert.True(spilling.SpilledRuns > 40, $"expected many runs, got {spilling.SpilledRuns}");
        Assert.True(repeats > 10_000, $"expected many repeats, got {repeats}");
        Assert.InRange(spilling.SpilledMemoryBytes, 1, 2L * 500 * spilling.SpilledRuns); // under 2 bytes a spilled key
    }

    [Fact]
    public void A_spilling_index_answers_exactly_with_keys_that_are_not_hashes()
    {
        // Counters cluster in the table (three low halves), so a spill cannot take the nearly-sorted path.
        using var memory = new KeyIndex(capacity: 1 << 20);
        using var spilling = new KeyIndex(capacity: 300, spillFolder: _folder);
        Span<byte> hash = stackalloc byte[32];
        for (var row = 2; row < 6_002; row++)
        {
            Key(row % 4 == 0 ? (row / 2) + 1 : row, hash); // every fourth row repeats an earlier one
            var inMemory = memory.TryAdd(hash, row, out var firstInMemory);
            var spilled = spilling.TryAdd(hash, row, out var firstSpilled);
            Assert.Equal((inMemory, firstInMemory), (spilled, firstSpilled));
        }

        Assert.Equal(memory.Count, spilling.Count);
        Assert.True(spilling.SpilledRuns > 10, $"expected many runs, got {spilling.SpilledRuns}");
    }

    [Fact]
    public void The_run_filter_never_misses_a_key_and_rarely_admits_one_it_does_not_hold()
    {
        var random = new Random(7);
        var filter = new KeyFilter(100_000);
        var keys = Enumerable.Range(0, 100_000).Select(_ => ((ulong)random.NextInt64(), (ulong)random.NextInt64())).ToArray();
        foreach (var (high, low) in keys)
        {
            filter.Add(high, low);
        }

        Assert.All(keys, k => Assert.True(filter.MayContain(k.Item1, k.Item2)));
        var falsePositives = Enumerable.Range(0, 100_000).Count(_ => filter.MayContain((ulong)random.NextInt64(), (ulong)random.NextInt64()));
        Assert.InRange(falsePositives, 0, 1_000); // ≤ 1 % at 12 bits per key
        Assert.InRange(filter.Bytes, 100_000 * 12 / 8, (100_000 * 12 / 8) + 32);
    }

    private static void Key(int row, Span<byte> hash)
    {
        BitConverter.TryWriteBytes(hash, (long)row * 7919);
        BitConverter.TryWriteBytes(hash[8..], row % 3); // counters, not hashes: the filter must still find them
    }

    /// <summary>A storing-run destination that notes the accepted rows and how many files the spill folder held meanwhile.</summary>
    private sealed class FolderWatchingDestination(string folder) : IRowDestination
    {
        public List<int> Rows { get; } = [];

        public int MostFilesSeen { get; private set; }

        public int EventsEmitted => 0;

        public ValueTask AcceptAsync(AcceptedRow row, CancellationToken cancellationToken)
        {
            Rows.Add(row.Row);
            MostFilesSeen = Math.Max(MostFilesSeen, Directory.GetFileSystemEntries(folder).Length);
            return ValueTask.CompletedTask;
        }

        public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
