using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Invoices;

/// <summary>What the provider list shows about one invoice: ids, status, amounts, dates. No member data.</summary>
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
    public static InvoiceListItem Of(InvoiceState state, DateTimeOffset asOf) => new(
        state.Header!.InvoiceId, state.Header.InvoiceNumber, state.Header.ProviderId, state.Status, state.Header.ReceivedAt, state.Lines.Count,
        state.Lines.Count(l => l.Status == LineStatus.Contested), state.Billed, state.Paid, state.InterestOwed, InvoiceWorkflow.NextDeadline(state), state.Escalated, asOf);
}

/// <summary>One invoice's contribution to the timeliness figures of its receipt month (Pacific).</summary>
/// <param name="DaysToPay">Calendar days from the receipt date to the last payment date, once every line is paid.</param>
/// <param name="ContestCodes">Every contest reason code the invoice was given (one per line per contest).</param>
public sealed record InvoiceFigures(
    string InvoiceId,
    string ProviderId,
    string Month,
    bool Clean,
    int? DaysToPay,
    int Breaches,
    decimal InterestOwed,
    IReadOnlyList<string> ContestCodes,
    IReadOnlyList<PaidLineKey> PaidLines,
    DateTimeOffset AsOf)
{
    public static InvoiceFigures Of(InvoiceState state, CaliforniaWorkingDays calendar, DateTimeOffset asOf)
    {
        var header = state.Header!;
        var received = calendar.DateOf(header.ReceivedAt);
        int? days = state.Status == InvoiceStatus.Paid ? state.Payments.Max(p => p.PaidOn).DayNumber - received.DayNumber : null;
        return new(header.InvoiceId, header.ProviderId, received.ToString("yyyy-MM", CultureInfo.InvariantCulture), state.Clean, days,
            state.Clocks.Count(c => c.BreachedAt is not null), state.InterestOwed, state.ContestCodes,
            [.. state.Lines.Where(l => l.Status == LineStatus.Paid && l.DuplicateKey is not null).Select(l => new PaidLineKey(l.DuplicateKey!, l.Number))], asOf);
    }
}

public sealed record PaidLineKey(string DuplicateKey, int Line);

/// <summary>The rows the invoice read models get after a commit that changed them.</summary>
public sealed record InvoiceProjection(InvoiceListItem Listing, InvoiceFigures Figures);

/// <summary>
/// The invoice decider with its read-model projection: whenever a commit changes what the provider list or the
/// timeliness figures show, one more outbox item carries both rows to <see cref="InvoiceReadModels"/> (the
/// <c>AuthorizationListing</c> pattern: deterministic id, written at least once after the commit, the decider untouched).
/// </summary>
public sealed class ProjectedInvoiceWorkflow(InvoiceWorkflow inner) : IWorkflowDecider<InvoiceState>
{
    public const string ProjectionSubscriber = "$invoice-read-models";
    public const string ProjectionType = "calaimhub.invoice.projected";

    public string Type => inner.Type;
    public int Version => inner.Version;
    public InvoiceState InitialState => inner.InitialState;
    public IReadOnlySet<string> EventNames => inner.EventNames;
    public WorkflowStart StartedBy => inner.StartedBy;

    public InvoiceState Evolve(InvoiceState state, WorkflowEvent @event) => inner.Evolve(state, @event);

    public IReadOnlyList<WorkflowAction> Decide(InvoiceState state, WorkflowEvent @event, DateTimeOffset now)
    {
        var actions = inner.Decide(state, @event, now);
        if (actions.Count == 0)
        {
            return actions;
        }

        var next = inner.Evolve(state, @event);
        if (next.Header is null)
        {
            return actions;
        }

        var projection = new InvoiceProjection(InvoiceListItem.Of(next, @event.RecordedAt), InvoiceFigures.Of(next, inner.Policy.Calendar, @event.RecordedAt));
        return [.. actions, new SendNotification($"projected:{@event.EventId}", ProjectionType, ProjectionSubscriber, null, next.Header.InvoiceId, WorkflowJson.ToElement(projection))];
    }

    public InvoiceState Migrate(int storedVersion, JsonElement storedState) => ((IWorkflowDecider<InvoiceState>)inner).Migrate(storedVersion, storedState);
}

/// <summary>Hands invoice projections to the read models and every other notice on.</summary>
public sealed class InvoiceProjectionNotifier(IWorkflowNotifier next, InvoiceReadModels readModels) : IWorkflowNotifier
{
    public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken) =>
        notice.Subscriber == ProjectedInvoiceWorkflow.ProjectionSubscriber
            ? notice.Data?.Deserialize<InvoiceProjection>(WorkflowJson.Options) is { } projection ? readModels.WriteAsync(projection, cancellationToken) : Task.CompletedTask
            : next.SendAsync(deliveryId, notice, time, cancellationToken);
}

/// <summary>
/// The invoice read models, each keyed for its query so no read scans:
/// <list type="bullet">
/// <item><c>InvoiceListing</c>: partition = billing provider, row = <c>{received yyyyMMddTHHmmssZ}|{invoice id}</c> (the receipt
/// never changes, so a row never moves): the received range is a row-key range; status and overdue filter the row's properties.</item>
/// <item><c>InvoiceTimeliness</c>: partition = receipt month (Pacific, <c>yyyy-MM</c>), row = <c>{provider}|{invoice id}</c>: a month's
/// figures are one partition query, a provider's a row-key prefix inside it.</item>
/// <item><c>PaidInvoiceLines</c>: partition = billing provider, row = the line's duplicate key: "is this line a duplicate of a paid
/// one" is one point read.</item>
/// </list>
/// Outbox deliveries can arrive late or twice: a row older than the stored one is ignored.
/// </summary>
public sealed class InvoiceReadModels(StorageAccount storage)
{
    public const string ListingTable = "InvoiceListing";
    public const string TimelinessTable = "InvoiceTimeliness";
    public const string PaidLinesTable = "PaidInvoiceLines";
    private const int MaxAttempts = 5;

    /// <summary>Stands for "nothing due" so <c>overdue</c> is one comparison (Tables has no null ordering).</summary>
    private static readonly DateTimeOffset NothingDue = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    public async Task WriteAsync(InvoiceProjection projection, CancellationToken cancellationToken)
    {
        var item = projection.Listing;
        var listing = new TableEntity(item.ProviderId, ListingKey(item.ReceivedAt, item.InvoiceId))
        {
            ["Item"] = JsonSerializer.Serialize(item, WorkflowJson.Options),
            ["Status"] = InvoiceStatuses.Kebab(item.Status),
            ["OpenDueAt"] = item.NextDeadline ?? NothingDue,
            ["AsOf"] = item.AsOf,
        };
        var figures = projection.Figures;
        var timeliness = new TableEntity(figures.Month, figures.ProviderId + "|" + figures.InvoiceId)
        {
            ["Figures"] = JsonSerializer.Serialize(figures with { PaidLines = [] }, WorkflowJson.Options),
            ["AsOf"] = figures.AsOf,
        };
        await UpsertNewerAsync(ListingTable, listing, item.AsOf, cancellationToken);
        await UpsertNewerAsync(TimelinessTable, timeliness, figures.AsOf, cancellationToken);
        foreach (var paid in figures.PaidLines)
        {
            await storage.Tables.GetTableClient(PaidLinesTable).UpsertEntityAsync(
                new TableEntity(figures.ProviderId, paid.DuplicateKey) { ["InvoiceId"] = figures.InvoiceId, ["Line"] = paid.Line },
                TableUpdateMode.Replace, cancellationToken);
        }
    }

    /// <summary>The paid line this duplicate key repeats, or null.</summary>
    public async Task<(string InvoiceId, int Line)?> PaidLineAsync(string providerId, string duplicateKey, CancellationToken cancellationToken)
    {
        var found = await storage.Tables.GetTableClient(PaidLinesTable).GetEntityIfExistsAsync<TableEntity>(providerId, duplicateKey, cancellationToken: cancellationToken);
        return found.HasValue ? (found.Value!.GetString("InvoiceId"), found.Value.GetInt32("Line") ?? 0) : null;
    }

    /// <summary>One page of a provider's invoices (one query, at most <paramref name="top"/> rows), newest receipt first is not possible with ascending keys, so oldest first.</summary>
    public async Task<(IReadOnlyList<InvoiceListItem> Items, string? Continuation)> PageAsync(
        string providerId, InvoiceStatus? status, DateTimeOffset? receivedFrom, DateTimeOffset? receivedTo, bool? overdue, DateTimeOffset now,
        int top, string? continuation, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {providerId} and RowKey ge {(receivedFrom is { } from ? TimeKey(from) : "")} and RowKey lt {(receivedTo is { } to ? TimeKey(to) : "~")}");
        if (status is { } s)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Status eq {InvoiceStatuses.Kebab(s)}");
        }

        if (overdue is { } o)
        {
            filter += " and " + (o ? TableClient.CreateQueryFilter($"OpenDueAt lt {now}") : TableClient.CreateQueryFilter($"OpenDueAt ge {now}"));
        }

        await foreach (var page in storage.Tables.GetTableClient(ListingTable).QueryAsync<TableEntity>(filter, maxPerPage: top, cancellationToken: cancellationToken).AsPages(continuation, top))
        {
            return ([.. page.Values.Select(r => JsonSerializer.Deserialize<InvoiceListItem>(r.GetString("Item"), WorkflowJson.Options)!)], page.ContinuationToken);
        }

        return ([], null);
    }

    /// <summary>The invoice figures of one receipt month, all providers or one (one partition query, paged by the SDK).</summary>
    public async Task<IReadOnlyList<InvoiceFigures>> MonthAsync(string month, string? providerId, CancellationToken cancellationToken)
    {
        var filter = providerId is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {month}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {month} and RowKey ge {providerId + "|"} and RowKey lt {providerId + "}"}");
        var rows = new List<InvoiceFigures>();
        await foreach (var row in storage.Tables.GetTableClient(TimelinessTable).QueryAsync<TableEntity>(filter, select: ["Figures"], cancellationToken: cancellationToken))
        {
            rows.Add(JsonSerializer.Deserialize<InvoiceFigures>(row.GetString("Figures"), WorkflowJson.Options)!);
        }

        return rows;
    }

    private async Task UpsertNewerAsync(string tableName, TableEntity row, DateTimeOffset asOf, CancellationToken cancellationToken)
    {
        var table = storage.Tables.GetTableClient(tableName);
        for (var attempt = 1; ; attempt++)
        {
            var found = await table.GetEntityIfExistsAsync<TableEntity>(row.PartitionKey, row.RowKey, select: ["AsOf"], cancellationToken: cancellationToken);
            if (found.HasValue && found.Value!.GetDateTimeOffset("AsOf") is { } stored && stored > asOf)
            {
                return;
            }

            try
            {
                if (found.HasValue)
                {
                    await table.UpdateEntityAsync(row, found.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(row, cancellationToken);
                }

                return;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another delivery for this invoice wrote first: read again.
            }
        }
    }

    private static string ListingKey(DateTimeOffset receivedAt, string invoiceId) => TimeKey(receivedAt) + "|" + invoiceId;

    private static string TimeKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
}
