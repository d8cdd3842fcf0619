using System.Globalization;
using System.Text;

namespace CalAimHub.Workflows;

/// <summary>
/// How many physical partitions ("shards") each logical partition of a read-model table is spread over: the one place
/// that says it. An item goes to shard <c>hash(item id) mod S</c> (FNV-1a of its UTF-8 bytes: stable across processes
/// and runtimes, unlike <see cref="string.GetHashCode()"/>); each shard has its own version rows and counter row (or
/// counter journal), so an update is still one transaction in one partition. Readers sum the shards' counters and merge
/// their rows in row-key order (<see cref="ReadModelStore"/>).
/// </summary>
/// <remarks>
/// <para>
/// Why shard: a partition's point writes cost time in proportion to its size on Azurite (it walks the partition for every
/// <c>findOne</c>), and a big partition is a hot partition in Azure (one partition server, about 2,000 entities/s). The
/// tables below grow without bound in one partition; every other read-model table keeps S = 1 (partition key unchanged).
/// </para>
/// <para>
/// The values (docs/performance.md, issues 12 and 13: runs of up to 100,000 items): a sharded page costs S queries (one
/// per shard), so S is as small as brings a shard of a 100,000-item partition to about 12,500 items; a table nobody
/// pages (<c>InvoiceTimeliness</c>: version rows and the counter journal only) takes more.
/// </para>
/// <list type="bullet">
/// <item><c>AuthorizationListing</c> = 8: every authorization in one partition (item + version row each).</item>
/// <item><c>ConsoleDeadlines</c> = 8: all items due on one day, and every breached item, in one partition.</item>
/// <item><c>InvoiceListing</c> = 8: a provider's invoices (one 100,000-line file from one provider = 10,000 invoices, 187 ms a transaction unsharded).</item>
/// <item><c>InvoiceTimeliness</c> = 16: a month's invoices' version rows and the counter journal (130 ms a transaction unsharded); read by no one but the writer.</item>
/// </list>
/// <para>
/// Changing a value (or sharding a table that was not) changes where rows live: the table must be rebuilt (the layout row
/// then names the new S; until then readers refuse the table, see <see cref="ReadModelLayoutException"/>).
/// </para>
/// </remarks>
public sealed class ReadModelShards(IReadOnlyDictionary<string, int> shardsByTable)
{
    /// <summary>The hub's read-model tables that need more than one shard.</summary>
    public static ReadModelShards Hub { get; } = new(new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["AuthorizationListing"] = 8,
        ["ConsoleDeadlines"] = 8,
        ["InvoiceListing"] = 8,
        ["InvoiceTimeliness"] = 16,
    });

    /// <summary>Separates a logical partition key from its shard number: <c>!</c> sorts before every other character a key holds in practice (only a space sorts lower), so the shards of one logical partition sort together and in the logical partitions' order.</summary>
    public const char Separator = '!';

    public IReadOnlyDictionary<string, int> ByTable { get; } = Validate(shardsByTable);

    /// <summary>S of a table: 1 when it is not listed.</summary>
    public int Of(string table) => ByTable.TryGetValue(table, out var shards) ? shards : 1;

    /// <summary>The shard of an item: FNV-1a (32 bits) of its id's UTF-8 bytes, mod <paramref name="shards"/>.</summary>
    public static int ShardOf(string item, int shards)
    {
        if (shards == 1)
        {
            return 0;
        }

        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(item))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)shards);
    }

    /// <summary>
    /// The physical partition key of shard <paramref name="shard"/> of logical partition key <paramref name="partitionKey"/>
    /// (already a valid key, see <see cref="ReadModelStore.Key"/>): <c>{key}!{shard, 2 hex digits}</c>; the key itself when the table has one shard.
    /// </summary>
    public static string PartitionKey(string partitionKey, int shard, int shards) =>
        shards == 1 ? partitionKey : partitionKey + Separator + shard.ToString("x2", CultureInfo.InvariantCulture);

    /// <summary>The logical partition key of a physical one of a table with <paramref name="shards"/> shards.</summary>
    public static string LogicalKey(string physicalKey, int shards) => shards == 1 ? physicalKey : physicalKey[..^3];

    private static Dictionary<string, int> Validate(IReadOnlyDictionary<string, int> shardsByTable)
    {
        foreach (var (table, shards) in shardsByTable)
        {
            if (shards is < 1 or > 256)
            {
                throw new ArgumentOutOfRangeException(nameof(shardsByTable), $"table '{table}': shards must be 1 to 256 (two hex digits), not {shards}");
            }
        }

        return new Dictionary<string, int>(shardsByTable, StringComparer.Ordinal);
    }
}

/// <summary>
/// A sharded read-model table whose layout row is missing or names another shard count: it holds rows of an older layout
/// (or none yet written by this version), which cannot be merged safely. Run the read-model rebuild.
/// </summary>
public sealed class ReadModelLayoutException(string table, int shards, int? found)
    : InvalidOperationException($"read-model table '{table}' is not in the layout this version reads ({shards} shards; the table's layout row says {(found is { } f ? f.ToString(CultureInfo.InvariantCulture) : "nothing")}): run the read-model rebuild (POST /api/console/read-models/rebuild)")
{
    public string Table { get; } = table;
}
