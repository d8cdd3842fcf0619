using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CalAimHub.Ingestion.Reading;

/// <summary>
/// Classic-Mac line endings for the CSV parser: a lone CR (not followed by LF) outside a quoted field becomes LF, a row end
/// Sylvan.Data.Csv always honours (1.4.4 does not end a record on a lone CR that follows an empty last field). CR and LF inside
/// quoted fields are left alone, so values keep them; CRLF and LF pass through. Characters are rewritten in place, and the scan
/// stops only at quotes and lone CRs (vectorized: a CRLF or LF file without quotes is one pass with no stop per row).
/// A CR that ends a chunk is written as LF at once; if the next chunk then starts with LF (a CRLF split between reads), that
/// LF is dropped, so no lookahead is needed and row numbers stay right.
/// </summary>
internal sealed class LoneCarriageReturnReader(TextReader inner, char delimiter) : TextReader
{
    private bool _quoted;        // inside a quoted field
    private bool _quoteAtEnd;    // a quote inside a quoted field ended the last chunk: a closing quote or the first of ""
    private bool _dropLf;        // the last chunk ended with a CR written as LF
    private char _last = '\n';   // the character before this chunk (start of file counts as a row start)
    private char[] _pending = [];  // read past the end of a skipped record: handed out before more is read
    private int _pendingAt;

    public override int Read(Span<char> buffer)
    {
        int read;
        do
        {
            read = TakePending(buffer);
            read = read > 0 ? read : inner.Read(buffer);
            if (read == 0)
            {
                return 0;
            }

            read = Rewrite(buffer[..read]);
        }
        while (read == 0);

        return read;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override async ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        do
        {
            read = TakePending(buffer.Span);
            read = read > 0 ? read : await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return 0;
            }

            read = Rewrite(buffer.Span[..read]);
        }
        while (read == 0);

        return read;
    }

    public override Task<int> ReadAsync(char[] buffer, int index, int count) => ReadAsync(buffer.AsMemory(index, count)).AsTask();

    private int TakePending(Span<char> buffer)
    {
        var n = Math.Min(buffer.Length, _pending.Length - _pendingAt);
        _pending.AsSpan(_pendingAt, n).CopyTo(buffer);
        _pendingAt += n;
        return n;
    }

    /// <summary>
    /// Discards the rest of the record the parser was reading when it gave up on it (a record over its size limit): everything up
    /// to and including the next row end outside quotes, tracked with the same quote rules as <see cref="Rewrite"/>. Returns
    /// false when the text ends inside a quoted field first: then the record was never too long, its quote was never closed.
    /// </summary>
    public async ValueTask<bool> SkipRecordAsync(CancellationToken cancellationToken)
    {
        var buffer = new char[1 << 16];
        while (true)
        {
            var read = TakePending(buffer);
            read = read > 0 ? read : await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return !_quoted && !_quoteAtEnd;
            }

            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (_dropLf)
                {
                    _dropLf = false;
                    if (c == '\n')
                    {
                        continue;
                    }
                }

                if (_quoteAtEnd)
                {
                    _quoteAtEnd = false;
                    if (c == '"')
                    {
                        continue; // "" — an escaped quote
                    }

                    _quoted = false;
                }

                if (_quoted)
                {
                    if (c == '"')
                    {
                        if (i + 1 == read)
                        {
                            _quoteAtEnd = true;
                        }
                        else if (buffer[i + 1] == '"')
                        {
                            i++;
                        }
                        else
                        {
                            _quoted = false;
                        }
                    }

                    continue;
                }

                if (c == '"')
                {
                    var before = i > 0 ? buffer[i - 1] : _last;
                    _quoted = before == delimiter || before is '\n' or '\r';
                }
                else if (c is '\n' or '\r')
                {
                    if (c == '\r' && i + 1 < read && buffer[i + 1] == '\n')
                    {
                        i++;
                    }
                    else if (c == '\r' && i + 1 == read)
                    {
                        _dropLf = true; // maybe the CR of a CRLF split between reads
                    }

                    _last = '\n';
                    _pending = buffer[(i + 1)..read];
                    _pendingAt = 0;
                    return true;
                }
            }

            _last = buffer[read - 1];
        }
    }

    /// <summary>Rewrites a chunk in place; returns its length (one less when it began with the LF of a split CRLF).</summary>
    private int Rewrite(Span<char> text)
    {
        if (_dropLf)
        {
            _dropLf = false;
            if (text[0] == '\n')
            {
                text[1..].CopyTo(text);
                text = text[..^1];
                if (text.IsEmpty)
                {
                    return 0;
                }
            }
        }

        var i = 0;
        if (_quoteAtEnd)
        {
            _quoteAtEnd = false;
            if (text[0] == '"')
            {
                i = 1; // "" — an escaped quote, still inside the field
            }
            else
            {
                _quoted = false;
            }
        }

        while (i < text.Length)
        {
            if (_quoted)
            {
                var close = text[i..].IndexOf('"');
                if (close < 0)
                {
                    break;
                }

                i += close + 1;
                if (i == text.Length)
                {
                    _quoteAtEnd = true;
                }
                else if (text[i] == '"')
                {
                    i++;
                }
                else
                {
                    _quoted = false;
                }

                continue;
            }

            var next = IndexOfQuoteOrLoneCr(text[i..]);
            if (next < 0)
            {
                break;
            }

            i += next;
            if (text[i] == '"')
            {
                // Only a quote that opens a field starts a quoted field; elsewhere it is a literal character.
                var before = i > 0 ? text[i - 1] : _last;
                _quoted = before == delimiter || before is '\n' or '\r';
            }
            else
            {
                text[i] = '\n';
                _dropLf = i + 1 == text.Length; // the chunk ends here: it may have been the CR of a CRLF
            }

            i++;
        }

        _last = text[^1];
        return text.Length;
    }

    /// <summary>The first quote, or CR not followed by LF (a CR that ends the text counts); -1 when there is none.</summary>
    private static int IndexOfQuoteOrLoneCr(ReadOnlySpan<char> text)
    {
        var i = 0;
        ref var first = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<char, ushort>(text));
        if (Vector256.IsHardwareAccelerated)
        {
            var quote = Vector256.Create((ushort)'"');
            var cr = Vector256.Create((ushort)'\r');
            var lf = Vector256.Create((ushort)'\n');
            for (; i + Vector256<ushort>.Count < text.Length; i += Vector256<ushort>.Count)
            {
                var here = Vector256.LoadUnsafe(ref first, (nuint)i);
                var next = Vector256.LoadUnsafe(ref first, (nuint)i + 1); // in bounds: the loop stops one vector short
                var hits = Vector256.Equals(here, quote) | Vector256.AndNot(Vector256.Equals(here, cr), Vector256.Equals(next, lf));
                if (hits != Vector256<ushort>.Zero)
                {
                    return i + BitOperations.TrailingZeroCount(hits.ExtractMostSignificantBits());
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var quote = Vector128.Create((ushort)'"');
            var cr = Vector128.Create((ushort)'\r');
            var lf = Vector128.Create((ushort)'\n');
            for (; i + Vector128<ushort>.Count < text.Length; i += Vector128<ushort>.Count)
            {
                var here = Vector128.LoadUnsafe(ref first, (nuint)i);
                var next = Vector128.LoadUnsafe(ref first, (nuint)i + 1);
                var hits = Vector128.Equals(here, quote) | Vector128.AndNot(Vector128.Equals(here, cr), Vector128.Equals(next, lf));
                if (hits != Vector128<ushort>.Zero)
                {
                    return i + BitOperations.TrailingZeroCount(hits.ExtractMostSignificantBits());
                }
            }
        }

        for (; i < text.Length; i++)
        {
            if (text[i] == '"' || (text[i] == '\r' && (i + 1 == text.Length || text[i + 1] != '\n')))
            {
                return i;
            }
        }

        return -1;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
