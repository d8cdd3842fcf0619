using System.Diagnostics;
using OpenTelemetry.Instrumentation.AspNetCore;

namespace CalAimHub.Functions.Extensions;

/// <summary>
/// Request traces carry the route template, never the raw path or query: a path can hold a member's CIN
/// (<c>/api/members/{cin}/authorizations</c>) and traces leave the app for Application Insights.
/// </summary>
public static class TraceRedaction
{
    public const string Unmatched = "(unmatched)";

    public static void Configure(AspNetCoreTraceInstrumentationOptions options)
    {
        options.EnrichWithHttpRequest = (activity, _) => Redact(activity, route: null);
        options.EnrichWithHttpResponse = (activity, response) => Redact(activity, RouteOf(response.HttpContext));
    }

    public static void Redact(Activity activity, string? route)
    {
        activity.SetTag("url.path", route ?? Unmatched);
        activity.SetTag("url.query", null);
        activity.SetTag("url.full", null);
    }

    public static string? RouteOf(HttpContext context) =>
        (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } template ? "/" + template.TrimStart('/') : null;
}
