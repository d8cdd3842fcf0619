using System.ComponentModel;
using System.Globalization;
using Azure.Data.Tables;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using Microsoft.AspNetCore.Http.HttpResults;
using CalAimHub.Functions.Ingestion;

namespace CalAimHub.Functions.Reconciliation;

public sealed record ReconciliationFigurePage(
    IReadOnlyList<ReconciliationFigure> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation);

/// <summary>
/// <c>GET /api/files/{partner}/rtf/{file}/reconciliation</c>: the reconciliation report of an RTF, JSON or CSV by Accept,
/// as stored next to its ingestion report; <c>GET /api/console/reconciliations</c>: the figure per provider and period.
/// </summary>
public static class ReconciliationApi
{
    public const int DefaultTop = 50;
    public const int MaxTop = 200;

    public static void MapReconciliationApi(this WebApplication app)
    {
        var files = app.MapGroup("/api/files").WithTags("Partner files").RequireAuthorization(StaffRoles.Viewer);
        files.MapGet("/{partner}/{kind}/{file}/reconciliation", GetReportAsync)
            .WithName("GetFileReconciliation")
            .WithSummary("The reconciliation report of an RTF against the member files sent for its period, JSON or CSV by Accept")
            .Produces<IngestReport>(StatusCodes.Status200OK, "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable);

        var console = app.MapGroup("/api/console").WithTags("Staff console").RequireAuthorization(StaffRoles.Viewer);
        console.MapGet("/reconciliations", ListAsync).WithName("ListReconciliationFigures")
            .WithSummary("RTF reconciliation per provider and period (newest period first within a provider): reconciled, members sent and returned, mismatches by kind; paged")
            .Produces<ReconciliationFigurePage>().ProducesValidationProblem();
    }

    public sealed record ReportRequest(
        [property: Description("The partner (provider) id, as in inbound/{partner}/…")] string Partner,
        [property: Description("The file kind: rtf")] string Kind,
        [property: Description("The file name as dropped under inbound/{partner}/rtf/")] string File,
        HttpRequest Request,
        StorageAccount Storage,
        CancellationToken CancellationToken);

    /// <summary>The reconciliation report of an RTF, next to its ingestion report.</summary>
    public static readonly FileReportRoute Route = new(
        "reconciliation report",
        kind => kind == RtfReconciler.RtfKind,
        "kind must be rtf: only Return Transmission Files are reconciled",
        "Bad reconciliation request",
        "Call GET /api/files/{partner}/rtf/{file}/reconciliation with the provider's partner id and the RTF's file name as dropped.",
        RtfReconciler.ReportNames,
        "No reconciliation",
        (partner, _) => $"there is no reconciliation for this file: it is not an accepted RTF under inbound/{partner}/rtf/, nothing was sent to this provider for its period yet, or it is still being processed");

    private static Task<Results<FileStreamHttpResult, ValidationProblem, ProblemHttpResult>> GetReportAsync([AsParameters] ReportRequest request) =>
        FileReportResponder.RespondAsync(Route, request.Partner, request.Kind, request.File, request.Request, request.Storage, request.CancellationToken);

    private static async Task<Results<Ok<ReconciliationFigurePage>, ValidationProblem>> ListAsync(
        [Description("Only this provider (partner id)")] string? provider,
        [Description("Page size, 1 to 200 (default 50)")] string? top,
        [Description("The continuation of the previous page")] string? continuation,
        StorageAccount storage, ListContinuation tokens, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (provider is not null && !InboundPath.IsId(provider))
        {
            errors["provider"] = [$"'{provider}' is not a partner id: 1 to 64 letters, digits, '-' or '_'"];
        }

        var size = DefaultTop;
        if (top is not null && !(int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size is >= 1 and <= MaxTop))
        {
            errors["top"] = [$"'{top}' is not a page size; use a whole number from 1 to {MaxTop} (default {DefaultTop})"];
        }

        var listing = "reconciliations|" + provider;
        string? tableContinuation = null;
        if (errors.Count == 0 && continuation is not null && !tokens.TryRead(listing, continuation, out tableContinuation))
        {
            errors["continuation"] = ["is not a token this list gave; start again without it"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid console query", detail: $"'{errors.Keys.First()}' {errors.Values.First()[0]}");
        }

        var table = storage.Tables.GetTableClient(RtfReconciler.FiguresTableName);
        var filter = provider is null ? null : TableClient.CreateQueryFilter($"PartitionKey eq {provider}");
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: size, cancellationToken: ct).AsPages(tableContinuation, size))
        {
            return TypedResults.Ok(new ReconciliationFigurePage([.. page.Values.Select(ReconciliationFigure.FromEntity)], tokens.Issue(listing, page.ContinuationToken)));
        }

        return TypedResults.Ok(new ReconciliationFigurePage([], null));
    }
}
