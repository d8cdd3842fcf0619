using Microsoft.AspNetCore.Builder;

namespace CalAimHub.Hosting.Http;

/// <summary>
/// The body a route takes, for the document and for the strict input edge. Not ASP.NET Core's <c>Accepts</c>: that
/// metadata also makes routing refuse a request whose Content-Type is not listed, so a wrong type would fall through
/// to the 404 fallback instead of the handler's own 415, and a body-less POST would not match at all.
/// </summary>
public sealed record RequestBodyContract(Type Type, IReadOnlyList<string> ContentTypes)
{
    public bool IsJson => ContentTypes.Any(t => t.Contains("json", StringComparison.OrdinalIgnoreCase));
}

public static class RequestBodyContractExtensions
{
    /// <summary>Declares the body of a route (default <c>application/json</c>).</summary>
    public static RouteHandlerBuilder AcceptsBody<T>(this RouteHandlerBuilder route, params string[] contentTypes) =>
        route.WithMetadata(new RequestBodyContract(typeof(T), contentTypes.Length == 0 ? ["application/json"] : contentTypes));
}

