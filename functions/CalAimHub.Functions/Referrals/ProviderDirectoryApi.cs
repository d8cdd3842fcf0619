using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Http;
using CalAimHub.Functions.Extensions;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// The provider directory, routing input for the referral workflow: <c>PUT /api/providers/{npi}</c> (create or replace;
/// 201 when new, 200 when replaced) and <c>GET /api/providers/{npi}</c>. Table <c>Providers</c>, one row per NPI.
/// Provider data is organizational, not member data.
/// </summary>
public static class ProviderDirectoryApi
{
    public const string TableName = "Providers";
    public const string ImportRoute = "/api/providers/import";

    /// <summary>Default cap of an HSDS import body (<c>Providers:MaxImportBytes</c>).</summary>
    public const int DefaultMaxImportBytes = 8 * 1024 * 1024;
    private const string Partition = "provider";

    public static void MapProviderDirectoryApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/providers").WithTags("Provider directory").RequireAuthorization(StaffRoles.Viewer);
        api.MapPost("/import", ImportAsync).WithName("ImportProviderDirectory").RequireAuthorization(StaffRoles.Operator)
            .WithSummary("Import an Open Referral HSDS 3.x export; an unchanged entry is not rewritten")
            .AcceptsBody<HsdsExportBody>("application/json")
            .Produces<HsdsImportSummary>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("", ListAsync).WithName("ListProviders")
            .WithSummary("The provider directory in NPI order, paged")
            .Produces<ProviderList>().ProducesValidationProblem();
        api.MapPut("/{npi}", PutAsync).WithName("PutProvider").RequireAuthorization(StaffRoles.Operator)
            .WithSummary("Create (201) or replace (200) one provider by NPI")
            .AcceptsBody<ProviderBody>("application/json")
            .Produces<ProviderDirectoryEntry>().Produces<ProviderDirectoryEntry>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("/{npi}", GetAsync).WithName("GetProvider")
            .WithSummary("One provider by NPI")
            .Produces<ProviderDirectoryEntry>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> PutAsync(string npi, HttpRequest http, StorageAccount storage, TimeProvider time, CancellationToken ct)
    {
        if (!http.TryCheckedJson(out var body))
        {
            return Invalid([new("$", "is required: the provider as a JSON object")]);
        }

        var (entry, errors) = ProviderDirectoryReader.Read(npi, body);
        if (entry is null)
        {
            return Invalid(errors);
        }

        var table = storage.Tables.GetTableClient(TableName);
        var existed = (await table.GetEntityIfExistsAsync<TableEntity>(Partition, npi, cancellationToken: ct)).HasValue;
        await table.UpsertEntityAsync(ToEntity(entry, time.GetUtcNow()), TableUpdateMode.Replace, ct);
        return existed ? Results.Json(entry, ReferralJson.Options) : Results.Json(entry, ReferralJson.Options, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>
    /// <c>POST /api/providers/import</c>: an Open Referral HSDS 3.x export (JSON) → directory entries, one per NPI, mapped
    /// by <see cref="HsdsProviderMapping"/>. 200 with <see cref="HsdsImportSummary"/>. A body over
    /// <c>Providers:MaxImportBytes</c> → 413, not JSON / malformed / wrong shape → 400 (415 for another content type); in
    /// those cases nothing is stored. An entry equal to the stored one is not rewritten, so a re-import changes nothing.
    /// </summary>
    private static async Task<IResult> ImportAsync(HttpRequest http, StorageAccount storage, TimeProvider time, IConfiguration configuration, CancellationToken ct)
    {
        if (!(http.ContentType?.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON expected", detail: "send the HSDS 3.x export as application/json");
        }

        var max = configuration.GetValue<int?>("Providers:MaxImportBytes") is { } configured and > 0 ? configured : DefaultMaxImportBytes;
        var body = await http.ReadLimitedAsync(max, ct);
        if (body is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large",
                detail: $"the export is larger than {max} bytes; split it by organization and import the parts");
        }

        HsdsMapping mapping;
        try
        {
            using var document = JsonDocument.Parse(body);
            var (mapped, errors) = HsdsProviderMapping.Map(document.RootElement);
            if (mapped is null)
            {
                return Invalid(errors, "Invalid HSDS export");
            }

            mapping = mapped;
        }
        catch (JsonException e)
        {
            return Invalid([new("$", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})")], "Invalid HSDS export");
        }

        var table = storage.Tables.GetTableClient(TableName);
        int imported = 0, updated = 0, unchanged = 0;
        var now = time.GetUtcNow();
        foreach (var entry in mapping.Entries)
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(Partition, entry.Npi, select: ["Entry"], cancellationToken: ct);
            if (stored.HasValue && stored.Value!.GetString("Entry") == JsonSerializer.Serialize(entry, ReferralJson.Options))
            {
                unchanged++;
                continue;
            }

            await table.UpsertEntityAsync(ToEntity(entry, now), TableUpdateMode.Replace, ct);
            _ = stored.HasValue ? updated++ : imported++;
        }

        return Results.Json(new HsdsImportSummary(imported, updated, unchanged, mapping.Skipped), ReferralJson.Options);
    }


    private static async Task<IResult> GetAsync(string npi, StorageAccount storage, CancellationToken ct)
    {
        if (Domain.Authorizations.NationalProviderIdentifier.IsValid(npi)
            && await storage.Tables.GetTableClient(TableName).GetEntityIfExistsAsync<TableEntity>(Partition, npi, cancellationToken: ct) is { HasValue: true } found)
        {
            return Results.Json(JsonSerializer.Deserialize<ProviderDirectoryEntry>(found.Value!.GetString("Entry"), ReferralJson.Options), ReferralJson.Options);
        }

        return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such provider", detail: "no provider with that NPI is in the directory");
    }

    public const int DefaultTop = 50;
    public const int MaxTop = 200;

    /// <summary>
    /// <c>GET /api/providers?top=&amp;continuation=</c>: the directory in NPI order, one page per call (one table query of
    /// at most <c>top</c> rows in the directory's partition), with the token of the next page.
    /// </summary>
    private static async Task<IResult> ListAsync(string? top, string? continuation, StorageAccount storage, ListContinuation tokens, CancellationToken ct)
    {
        const string listing = "providers";
        var size = DefaultTop;
        if (top is not null && !(int.TryParse(top, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) && size is >= 1 and <= MaxTop))
        {
            return Invalid([new("top", $"'{top}' is not a page size; use a whole number from 1 to {MaxTop} (default {DefaultTop})")], "Invalid provider query");
        }

        if (continuation is not null && !tokens.TryRead(listing, continuation, out continuation))
        {
            return BadContinuation();
        }

        var table = storage.Tables.GetTableClient(TableName);
        try
        {
            await foreach (var page in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition}"), maxPerPage: size, select: ["Entry"], cancellationToken: ct)
                .AsPages(continuation, size))
            {
                var items = page.Values.Select(row => JsonSerializer.Deserialize<ProviderDirectoryEntry>(row.GetString("Entry"), ReferralJson.Options)!).ToList();
                return Results.Json(new ProviderList(items, tokens.Issue(listing, page.ContinuationToken)), ReferralJson.Options);
            }
        }
        catch (Azure.RequestFailedException e) when (continuation is not null && e.Status == 400)
        {
            return BadContinuation();
        }

        return Results.Json(new ProviderList([], null), ReferralJson.Options);

        static IResult BadContinuation() => Invalid([new("continuation", "is not a token this listing gave; start again without it")], "Invalid provider query");
    }

    internal static TableEntity ToEntity(ProviderDirectoryEntry entry, DateTimeOffset updatedAt) => new(Partition, entry.Npi)
    {
        ["Entry"] = JsonSerializer.Serialize(entry, ReferralJson.Options),
        ["Name"] = entry.Name,
        // Flat copies for routing queries: "|ecm|medically-tailored-meals|" so a filter can match one service.
        ["Services"] = "|" + string.Join('|', entry.Services) + "|",
        ["Counties"] = "|" + string.Join('|', entry.Counties) + "|",
        ["Available"] = entry.Capacity.Available,
        ["Source"] = entry.Source,
        ["UpdatedAt"] = updatedAt,
    };

    private static IResult Invalid(IReadOnlyList<ReferralFieldError> errors, string title = "Invalid provider") =>
        FieldProblems.Invalid(errors, e => e.Field, e => e.Message, title);
}

/// <param name="Continuation">Pass as <c>continuation</c> for the next page; null on the last page.</param>
public sealed record ProviderList(
    IReadOnlyList<ProviderDirectoryEntry> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation);

/// <param name="Imported">New directory entries.</param>
/// <param name="Updated">Entries that existed and changed.</param>
/// <param name="Unchanged">Entries equal to the stored ones (not rewritten).</param>
/// <param name="Skipped">HSDS objects left out, each with its id and the reason.</param>
public sealed record HsdsImportSummary(int Imported, int Updated, int Unchanged, IReadOnlyList<HsdsSkipped> Skipped);
