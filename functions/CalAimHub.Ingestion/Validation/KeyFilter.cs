using System.Numerics;

namespace CalAimHub.Ingestion.Validation;

/// <summary>
/// A split-block Bloom filter over 128-bit keys (the Parquet layout): one 256-bit block per key, one bit in each of its eight
/// 32-bit words. A lookup touches one block (one cache line at most two), so checking a spilled run costs about one memory
/// access; 12 bits per key give ~0.5 % false positives, each of which costs one page read that then finds nothing.
/// Never a false negative: a key added is always reported as possibly present.
/// </summary>
internal sealed class KeyFilter
{
    public const int BitsPerKey = 12;

    // Odd constants from the Parquet split-block filter: each word's bit comes from a different multiply of the same 32 bits.
    private static readonly uint[] Salts = [0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU, 0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U];

    private readonly uint[] _words;
    private readonly ulong _blocks;

    public KeyFilter(int keys)
    {
        _blocks = (ulong)Math.Max(1, ((long)keys * BitsPerKey + 255) / 256);
        _words = new uint[_blocks * 8];
    }

    /// <summary>Bytes held, for the memory notes.</summary>
    public long Bytes => _words.LongLength * sizeof(uint);

    public void Add(ulong high, ulong low)
    {
        var (block, bits) = Locate(high, low);
        var words = _words.AsSpan(block, 8);
        for (var i = 0; i < 8; i++)
        {
            words[i] |= 1U << (int)((bits * Salts[i]) >> 27);
        }
    }

    public bool MayContain(ulong high, ulong low)
    {
        var (block, bits) = Locate(high, low);
        var words = _words.AsSpan(block, 8);
        for (var i = 0; i < 8; i++)
        {
            if ((words[i] & (1U << (int)((bits * Salts[i]) >> 27))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Block from one mix of the key, bit pattern from another. The keys are hashes already; the multiplies only keep keys that
    /// are not (a test's counters) from crowding into one block.
    /// </summary>
    private (int Block, uint Bits) Locate(ulong high, ulong low)
    {
        var mixed = (high * 0x9E3779B97F4A7C15UL) ^ BitOperations.RotateLeft(low, 29);
        var block = (int)Math.BigMul(mixed, _blocks, out _) * 8;
        var bits = (uint)(((low * 0xC2B2AE3D27D4EB4FUL) ^ high) >> 32);
        return (block, bits);
    }
}
