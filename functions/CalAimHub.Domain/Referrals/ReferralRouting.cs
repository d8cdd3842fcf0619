namespace CalAimHub.Domain.Referrals;

/// <summary>
/// The routing choice as a pure function of the provider directory: which receiving providers, in which order, a
/// referral is offered to. Only providers that deliver the service, serve the member's county (when known) and have
/// capacity left are candidates. For ECM, providers specializing in more of the referral's Populations of Focus come
/// first; then the most available capacity; then the NPI (so equal inputs always give the same order).
/// </summary>
public static class ReferralRouting
{
    /// <param name="preferredNpi">A provider the referring platform already chose: offered first when it is a candidate.</param>
    /// <param name="maxCandidates">The list is cut here so the stored state stays small.</param>
    public static IReadOnlyList<RoutingCandidate> Rank(
        IEnumerable<ProviderDirectoryEntry> directory, ReferralService service, string? county, string? preferredNpi = null, int maxCandidates = 10)
    {
        var canonicalCounty = county is null ? null : CaliforniaCounties.Find(county) ?? county;
        var ranked = directory
            .Where(p => p.Services.Contains(service.Code, StringComparer.Ordinal))
            .Where(p => canonicalCounty is null || p.Counties.Contains(canonicalCounty, StringComparer.OrdinalIgnoreCase))
            .Where(p => p.Capacity.Available > 0)
            .GroupBy(p => p.Npi, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderByDescending(p => p.Npi == preferredNpi)
            .ThenByDescending(p => service.IsEcm ? service.PopulationsOfFocus.Count(p.PopulationsOfFocus.Contains) : 0)
            .ThenByDescending(p => p.Capacity.Available)
            .ThenBy(p => p.Npi, StringComparer.Ordinal)
            .Take(maxCandidates)
            .Select(p => new RoutingCandidate(p.Npi, p.Name));
        return [.. ranked];
    }
}

/// <summary>A receiving provider the referral may be offered to: its NPI and directory name (an organization, not member data; null when unlisted).</summary>
public sealed record RoutingCandidate(string Npi, string? Name);
