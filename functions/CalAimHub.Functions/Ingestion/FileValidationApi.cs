using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Http;
using System.Security.Cryptography;
using CalAimHub.Ingestion;
using Microsoft.AspNetCore.Http.Features;
using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// Dry run: <c>POST /api/files/validate?kind=…&amp;partner=…</c> with the file as the body answers the result report the file
/// would get, storing nothing. The body is spooled to a temporary file (deleted on close) so XLSX can be read and memory stays
/// flat; bad parameters are RFC 9457 problem+json. A body over <see cref="IngestionOptions.MaxValidateBytes"/> (the HTTP
/// limit, 100 MB) is 413 problem+json pointing to the drop path; a file over <see cref="IngestionOptions.MaxFileBytes"/> gets
/// the same file-too-large report a dropped file would.
/// </summary>
public static class FileValidationApi
{
    public static void MapFileValidationApi(this WebApplication app) =>
        app.MapPost("/api/files/validate", ValidateAsync).WithName("ValidatePartnerFile").WithTags("Partner files").RequireAuthorization(StaffRoles.Viewer)
            .WithSummary("Dry run: the result report a partner file would get, storing nothing (up to 100 MB; drop larger files)")
            .AcceptsBody<Stream>("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream")
            .Produces<CalAimHub.Ingestion.Reports.IngestReport>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .TakesQuery(new("kind", "The file kind, e.g. rtf, otf, invoice, assignment", Required: true), new("partner", "The registered partner id the file is from", Required: true));

    private static async Task<IResult> ValidateAsync(
        HttpRequest request, PartnerFileChannel channel, PartnerDirectory partners, IngestionOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var kind = request.Query["kind"].ToString().ToLowerInvariant();
        var partnerId = request.Query["partner"].ToString();
        var errors = new Dictionary<string, string[]>();
        if (kind.Length == 0)
        {
            errors["kind"] = [$"kind is required: one of {string.Join(", ", FileKind.All)}"];
        }
        else if (!FileKind.IsKnown(kind))
        {
            errors["kind"] = [$"'{kind}' is not a file kind; use one of {string.Join(", ", FileKind.All)}"];
        }

        PartnerProfile? partner = null;
        if (partnerId.Length == 0)
        {
            errors["partner"] = ["partner is required: your registered partner id"];
        }
        else if ((partner = partners.Find(partnerId)) is null)
        {
            errors["partner"] = [$"partner '{(InboundPath(partnerId) ? partnerId : "?")}' is not registered with the hub"];
        }

        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Bad file validation request",
                detail: "Call POST /api/files/validate?kind=<rtf|otf|invoice|referral>&partner=<partner id> with the file as the body.");
        }

        var submission = new FileSubmission("dry-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), partnerId, kind, "request-body", partner, time.GetUtcNow(), DryRun: true);
        if (request.ContentLength is { } declared && channel.Precheck(submission, declared) is { } early)
        {
            return Results.Json(PartnerFileChannel.Rejected(submission, early), CalAimHub.Ingestion.Reports.IngestReport.Json);
        }

        // The server's own limit (Kestrel: 30 MB) would fail the read with a bare 500; this endpoint's limit is the HTTP
        // front end's, checked below with an answer that says what to do instead.
        var httpLimit = Math.Min(options.MaxValidateBytes, options.MaxFileBytes);
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        if (request.ContentLength > httpLimit && httpLimit < options.MaxFileBytes)
        {
            return TooLargeForHttp(options);
        }

        var spool = Path.Combine(Path.GetTempPath(), "calaimhub-validate-" + Guid.NewGuid().ToString("n"));
        await using var body = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        var buffer = new byte[1 << 16];
        long length = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            length += read;
            if (length > options.MaxFileBytes)
            {
                return Results.Json(PartnerFileChannel.Rejected(submission, channel.Precheck(submission, length)!), CalAimHub.Ingestion.Reports.IngestReport.Json);
            }

            if (length > httpLimit)
            {
                return TooLargeForHttp(options);
            }

            await body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        body.Position = 0;
        var report = await channel.RunAsync(submission, body, length, new DryRunDestination(), cancellationToken);
        return Results.Json(report, CalAimHub.Ingestion.Reports.IngestReport.Json);
    }

    private static IResult TooLargeForHttp(IngestionOptions options) => Results.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "File too large to validate over HTTP",
        detail: $"a dry run over HTTP takes files up to {options.MaxValidateBytes:N0} bytes (the Functions HTTP limit); " +
            $"drop the file into inbound/<partner>/<kind>/ instead: files up to {options.MaxFileBytes:N0} bytes are checked there, and the report says the same");

    private static bool InboundPath(string id) => CalAimHub.Ingestion.Inbound.InboundPath.IsId(id);
}
