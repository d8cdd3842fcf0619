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
    private const string Partition = "provider";

    public static void MapProviderDirectoryApi(this WebApplication app)
    {
        app.MapPut("/api/providers/{npi}", PutAsync);
        app.MapGet("/api/providers/{npi}", GetAsync);
    }

    private static async Task<IResult> PutAsync(string npi, HttpRequest http, StorageAccount storage, TimeProvider time, CancellationToken ct)
    {
        if (!(http.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON expected", detail: "send the provider as application/json");
        }

        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(http.Body, cancellationToken: ct);
            body = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Invalid([new("$", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})")]);
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

    private static async Task<IResult> GetAsync(string npi, StorageAccount storage, CancellationToken ct)
    {
        if (Domain.Authorizations.NationalProviderIdentifier.IsValid(npi)
            && await storage.Tables.GetTableClient(TableName).GetEntityIfExistsAsync<TableEntity>(Partition, npi, cancellationToken: ct) is { HasValue: true } found)
        {
            return Results.Json(JsonSerializer.Deserialize<ProviderDirectoryEntry>(found.Value!.GetString("Entry"), ReferralJson.Options), ReferralJson.Options);
        }

        return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such provider", detail: "no provider with that NPI is in the directory");
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

    private static IResult Invalid(IReadOnlyList<ReferralFieldError> errors) => Results.ValidationProblem(
        errors.GroupBy(e => e.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal),
        detail: $"'{errors[0].Field}' {errors[0].Message}" + (errors.Count > 1 ? $" (and {errors.Count - 1} more; see errors)" : ""),
        title: "Invalid provider");
}
