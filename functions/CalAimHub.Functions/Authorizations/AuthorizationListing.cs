using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.CodeSets;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// What <c>GET /api/authorizations</c> lists about one authorization: ids, statuses, services and the next deadline; no
/// member data (the CIN stays in the workflow state and <c>MemberAuthorizations</c>).
/// </summary>
public sealed record AuthorizationListItem(
    string AuthorizationId,
    AuthorizationStatus Status,
    IReadOnlyList<string> Services,
    ReviewStatus? Reauthorization,
    bool Escalated,
    string? PresumptiveBasis,
    DateTimeOffset? NextDeadline,
    DateTimeOffset? AuthorizedThrough,
    DateTimeOffset ReceivedAt,
    DateTimeOffset AsOf)
{
    public static AuthorizationListItem Of(AuthorizationState state, DateTimeOffset asOf) => new(
        state.Request!.AuthorizationId, state.Status, state.Request.Service.ServiceKeys, state.Reauthorization, state.Escalated, state.PresumptiveBasis,
        AuthorizationWorkflow.NextDeadline(state), state.Status == AuthorizationStatus.Authorized ? state.Period?.EndsAt : null, state.Request.ReceivedAt, asOf);

    /// <summary>Equal for listing purposes (the time of the change aside).</summary>
    public bool SameListing(AuthorizationListItem other) => this with { AsOf = default, Services = [] } == other with { AsOf = default, Services = [] };
}

/// <summary>
/// The authorization decider with its listing projection: whenever a commit changes what <c>GET /api/authorizations</c>
/// shows (status, deadline, reauthorization, escalation), one more outbox item carries the new listing row to
/// <see cref="AuthorizationListingIndex"/>. It rides the outbox with a deterministic id (the event's), so the row is
/// written after every such commit, at least once, whatever crashes (the outbox sweeper finishes it), and the decider
/// itself stays as it is.
/// </summary>
public sealed class ListedAuthorizationWorkflow(AuthorizationWorkflow inner) : IWorkflowDecider<AuthorizationState>
{
    /// <summary>The internal "subscriber" of listing rows: never a partner, never queued for Notify.</summary>
    public const string ListingSubscriber = "$authorization-listing";
    public const string ListingType = "calaimhub.authorization.listed";

    public string Type => inner.Type;

    public int Version => inner.Version;

    public AuthorizationState InitialState => inner.InitialState;

    public IReadOnlySet<string> EventNames => inner.EventNames;

    public WorkflowStart StartedBy => inner.StartedBy;

    public AuthorizationState Evolve(AuthorizationState state, WorkflowEvent @event) => inner.Evolve(state, @event);

    public IReadOnlyList<WorkflowAction> Decide(AuthorizationState state, WorkflowEvent @event, DateTimeOffset now)
    {
        var actions = inner.Decide(state, @event, now);
        if (actions.Count == 0)
        {
            return actions;
        }

        var next = inner.Evolve(state, @event);
        if (next.Request is null)
        {
            return actions;
        }

        var after = AuthorizationListItem.Of(next, @event.RecordedAt);
        if (state.Request is not null && AuthorizationListItem.Of(state, @event.RecordedAt).SameListing(after))
        {
            return actions;
        }

        return [.. actions, new SendNotification($"listed:{@event.EventId}", ListingType, ListingSubscriber, null, after.AuthorizationId, WorkflowJson.ToElement(after))];
    }

    public AuthorizationState Migrate(int storedVersion, JsonElement storedState) => ((IWorkflowDecider<AuthorizationState>)inner).Migrate(storedVersion, storedState);
}

/// <summary>Hands listing rows to the index and every other notice to the partner notifier.</summary>
public sealed class ListingAwareNotifier(IWorkflowNotifier partners, AuthorizationListingIndex listing) : IWorkflowNotifier
{
    public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken) =>
        notice.Subscriber == ListedAuthorizationWorkflow.ListingSubscriber
            ? notice.Data?.Deserialize<AuthorizationListItem>(WorkflowJson.Options) is { } item ? listing.WriteAsync(item, cancellationToken) : Task.CompletedTask
            : partners.SendAsync(deliveryId, notice, time, cancellationToken);
}

/// <summary>
/// Table <c>AuthorizationListing</c>, keyed for the list query: one partition; a row per authorization whose row key
/// sorts by next deadline (<c>due|{yyyyMMddTHHmmssZ}|{id}</c>, <c>due|none|{id}</c> when nothing is due), so
/// <c>dueBefore</c> is a row-key range, and <c>status</c> / <c>service</c> are filters on the row's own properties; plus a
/// pointer row <c>id|{id}</c> naming the current listing row. A change moves the row in one entity-group transaction
/// (pointer, old row out, new row in), and a row older than the stored one is ignored (outbox deliveries can arrive late).
/// </summary>
public sealed class AuthorizationListingIndex(StorageAccount storage)
{
    public const string TableName = "AuthorizationListing";
    private const string Partition = "authorizations";
    private const string DuePrefix = "due|";
    private const string NoDeadline = "none";
    private const int MaxAttempts = 5;

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public async Task WriteAsync(AuthorizationListItem item, CancellationToken cancellationToken)
    {
        var rowKey = RowKey(item.NextDeadline, item.AuthorizationId);
        for (var attempt = 1; ; attempt++)
        {
            var found = await Table.GetEntityIfExistsAsync<TableEntity>(Partition, "id|" + item.AuthorizationId, cancellationToken: cancellationToken);
            var pointer = found.HasValue ? found.Value : null;
            if (pointer?.GetDateTimeOffset("AsOf") is { } stored && stored > item.AsOf)
            {
                return;
            }

            var actions = new List<TableTransactionAction>
            {
                pointer is null
                    ? new(TableTransactionActionType.Add, new TableEntity(Partition, "id|" + item.AuthorizationId) { ["Current"] = rowKey, ["AsOf"] = item.AsOf })
                    : new(TableTransactionActionType.UpdateReplace, new TableEntity(Partition, "id|" + item.AuthorizationId) { ["Current"] = rowKey, ["AsOf"] = item.AsOf }, pointer.ETag),
            };
            if (pointer?.GetString("Current") is { } old && old != rowKey)
            {
                actions.Add(new(TableTransactionActionType.Delete, new TableEntity(Partition, old), ETag.All));
            }

            actions.Add(new(TableTransactionActionType.UpsertReplace, Row(item, rowKey)));
            try
            {
                await Table.SubmitTransactionAsync(actions, cancellationToken);
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412 && attempt < MaxAttempts)
            {
                // Another write for this authorization got there first: read the pointer again.
            }
        }
    }

    /// <summary>One page (one query, at most <paramref name="top"/> rows) in deadline order, with the next page's token.</summary>
    public async Task<(IReadOnlyList<AuthorizationListItem> Items, string? Continuation)> PageAsync(
        AuthorizationStatus? status, string? service, DateTimeOffset? dueBefore, int top, string? continuation, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {DuePrefix} and RowKey lt {(dueBefore is { } due ? DuePrefix + DueKey(due) : "due}")}");
        if (status is { } s)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Status eq {Kebab(s)}");
        }

        if (service is not null)
        {
            filter += $" and {ServiceProperty(service)} eq true";
        }

        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: top, cancellationToken: cancellationToken).AsPages(continuation, top))
        {
            return ([.. page.Values.Select(r => JsonSerializer.Deserialize<AuthorizationListItem>(r.GetString("Item"), WorkflowJson.Options)!)], page.ContinuationToken);
        }

        return ([], null);
    }

    private static TableEntity Row(AuthorizationListItem item, string rowKey)
    {
        var row = new TableEntity(Partition, rowKey)
        {
            ["Item"] = JsonSerializer.Serialize(item, WorkflowJson.Options),
            ["Status"] = Kebab(item.Status),
            ["NextDeadline"] = item.NextDeadline,
            ["AsOf"] = item.AsOf,
        };
        foreach (var service in item.Services)
        {
            row[ServiceProperty(service)] = true;
        }

        return row;
    }

    /// <summary>A boolean property per service (<c>svc_medically_tailored_meals</c>): a filter can test one of a housing trio's three.</summary>
    private static string ServiceProperty(string service) => "svc_" + service.Replace('-', '_');

    private static string RowKey(DateTimeOffset? due, string authorizationId) => DuePrefix + (due is { } d ? DueKey(d) : NoDeadline) + "|" + authorizationId;

    private static string DueKey(DateTimeOffset due) => due.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    internal static string Kebab(AuthorizationStatus status) => JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());
}

/// <summary>
/// <c>GET /api/authorizations?status=&amp;service=&amp;dueBefore=&amp;top=&amp;continuation=</c>: one page of the listing index per
/// call (bounded work: one table query of at most <c>top</c> rows), in next-deadline order.
/// </summary>
public static class AuthorizationListApi
{
    public const int DefaultTop = 50;
    public const int MaxTop = 200;

    public static async Task<IResult> ListAsync(
        string? status, string? service, string? dueBefore, string? top, string? continuation, AuthorizationListingIndex listing, CancellationToken ct)
    {
        var errors = new List<FieldError>();
        AuthorizationStatus? wantedStatus = null;
        if (status is not null)
        {
            var listed = Enum.GetValues<AuthorizationStatus>().Where(s => s != AuthorizationStatus.New).ToList();
            wantedStatus = listed.Cast<AuthorizationStatus?>().FirstOrDefault(s => AuthorizationListingIndex.Kebab(s!.Value) == status);
            if (wantedStatus is null)
            {
                errors.Add(new("status", $"'{status}' is not an authorization status; use one of {string.Join(", ", listed.Select(s => $"'{AuthorizationListingIndex.Kebab(s)}'"))}"));
            }
        }

        if (service is not null && service != RequestedService.EcmKey && CommunitySupports.Current.Find(service) is null)
        {
            errors.Add(new("service", $"'{service}' is not a service; use '{RequestedService.EcmKey}' or a Community Supports service ({string.Join(", ", CommunitySupports.Current.Ids)})"));
        }

        DateTimeOffset? due = null;
        if (dueBefore is not null)
        {
            if (DateTimeOffset.TryParseExact(dueBefore, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
                && (dueBefore.EndsWith('Z') || dueBefore.Length > 19 && dueBefore[^6] is '+' or '-'))
            {
                due = parsed;
            }
            else
            {
                errors.Add(new("dueBefore", $"'{dueBefore}' is not an ISO 8601 date and time with an offset, e.g. 2026-07-10T17:00:00-07:00 or 2026-07-11T00:00:00Z"));
            }
        }

        var size = DefaultTop;
        if (top is not null && !(int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size is >= 1 and <= MaxTop))
        {
            errors.Add(new("top", $"'{top}' is not a page size; use a whole number from 1 to {MaxTop} (default {DefaultTop})"));
        }

        if (errors.Count > 0)
        {
            return Extensions.FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid authorization query");
        }

        try
        {
            var (items, next) = await listing.PageAsync(wantedStatus, service, due, size, continuation, ct);
            return Results.Json(new AuthorizationList(items, next), WorkflowJson.Options);
        }
        catch (RequestFailedException e) when (continuation is not null && e.Status == 400)
        {
            return Extensions.FieldProblems.Invalid([new FieldError("continuation", "is not a token this listing gave; start again without it")], e => e.Field, e => e.Message, "Invalid authorization query");
        }
    }
}

/// <param name="Continuation">Pass as <c>continuation</c> (with the same filters) for the next page; null on the last page.</param>
public sealed record AuthorizationList(
    IReadOnlyList<AuthorizationListItem> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation);
