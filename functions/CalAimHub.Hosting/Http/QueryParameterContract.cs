using Microsoft.AspNetCore.Builder;

namespace CalAimHub.Hosting.Http;

/// <summary>
/// Query parameters a route reads from the request itself instead of binding them as handler parameters (so it can
/// answer its own problem for each). Minimal APIs cannot see those: this puts them in the document and tells the
/// strict input edge that they are known, since it refuses every other query parameter on a staff route.
/// </summary>
public sealed record QueryParameterContract(IReadOnlyList<QueryParameter> Parameters);

/// <summary>One hand-read query parameter: its name, what it means (for the document), whether the route needs it.</summary>
public sealed record QueryParameter(string Name, string Description, bool Required = false);

public static class QueryParameterContractExtensions
{
    /// <summary>Declares the query parameters a route reads by hand.</summary>
    public static RouteHandlerBuilder TakesQuery(this RouteHandlerBuilder route, params QueryParameter[] parameters) =>
        route.WithMetadata(new QueryParameterContract(parameters));
}
