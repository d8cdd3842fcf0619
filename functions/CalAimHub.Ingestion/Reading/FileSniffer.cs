using System.Text;

namespace CalAimHub.Ingestion.Reading;

public enum FileFormat
{
    Empty,
    Binary,
    UnsupportedEncoding,
    Csv,
    Xlsx,
}

/// <summary>What the first bytes of a file say it is.</summary>
public sealed record SniffResult(FileFormat Format, char Delimiter, bool HasByteOrderMark);

/// <summary>
/// Looks at the first <see cref="PrefixLength"/> bytes: ZIP signature → XLSX; UTF-16/32 byte-order marks → unsupported encoding;
/// NUL bytes or invalid UTF-8 → binary; nothing but whitespace (after an optional UTF-8 BOM) → empty; else CSV with the
/// delimiter (comma, tab or pipe) that occurs most often in the header line outside quotes.
/// </summary>
public static class FileSniffer
{
    public const int PrefixLength = 8192;

    public static SniffResult Sniff(ReadOnlySpan<byte> prefix, bool complete)
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
        if (text.IndexOf((byte)0) >= 0)
        {
            return new(FileFormat.Binary, ',', bom);
        }

        if (!complete)
        {
            // The prefix may end inside a multi-byte character: ignore up to 3 trailing bytes of an incomplete sequence.
            text = TrimIncompleteTail(text);
        }

        if (!System.Text.Unicode.Utf8.IsValid(text))
        {
            return new(FileFormat.Binary, ',', bom);
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
