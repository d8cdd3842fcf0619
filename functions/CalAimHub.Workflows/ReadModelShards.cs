using System.Globalization;
using System.Text;

namespace CalAimHub.Workflows;

/// <summary>
/// How many tables ("shards") each read-model table is spread over: the one place that says it. An item goes to shard
/// <c>hash(item id) mod S</c> (FNV-1a of its UTF-8 bytes: stable across processes and runtimes, unlike
/// <see cref="string.GetHashCode()"/>), that is to table <c>{table}{shard:D2}</c>, in its logical partition (keys unchanged).
/// Each shard has its own version rows and counter rows (or counter journal), so an update is still one transaction in
/// one partition of one table. Readers sum the shards' counters and merge their rows in row-key order
/// (<see cref="ReadModelStore"/>).
/// </summary>
/// <remarks>
/// <para>
/// Why tables, not partitions (measured, docs/performance.md, stop 26): Azurite answers a point write or read by walking
/// every row of the partition (LokiJS indexes the first key only), and a query by walking every row of the table (a
/// filter function over the whole collection, then a sort of the matches). Partitions split within one table make writes
/// cheap but make a merged page walk the whole table once per shard; tables split make both walk 1/S of the rows. In Azure
/// both are key look-ups, and S tables are S partition servers' write rate instead of one (about 2,000 entities/s each).
/// </para>
/// <para>
/// The values: a merged page costs S queries, so S is as small as brings a shard of a 100,000-item partition to a few
/// thousand rows; a table nobody pages (<c>InvoiceTimeliness</c>: version rows and the counter journal only) may take more.
/// </para>
/// <list type="bullet">
/// <item><c>AuthorizationListing</c> = 32: every authorization in one partition (item + version row each: 200,000 rows at 100,000).</item>
/// <item><c>ConsoleDeadlines</c> = 8: all items due on one day in one partition. Fewer than the listing: Today reads each
/// due day's counter rows, one query per shard.</item>
/// <item><c>ConsoleBreachedDeadlines</c> = 8: every breached deadline in one partition (as <c>ConsoleDeadlines</c>, whose
/// breached partition it was until layout revision 2).</item>
/// <item><c>ConsoleOpenReferrals</c> = 16: every open referral in one partition.</item>
/// <item><c>InvoiceListing</c> = 16: a provider's invoices (one 100,000-line file from one provider = 10,000 invoices).</item>
/// <item><c>InvoiceTimeliness</c> = 16: a month's invoices' version rows and the counter journal; read by no one but the writer.</item>
/// <item><c>MonitoringAuthorizations</c> = 32: every authorization received in a month in that month's partition (a receipt
/// row, a period row and their version rows: about 100,000 rows in a month of the benchmark's 100,000 authorizations).
/// Unsharded, each write walked that partition (loading it timed out, docs/performance.md, stop 32); the monthly extract
/// reads it with two queries per shard.</item>
/// </list>
/// <para>
/// Changing a value (or sharding a table that was not) changes where rows live: the table must be rebuilt (the layout row
/// then names the new S; until then readers refuse the table, see <see cref="ReadModelLayoutException"/>). So does moving
/// some of a sharded table's rows elsewhere: its layout revision (<see cref="RevisionOf"/>) goes up, and its layout row must
/// name it too.
/// </para>
/// </remarks>
public sealed class ReadModelShards(IReadOnlyDictionary<string, int> shardsByTable, IReadOnlyDictionary<string, int>? revisions = null)
{
    /// <summary>The hub's read-model tables that need more than one shard, and the layout revisions past the first.</summary>
    public static ReadModelShards Hub { get; } = new(
        new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["AuthorizationListing"] = 32,
            ["ConsoleDeadlines"] = 8,
            ["ConsoleBreachedDeadlines"] = 8,
            ["ConsoleOpenReferrals"] = 16,
            ["InvoiceListing"] = 16,
            ["InvoiceTimeliness"] = 16,
            ["MonitoringAuthorizations"] = 32,
        },
        new Dictionary<string, int>(StringComparer.Ordinal)
        {
            // 2: its breached partition moved to ConsoleBreachedDeadlines, so Today's walks of the due days'
            // rows no longer pass every breached deadline; rows of revision 1 still hold the breaches there.
            ["ConsoleDeadlines"] = 2,
        });

    /// <summary>The layout revision of a table that has none listed: the first.</summary>
    public const int FirstRevision = 1;

    /// <summary>The most shards a table may have (two decimal digits in the shard tables' names).</summary>
    public const int MaxShards = 100;

    public IReadOnlyDictionary<string, int> ByTable { get; } = Validate(shardsByTable);

    /// <summary>S of a table: 1 when it is not listed.</summary>
    public int Of(string table) => ByTable.TryGetValue(table, out var shards) ? shards : 1;

    private readonly Dictionary<string, int> revisions = new(revisions ?? new Dictionary<string, int>(), StringComparer.Ordinal);

    /// <summary>
    /// Which arrangement of a sharded table's rows this version writes and reads: <see cref="FirstRevision"/> unless rows
    /// moved since (its layout row's <c>Revision</c> column; none means the first).
    /// </summary>
    public int RevisionOf(string table) => revisions.GetValueOrDefault(table, FirstRevision);

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
    /// The table that holds shard <paramref name="shard"/> of read-model table <paramref name="table"/>:
    /// <c>{table}{shard:D2}</c>; the table itself when it has one shard. The table named <paramref name="table"/> then
    /// holds only the layout row (and rows of the unsharded layout until the rebuild clears them).
    /// </summary>
    public static string TableOf(string table, int shard, int shards) =>
        shards == 1 ? table : table + shard.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>
    /// A filter on the table service's list of tables that finds every shard table <paramref name="table"/> may have,
    /// whatever shard count wrote them (<c>{table}00</c> to <c>{table}99</c>); a name it lets through is a shard table
    /// only when <see cref="IsShardTableOf"/> says so (<c>{table}0Extra</c> sorts inside the range too).
    /// </summary>
    public static string ShardTablesFilter(string table) =>
        Azure.Data.Tables.TableServiceClient.CreateQueryFilter($"TableName ge {table + "00"} and TableName le {table + (MaxShards - 1).ToString("D2", CultureInfo.InvariantCulture)}");

    /// <summary>Whether <paramref name="name"/> is one of <paramref name="table"/>'s shard tables: <c>{table}</c> and two digits.</summary>
    public static bool IsShardTableOf(string name, string table) =>
        name.Length == table.Length + 2 && name.StartsWith(table, StringComparison.Ordinal) && char.IsAsciiDigit(name[^1]) && char.IsAsciiDigit(name[^2]);

    private static Dictionary<string, int> Validate(IReadOnlyDictionary<string, int> shardsByTable)
    {
        foreach (var (table, shards) in shardsByTable)
        {
            if (shards is < 1 or > MaxShards)
            {
                throw new ArgumentOutOfRangeException(nameof(shardsByTable), $"table '{table}': shards must be 1 to {MaxShards} (two digits in the shard tables' names), not {shards}");
            }

            // Table names: a letter, then letters and digits, 3 to 63 characters; the shard suffix takes two.
            if (shards > 1 && (table.Length is < 3 or > 61 || !char.IsAsciiLetter(table[0]) || !table.All(char.IsAsciiLetterOrDigit)))
            {
                throw new ArgumentException($"table '{table}': a sharded table's name must be 3 to 61 letters and digits, starting with a letter (its shards add two digits)", nameof(shardsByTable));
            }
        }

        return new Dictionary<string, int>(shardsByTable, StringComparer.Ordinal);
    }
}

/// <summary>
/// A sharded read-model table whose layout row is missing or names another shard count: it holds rows of an older layout
/// (or none yet written by this version), which cannot be merged safely. Run the read-model rebuild.
/// </summary>
public sealed class ReadModelLayoutException(string table, string layout)
    : InvalidOperationException($"read-model table '{table}' is not in the layout this version reads ({layout}): run the read-model rebuild (POST /api/console/read-models/rebuild)")
{
    /// <summary>The layout read (shards, and the revision when either side is past the first) against the layout row's.</summary>
    public ReadModelLayoutException(string table, int shards, int revision, int? foundShards, int foundRevision)
        : this(table, revision == ReadModelShards.FirstRevision && foundRevision == ReadModelShards.FirstRevision
            ? $"{shards} shards; the table's layout row says {(foundShards is { } f ? f.ToString(CultureInfo.InvariantCulture) : "nothing")}"
            : string.Create(CultureInfo.InvariantCulture, $"{shards} shards, layout revision {revision}; the table's layout row says {(foundShards is { } s ? $"{s} shards, revision {foundRevision}" : "nothing")}"))
    {
    }

    public string Table { get; } = table;
}
