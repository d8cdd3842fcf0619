using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace CalAimHub.Ingestion.Validation;

/// <summary>
/// The within-file duplicate index: the 128-bit row key (first 16 bytes of the key's SHA-256, exactly what
/// <see cref="AcceptedRow.RowKey"/> encodes) of every accepted row, with the row it was first seen on. Two rows are duplicates
/// exactly when their row keys are equal, the same rule as before and the one storage applies (an equal row key is the same
/// entity), so no false positive beyond storage's own. Open addressing (linear probing) over one flat array of 20-byte entries,
/// no object per row: 25 bytes per row at the 0.8 load limit (1M rows ≈ 24 MiB), where a <c>Dictionary&lt;UInt128, int&gt;</c>
/// took ~36 plus a second copy while it resized. Presized from an estimate of the row count, so a file that matches the estimate
/// never resizes.
/// </summary>
internal sealed class KeyIndex
{
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Entry
    {
        public ulong High;
        public ulong Low;
        public int Row; // 0 = empty slot (data rows start at 2)
    }

    private const int MinCapacity = 1 << 10;

    /// <summary>Grow (×1.5) past this share of slots in use; presized tables start at this load, so 1M rows take ~25 MB.</summary>
    private const double MaxLoad = 0.8;

    private Entry[] _entries;
    private int _count;
    private int _limit;

    /// <param name="expectedRows">An estimate of the rows to come; 0 when unknown.</param>
    public KeyIndex(long expectedRows = 0)
    {
        _entries = new Entry[(int)Math.Clamp((long)(expectedRows / MaxLoad) + 1, MinCapacity, Array.MaxLength / 2)];
        _limit = (int)(_entries.Length * MaxLoad);
    }

    public int Count => _count;

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

        first = 0;
        if (_count >= _limit)
        {
            Grow();
            Insert(_entries, high, low, row);
        }
        else
        {
            _entries[slot] = new Entry { High = high, Low = low, Row = row };
        }

        _count++;
        return true;
    }

    private void Grow()
    {
        var bigger = new Entry[(int)Math.Min(_entries.Length + (_entries.Length / 2L), Array.MaxLength)];
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

    private static void Insert(Entry[] entries, ulong high, ulong low, int row)
    {
        var slot = Slot(low, entries.Length);
        while (entries[slot].Row != 0)
        {
            slot = slot + 1 == entries.Length ? 0 : slot + 1;
        }

        entries[slot] = new Entry { High = high, Low = low, Row = row };
    }

    /// <summary>Maps 64 uniform bits onto [0, length) without a power-of-two size (multiply-shift), so the table need not round up.</summary>
    private static int Slot(ulong bits, int length) => (int)Math.BigMul(bits, (ulong)length, out _);
}
