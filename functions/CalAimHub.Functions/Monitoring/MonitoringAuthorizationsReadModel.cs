using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Monitoring;

/// <summary>
/// The authorization facts of the monitoring extract, kept per month by the workflow runtime (issue 12): table
/// <c>MonitoringAuthorizations</c>, partition <c>yyyy-MM</c> (Pacific), one row per authorization in every month a figure
/// can count it in: the month it was received (Tab 6 counts requests and denials by receipt date) and each month its
/// authorized period overlaps (members and new authorizations). A row keeps only what the month's figures read: the
/// status in the receipt month only, the period only where it overlaps, so a status change rewrites one partition and
/// a decision one partition per month of the period. No CIN: members by <see cref="MemberCountingKey"/>.
/// </summary>
public sealed class MonitoringAuthorizationsProjection(MemberCountingKey memberKey) : IWorkflowProjection<AuthorizationState>
{
    public const string TableName = "MonitoringAuthorizations";

    /// <summary>Item rows sort before the store's version and counter rows (<c>~…</c>), whatever the authorization id.</summary>
    internal const string RowPrefix = "a|";

    public string Name => "monitoring-authorizations";

    public IReadOnlyList<string> Tables { get; } = [TableName];

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<AuthorizationState> instance)
    {
        if (instance.State.Request is not { } request)
        {
            yield break;
        }

        var state = instance.State;
        var received = MonthOf(request.ReceivedAt);
        var periodMonths = state.Period is { } period ? MonthsBetween(MonthOf(period.StartsAt), MonthOf(period.EndsAt)) : [];
        foreach (var month in periodMonths.Append(received).Distinct(StringComparer.Ordinal))
        {
            var inPeriod = periodMonths.Contains(month, StringComparer.Ordinal);
            var row = new MonitoringAuthorizationRow(
                request.AuthorizationId, memberKey.Of(request.MemberCin), request.Service.ServiceKeys, request.Service.PopulationsOfFocus, request.ReceivedAt,
                month == received ? state.Status : null, inPeriod ? state.Period!.StartsAt : null, inPeriod ? state.Period!.EndsAt : null);
            yield return ReadModelEntry.Of(TableName, month, request.AuthorizationId, [ReadModelRow.Of(RowPrefix + request.AuthorizationId, row)]);
        }
    }

    public static string MonthOf(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, MonitoringExtract.Pacific).ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary><c>yyyy-MM</c> from <paramref name="first"/> to <paramref name="last"/> inclusive (none when last is before first).</summary>
    private static List<string> MonthsBetween(string first, string last)
    {
        var months = new List<string>();
        var at = DateTime.ParseExact(first, "yyyy-MM", CultureInfo.InvariantCulture);
        var end = DateTime.ParseExact(last, "yyyy-MM", CultureInfo.InvariantCulture);
        for (; at <= end; at = at.AddMonths(1))
        {
            months.Add(at.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        }

        return months;
    }
}

/// <summary>One authorization as one month of the extract sees it (see <see cref="MonitoringAuthorizationsProjection"/>).</summary>
/// <param name="Status">Only in the receipt month (null elsewhere: no figure of another month reads it).</param>
/// <param name="AuthorizedFrom">Only in a month the authorized period overlaps.</param>
public sealed record MonitoringAuthorizationRow(
    string AuthorizationId,
    string MemberKey,
    IReadOnlyList<string> Services,
    IReadOnlyList<string> PopulationsOfFocus,
    DateTimeOffset ReceivedAt,
    AuthorizationStatus? Status,
    DateTimeOffset? AuthorizedFrom,
    DateTimeOffset? AuthorizedThrough)
{
    public AuthorizationFact ToFact() => new(AuthorizationId, MemberKey, Services, PopulationsOfFocus, Status, ReceivedAt, AuthorizedFrom, AuthorizedThrough);
}

/// <summary>The query side of <see cref="MonitoringAuthorizationsProjection"/>.</summary>
public sealed class MonitoringAuthorizations(ReadModelStore readModels)
{
    /// <summary>The month's authorization facts: one range query on one partition (pages of 1,000 rows).</summary>
    public async Task<IReadOnlyList<AuthorizationFact>> MonthAsync(MonitoringMonth month, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {month.Text} and RowKey ge {MonitoringAuthorizationsProjection.RowPrefix} and RowKey lt {"a}"}");
        var facts = new List<AuthorizationFact>();
        await foreach (var row in readModels.Table(MonitoringAuthorizationsProjection.TableName).QueryAsync<TableEntity>(filter, select: ["Data"], cancellationToken: cancellationToken))
        {
            facts.Add(JsonSerializer.Deserialize<MonitoringAuthorizationRow>(row.GetString("Data"), WorkflowJson.Options)!.ToFact());
        }

        return facts;
    }
}

/// <summary>
/// The key the extract counts members by: HMAC-SHA256 of the CIN under a secret key, so the read model never holds a CIN
/// nor a plain hash of one (nine characters are quickly guessed from an unkeyed hash). The key comes from
/// <see cref="KeySetting"/>; a new key changes every member key, so rebuild the read models after changing it.
/// </summary>
public sealed class MemberCountingKey
{
    /// <summary>Configuration key of the HMAC key: base64, at least 32 bytes (<c>Monitoring__MemberKeySecret</c>).</summary>
    public const string KeySetting = "Monitoring:MemberKeySecret";

    // Without a configured key (local runs, tests) counting still works; the built-in key hides nothing from a reader of the code.
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
            return new MemberCountingKey(BuiltInKey);
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
