using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CalAimHub.Ingestion.Validation;

/// <summary>
/// The part of the duplicate index that no longer fits in memory: sorted runs of <see cref="KeyEntry"/> appended to one
/// temporary file (deleted on close), each with a <see cref="KeyFilter"/> and a sparse index (first key of every page) kept in
/// memory, ~1.6 bytes per key. A lookup asks each run's filter; on a hit it reads the one page the sparse index names with
/// <see cref="RandomAccess"/> and compares the full key, so answers are exact. Reads, not a memory map: mapped pages would count
/// in the working set, page-cache reads do not. The file holds key hashes and row numbers only, never key text (no PHI).
/// </summary>
internal sealed class SpilledKeyRuns : IDisposable
{
    /// <summary>Entries per page: one read of 2,560 bytes verifies a filter hit.</summary>
    private const int PageEntries = 128;

    private static readonly int EntryBytes = Marshal.SizeOf<KeyEntry>();

    private readonly List<Run> _runs = [];
    private readonly SafeFileHandle _file;
    private readonly KeyEntry[] _page = new KeyEntry[PageEntries];
    private long _length;

    public SpilledKeyRuns(string? folder)
    {
        var directory = string.IsNullOrEmpty(folder) ? Path.GetTempPath() : folder;
        FilePath = Path.Combine(directory, "calaimhub-keys-" + Guid.NewGuid().ToString("n") + ".tmp");
        _file = File.OpenHandle(FilePath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
    }

    public string FilePath { get; }

    public int Count { get; private set; }

    public int Runs => _runs.Count;

    /// <summary>Memory the runs keep (filters and sparse indexes).</summary>
    public long MemoryBytes => _runs.Sum(r => r.Filter.Bytes + (r.Fences.LongLength * 16));

    /// <summary>Appends <paramref name="sorted"/> (ascending by <see cref="KeyEntry.Order"/>, no key twice, none already in a run) as a new run.</summary>
    public void Append(ReadOnlySpan<KeyEntry> sorted)
    {
        if (sorted.IsEmpty)
        {
            return;
        }

        var filter = new KeyFilter(sorted.Length);
        var fences = new UInt128[(sorted.Length + PageEntries - 1) / PageEntries];
        for (var i = 0; i < sorted.Length; i++)
        {
            filter.Add(sorted[i].High, sorted[i].Low);
            if (i % PageEntries == 0)
            {
                fences[i / PageEntries] = sorted[i].Key;
            }
        }

        RandomAccess.Write(_file, MemoryMarshal.AsBytes(sorted), _length);
        _runs.Add(new Run(_length, sorted.Length, filter, fences));
        _length += (long)sorted.Length * EntryBytes;
        Count += sorted.Length;
    }

    /// <summary>The row a key was first seen on, when a run holds it.</summary>
    public bool TryFind(ulong high, ulong low, out int row)
    {
        foreach (var run in _runs)
        {
            if (run.Filter.MayContain(high, low) && Find(run, high, low, out row))
            {
                return true;
            }
        }

        row = 0;
        return false;
    }

    private bool Find(Run run, ulong high, ulong low, out int row)
    {
        row = 0;
        var page = run.Fences.AsSpan().BinarySearch(new UInt128(low, high));
        if (page < 0)
        {
            page = ~page - 1; // the last page whose first key is below the key
            if (page < 0)
            {
                return false;
            }
        }

        var entries = _page.AsSpan(0, Math.Min(PageEntries, run.Count - (page * PageEntries)));
        var bytes = MemoryMarshal.AsBytes(entries);
        var offset = run.Offset + ((long)page * PageEntries * EntryBytes);
        for (var read = 0; read < bytes.Length;)
        {
            var got = RandomAccess.Read(_file, bytes[read..], offset + read);
            read += got > 0 ? got : throw new EndOfStreamException($"the duplicate index file ended early ({FilePath})");
        }

        var at = entries.BinarySearch(new KeyEntry { High = high, Low = low }, default(KeyEntry.Order));
        if (at < 0)
        {
            return false;
        }

        row = entries[at].Row;
        return true;
    }

    public void Dispose() => _file.Dispose();

    private sealed record Run(long Offset, int Count, KeyFilter Filter, UInt128[] Fences);
}

/// <summary>One key of the duplicate index: the 128-bit key and the row it was first seen on (0 = empty slot; rows start at 2).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct KeyEntry
{
    public ulong High;
    public ulong Low;
    public int Row;

    /// <summary>The run order as one number: low half first (the table's slot order, see <see cref="KeyIndex"/>), then high.</summary>
    public readonly UInt128 Key => new(Low, High);

    /// <summary>Ascending by <see cref="Key"/>: the order of a run on disk.</summary>
    public readonly struct Order : IComparer<KeyEntry>
    {
        public int Compare(KeyEntry x, KeyEntry y) => x.Low != y.Low ? x.Low.CompareTo(y.Low) : x.High.CompareTo(y.High);
    }
}
