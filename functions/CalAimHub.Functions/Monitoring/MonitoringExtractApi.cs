using System.ComponentModel;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Functions.Workflows;
using CalAimHub.Workflows;
using CalAimHub.Hosting.Staff;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CalAimHub.Functions.Monitoring;

/// <summary>The DHCS monitoring extract on demand: download a month's XLSX or JSON; generate (or regenerate) it as an operator.</summary>
public static class MonitoringExtractApi
{
    public static void MapMonitoringExtractApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/console/extracts").WithTags("Monitoring extract").RequireAuthorization(StaffRoles.Viewer);
        api.MapGet("/{month}", GetAsync).WithName("GetMonitoringExtract")
            .WithSummary("A month's DHCS monitoring extract as XLSX or JSON (schema: docs/schemas/monitoring-extract-1.1.schema.json); 404 until generated")
            .Produces(StatusCodes.Status200OK, contentType: MonitoringExtractFiles.XlsxContentType, additionalContentTypes: MonitoringExtractFiles.JsonContentType);
        api.MapPost("/{month}", GenerateAsync).WithName("GenerateMonitoringExtract")
            .WithSummary("Generate a month's extract now (the timer does it on the 1st for the month before); replaces an earlier one")
            .RequireAuthorization(StaffRoles.Operator).ReadsShardedReadModel();
    }

    private static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetAsync(
        [Description("The month, yyyy-MM (Pacific time).")] string month,
        [Description("xlsx (default) or json.")] string? format,
        MonitoringExtracts extracts, CancellationToken ct)
    {
        if (Invalid(month, out var parsed) is { } problem)
        {
            return problem;
        }

        var kind = (format ?? "xlsx").ToLowerInvariant();
        if (!MonitoringExtracts.Formats.Contains(kind))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid format", "'format' must be xlsx or json");
        }

        return await extracts.OpenAsync(parsed, kind, ct) is { } file
            ? TypedResults.Stream(file.Content, file.ContentType, file.FileName)
            : Problem(StatusCodes.Status404NotFound, "Extract not generated",
                $"no monitoring extract for {parsed.Text} yet; an operator generates it with POST /api/console/extracts/{parsed.Text} (the timer does on the 1st of the next month)");
    }

    private static async Task<Results<Ok<MonitoringExtractSummary>, ProblemHttpResult>> GenerateAsync(
        [Description("The month, yyyy-MM (Pacific time); the current month gives the figures so far.")] string month,
        MonitoringExtracts extracts, TimeProvider time, CancellationToken ct)
    {
        if (Invalid(month, out var parsed) is { } problem)
        {
            return problem;
        }

        if (parsed.Start > time.GetUtcNow())
        {
            return Problem(StatusCodes.Status400BadRequest, "Month not begun", $"'month' {parsed.Text} has not begun; nothing was generated");
        }

        return TypedResults.Ok(await extracts.GenerateAsync(parsed, ct));
    }

    private static ProblemHttpResult? Invalid(string month, out MonitoringMonth parsed) =>
        MonitoringMonth.TryParse(month, out parsed)
            ? null
            : Problem(StatusCodes.Status400BadRequest, "Invalid month", "'month' must be a month written yyyy-MM, such as 2026-11");

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status);
}

public static class MonitoringExtensions
{
    public static void AddMonitoringExtract(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ReferralTrackingReadModel>();
        builder.Services.AddSingleton<CalAimHub.Workflows.IReadModelSource>(sp => sp.GetRequiredService<ReferralTrackingReadModel>());
        builder.Services.AddWorkflowProjection(AuthorizationWorkflow.TypeName, new MonitoringAuthorizationsProjection(MemberCountingKey.FromConfiguration(builder.Configuration)));
        builder.Services.AddSingleton<MonitoringAuthorizations>();
        builder.Services.AddSingleton<IMonitoringFigures, StoredMonitoringFigures>();
        builder.Services.AddSingleton<MonitoringExtracts>();
    }
}
