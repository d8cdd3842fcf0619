using CalAimHub.Hosting.Staff;
using System.ComponentModel;
using Azure;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// <c>GET /api/files/{partner}/{kind}/{file}/report</c>: the result report of a dropped file, as stored next to it
/// (<c>results/{partner}/{kind}/{file}.report.json|csv</c>), in JSON or CSV by the <c>Accept</c> header (JSON by default).
/// 400 for a name that is not one (a <c>..</c>, a <c>/</c>, a control character, an unknown kind), 404 while there is no
/// report, 406 for an Accept it cannot answer; all problem+json. The stored bytes are sent as they are.
/// </summary>
public static class FileReportApi
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue Csv = new("text/csv");

    public static RouteGroupBuilder MapFileReportApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/files").WithTags("Partner files").RequireAuthorization(StaffRoles.Viewer);
        api.MapGet("/{partner}/{kind}/{file}/report", GetAsync)
            .WithName("GetFileReport")
            .WithSummary("The result report of a dropped file, JSON or CSV by Accept")
            .Produces<IngestReport>(StatusCodes.Status200OK, "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable);
        return api;
    }

    public sealed record ReportRequest(
        [property: Description("The partner id, as in inbound/{partner}/…")] string Partner,
        [property: Description("The file kind: rtf, otf, invoice or referral")] string Kind,
        [property: Description("The file name as dropped under inbound/{partner}/{kind}/")] string File,
        HttpRequest Request,
        StorageAccount Storage,
        CancellationToken CancellationToken);

    private static async Task<Results<FileStreamHttpResult, ValidationProblem, ProblemHttpResult>> GetAsync([AsParameters] ReportRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (!InboundPath.IsId(request.Partner))
        {
            errors["partner"] = ["partner must be a partner id: 1 to 64 letters, digits, '-' or '_'"];
        }

        if (!FileKind.IsKnown(request.Kind.ToLowerInvariant()))
        {
            errors["kind"] = [$"kind must be one of {string.Join(", ", FileKind.All)}"];
        }

        if (!IsFileName(request.File))
        {
            errors["file"] = ["file must be a file name: no '/', '\\', '..' or control characters, at most 1024 characters"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Bad file report request",
                detail: "Call GET /api/files/{partner}/{kind}/{file}/report with the partner id, the kind and the file name the file was dropped under.");
        }

        request.Request.HttpContext.Response.Headers.Vary = HeaderNames.Accept;
        if (Negotiate(request.Request.GetTypedHeaders().Accept) is not { } mediaType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status406NotAcceptable, title: "Not acceptable",
                detail: "the report is served as application/json (the default) or text/csv; send Accept with one of them");
        }

        var (jsonName, csvName) = InboundPath.ReportNames($"{request.Partner}/{request.Kind}/{request.File}");
        var blob = request.Storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer).GetBlobClient(mediaType == Json ? jsonName : csvName);
        try
        {
            var download = await blob.DownloadStreamingAsync(cancellationToken: request.CancellationToken);
            return TypedResults.Stream(download.Value.Content, mediaType == Json ? "application/json" : "text/csv; charset=utf-8");
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status404NotFound)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No report",
                detail: $"there is no report for this file: it was not dropped under inbound/{request.Partner}/{request.Kind}/, or it is still being processed");
        }
    }

    /// <summary>The first of JSON or CSV the Accept header takes, by quality then order; JSON when there is no Accept.</summary>
    private static MediaTypeHeaderValue? Negotiate(IList<MediaTypeHeaderValue> accept)
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
    private static bool IsFileName(string file) =>
        file.Length is > 0 and <= 1024 && !file.Contains("..", StringComparison.Ordinal) && file.IndexOfAny(['/', '\\']) < 0 &&
        !file.Any(char.IsControl) && file.Trim().Length > 0;
}
