using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs.Specialized;

namespace CalAimHub.Functions.Outbound;

/// <summary>
/// A write-only stream that stages what is written as blocks of a block blob (4 MiB each) and hashes it; nothing is visible
/// until <see cref="BlockBlobClient.CommitBlockListAsync(IEnumerable{string}, Azure.Storage.Blobs.Models.CommitBlockListOptions, CancellationToken)"/>
/// commits the list once. Block ids carry this attempt's id, so a crashed attempt's uncommitted blocks never mix in (they
/// are discarded by the next commit). The buffer comes from the shared array pool and goes back to it, growing by doubling
/// from 64 KB as the file needs: a generation of many files reuses the same few buffers instead of leaving a large-object
/// heap allocation per file (and the full collections those bring) behind.
/// </summary>
public sealed class BlockStagingStream(BlockBlobClient blob, int blockBytes = 4 * 1024 * 1024) : Stream
{
    private readonly string attempt = Guid.NewGuid().ToString("N")[..12];
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<string> blocks = [];
    private byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(blockBytes, 64 * 1024));
    private int used;
    private long length;

    public IReadOnlyList<string> Blocks => blocks;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => length;
    public override long Position { get => length; set => throw new NotSupportedException(); }

    /// <summary>Stages what is buffered and answers the content's SHA-256 (hex); call once, after the last write.</summary>
    public async Task<string> CompleteAsync(CancellationToken cancellationToken)
    {
        await StageAsync(cancellationToken);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        hash.AppendData(source.Span);
        length += source.Length;
        while (source.Length > 0)
        {
            if (used == Capacity && Capacity < blockBytes)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Min(blockBytes, Capacity * 2));
                buffer.AsSpan(0, used).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }

            var take = Math.Min(source.Length, Capacity - used);
            source.Span[..take].CopyTo(buffer.AsSpan(used));
            used += take;
            source = source[take..];
            if (used == blockBytes)
            {
                await StageAsync(cancellationToken);
            }
        }
    }

    /// <summary>The pool may hand out a larger array; a block never exceeds <c>blockBytes</c> all the same.</summary>
    private int Capacity => Math.Min(buffer.Length, blockBytes);

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task StageAsync(CancellationToken cancellationToken)
    {
        if (used == 0 && blocks.Count > 0)
        {
            return;
        }

        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{attempt}-{blocks.Count:D6}"));
        using var content = new MemoryStream(buffer, 0, used, writable: false);
        await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken);
        blocks.Add(id);
        used = 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            hash.Dispose();
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = [];
            }
        }

        base.Dispose(disposing);
    }
}
