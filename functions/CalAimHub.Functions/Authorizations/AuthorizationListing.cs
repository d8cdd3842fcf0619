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
/// <param name="PopulationsOfFocus">ECM populations of focus requested (empty for Community Supports).</param>
/// <param name="Breached">Whether any clock of the authorization was ever breached (lateness stays recorded once satisfied).</param>
/// <param name="AsOf">The last time the authorization changed (the latest time its state records).</param>
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
    DateTimeOffset AsOf,
    IReadOnlyList<string>? PopulationsOfFocus = null,
    bool Breached = false)
{
    public static AuthorizationListItem Of(AuthorizationState state) => new(
        state.Request!.AuthorizationId, state.Status, state.Request.Service.ServiceKeys, state.Reauthorization, state.Escalated, state.PresumptiveBasis,
        AuthorizationWorkflow.NextDeadline(state), state.Status == AuthorizationStatus.Authorized ? state.Period?.EndsAt : null, state.Request.ReceivedAt, LastChange(state),
        state.Request.Service.PopulationsOfFocus, state.Clocks.Any(c => c.BreachedAt is not null));

    /// <summary>The latest time the state records: deterministic, so a rebuild writes the same row.</summary>
    private static DateTimeOffset LastChange(AuthorizationState state) =>
        state.Clocks.SelectMany(c => new[] { c.StartedAt, c.SatisfiedAt ?? default, c.BreachedAt ?? default })
            .Concat(state.Decisions.Select(d => d.DecidedAt))
            .Append(state.Request!.ReceivedAt)
            .Max();
}

/// <summary>
/// The listing read model (<see cref="WorkflowProjection"/>): table <c>AuthorizationListing</c>, one partition, one row
/// per authorization keyed for the list query (<c>due|{yyyyMMddTHHmmssZ}|{id}</c>, <c>due|none|{id}</c> when nothing is
/// due), so <c>dueBefore</c> is a row-key range and status, service, population of focus and breached are filters on the
/// row's own columns. The runtime moves the row (and its version row) in one transaction after every commit that
/// changes it.
/// </summary>
public sealed class AuthorizationListingProjection : IWorkflowProjection<AuthorizationState>
{
    public string Name => "authorization-listing";

    public IReadOnlyList<string> Tables { get; } = [AuthorizationListingIndex.TableName];

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<AuthorizationState> instance)
    {
        if (instance.State.Request is null)
        {
            yield break;
        }

        var item = AuthorizationListItem.Of(instance.State);
        var properties = new List<(string, object)> { ("Status", AuthorizationListingIndex.Kebab(item.Status)), ("Breached", item.Breached) };
        properties.AddRange(item.Services.Select(s => (AuthorizationListingIndex.ServiceProperty(s), (object)true)));
        properties.AddRange((item.PopulationsOfFocus ?? []).Select(p => (AuthorizationListingIndex.PopulationProperty(p), (object)true)));
        yield return ReadModelEntry.Of(
            AuthorizationListingIndex.TableName, AuthorizationListingIndex.Partition, item.AuthorizationId,
            [ReadModelRow.Of(AuthorizationListingIndex.RowKey(item.NextDeadline, item.AuthorizationId), item, [.. properties])]);
    }
}

/// <summary>The query side of <see cref="AuthorizationListingProjection"/>.</summary>
public sealed class AuthorizationListingIndex(ReadModelStore readModels)
{
    public const string TableName = "AuthorizationListing";
    public const string Partition = "authorizations";
    private const string DuePrefix = "due|";
    private const string NoDeadline = "none";

    /// <summary>One page (one query, at most <paramref name="top"/> rows) in deadline order, with the next page's token.</summary>
    public async Task<(IReadOnlyList<AuthorizationListItem> Items, string? Continuation)> PageAsync(
        AuthorizationStatus? status, string? service, string? populationOfFocus, bool? breached, DateTimeOffset? dueBefore, int top, string? continuation, CancellationToken cancellationToken)
    {
        var filters = new List<string>();
        if (status is { } s)
        {
            filters.Add(TableClient.CreateQueryFilter($"Status eq {Kebab(s)}"));
        }

        if (service is not null)
        {
            filters.Add($"{ServiceProperty(service)} eq true");
        }

        if (populationOfFocus is not null)
        {
            filters.Add($"{PopulationProperty(populationOfFocus)} eq true");
        }

        if (breached is { } b)
        {
            filters.Add(TableClient.CreateQueryFilter($"Breached eq {b}"));
        }

        var (items, next) = await readModels.PageAsync(
            TableName, Partition, DuePrefix, dueBefore is { } due ? DuePrefix + ReadModelStore.TimeKey(due) : "due}", filters.Count == 0 ? null : string.Join(" and ", filters), top, continuation, cancellationToken);
        return ([.. items.Select(i => i.Deserialize<AuthorizationListItem>(WorkflowJson.Options)!)], next);
    }

    /// <summary>A boolean property per service (<c>svc_medically_tailored_meals</c>): a filter can test one of a housing trio's three.</summary>
    internal static string ServiceProperty(string service) => "svc_" + service.Replace('-', '_');

    /// <summary>A boolean property per ECM population of focus (<c>pof_justice_involved</c>).</summary>
    internal static string PopulationProperty(string population) => "pof_" + population.Replace('-', '_');

    internal static string RowKey(DateTimeOffset? due, string authorizationId) => DuePrefix + (due is { } d ? ReadModelStore.TimeKey(d) : NoDeadline) + "|" + authorizationId;

    internal static string Kebab(AuthorizationStatus status) => JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());
}

/// <summary>
/// <c>GET /api/authorizations?status=&amp;service=&amp;pof=&amp;dueBefore=&amp;breached=&amp;top=&amp;continuation=</c>: one page of the listing index per
/// call (bounded work: one table query of at most <c>top</c> rows), in next-deadline order.
/// </summary>
public static class AuthorizationListApi
{
    public const int DefaultTop = 50;
    public const int MaxTop = 200;

    public static async Task<IResult> ListAsync(
        string? status, string? service, string? pof, string? dueBefore, string? breached, string? top, string? continuation, AuthorizationListingIndex listing, ListContinuation tokens,
        CancellationToken ct)
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

        if (pof is not null && PopulationsOfFocus.Current.Find(pof) is null)
        {
            errors.Add(new("pof", $"'{pof}' is not an ECM population of focus; use one of {string.Join(", ", PopulationsOfFocus.Current.Ids)}"));
        }

        bool? wantBreached = breached switch
        {
            null => null,
            "true" => true,
            "false" => false,
            _ => null,
        };
        if (breached is not null && wantBreached is null)
        {
            errors.Add(new("breached", $"'{breached}' is not 'true' or 'false'"));
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

        // Signed and bound to the filters (ListContinuation): the position inside is the last row key given, which any
        // string would pass for, so a token the hub did not issue for this listing is a 400, never a shorter list.
        var tokenListing = $"authorizations\n{status}\n{service}\n{pof}\n{breached}\n{dueBefore}";
        string? position = null;
        if (continuation is not null && !tokens.TryRead(tokenListing, continuation, out position))
        {
            errors.Add(new("continuation", "is not a token this listing gave (with these filters); start again without it"));
        }

        if (errors.Count > 0)
        {
            return Extensions.FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid authorization query");
        }

        try
        {
            var (items, next) = await listing.PageAsync(wantedStatus, service, pof, wantBreached, due, size, position, ct);
            return Results.Json(new AuthorizationList(items, tokens.Issue(tokenListing, next)), WorkflowJson.Options);
        }
        catch (RequestFailedException e) when (position is not null && e.Status == 400)
        {
            return Extensions.FieldProblems.Invalid([new FieldError("continuation", "is not a token this listing gave; start again without it")], e => e.Field, e => e.Message, "Invalid authorization query");
        }
    }
}

/// <param name="Continuation">Pass as <c>continuation</c> (with the same filters) for the next page; null on the last page.</param>
public sealed record AuthorizationList(
    IReadOnlyList<AuthorizationListItem> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation);
