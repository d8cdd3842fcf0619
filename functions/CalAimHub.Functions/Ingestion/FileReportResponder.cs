using Azure;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Inbound;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// What a stored per-file report route serves: which kinds it has reports for, where the report of a file is, and how its
/// refusals read. The ingestion report (<see cref="FileReportApi"/>) and the RTF reconciliation report
/// (<see cref="Reconciliation.ReconciliationApi"/>) are two of these.
/// </summary>
/// <param name="Noun">What is served, for the problems' wording: "report", "reconciliation report".</param>
/// <param name="IsKind">True for a kind this route has reports for (lower case).</param>
/// <param name="KindRule">The sentence naming the valid kinds, e.g. "kind must be rtf: …".</param>
/// <param name="BadRequestTitle">The 400's title.</param>
/// <param name="BadRequestDetail">The 400's detail (after the first field's cause).</param>
/// <param name="Names">The results-container names of the JSON and CSV reports of partner, kind, file.</param>
/// <param name="NotFoundTitle">The 404's title.</param>
/// <param name="NotFoundDetail">The 404's detail, from partner and kind.</param>
public sealed record FileReportRoute(
    string Noun,
    Func<string, bool> IsKind,
    string KindRule,
    string BadRequestTitle,
    string BadRequestDetail,
    Func<string, string, string, (string Json, string Csv)> Names,
    string NotFoundTitle,
    Func<string, string, string> NotFoundDetail);

/// <summary>
/// The one responder for stored file reports under <c>results/</c>: validates partner, kind and file name (400 naming the
/// field, nothing read), picks JSON or CSV by <c>Accept</c> (JSON without one; 406 when neither is acceptable), and streams
/// the stored blob as it is (404 while there is none).
/// </summary>
public static class FileReportResponder
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue Csv = new("text/csv");

    public static async Task<Results<FileStreamHttpResult, ValidationProblem, ProblemHttpResult>> RespondAsync(
        FileReportRoute route, string partner, string kind, string file, HttpRequest request, StorageAccount storage, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (!InboundPath.IsId(partner))
        {
            errors["partner"] = ["partner must be a partner id: 1 to 64 letters, digits, '-' or '_'"];
        }

        if (!route.IsKind(kind.ToLowerInvariant()))
        {
            errors["kind"] = [route.KindRule];
        }

        if (!IsFileName(file))
        {
            errors["file"] = ["file must be a file name: no '/', '\\', '..' or control characters, at most 1024 characters"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: route.BadRequestTitle, detail: route.BadRequestDetail);
        }

        request.HttpContext.Response.Headers.Vary = HeaderNames.Accept;
        if (Negotiate(request.GetTypedHeaders().Accept) is not { } mediaType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status406NotAcceptable, title: "Not acceptable",
                detail: $"the {route.Noun} is served as application/json (the default) or text/csv; send Accept with one of them");
        }

        var (jsonName, csvName) = route.Names(partner, kind, file);
        var blob = storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer).GetBlobClient(mediaType == Json ? jsonName : csvName);
        try
        {
            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
            return TypedResults.Stream(download.Value.Content, mediaType == Json ? "application/json" : "text/csv; charset=utf-8");
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status404NotFound)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: route.NotFoundTitle, detail: route.NotFoundDetail(partner, kind));
        }
    }

    /// <summary>The first of JSON or CSV the Accept header takes, by quality then order; JSON when there is no Accept.</summary>
    public static MediaTypeHeaderValue? Negotiate(IList<MediaTypeHeaderValue> accept)
    {
        if (accept.Count == 0)
        {
            return Json;
        }

        foreach (var range in accept.Where(a => (a.Quality ?? 1) > 0).OrderByDescending(a => a.Quality ?? 1))
        {
            if (Json.IsSubsetOf(range))
            {
                return Json;
            }

            if (Csv.IsSubsetOf(range))
            {
                return Csv;
            }
        }

        return null;
    }

    /// <summary>One path segment of a blob name: nothing that could climb out of or reach past the partner's folder.</summary>
    public static bool IsFileName(string file) =>
        file.Length is > 0 and <= 1024 && !file.Contains("..", StringComparison.Ordinal) && file.IndexOfAny(['/', '\\']) < 0 &&
        !file.Any(char.IsControl) && file.Trim().Length > 0;
}
