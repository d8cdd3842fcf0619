using System.Buffers.Binary;

namespace CalAimHub.Ingestion.Validation;

/// <summary>
/// The within-file duplicate index: the 128-bit key of every accepted row (the row key — first 16 bytes of the key's SHA-256,
/// exactly what <see cref="AcceptedRow.RowKey"/> encodes — or the dry run's fingerprint), with the row it was first seen on.
/// Two rows are duplicates exactly when their keys are equal, the rule storage applies (an equal row key is the same entity).
/// <para>
/// Up to <see cref="Capacity"/> keys live in one flat open-addressing array of 20-byte entries (linear probing, no object per
/// row, 25 bytes per key at the 0.8 load limit), presized from an estimate of the row count so a file that matches the estimate
/// never resizes. A file with more keys spills: the table is sorted into a run on a temporary file (<see cref="SpilledKeyRuns"/>,
/// ~1.6 bytes per key stay in memory) and starts empty again, so memory stays bounded whatever the file size; a file under the
/// capacity never touches the disk. Every key is in exactly one place (the table or one run), so the row a duplicate names is
/// always the first occurrence.
/// </para>
/// </summary>
internal sealed class KeyIndex : IDisposable
{
    /// <summary>Keys kept in memory before a spill: 2^18 keys is a 6.5 MB table.</summary>
    public const int DefaultCapacity = 1 << 18;

    private const int MinSlots = 1 << 10;

    /// <summary>Grow (×1.5) past this share of slots in use; presized tables start at this load.</summary>
    private const double MaxLoad = 0.8;

    private readonly string? _spillFolder;
    private readonly int _maxSlots;
    private KeyEntry[] _entries;
    private int _count;
    private int _limit;
    private SpilledKeyRuns? _spilled;

    /// <param name="expectedRows">An estimate of the rows to come; 0 when unknown.</param>
    /// <param name="capacity">Keys held in memory; past it the table spills to <paramref name="spillFolder"/>.</param>
    /// <param name="spillFolder">Folder of the temporary file; null or empty = the system temp folder.</param>
    public KeyIndex(long expectedRows = 0, int capacity = DefaultCapacity, string? spillFolder = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _spillFolder = spillFolder;
        // A table of this many slots holds the capacity under the load limit: it never needs to grow past it.
        _maxSlots = (int)Math.Min(capacity + (capacity / 4L) + 1, Array.MaxLength / 2);
        _entries = new KeyEntry[(int)Math.Clamp((long)(Math.Min(expectedRows, capacity) / MaxLoad) + 1, Math.Min(MinSlots, _maxSlots), _maxSlots)];
        _limit = (int)(_entries.Length * MaxLoad);
    }

    public int Capacity { get; }

    /// <summary>Keys held: in memory and spilled.</summary>
    public int Count => _count + (_spilled?.Count ?? 0);

    /// <summary>Sorted runs on disk; 0 for a file under the capacity.</summary>
    public int SpilledRuns => _spilled?.Runs ?? 0;

    /// <summary>Memory the spilled runs keep (filters and page indexes), ~1.6 bytes a spilled key.</summary>
    public long SpilledMemoryBytes => _spilled?.MemoryBytes ?? 0;

    /// <summary>The temporary file, once the index has spilled (deleted on <see cref="Dispose"/>).</summary>
    public string? SpillPath => _spilled?.FilePath;

    /// <summary>Adds the key of <paramref name="row"/>; when the key is already there returns false and the row that holds it.</summary>
    public bool TryAdd(ReadOnlySpan<byte> hash, int row, out int first)
    {
        var high = BinaryPrimitives.ReadUInt64LittleEndian(hash);
        var low = BinaryPrimitives.ReadUInt64LittleEndian(hash[8..16]);
        var entries = _entries;
        var slot = Slot(low, entries.Length);
        while (true)
        {
            ref var entry = ref entries[slot];
            if (entry.Row == 0)
            {
                break;
            }

            if (entry.High == high && entry.Low == low)
            {
                first = entry.Row;
                return false;
            }

            slot = slot + 1 == entries.Length ? 0 : slot + 1;
        }

        if (_spilled is not null && _spilled.TryFind(high, low, out first))
        {
            return false;
        }

        first = 0;
        if (_count >= Capacity)
        {
            Spill();
            Insert(_entries, high, low, row);
        }
        else if (_count >= _limit)
        {
            Grow();
            Insert(_entries, high, low, row);
        }
        else
        {
            _entries[slot] = new KeyEntry { High = high, Low = low, Row = row };
        }

        _count++;
        return true;
    }

    public void Dispose() => _spilled?.Dispose();

    /// <summary>The table, sorted, becomes a run on disk; the table starts empty (same array, no new allocation).</summary>
    private void Spill()
    {
        // Linear probing keeps keys in slot order and the slot is monotone in the low half, so read from slot 0 the keys are
        // already in run order (low, high) but for swaps inside clusters and the cluster that wrapped round the end of the
        // table: an insertion sort finishes in ~1 ms where a general sort of 2^18 keys took ~35 ms (100+ ms in a cold process).
        var entries = _entries;
        List<KeyEntry>? wrapped = null;
        var used = 0;
        var leading = true;
        for (var i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            if (e.Row == 0)
            {
                leading = false;
                continue;
            }

            if (leading && Slot(e.Low, entries.Length) > i)
            {
                (wrapped ??= []).Add(e); // in the leading cluster but homed near the end: belongs after everything
                continue;
            }

            entries[used++] = e;
        }

        foreach (var e in wrapped ?? [])
        {
            entries[used++] = e;
        }

        var run = entries.AsSpan(0, used);
        if (!InsertionSort(run, budget: 16L * used))
        {
            run.Sort(default(KeyEntry.Order)); // keys that are not hashes (tests' counters) cluster badly
        }

        (_spilled ??= new SpilledKeyRuns(_spillFolder)).Append(run);
        Array.Clear(entries);
        _count = 0;
    }

    /// <summary>Sorts a nearly sorted run in place; false (run partly sorted) when it needs more than <paramref name="budget"/> moves.</summary>
    private static bool InsertionSort(Span<KeyEntry> run, long budget)
    {
        var order = default(KeyEntry.Order);
        for (var i = 1; i < run.Length; i++)
        {
            var x = run[i];
            var j = i - 1;
            if (order.Compare(x, run[j]) >= 0)
            {
                continue;
            }

            while (j >= 0 && order.Compare(x, run[j]) < 0)
            {
                run[j + 1] = run[j];
                j--;
            }

            budget -= i - 1 - j;
            run[j + 1] = x;
            if (budget < 0)
            {
                return false;
            }
        }

        return true;
    }

    private void Grow()
    {
        var bigger = new KeyEntry[(int)Math.Min(_entries.Length + (_entries.Length / 2L), _maxSlots)];
        foreach (var e in _entries)
        {
            if (e.Row != 0)
            {
                Insert(bigger, e.High, e.Low, e.Row);
            }
        }

        _entries = bigger;
        _limit = (int)(bigger.Length * MaxLoad);
    }

    private static void Insert(KeyEntry[] entries, ulong high, ulong low, int row)
    {
        var slot = Slot(low, entries.Length);
        while (entries[slot].Row != 0)
        {
            slot = slot + 1 == entries.Length ? 0 : slot + 1;
        }

        entries[slot] = new KeyEntry { High = high, Low = low, Row = row };
    }

    /// <summary>Maps 64 uniform bits onto [0, length) without a power-of-two size (multiply-shift), so the table need not round up.</summary>
    private static int Slot(ulong bits, int length) => (int)Math.BigMul(bits, (ulong)length, out _);
}
