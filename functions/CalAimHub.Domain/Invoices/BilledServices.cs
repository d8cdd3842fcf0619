using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Invoices;

/// <summary>
/// Which authorization a billed service needs: the service of the DHCS HCPCS table (code + modifiers, named by its
/// short service name) mapped to the authorization service key ("ecm" or a Community Supports id), and the units one
/// line may bill where a plan's authorization template states them.
/// </summary>
/// <remarks>
/// Source: calaim-standards.md §4 (DHCS ECM/CS HCPCS Coding Guidance v1.3 as reconstructed from a plan's code). Outreach
/// encounters (G9012-U8, T1016-U8) precede any authorization, so they need none. Units: only the Transitional Rent
/// authorization templates are known (§4.2: H0040-U1 1 unit, H0040-U2 6, H0043-U2 168, H0044-U6 6); unit definitions
/// for the other codes were not found, so their lines are not limited here.
/// </remarks>
public static class BilledServices
{
    public const string Source = "calaim-standards.md §4.1, §4.2 (DHCS ECM/CS HCPCS Coding Guidance v1.3, Jan 2026; Transitional Rent authorization units)";

    private static readonly Dictionary<string, string?> ServiceKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ECM"] = RequestedService.EcmKey,
        ["ECM outreach"] = null,
        ["HTNS/HD/HTSS outreach"] = null,
        ["HTNS"] = CommunitySupports.HousingTransitionNavigation,
        ["HD"] = CommunitySupports.HousingDeposits,
        ["HTSS"] = CommunitySupports.HousingTenancySustaining,
        ["STPHH"] = CommunitySupports.ShortTermPostHospitalizationHousing,
        ["RC"] = CommunitySupports.RecuperativeCare,
        ["RS"] = "respite-services",
        ["DHP"] = "day-habilitation-programs",
        ["NFTD"] = "nursing-facility-transition-to-alf",
        ["CTS"] = "community-transition-services",
        ["PCHS"] = "personal-care-and-homemaker",
        ["EAA"] = "environmental-accessibility-adaptations",
        ["MTM"] = "medically-tailored-meals",
        ["SC"] = "sobering-centers",
        ["AR"] = "asthma-remediation",
        ["TR"] = "transitional-rent",
    };

    private static readonly Dictionary<string, decimal> AuthorizedUnits = new(StringComparer.OrdinalIgnoreCase)
    {
        ["H0040-U1"] = 1m,
        ["H0040-U2"] = 6m,
        ["H0043-U2"] = 168m,
        ["H0044-U6"] = 6m,
    };

    /// <summary>The authorization service key a billed service needs; null when it needs none; false when the service is unknown.</summary>
    public static bool TryServiceKey(string service, out string? serviceKey) => ServiceKeys.TryGetValue(service, out serviceKey);

    /// <summary>The most units one authorization allows for a code and its defining modifier, when known.</summary>
    public static decimal? UnitsAuthorized(string code, IEnumerable<string> modifiers) => UnitLimit(code, modifiers)?.Units;

    /// <summary>The code-modifier whose units an authorization limits (e.g. H0043-U2) and the limit, when known.</summary>
    public static (string Service, decimal Units)? UnitLimit(string code, IEnumerable<string> modifiers) =>
        modifiers.Select(m => $"{code}-{m}".ToUpperInvariant()).FirstOrDefault(AuthorizedUnits.ContainsKey) is { } service ? (service, AuthorizedUnits[service]) : null;

    /// <summary>
    /// A line's units against what its authorization has left across the lines already paid on it (a running total): null
    /// when they fit; otherwise the contest, naming the units that remain.
    /// </summary>
    public static ContestReason? UnitsBeyondAuthorization(string authorizationId, string service, decimal authorized, decimal alreadyPaid, decimal billed)
    {
        var remaining = Math.Max(0m, authorized - alreadyPaid);
        return billed <= remaining
            ? null
            : new(ContestReasons.UnitsExceedAuthorization,
                $"an authorization for {billed} units of {service}: authorization {authorizationId} allows {authorized}, {alreadyPaid} are already paid, {remaining} remain");
    }
}
