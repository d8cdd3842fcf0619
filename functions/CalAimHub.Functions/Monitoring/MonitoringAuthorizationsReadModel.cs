using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Extensions;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Monitoring;

/// <summary>
/// The authorization facts of the monitoring extract, kept by the workflow runtime (issue 12): table
/// <c>MonitoringAuthorizations</c> (its shard tables, <see cref="ReadModelShards"/>), partition <c>yyyy-MM</c> (Pacific). Two kinds of row, each holding only what its
/// figures read, so a commit rewrites the receipt month's partition only, and an approval also the period's first month
/// when that is another (and one more per further <see cref="ChunkMonths"/> months of period):
/// <list type="bullet">
/// <item><c>r|{id}</c> in the month the request was received: its status (Tab 6 counts requests and denials by receipt date).</item>
/// <item><c>p|{id}</c> for the authorized period, in the month it starts and again every <see cref="ChunkMonths"/> months while
/// it lasts: a month's members are the periods of the rows in the <see cref="ChunkMonths"/> partitions up to it (a period
/// that overlaps a month has exactly one row there), one range query. A row per month of the period would make each
/// approval write 13 partitions (measured: throughput fell by half).</item>
/// </list>
/// No CIN: members by <see cref="MemberCountingKey"/>.
/// </summary>
public sealed class MonitoringAuthorizationsProjection(MemberCountingKey memberKey) : IWorkflowProjection<AuthorizationState>
{
    public const string TableName = "MonitoringAuthorizations";

    /// <summary>A 12-month ECM period touches 13 calendar months: one period row covers it.</summary>
    public const int ChunkMonths = 13;

    // Item rows sort before the store's version and counter rows (~…), whatever the authorization id (an id a key may not
    // hold becomes ~{hash} after the prefix, still inside the prefix's range).
    internal const string ReceiptPrefix = "r|";
    internal const string PeriodPrefix = "p|";

    public string Name => "monitoring-authorizations";

    public IReadOnlyList<string> Tables { get; } = [TableName];

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<AuthorizationState> instance)
    {
        if (instance.State.Request is not { } request)
        {
            return [];
        }

        var state = instance.State;
        var member = memberKey.Of(request.MemberCin);
        var rows = new List<(string Month, ReadModelRow Row)>
        {
            (MonthOf(request.ReceivedAt), ReadModelRow.Of(ReceiptPrefix + ReadModelStore.Key(request.AuthorizationId),
                new MonitoringAuthorizationRow(request.AuthorizationId, member, request.Service.ServiceKeys, request.Service.PopulationsOfFocus, request.ReceivedAt, state.Status, null, null))),
        };
        if (state.Period is { } period)
        {
            var row = ReadModelRow.Of(PeriodPrefix + ReadModelStore.Key(request.AuthorizationId),
                new MonitoringAuthorizationRow(request.AuthorizationId, member, request.Service.ServiceKeys, request.Service.PopulationsOfFocus, request.ReceivedAt, null, period.StartsAt, period.EndsAt));
            var last = Month(period.EndsAt);
            for (var month = Month(period.StartsAt); month <= last; month = month.AddMonths(ChunkMonths))
            {
                rows.Add((Text(month), row));
            }
        }

        // One entry per partition: the receipt row and a period row of the same month go in one transaction.
        return rows.GroupBy(r => r.Month, StringComparer.Ordinal)
            .Select(g => ReadModelEntry.Of(TableName, g.Key, request.AuthorizationId, [.. g.Select(r => r.Row)]));
    }

    public static string MonthOf(DateTimeOffset at) => Text(Month(at));

    /// <summary>The first day of <paramref name="at"/>'s Pacific month.</summary>
    internal static DateTime Month(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, MonitoringExtract.Pacific);
        return new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
    }

    internal static string Text(DateTime month) => month.ToString("yyyy-MM", CultureInfo.InvariantCulture);
}

/// <summary>One authorization as a row of <see cref="MonitoringAuthorizationsProjection"/> keeps it.</summary>
/// <param name="Status">On the receipt row only.</param>
/// <param name="AuthorizedFrom">On a period row only.</param>
public sealed record MonitoringAuthorizationRow(
    string AuthorizationId,
    string MemberKey,
    IReadOnlyList<string> Services,
    IReadOnlyList<string> PopulationsOfFocus,
    DateTimeOffset ReceivedAt,
    AuthorizationStatus? Status,
    DateTimeOffset? AuthorizedFrom,
    DateTimeOffset? AuthorizedThrough);

/// <summary>The query side of <see cref="MonitoringAuthorizationsProjection"/>.</summary>
public sealed class MonitoringAuthorizations(ReadModelStore readModels)
{
    /// <summary>
    /// The authorizations a month's figures can count: received in it (status from the receipt row) or with a period row
    /// in the <see cref="MonitoringAuthorizationsProjection.ChunkMonths"/> partitions up to it (periods that ended before it
    /// are among them; the extract's overlap test drops them). Two queries (pages of 1,000 rows) per shard table
    /// (<see cref="ReadModelShards"/>), after the layout check.
    /// </summary>
    /// <exception cref="ReadModelLayoutException">The table holds rows of the unsharded layout: it needs the rebuild.</exception>
    public async Task<IReadOnlyList<AuthorizationFact>> MonthAsync(MonitoringMonth month, CancellationToken cancellationToken)
    {
        var first = MonitoringAuthorizationsProjection.Text(new DateTime(month.Year, month.MonthOfYear, 1).AddMonths(1 - MonitoringAuthorizationsProjection.ChunkMonths));
        var shards = await readModels.RequireLayoutAsync(MonitoringAuthorizationsProjection.TableName, cancellationToken);
        var receipts = RowsAsync(shards, TableClient.CreateQueryFilter($"PartitionKey eq {month.Text} and RowKey ge {MonitoringAuthorizationsProjection.ReceiptPrefix} and RowKey lt {"r}"}"), cancellationToken);
        var periods = RowsAsync(
            shards,
            TableClient.CreateQueryFilter($"PartitionKey ge {first} and PartitionKey le {month.Text} and RowKey ge {MonitoringAuthorizationsProjection.PeriodPrefix} and RowKey lt {"p}"}"), cancellationToken);

        // An authorization received in the month and authorized has both rows: one fact with the status of one and the period of the other.
        var facts = new Dictionary<string, AuthorizationFact>(StringComparer.Ordinal);
        foreach (var row in await periods)
        {
            facts[row.AuthorizationId] = new(row.AuthorizationId, row.MemberKey, row.Services, row.PopulationsOfFocus, null, row.ReceivedAt, row.AuthorizedFrom, row.AuthorizedThrough);
        }

        foreach (var row in await receipts)
        {
            facts[row.AuthorizationId] = facts.TryGetValue(row.AuthorizationId, out var period)
                ? period with { Status = row.Status }
                : new(row.AuthorizationId, row.MemberKey, row.Services, row.PopulationsOfFocus, row.Status, row.ReceivedAt, null, null);
        }

        return [.. facts.Values];
    }

    /// <summary>The rows of every shard table that match, a bounded number of queries at a time (<see cref="ReadModelStore.ShardRowsAsync"/>).</summary>
    private async Task<List<MonitoringAuthorizationRow>> RowsAsync(int shards, string filter, CancellationToken cancellationToken) =>
        [.. (await readModels.ShardRowsAsync(MonitoringAuthorizationsProjection.TableName, shards, filter, ["Data"], cancellationToken))
            .Select(row => JsonSerializer.Deserialize<MonitoringAuthorizationRow>(row.GetString("Data"), WorkflowJson.Options)!)];
}

/// <summary>
/// The key the extract counts members by: HMAC-SHA256 of the CIN under a secret key, so the read model never holds a CIN
/// nor a plain hash of one (nine characters are quickly guessed from an unkeyed hash). The key comes from
/// <see cref="KeySetting"/>; a new key changes every member key, so rebuild the read models after changing it.
/// </summary>
public sealed class MemberCountingKey
{
    /// <summary>
    /// Configuration key of the HMAC key: base64, at least 32 bytes (<c>Monitoring__MemberKeySecret</c>, which Bicep sets to
    /// a versioned Key Vault reference).
    /// </summary>
    public const string KeySetting = "Monitoring:MemberKeySecret";

    // Without a configured key local runs and tests still count; the built-in key hides nothing from a reader of the code,
    // so in Azure a missing key stops the app instead (Bicep sets it: secret monitoring-member-key).
    private static readonly byte[] BuiltInKey = SHA256.HashData("calaimhub monitoring member key v1"u8);
    private readonly byte[] key;

    public MemberCountingKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        this.key = key.Length >= 32 ? key : throw new ArgumentException("a member key secret has at least 32 bytes", nameof(key));
    }

    public static MemberCountingKey FromConfiguration(IConfiguration configuration)
    {
        var text = configuration[KeySetting];
        if (string.IsNullOrEmpty(text))
        {
            return configuration.RunsInAzure()
                ? throw new InvalidOperationException($"{KeySetting} is not set; in Azure the built-in member key, which anyone with the source can reproduce, is refused")
                : new MemberCountingKey(BuiltInKey);
        }

        try
        {
            var bytes = Convert.FromBase64String(text);
            return bytes.Length >= 32 ? new MemberCountingKey(bytes) : throw new FormatException();
        }
        catch (FormatException)
        {
            // The value is a secret: name the setting, never echo it.
            throw new InvalidOperationException($"{KeySetting} must be base64 of at least 32 bytes");
        }
    }

    public string Of(string cin) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(cin)));
}
