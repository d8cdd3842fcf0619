using System.Text;

namespace CalAimHub.Ingestion.Reading;

public enum FileFormat
{
    Empty,
    Binary,
    UnsupportedEncoding,

    /// <summary>Text, but not UTF-8: bytes a single-byte encoding (Latin-1, Windows-1252) writes for accented letters.</summary>
    NotUtf8,
    Csv,
    Xlsx,
}

/// <summary>What the first bytes of a file say it is.</summary>
/// <param name="FirstBadRow">For <see cref="FileFormat.NotUtf8"/>: the line (1 = header) that holds <paramref name="FirstBadByte"/>.</param>
public sealed record SniffResult(FileFormat Format, char Delimiter, bool HasByteOrderMark, int FirstBadRow = 0, byte FirstBadByte = 0);

/// <summary>
/// Looks at the first <see cref="PrefixLength"/> bytes: ZIP signature → XLSX; UTF-16/32 byte-order marks, or NULs in every
/// other byte → unsupported encoding; a PDF, control bytes, mostly NULs, or NULs among bytes invalid as UTF-8 → binary; other
/// bytes invalid as UTF-8 → not UTF-8 (unless the partner declared a single-byte encoding); nothing but whitespace (after an
/// optional UTF-8 BOM) → empty; else CSV with the delimiter (comma, tab or pipe) that occurs most often in the header line
/// outside quotes. A few NUL bytes in text are left
/// to the rows that hold them (<c>value.nul</c>), so one stray NUL does not hide every other problem of the file.
/// </summary>
public static class FileSniffer
{
    public const int PrefixLength = 8192;

    /// <param name="singleByteEncoding">The partner declared a single-byte encoding: every byte is a character.</param>
    public static SniffResult Sniff(ReadOnlySpan<byte> prefix, bool complete, bool singleByteEncoding = false)
    {
        if (prefix.Length >= 4 && prefix[0] == 0x50 && prefix[1] == 0x4B && prefix[2] == 0x03 && prefix[3] == 0x04)
        {
            return new(FileFormat.Xlsx, ',', false);
        }

        if (prefix.Length >= 2 && ((prefix[0] == 0xFF && prefix[1] == 0xFE) || (prefix[0] == 0xFE && prefix[1] == 0xFF)))
        {
            return new(FileFormat.UnsupportedEncoding, ',', true);
        }

        var bom = prefix.Length >= 3 && prefix[0] == 0xEF && prefix[1] == 0xBB && prefix[2] == 0xBF;
        var text = bom ? prefix[3..] : prefix;
        if (text.StartsWith("%PDF-"u8))
        {
            return new(FileFormat.Binary, ',', bom);
        }

        if (Looks(text, out var hasNul) is { } format)
        {
            return new(format, ',', bom);
        }

        if (!complete)
        {
            // The prefix may end inside a multi-byte character: ignore up to 3 trailing bytes of an incomplete sequence.
            text = TrimIncompleteTail(text);
        }

        if (!singleByteEncoding && !System.Text.Unicode.Utf8.IsValid(text))
        {
            if (hasNul)
            {
                return new(FileFormat.Binary, ',', bom); // NULs and bytes that are not UTF-8: no text export writes both
            }

            var bad = FirstInvalidUtf8(text);
            return new(FileFormat.NotUtf8, Delimiter(text), bom, text[..bad].Count((byte)'\n') + 1, text[bad]);
        }

        var hasContent = false;
        foreach (var b in text)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                hasContent = true;
                break;
            }
        }

        return hasContent ? new(FileFormat.Csv, Delimiter(text), bom) : new(FileFormat.Empty, ',', bom);
    }

    /// <summary>Binary or UTF-16 by its control bytes; null when the bytes can be text.</summary>
    private static FileFormat? Looks(ReadOnlySpan<byte> text, out bool hasNul)
    {
        int nuls = 0, evenNuls = 0;
        hasNul = false;
        for (var i = 0; i < text.Length; i++)
        {
            var b = text[i];
            if (b == 0)
            {
                nuls++;
                evenNuls += i % 2 == 0 ? 1 : 0;
            }
            else if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C))
            {
                return FileFormat.Binary; // text files hold no control characters but tab, line ends and form feed
            }
        }

        hasNul = nuls > 0;
        if (nuls == 0 || nuls * 8 < text.Length)
        {
            return null;
        }

        // UTF-16 without a byte-order mark: ASCII text has a NUL in every other byte, all on the same side.
        var oddNuls = nuls - evenNuls;
        var half = text.Length / 2;
        return Math.Max(evenNuls, oddNuls) * 10 >= half * 9 && Math.Min(evenNuls, oddNuls) * 20 <= half ? FileFormat.UnsupportedEncoding : FileFormat.Binary;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        var at = 0;
        while (at < text.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(text[at..], out _, out var consumed);
            if (status != System.Buffers.OperationStatus.Done)
            {
                return at;
            }

            at += consumed;
        }

        return 0;
    }

    private static ReadOnlySpan<byte> TrimIncompleteTail(ReadOnlySpan<byte> text)
    {
        for (var back = 1; back <= Math.Min(3, text.Length); back++)
        {
            var b = text[^back];
            if ((b & 0xC0) == 0xC0)
            {
                var needed = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
                return needed > back ? text[..^back] : text;
            }

            if ((b & 0x80) == 0)
            {
                return text;
            }
        }

        return text;
    }

    private static char Delimiter(ReadOnlySpan<byte> text)
    {
        int comma = 0, tab = 0, pipe = 0;
        var quoted = false;
        foreach (var b in text)
        {
            if (b == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted)
            {
                if (b is (byte)'\n' or (byte)'\r')
                {
                    break;
                }

                comma += b == ',' ? 1 : 0;
                tab += b == '\t' ? 1 : 0;
                pipe += b == '|' ? 1 : 0;
            }
        }

        return tab > comma && tab >= pipe ? '\t' : pipe > comma && pipe > tab ? '|' : ',';
    }
}

/// <summary>The delimiters a partner's export may use, as a report names them.</summary>
public static class DelimiterNames
{
    /// <summary>Comma, tab and pipe are read; a semicolon (Excel in regions whose list separator is ';') is only recognized.</summary>
    public static IReadOnlyList<char> Candidates { get; } = [',', '\t', '|', ';'];

    public static string Name(char delimiter) => delimiter switch
    {
        ',' => "commas (,)",
        '\t' => "tabs",
        '|' => "pipes (|)",
        ';' => "semicolons (;)",
        _ => $"'{delimiter}'",
    };
}
