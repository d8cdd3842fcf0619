using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CalAimHub.Functions.Outbound;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// <see cref="BlockStagingStream"/> on Azurite, with its buffer from the shared array pool: blocks of exactly the block size
/// (the pool hands out arrays larger than asked for), the bytes and hash of what was written, nothing visible before the
/// commit, and buffers given back so the next file reuses them.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlockStagingStreamTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Odd_sized_writes_become_blocks_of_exactly_the_block_size_holding_the_bytes_written_and_nothing_shows_before_the_commit()
    {
        // 100,000 is not a power of two: the pool answers a request for it with a 131,072-byte array.
        const int blockBytes = 100_000;
        var content = new byte[1_000_003];
        new Random(14).NextBytes(content);
        var container = azurite.Storage.Blobs.GetBlobContainerClient("staging-" + Guid.NewGuid().ToString("N")[..12]);
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlockBlobClient("outbound/file.csv");

        string hash;
        IReadOnlyList<string> blocks;
        await using (var staging = new BlockStagingStream(blob, blockBytes))
        {
            for (var offset = 0; offset < content.Length; offset += 7_777)
            {
                await staging.WriteAsync(content.AsMemory(offset, Math.Min(7_777, content.Length - offset)));
            }

            hash = await staging.CompleteAsync(CancellationToken.None);
            blocks = [.. staging.Blocks];
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), hash);
        Assert.False((await blob.ExistsAsync()).Value);
        var staged = (await blob.GetBlockListAsync(BlockListTypes.Uncommitted)).Value.UncommittedBlocks.ToDictionary(b => b.Name, b => b.SizeLong);
        Assert.Equal([.. Enumerable.Repeat(100_000L, 10), 3L], blocks.Select(b => staged[b]));

        await blob.CommitBlockListAsync(blocks);
        Assert.Equal(content, (await blob.DownloadContentAsync()).Value.Content.ToArray());
    }

    [Fact]
    public async Task A_file_smaller_than_the_first_buffer_is_one_block_and_disposing_twice_gives_its_buffer_back_once()
    {
        var container = azurite.Storage.Blobs.GetBlobContainerClient("staging-" + Guid.NewGuid().ToString("N")[..12]);
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlockBlobClient("small.csv");
        var staging = new BlockStagingStream(blob);
        await staging.WriteAsync("MemberCin,Period\r\n"u8.ToArray());
        await staging.CompleteAsync(CancellationToken.None);
        Assert.Single(staging.Blocks);
        await staging.DisposeAsync();
        await staging.DisposeAsync();

        await blob.CommitBlockListAsync(staging.Blocks);
        Assert.Equal("MemberCin,Period\r\n", (await blob.DownloadContentAsync()).Value.Content.ToString());
    }
}
