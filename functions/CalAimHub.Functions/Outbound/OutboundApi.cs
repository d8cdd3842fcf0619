using System.ComponentModel;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using CalAimHub.Domain.Consent;
using CalAimHub.Hosting.Staff;
using CalAimHub.Ingestion.Inbound;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CalAimHub.Functions.Outbound;

public sealed record OutboundQueued(string Period, IReadOnlyList<OutboundQueuedFile> Queued);

public sealed record OutboundQueuedFile(string ProviderId, string Kind);

/// <summary>One outbound file on the console: where it is, how many members, what was withheld, and whether it was delivered, fetched, reconciled.</summary>
public sealed record OutboundFileItem(
    string ProviderId, string Period, string Kind, string Path, IReadOnlyList<string> Paths, string Status, DateTimeOffset? GeneratedAt, int Members,
    IReadOnlyDictionary<string, int> WithheldFields, DateTimeOffset? DeliveredAt, DateTimeOffset? FetchedAt, bool? Reconciled);

public sealed record OutboundFilePage(
    IReadOnlyList<OutboundFileItem> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation);

/// <summary>
/// Outbound files over HTTP: an operator generates a period now; a provider fetches its own files with its API key
/// (<c>X-Api-Key</c>, checked against the SHA-256 hashes in <c>Ingestion:Partners:{id}:ApiKeySha256:{n}</c>); staff list them
/// on the console and download them.
/// </summary>
public static class OutboundApi
{
    public const string ApiKeyHeader = "X-Api-Key";
    public const int DefaultTop = 50;
    public const int MaxTop = 200;
    private const string Listing = "console-outbound";

    public static void MapOutboundApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/outbound").WithTags("Outbound files");
        api.MapPost("/{period}/generate", GenerateAsync).WithName("GenerateOutboundFiles")
            .WithSummary("Queue the period's MIF (ECM providers) and CS MIF (CS providers) for every provider with assignments; the timer does it on Outbound:MifDay")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .RequireAuthorization(StaffRoles.Operator);
        api.MapGet("/{providerId}/{kind}/{file}", FetchAsync).WithName("FetchOutboundFile")
            .WithSummary("A provider fetches one of its files with its own API key (X-Api-Key); the fetch is recorded")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv", additionalContentTypes: CalAimHub.Ingestion.Outbound.OutboundFileWriter.XlsxContentType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound)
            .AllowAnonymous(); // the provider is no staff member: its key is checked here

        var console = app.MapGroup("/api/console/outbound").WithTags("Staff console").RequireAuthorization(StaffRoles.Viewer);
        console.MapGet("/", ListAsync).WithName("ListOutboundFiles")
            .WithSummary("Outbound files of a period (default the current month), optionally of one provider and kind: members, withheld categories, delivered / fetched / reconciled; paged")
            .Produces<OutboundFilePage>().ProducesValidationProblem();
        console.MapGet("/{providerId}/{kind}/{file}", DownloadAsync).WithName("DownloadOutboundFile")
            .WithSummary("Staff download of an outbound file, the same bytes the provider fetches (not recorded as the provider's fetch)")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv", additionalContentTypes: CalAimHub.Ingestion.Outbound.OutboundFileWriter.XlsxContentType)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Accepted<OutboundQueued>, ProblemHttpResult>> GenerateAsync(
        [Description("The period, yyyy-MM.")] string period, OutboundSchedule schedule, CancellationToken ct)
    {
        if (!OutboundGenerator.IsPeriod(period))
        {
            return TypedResults.Problem(title: "Invalid period", detail: "'period' must be a month written yyyy-MM, such as 2026-01", statusCode: StatusCodes.Status400BadRequest);
        }

        var queued = await schedule.PeriodAsync(period, ct);
        return TypedResults.Accepted((string?)null, new OutboundQueued(period, [.. queued.Select(q => new OutboundQueuedFile(q.ProviderId, q.Kind))]));
    }

    private static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> FetchAsync(
        [Description("The provider's partner id.")] string providerId,
        [Description("mif, cs-mif, mini-mif or cs-authorization-status.")] string kind,
        [Description("The file name, as the notice gave it.")] string file,
        HttpRequest request, IConfiguration configuration, OutboundFiles files, TimeProvider time, CancellationToken ct)
    {
        if (PathProblem(providerId, kind, file) is { } problem)
        {
            return problem;
        }

        if (!ProviderKeyMatches(configuration, providerId, request.Headers[ApiKeyHeader].ToString()))
        {
            return TypedResults.Problem(title: "Provider credentials required",
                detail: $"send the provider's API key in the {ApiKeyHeader} header; a key opens only its own provider's files", statusCode: StatusCodes.Status401Unauthorized);
        }

        return await files.OpenAsync(providerId, kind, file, time.GetUtcNow(), ct) is { } opened
            ? TypedResults.Stream(opened.Content, opened.ContentType, file)
            : NotFound(providerId, kind, file);
    }

    private static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> DownloadAsync(
        [Description("The provider's partner id.")] string providerId,
        [Description("mif, cs-mif, mini-mif or cs-authorization-status.")] string kind,
        [Description("The file name.")] string file,
        OutboundFiles files, CancellationToken ct)
    {
        if (PathProblem(providerId, kind, file) is { } problem)
        {
            return problem;
        }

        return await files.OpenAsync(providerId, kind, file, fetchedAt: null, ct) is { } opened
            ? TypedResults.Stream(opened.Content, opened.ContentType, file)
            : NotFound(providerId, kind, file);
    }

    private static async Task<Results<Ok<OutboundFilePage>, ValidationProblem>> ListAsync(
        [Description("A provider's partner id.")] string? provider,
        [Description("The period, yyyy-MM (default the current month, UTC).")] string? period,
        [Description("mif, cs-mif, mini-mif or cs-authorization-status.")] string? kind,
        [Description("Page size, 1-200 (default 50).")] string? top,
        [Description("The continuation of the previous page.")] string? continuation,
        OutboundLedger ledger, Hosting.Storage.ListContinuation tokens, TimeProvider time, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (provider is not null && !InboundPath.IsId(provider))
        {
            errors["provider"] = [$"'{provider}' is not a provider id: 1 to 64 letters, digits, '-' or '_'"];
        }

        var wanted = period ?? time.GetUtcNow().ToString("yyyy-MM", CultureInfo.InvariantCulture);
        if (!OutboundGenerator.IsPeriod(wanted))
        {
            errors["period"] = [$"'{period}' is not a period; write yyyy-MM, e.g. 2026-01"];
        }

        if (kind is not null && !SentFileKinds.All.Contains(kind))
        {
            errors["kind"] = [$"'{kind}' is not an outbound file kind; use one of {string.Join(", ", SentFileKinds.All)}"];
        }

        var size = DefaultTop;
        if (top is not null && !(int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size is >= 1 and <= MaxTop))
        {
            errors["top"] = [$"'{top}' is not a page size; use a whole number from 1 to {MaxTop} (default {DefaultTop})"];
        }

        string? tableContinuation = null;
        if (continuation is not null && !tokens.TryRead(Listing + "|" + wanted + "|" + provider + "|" + kind, continuation, out tableContinuation))
        {
            errors["continuation"] = ["is not a token this list gave; start again without it"];
        }

        if (errors.Count > 0)
        {
            var first = errors.First();
            return TypedResults.ValidationProblem(errors, detail: $"'{first.Key}' {first.Value[0]}", title: "Invalid outbound file query");
        }

        var (items, next) = await ledger.PageAsync(wanted, provider, kind, size, tableContinuation, ct);
        return TypedResults.Ok(new OutboundFilePage(
            [.. items.Select(r => new OutboundFileItem(r.ProviderId, r.Period, r.Kind, r.Paths.FirstOrDefault() ?? "", r.Paths, r.Status, r.GeneratedAt, r.Members,
                r.WithheldFields, r.DeliveredAt, r.FetchedAt, r.Reconciled))],
            tokens.Issue(Listing + "|" + wanted + "|" + provider + "|" + kind, next)));
    }

    /// <summary>True when <paramref name="key"/> hashes to one of the provider's configured key hashes (fixed-time compare).</summary>
    public static bool ProviderKeyMatches(IConfiguration configuration, string providerId, string key)
    {
        if (key.Length is 0 or > 512)
        {
            return false;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var matched = false;
        foreach (var configured in configuration.GetSection($"Ingestion:Partners:{providerId}:ApiKeySha256").GetChildren())
        {
            if (configured.Value is { Length: 64 } hex && !hex.Any(c => !char.IsAsciiHexDigit(c)))
            {
                matched |= CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(hex));
            }
        }

        return matched;
    }

    private static ProblemHttpResult? PathProblem(string providerId, string kind, string file)
    {
        if (!InboundPath.IsId(providerId))
        {
            return TypedResults.Problem(title: "Invalid outbound path", detail: "'providerId' must be 1 to 64 letters, digits, '-' or '_'", statusCode: StatusCodes.Status400BadRequest);
        }

        if (!SentFileKinds.All.Contains(kind))
        {
            return TypedResults.Problem(title: "Invalid outbound path", detail: $"'kind' must be one of {string.Join(", ", SentFileKinds.All)}", statusCode: StatusCodes.Status400BadRequest);
        }

        return file.Length is > 0 and <= 200 && file.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && !file.StartsWith('.')
            ? null
            : TypedResults.Problem(title: "Invalid outbound path", detail: "'file' must be a file name: letters, digits, '-', '_' and '.', at most 200", statusCode: StatusCodes.Status400BadRequest);
    }

    private static ProblemHttpResult NotFound(string providerId, string kind, string file) =>
        TypedResults.Problem(title: "Outbound file not found", detail: $"no {kind} file '{file}' for provider {providerId}", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>Opens an outbound blob and, for a provider's fetch, records <c>fetchedAt</c> on its ledger row (from the blob's metadata).</summary>
public sealed class OutboundFiles(Hosting.Storage.StorageAccount storage, OutboundLedger ledger)
{
    public async Task<(Stream Content, string ContentType)?> OpenAsync(string providerId, string kind, string file, DateTimeOffset? fetchedAt, CancellationToken cancellationToken)
    {
        if (file.EndsWith(".manifest.json", StringComparison.Ordinal))
        {
            return null; // the manifest is the hub's record, not a provider file
        }

        var blob = storage.Blobs.GetBlobContainerClient(OutboundGenerator.Container).GetBlobClient($"{providerId}/{kind}/{file}");
        try
        {
            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
            var metadata = download.Value.Details.Metadata;
            if (fetchedAt is { } at && metadata.TryGetValue("period", out var period) && metadata.TryGetValue("ledger", out var row))
            {
                await ledger.MarkFetchedAsync(period, row, at, cancellationToken);
            }

            return (download.Value.Content, download.Value.Details.ContentType ?? "application/octet-stream");
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
