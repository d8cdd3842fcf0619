using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Referrals;

/// <summary>
/// A receiving provider as the referral routing sees it: the services it delivers (<c>ecm</c> and Community Supports
/// ids), the counties it serves, the ECM Populations of Focus it specializes in, and its capacity (as in the DHCS
/// quarterly report's provider capacity tab: members served vs. able to serve).
/// </summary>
/// <param name="Source">Where it came from: <c>api</c>, or <c>hsds:{organization id}</c> for an HSDS import.</param>
public sealed record ProviderDirectoryEntry(
    string Npi,
    string Name,
    IReadOnlyList<string> Services,
    IReadOnlyList<string> Counties,
    IReadOnlyList<string> PopulationsOfFocus,
    ProviderCapacity Capacity,
    string Source);

/// <param name="Serving">Members the provider serves now.</param>
/// <param name="AbleToServe">Members it can serve in total.</param>
public sealed record ProviderCapacity(int Serving, int AbleToServe)
{
    public int Available => Math.Max(0, AbleToServe - Serving);
}

/// <summary>Reads <c>PUT /api/providers/{npi}</c> bodies; every error names its field.</summary>
public static class ProviderDirectoryReader
{
    private static readonly HashSet<string> Fields = new(StringComparer.Ordinal) { "name", "services", "counties", "populationsOfFocus", "capacity" };

    public static (ProviderDirectoryEntry? Entry, IReadOnlyList<ReferralFieldError> Errors) Read(string npi, JsonElement body)
    {
        var errors = new List<ReferralFieldError>();
        if (NationalProviderIdentifier.Problem(npi) is { } npiProblem)
        {
            return (null, [new("npi", npiProblem)]);
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, [new("$", "the body must be a JSON object")]);
        }

        foreach (var property in body.EnumerateObject().Where(p => !Fields.Contains(p.Name)))
        {
            errors.Add(new(property.Name, "is not a field of a provider; use name, services, counties, populationsOfFocus, capacity"));
        }

        var name = body.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString()!.Trim() is { Length: > 0 and <= 200 } text ? text : null;
        if (name is null)
        {
            errors.Add(new("name", "is required: the provider's name, at most 200 characters"));
        }

        var services = Strings(body, "services", errors, required: true);
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i] != ReferralService.Ecm && CommunitySupports.Current.Find(services[i]) is null)
            {
                errors.Add(new($"services[{i}]", $"'{services[i]}' is not a service; use '{ReferralService.Ecm}' or a Community Supports service ({string.Join(", ", CommunitySupports.Current.Ids)})"));
            }
        }

        var counties = Strings(body, "counties", errors, required: true);
        var canonical = new List<string>();
        for (var i = 0; i < counties.Count; i++)
        {
            if (CaliforniaCounties.Find(counties[i]) is { } county)
            {
                canonical.Add(county);
            }
            else
            {
                errors.Add(new($"counties[{i}]", $"'{counties[i]}' is not a California county"));
            }
        }

        var populations = Strings(body, "populationsOfFocus", errors, required: false);
        for (var i = 0; i < populations.Count; i++)
        {
            if (CodeSets.PopulationsOfFocus.Current.Find(populations[i]) is null)
            {
                errors.Add(new($"populationsOfFocus[{i}]", $"'{populations[i]}' is not a Population of Focus; use one of {string.Join(", ", CodeSets.PopulationsOfFocus.Current.Ids)}"));
            }
        }

        if (populations.Count > 0 && !services.Contains(ReferralService.Ecm))
        {
            errors.Add(new("populationsOfFocus", $"are ECM specialties: list '{ReferralService.Ecm}' in services too"));
        }

        var capacity = Capacity(body, errors);
        return errors.Count > 0
            ? (null, errors)
            : (new ProviderDirectoryEntry(npi, name!, [.. services.Distinct()], [.. canonical.Distinct()], [.. populations.Distinct()], capacity!, "api"), []);
    }

    private static ProviderCapacity? Capacity(JsonElement body, List<ReferralFieldError> errors)
    {
        if (!body.TryGetProperty("capacity", out var capacity) || capacity.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("capacity", "is required: {\"serving\": <members served now>, \"ableToServe\": <members it can serve>}"));
            return null;
        }

        int? Count(string name)
        {
            if (capacity.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0)
            {
                return count;
            }

            errors.Add(new("capacity." + name, "is required: a whole number, 0 or more"));
            return null;
        }

        var serving = Count("serving");
        var able = Count("ableToServe");
        return serving is null || able is null ? null : new ProviderCapacity(serving.Value, able.Value);
    }

    private static List<string> Strings(JsonElement body, string name, List<ReferralFieldError> errors, bool required)
    {
        if (!body.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(name, "is required: a non-empty array of strings"));
            }

            return [];
        }

        if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String) || (required && list.GetArrayLength() == 0))
        {
            errors.Add(new(name, required ? "must be a non-empty array of strings" : "must be an array of strings"));
            return [];
        }

        return [.. list.EnumerateArray().Select(e => e.GetString()!.Trim())];
    }
}
