using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Invoices;

/// <summary>What the provider list shows about one invoice: ids, status, amounts, dates. No member data.</summary>
/// <param name="AsOf">The last time the invoice changed (the latest time its state records): deterministic, so a rebuild writes the same row.</param>
public sealed record InvoiceListItem(
    string InvoiceId,
    string InvoiceNumber,
    string ProviderId,
    InvoiceStatus Status,
    DateTimeOffset ReceivedAt,
    int Lines,
    int ContestedLines,
    decimal Billed,
    decimal Paid,
    decimal InterestOwed,
    DateTimeOffset? NextDeadline,
    bool Escalated,
    DateTimeOffset AsOf)
{
    public static InvoiceListItem Of(InvoiceState state) => new(
        state.Header!.InvoiceId, state.Header.InvoiceNumber, state.Header.ProviderId, state.Status, state.Header.ReceivedAt, state.Lines.Count,
        state.Lines.Count(l => l.Status == LineStatus.Contested), state.Billed, state.Paid, state.InterestOwed, InvoiceWorkflow.NextDeadline(state), state.Escalated,
        state.Clocks.SelectMany(c => new[] { c.StartedAt, c.SatisfiedAt ?? default, c.BreachedAt ?? default }).Append(state.Header.ReceivedAt).Max());
}

/// <summary>
/// The invoice read models (<see cref="WorkflowProjection"/>: the runtime writes them after every commit that changes
/// them, versioned, counters exact), each keyed for its query so no read scans:
/// <list type="bullet">
/// <item><c>InvoiceListing</c>: partition = billing provider, row = <c>{received yyyyMMddTHHmmssZ}|{invoice id}</c> (the receipt
/// never changes, so the row never moves): the received range is a row-key range; status and overdue (<c>OpenDueAt</c>, a
/// sortable time key) are filters on the row's columns.</item>
/// <item><c>InvoiceTimelinessCounters</c>: counters only, in partition <c>{month}</c> (receipt month, Pacific): the month's
/// counter row and one counter row per provider (<c>~counts|{provider}</c>): invoices, clean, clean paid within 30 / 90
/// calendar days, working-day breaches, interest owed in cents, lines contested per reason. A month's figures, or one
/// provider's, are one point read; every provider's is one query of a table that holds nothing but these counter rows
/// (one per provider and month), whatever the number of invoices. The invoices' version rows (the idempotency guard) and
/// the month's counter journal stay in <c>InvoiceTimeliness</c>; the store keeps the two exact across a kill -9 between
/// their transactions (<see cref="ReadModelStore"/>).</item>
/// <item><c>PaidInvoiceLines</c>: partition = billing provider, row = the paid line's duplicate key
/// (<c>{member bucket}|{hash}</c>, <see cref="InvoiceLineChecks.DuplicateKey"/>): "is this line a duplicate of a paid one" is
/// one row-range query per member bucket, shared by a run's lines. Lines checked before the bucket prefix keep their old
/// key (the state holds no CIN to re-key them with), counted in the partition's counter (<see cref="LegacyPaidLines"/>) so
/// the check point-reads old keys only at providers that have some. Partition <c>units|{authorization}</c>: counters of units paid per limited code-modifier, the
/// running total a new line's units are checked against (one point read).</item>
/// </list>
/// </summary>
public sealed class InvoiceReadModelsProjection(CaliforniaWorkingDays calendar, InvoicePaymentRules rules) : IWorkflowProjection<InvoiceState>
{
    public const string ListingTable = "InvoiceListing";
    public const string TimelinessTable = "InvoiceTimeliness";
    public const string TimelinessCountersTable = "InvoiceTimelinessCounters";
    public const string PaidLinesTable = "PaidInvoiceLines";

    /// <summary>Stands for "nothing due" so <c>overdue</c> is one comparison.</summary>
    public const string NothingDue = "99991231T000000Z";

    public const string Invoices = "invoices";
    public const string Clean = "clean";
    public const string Breaches = "breaches";
    public const string InterestCents = "interestCents";
    public const string ContestPrefix = "contest.";

    /// <summary>Counter of a provider's paid lines stored under a duplicate key without a member bucket.</summary>
    public const string LegacyPaidLines = "legacyPaidLines";

    public string Name => "invoice-read-models";

    public IReadOnlyList<string> Tables { get; } = [ListingTable, TimelinessTable, TimelinessCountersTable, PaidLinesTable];

    public static string CleanPaidWithin(int calendarDays) => $"cleanPaidWithin{calendarDays}";

    /// <summary>The <see cref="PaidLinesTable"/> partition holding an authorization's units-paid counters.</summary>
    public static string UnitsPartition(string authorizationId) => "units|" + authorizationId;

    /// <summary>Counter of hundredths of a unit paid for a limited code-modifier (e.g. H0043-U2).</summary>
    public static string UnitsPaid(string service) => "unitsPaid." + service;

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<InvoiceState> instance)
    {
        var state = instance.State;
        if (state.Header is not { } header)
        {
            yield break;
        }

        var item = InvoiceListItem.Of(state);
        yield return ReadModelEntry.Of(ListingTable, header.ProviderId, header.InvoiceId,
        [
            ReadModelRow.Of(ListingKey(header.ReceivedAt, header.InvoiceId), item,
                ("Status", InvoiceStatuses.Kebab(item.Status)), ("OpenDueAt", item.NextDeadline is { } due ? ReadModelStore.TimeKey(due) : NothingDue)),
        ]);

        yield return TimelinessEntry(Month(calendar.DateOf(header.ReceivedAt)), header.ProviderId, header.InvoiceId, Counts(state));

        // Units paid per authorization (hundredths of a unit), for the running total the line checks compare against.
        foreach (var authorization in state.Lines
                     .Where(l => l.Status == LineStatus.Paid && l.AuthorizationId is not null && BilledServices.UnitLimit(l.Hcpcs, l.Modifiers) is not null)
                     .GroupBy(l => l.AuthorizationId!, StringComparer.Ordinal))
        {
            var units = authorization.GroupBy(l => UnitsPaid(BilledServices.UnitLimit(l.Hcpcs, l.Modifiers)!.Value.Service), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(l => (long)(l.Units * 100)), StringComparer.Ordinal);
            yield return ReadModelEntry.Of(PaidLinesTable, UnitsPartition(authorization.Key), header.InvoiceId, counts: units);
        }

        foreach (var line in state.Lines.Where(l => l.Status == LineStatus.Paid && l.DuplicateKey is not null))
        {
            yield return ReadModelEntry.Of(PaidLinesTable, header.ProviderId, $"{header.InvoiceId}:{line.Number}",
                [ReadModelRow.Of(line.DuplicateKey!, new PaidLineData(header.InvoiceId, line.Number))],
                line.DuplicateKey!.Contains('|', StringComparison.Ordinal) ? null : new Dictionary<string, long> { [LegacyPaidLines] = 1 });
        }
    }

    private Dictionary<string, long> Counts(InvoiceState state)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            [Invoices] = 1,
            [Clean] = state.Clean ? 1 : 0,
            [Breaches] = state.Clocks.Count(c => c.BreachedAt is not null),
            [InterestCents] = (long)(state.InterestOwed * 100),
        };
        int? daysToPay = state.Status == InvoiceStatus.Paid ? state.Payments.Max(p => p.PaidOn).DayNumber - calendar.DateOf(state.Header!.ReceivedAt).DayNumber : null;
        foreach (var target in rules.CleanClaimTargets)
        {
            counts[CleanPaidWithin(target.CalendarDays)] = state.Clean && daysToPay <= target.CalendarDays ? 1 : 0;
        }

        foreach (var code in state.ContestCodes)
        {
            counts[ContestPrefix + code] = counts.GetValueOrDefault(ContestPrefix + code) + 1;
        }

        return counts;
    }

    /// <summary>
    /// An invoice's timeliness counts in its receipt month's partition, twice: as the month's counts and under its
    /// provider's counter row (<c>{provider}/{name}</c>), both in the month's partition of the counter table.
    /// </summary>
    public static ReadModelEntry TimelinessEntry(string month, string providerId, string invoiceId, IReadOnlyDictionary<string, long> counts)
    {
        var both = new Dictionary<string, long>(counts, StringComparer.Ordinal);
        foreach (var (name, count) in counts)
        {
            both[$"{providerId}/{name}"] = count;
        }

        return ReadModelEntry.Of(TimelinessTable, month, invoiceId, counts: both, counterTable: TimelinessCountersTable);
    }

    public static string Month(DateOnly date) => date.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public static string ListingKey(DateTimeOffset receivedAt, string invoiceId) => ReadModelStore.TimeKey(receivedAt) + "|" + invoiceId;
}

public sealed record PaidLineData(string InvoiceId, int Line);

/// <summary>The query side of <see cref="InvoiceReadModelsProjection"/>.</summary>
public sealed class InvoiceReadModels(ReadModelStore store)
{
    /// <summary>The paid line this duplicate key repeats, or null (one point read).</summary>
    public async Task<PaidLineData?> PaidLineAsync(string providerId, string duplicateKey, CancellationToken cancellationToken)
    {
        var found = await store.Table(InvoiceReadModelsProjection.PaidLinesTable)
            .GetEntityIfExistsAsync<TableEntity>(ReadModelStore.Key(providerId), ReadModelStore.Key(duplicateKey), select: ["Data"], cancellationToken: cancellationToken);
        return found.HasValue ? JsonSerializer.Deserialize<PaidLineData>(found.Value!.GetString("Data"), WorkflowJson.Options) : null;
    }

    /// <summary>The paid lines of member bucket <paramref name="bucket"/> at a provider, by duplicate key (one row-range query).</summary>
    public async Task<IReadOnlyDictionary<string, PaidLineData>> PaidLinesAsync(string providerId, string bucket, CancellationToken cancellationToken)
    {
        var lines = new Dictionary<string, PaidLineData>(StringComparer.Ordinal);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ReadModelStore.Key(providerId)} and RowKey gt {bucket + "|"} and RowKey lt {bucket + "}"}");
        await foreach (var row in store.Table(InvoiceReadModelsProjection.PaidLinesTable).QueryAsync<TableEntity>(filter, select: ["RowKey", "Data"], cancellationToken: cancellationToken))
        {
            lines[row.RowKey] = JsonSerializer.Deserialize<PaidLineData>(row.GetString("Data"), WorkflowJson.Options)!;
        }

        return lines;
    }

    /// <summary>How many of a provider's paid lines are stored under a key without a member bucket (one counter point read).</summary>
    public async Task<long> LegacyPaidLinesAsync(string providerId, CancellationToken cancellationToken) =>
        (await store.CountsAsync(InvoiceReadModelsProjection.PaidLinesTable, providerId, cancellationToken)).GetValueOrDefault(InvoiceReadModelsProjection.LegacyPaidLines);

    /// <summary>Units already paid on lines of <paramref name="authorizationId"/> for <paramref name="service"/> (one counter point read).</summary>
    public async Task<decimal> UnitsPaidAsync(string authorizationId, string service, CancellationToken cancellationToken) =>
        (await store.CountsAsync(InvoiceReadModelsProjection.PaidLinesTable, InvoiceReadModelsProjection.UnitsPartition(authorizationId), cancellationToken))
            .GetValueOrDefault(InvoiceReadModelsProjection.UnitsPaid(service)) / 100m;

    /// <summary>One page of a provider's invoices in receipt order (one query, at most <paramref name="top"/> rows).</summary>
    public async Task<(IReadOnlyList<InvoiceListItem> Items, string? Continuation)> PageAsync(
        string providerId, InvoiceStatus? status, DateTimeOffset? receivedFrom, DateTimeOffset? receivedTo, bool? overdue, DateTimeOffset now,
        int top, string? continuation, CancellationToken cancellationToken)
    {
        var filters = new List<string>();
        if (status is { } s)
        {
            filters.Add(TableClient.CreateQueryFilter($"Status eq {InvoiceStatuses.Kebab(s)}"));
        }

        if (overdue is { } late)
        {
            var key = ReadModelStore.TimeKey(now);
            filters.Add(late ? TableClient.CreateQueryFilter($"OpenDueAt lt {key}") : TableClient.CreateQueryFilter($"OpenDueAt ge {key}"));
        }

        // Item rows only: the version and counter rows of the partition sort after '~'.
        var (items, next) = await store.PageAsync(InvoiceReadModelsProjection.ListingTable, providerId,
            receivedFrom is { } from ? ReadModelStore.TimeKey(from) : "0", receivedTo is { } to ? ReadModelStore.TimeKey(to) : "~",
            filters.Count == 0 ? null : string.Join(" and ", filters), top, continuation, cancellationToken);
        return ([.. items.Select(i => i.Deserialize<InvoiceListItem>(WorkflowJson.Options)!)], next);
    }

    /// <summary>The counters of a receipt month, for all providers or one (one point read).</summary>
    public Task<IReadOnlyDictionary<string, long>> MonthAsync(string month, string? providerId, CancellationToken cancellationToken) =>
        store.CountsAsync(InvoiceReadModelsProjection.TimelinessCountersTable, month, cancellationToken, providerId);

    /// <summary>The counters of every provider with invoices received in <paramref name="month"/> (one row range of the month's partition of the counter table: one counter row per provider).</summary>
    public async Task<IReadOnlyList<(string Provider, IReadOnlyDictionary<string, long> Counts)>> ProvidersAsync(string month, CancellationToken cancellationToken) =>
        [.. await store.NamedCounterRowsAsync(InvoiceReadModelsProjection.TimelinessCountersTable, month, cancellationToken)];
}
