using CalAimHub.Hosting.Http;
using System.Globalization;
using CalAimHub.Hosting.Json;

namespace CalAimHub.Functions.Extensions;

/// <summary>
/// The edge of every <c>/api</c> route, before its handler: route values and query values with control characters
/// (a trailing <c>%0A</c> on an id once passed an id check and failed in storage), and JSON bodies that
/// <see cref="StrictJson"/> refuses, are answered 400 problem+json naming the parameter or JSON path; nothing reaches
/// the handler, so nothing is stored. A route takes JSON unless its <see cref="RequestBodyContract"/> lists only other
/// media types in its <see cref="RequestBodyContract"/> (the file dry run takes CSV/XLSX).
/// </summary>
public static class StrictInput
{
    /// <summary>Bodies past this are refused before they are read whole (the largest JSON route, the HSDS import, takes 8 MiB).</summary>
    public const int DefaultMaxJsonBytes = 8 * 1024 * 1024;

    public const string InvalidJsonType = "https://calaimhub/problems/invalid-json";
    public const string InvalidParameterType = "https://calaimhub/problems/invalid-parameter";

    public static IApplicationBuilder UseStrictInput(this WebApplication app)
    {
        var maxJsonBytes = app.Configuration.GetValue<int?>("Api:MaxJsonBytes") is { } configured and > 0 ? configured : DefaultMaxJsonBytes;
        var queryParameters = app.Services.GetRequiredService<RouteQueryParameters>();
        return app.Use(async (context, next) =>
        {
            if (context.GetEndpoint() is not { } endpoint || !context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
            {
                await next(context);
                return;
            }

            if ((ParameterProblem(context) ?? UnknownQueryParameter(context, endpoint, queryParameters)) is { } parameterProblem)
            {
                await parameterProblem.ExecuteAsync(context);
                return;
            }

            if (TakesJson(endpoint) && HasBody(context.Request))
            {
                // A body declared as something else is not parsed as JSON here: the answer is that it is the wrong kind.
                if (context.Request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
                {
                    var accepted = endpoint.Metadata.GetMetadata<RequestBodyContract>()?.ContentTypes ?? ["application/json"];
                    await TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON expected",
                        detail: $"send the body as {string.Join(" or ", accepted)}").ExecuteAsync(context);
                    return;
                }

                var body = await context.Request.ReadLimitedAsync(maxJsonBytes, context.RequestAborted);
                if (body is null)
                {
                    await TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large",
                        detail: $"JSON bodies are limited to {maxJsonBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes on this hub").ExecuteAsync(context);
                    return;
                }

                if (StrictJson.Check(body) is { } error)
                {
                    await TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid JSON body", detail: error.Message, type: InvalidJsonType,
                        extensions: new Dictionary<string, object?> { ["jsonPath"] = error.Path }).ExecuteAsync(context);
                    return;
                }

                // The handler gets the same bytes (a webhook signature covers them exactly): as the feature for
                // ReadLimitedAsync, without a second copy, and as the stream for handlers that parse the stream.
                context.Features.Set(new CheckedBody(body));
                context.Request.Body = new MemoryStream(body, writable: false);
                context.Request.ContentLength = body.Length;
            }

            await next(context);
        });
    }

    /// <summary>A route takes JSON unless it declares only non-JSON media types; GET/DELETE/HEAD bodies are ignored by every route.</summary>
    internal static bool TakesJson(Endpoint endpoint) => endpoint.Metadata.GetMetadata<RequestBodyContract>() is not { } body || body.IsJson;

    private static bool HasBody(HttpRequest request) =>
        !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsDelete(request.Method)
        && (request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0));

    private static IResult? ParameterProblem(HttpContext context)
    {
        foreach (var (name, value) in context.Request.RouteValues)
        {
            if (value is string text && HasControlCharacter(text))
            {
                return Invalid($"path segment '{name}'", $"the path segment '{name}' contains a control character (such as a line break or NUL); remove it from the URL");
            }
        }

        foreach (var (name, values) in context.Request.Query)
        {
            if (HasControlCharacter(name) || values.Any(v => v is not null && HasControlCharacter(v)))
            {
                var shown = HasControlCharacter(name) || name.Length > 64 ? "a query parameter" : $"query parameter '{name}'";
                return Invalid(shown, $"{shown} contains a control character (such as a line break or NUL); remove it from the URL");
            }
        }

        return null;
    }

    private static IResult? UnknownQueryParameter(HttpContext context, Endpoint endpoint, RouteQueryParameters parameters)
    {
        if (context.Request.Query.Count == 0 || !RouteQueryParameters.Applies(endpoint) || parameters.Of(endpoint) is not { } takes)
        {
            return null;
        }

        foreach (var name in context.Request.Query.Keys)
        {
            if (!takes.Contains(name))
            {
                var shown = name.Length > 64 ? "a query parameter" : $"query parameter '{name}'";
                var listed = takes.Except(RouteQueryParameters.EveryRoute, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
                return Invalid(shown, listed.Count == 0
                    ? $"{shown} is not one this route takes: it takes no query parameters; remove it"
                    : $"{shown} is not one this route takes: it takes {string.Join(", ", listed)}; check the spelling");
            }
        }

        return null;
    }

    private static IResult Invalid(string what, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid request parameter", detail: detail, type: InvalidParameterType,
            extensions: new Dictionary<string, object?> { ["parameter"] = what });

    private static bool HasControlCharacter(string text) => text.Any(char.IsControl);
}
