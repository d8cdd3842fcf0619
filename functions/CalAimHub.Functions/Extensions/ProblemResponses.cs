using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace CalAimHub.Functions.Extensions;

/// <summary>
/// One problem+json shape for every refusal (RFC 9457): a query or route value that does not bind (<c>?top=abc</c>,
/// <c>?showHistory=maybe</c>) is a 400 naming the parameter and what it must be — never a 500 (ASP.NET Core throws
/// on a bad bind in Development, which is how the local host runs the handler) — and every 4xx carries a
/// <c>detail</c> stating the cause, including the bare ones the framework writes (405, 415, an unknown route).
/// </summary>
public static partial class ProblemResponses
{
    public const string UnboundParameterType = "https://calaimhub/problems/invalid-parameter";

    public static void AddProblemResponses(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Complete);
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Throw on every environment, so the handler above answers: without it a bad bind is a body-less 400 outside
        // Development and a 500 inside it.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
    }

    /// <summary>Most field errors a validation problem lists; the rest are counted in <c>moreErrors</c>.</summary>
    public const int MaxListedErrors = 100;

    private const string SeeErrors = "; see errors)";
    private static readonly string Capped = $"; errors lists the first {MaxListedErrors}, moreErrors counts the rest)";

    /// <summary>
    /// Every problem leaves with a detail stating its cause: a validation problem's detail starts with its first field
    /// error, its list is capped at <see cref="MaxListedErrors"/> (a 10,000-line bad body must not echo 10,000 lines).
    /// </summary>
    internal static void Complete(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem is Microsoft.AspNetCore.Http.HttpValidationProblemDetails { Errors.Count: > 0 } validation)
        {
            var listed = 0;
            var total = validation.Errors.Sum(e => e.Value.Length);
            foreach (var key in validation.Errors.Keys.ToList())
            {
                var room = MaxListedErrors - listed;
                if (room <= 0)
                {
                    validation.Errors.Remove(key);
                    continue;
                }

                if (validation.Errors[key].Length > room)
                {
                    validation.Errors[key] = validation.Errors[key][..room];
                }

                listed += validation.Errors[key].Length;
            }

            if (total > listed)
            {
                problem.Extensions["moreErrors"] = total - listed;
                problem.Detail = problem.Detail?.Replace(SeeErrors, Capped, StringComparison.Ordinal);
            }

            var (field, messages) = validation.Errors.First();
            var first = messages.Length > 0 ? messages[0] : "is invalid";
            if (problem.Detail is null || !problem.Detail.Contains(first, StringComparison.Ordinal))
            {
                var cause = (first.StartsWith(field, StringComparison.Ordinal) || first.StartsWith('\'') ? first : $"'{field}' {first}")
                    + (total > 1 ? $" (and {total - 1} more{(total > listed ? Capped : SeeErrors)}" : "");
                problem.Detail = problem.Detail is null ? cause : $"{cause}. {problem.Detail}";
            }
        }

        problem.Detail ??= DefaultDetail(context.HttpContext, problem.Status);
    }

    /// <summary>The detail of a refusal the framework made on its own.</summary>
    internal static string DefaultDetail(HttpContext context, int? status)
    {
        var request = context.Request;
        return status switch
        {
            StatusCodes.Status404NotFound => $"{request.Method} {request.Path} is not an API of this hub; see /api/docs",
            StatusCodes.Status405MethodNotAllowed => $"{request.Method} is not allowed on {request.Path}; see /api/docs for the methods it takes",
            StatusCodes.Status415UnsupportedMediaType => $"{request.ContentType ?? "a body without Content-Type"} is not accepted on {request.Path}; send application/json",
            StatusCodes.Status413PayloadTooLarge => $"the body is larger than {request.Path} accepts",
            StatusCodes.Status401Unauthorized => "this API needs credentials (a function key or a signed request)",
            StatusCodes.Status403Forbidden => "the caller may not use this API",
            StatusCodes.Status429TooManyRequests => "too many requests in progress; retry after the Retry-After interval",
            >= 400 and < 500 => $"the request to {request.Path} was refused ({ReasonPhrase(status.Value)})",
            _ => "the hub failed to answer; the error is logged with its trace id",
        };
    }

    /// <summary>What a bound parameter type must look like, in words a caller can act on.</summary>
    internal static string Expectation(string type) => Unwrap(type) switch
    {
        "int" or "Int32" => "a whole number from -2147483648 to 2147483647",
        "long" or "Int64" => "a whole number",
        "bool" or "Boolean" => "true or false",
        "DateTimeOffset" or "DateTime" => "an ISO 8601 date-time such as 2026-01-31T00:00:00Z",
        "DateOnly" => "a date such as 2026-01-31",
        "decimal" or "double" or "Decimal" or "Double" => "a number",
        "Guid" => "a GUID",
        var other => $"a valid {other}",
    };

    private static string Unwrap(string type) =>
        type.EndsWith('?') ? type[..^1] : NullableType().Match(type) is { Success: true } m ? m.Groups[1].Value : type;

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase
        ? phrase
        : status.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^Nullable<(.+)>$")]
    private static partial Regex NullableType();

    [GeneratedRegex("""parameter "(?<type>[^"]+?) (?<name>[A-Za-z_][A-Za-z0-9_]*)"(?<rest>.*)$""", RegexOptions.Singleline)]
    internal static partial Regex BindMessage();

    /// <summary>Turns ASP.NET Core's <see cref="BadHttpRequestException"/> into a 4xx naming the parameter, never echoing its value.</summary>
    internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not BadHttpRequestException bad)
            {
                return false;
            }

            var (title, detail, parameter) = Describe(bad);
            httpContext.Response.StatusCode = bad.StatusCode;
            var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = bad.StatusCode,
                Title = title,
                Detail = detail,
                Type = bad.StatusCode == StatusCodes.Status400BadRequest ? UnboundParameterType : null,
            };
            if (parameter is not null)
            {
                problem.Extensions["parameter"] = parameter;
            }

            return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
        }

        internal static (string Title, string Detail, string? Parameter) Describe(BadHttpRequestException bad)
        {
            if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return ("Body too large", "the body is larger than this route accepts", null);
            }

            if (BindMessage().Match(bad.Message) is { Success: true } m)
            {
                var name = m.Groups["name"].Value;
                var rest = m.Groups["rest"].Value;
                if (rest.StartsWith(" from \"", StringComparison.Ordinal))
                {
                    return ("Invalid request parameter", $"'{name}' must be {Expectation(m.Groups["type"].Value)}", name);
                }

                if (rest.Contains("was not provided", StringComparison.Ordinal))
                {
                    return ("Missing request parameter", $"'{name}' is required", name);
                }

                return ("Invalid request body", "the body could not be read as the JSON this route takes; see /api/docs", name);
            }

            if (bad.Message.StartsWith("Expected a supported JSON media type", StringComparison.Ordinal))
            {
                return ("JSON expected", "send the body as application/json", null);
            }

            return ("Bad request", "the request could not be read (it ended early or its framing is broken)", null);
        }
    }
}
