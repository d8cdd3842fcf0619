using CalAimHub.Hosting.Staff;
using System.ComponentModel;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// <c>GET /api/files/{partner}/{kind}/{file}/report</c>: the result report of a dropped file, as stored next to it
/// (<c>results/{partner}/{kind}/{file}.report.json|csv</c>), in JSON or CSV by the <c>Accept</c> header (JSON by default).
/// 400 for a name that is not one (a <c>..</c>, a <c>/</c>, a control character, an unknown kind), 404 while there is no
/// report, 406 for an Accept it cannot answer; all problem+json. The stored bytes are sent as they are.
/// </summary>
public static class FileReportApi
{
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

    /// <summary>The ingestion report of any kind, next to the dropped file.</summary>
    public static readonly FileReportRoute Route = new(
        "report",
        FileKind.IsKnown,
        $"kind must be one of {string.Join(", ", FileKind.All)}",
        "Bad file report request",
        "Call GET /api/files/{partner}/{kind}/{file}/report with the partner id, the kind and the file name the file was dropped under.",
        (partner, kind, file) => InboundPath.ReportNames($"{partner}/{kind}/{file}"),
        "No report",
        (partner, kind) => $"there is no report for this file: it was not dropped under inbound/{partner}/{kind}/, or it is still being processed");

    private static Task<Results<FileStreamHttpResult, ValidationProblem, ProblemHttpResult>> GetAsync([AsParameters] ReportRequest request) =>
        FileReportResponder.RespondAsync(Route, request.Partner, request.Kind, request.File, request.Request, request.Storage, request.CancellationToken);
}
