using System.Security.Cryptography;
using System.Text;

namespace CalAimHub.Domain;

/// <summary>
/// Ids and keys derived from text: the first bytes of its SHA-256 (UTF-8) in lowercase hex. Stable across processes and
/// releases, unlike <see cref="string.GetHashCode()"/>, and unreadable (an id from a CIN tells nothing of it). Many of these
/// are stored keys (run ids, invoice ids, member rows, staging partitions, parked-timer groups): a call's text and length
/// must never change, or rows already stored are no longer found.
/// </summary>
public static class StableHash
{
    /// <summary><paramref name="bytes"/> bytes of SHA-256 of <paramref name="text"/>: 2 × bytes hex characters (1 to 32 bytes).</summary>
    public static string Hex(string text, int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, SHA256.HashSizeInBytes);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, bytes));
    }
}
