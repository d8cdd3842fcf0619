using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// Eligibility against the DHCS criteria only. A request shows eligibility when, for ECM, every criterion of at least
/// one requested Population of Focus is attested, and for CS, every criterion of every requested service is.
/// Not shown is not a denial: the request goes to plan staff with the missing criteria listed.
/// </summary>
public static class Eligibility
{
    public static EligibilityResult Evaluate(AuthorizationRequest request) => Evaluate(request, PopulationsOfFocus.Current, CommunitySupports.Current);

    public static EligibilityResult Evaluate(AuthorizationRequest request, CodeSet<PopulationOfFocus> populations, CodeSet<CommunitySupport> services)
    {
        var attested = request.SupportingFacts.ToHashSet(StringComparer.Ordinal);
        if (request.Service.Program == ServiceProgram.Ecm)
        {
            var entries = request.Service.PopulationsOfFocus.Select(populations.Find).OfType<PopulationOfFocus>().ToList();
            var met = entries.Where(p => p.Criteria.All(c => attested.Contains(c.Code))).Select(p => p.Id).ToList();
            var missing = met.Count > 0
                ? []
                : entries.SelectMany(p => p.Criteria).Select(c => c.Code).Where(c => !attested.Contains(c)).Distinct().ToList();
            return new EligibilityResult(met.Count > 0, met, missing);
        }

        var requested = request.Service.Services.Select(services.Find).OfType<CommunitySupport>().ToList();
        var missingCs = requested.SelectMany(s => s.Criteria).Select(c => c.Code).Where(c => !attested.Contains(c)).Distinct().ToList();
        return new EligibilityResult(missingCs.Count == 0, missingCs.Count == 0 ? requested.Select(s => s.Id).ToList() : [], missingCs);
    }
}

/// <param name="Shown">Every criterion of a requested PoF (ECM) or of all requested services (CS) is attested.</param>
/// <param name="Met">The PoFs or services whose criteria are met.</param>
/// <param name="MissingCriteria">Criterion codes not attested, for plan staff to ask about.</param>
public sealed record EligibilityResult(bool Shown, IReadOnlyList<string> Met, IReadOnlyList<string> MissingCriteria);
