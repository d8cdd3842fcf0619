using System.Collections.Concurrent;
using System.Collections.Frozen;
using CalAimHub.Hosting.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace CalAimHub.Functions.Extensions;

/// <summary>
/// The query parameters each staff route takes: what minimal APIs bind from the query (as the OpenAPI document lists
/// them) and what the route declares it reads by hand (<see cref="QueryParameterContract"/>). The strict input edge
/// refuses any other, so a misspelt filter (<c>continuation=</c> for <c>continuationToken=</c>, <c>stauts=</c>) is a 400
/// naming it instead of a silently unfiltered answer.
/// </summary>
public sealed partial class RouteQueryParameters(IApiDescriptionGroupCollectionProvider descriptions)
{
    /// <summary>
    /// Taken by every route: the Functions host's key parameter, which a caller may send to a key-protected function
    /// and the host passes through to the handler.
    /// </summary>
    public static readonly IReadOnlyList<string> EveryRoute = ["code"];

    private readonly ConcurrentDictionary<Endpoint, FrozenSet<string>?> known = new();

    /// <summary>
    /// Only staff routes (every route not marked anonymous: the fallback policy asks for a staff role) are held to their
    /// parameters; webhooks and probes answer partners' and platforms' own URLs, which may carry their own.
    /// </summary>
    public static bool Applies(Endpoint endpoint) => endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null;

    /// <summary>The names (case-insensitive, as binding is) the route takes, or null when the route is not described.</summary>
    public FrozenSet<string>? Of(Endpoint endpoint) => known.GetOrAdd(endpoint, Describe);

    private FrozenSet<string>? Describe(Endpoint endpoint)
    {
        // A description is found by method and route, as the document shows it (constraints and parameter names aside).
        if (endpoint is not RouteEndpoint { RoutePattern.RawText: { } pattern } || endpoint.Metadata.GetMetadata<HttpMethodMetadata>() is not { } methods)
        {
            return null;
        }

        var route = Route(pattern);
        var described = descriptions.ApiDescriptionGroups.Items.SelectMany(g => g.Items)
            .Where(d => d.HttpMethod is { } method && methods.HttpMethods.Contains(method, StringComparer.OrdinalIgnoreCase) && d.RelativePath is { } path && Route(path) == route)
            .ToList();
        if (described.Count == 0)
        {
            return null;
        }

        return described.SelectMany(d => d.ParameterDescriptions).Where(p => p.Source == BindingSource.Query).Select(p => p.Name)
            .Concat(endpoint.Metadata.GetOrderedMetadata<QueryParameterContract>().SelectMany(c => c.Parameters).Select(p => p.Name))
            .Concat(EveryRoute)
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    private static string Route(string pattern) => RouteParameter().Replace(pattern.Trim('/'), "{}").ToLowerInvariant();

    [System.Text.RegularExpressions.GeneratedRegex(@"\{[^}]*\}")]
    private static partial System.Text.RegularExpressions.Regex RouteParameter();
}
