using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// Everything the authorization workflow decides with, besides the request: the rules (data, versioned) and the
/// plan's own configuration. Deliberately, a plan can name trusted providers, notice subscribers and reminder lead
/// times, but has no way to add eligibility criteria: DHCS does not allow plans to add criteria beyond its own.
/// </summary>
/// <param name="TrustedProviderNpis">Providers whose eligible requests are authorized presumptively.</param>
/// <param name="Subscribers">Notification subscribers that receive every authorization CloudEvent.</param>
public sealed record AuthorizationPolicy(
    AuthorizationDeadline Deadlines,
    AuthorizationPeriods Periods,
    CaliforniaWorkingDays Calendar,
    CodeSet<PopulationOfFocus> PopulationsOfFocus,
    CodeSet<CommunitySupport> CommunitySupports,
    IReadOnlySet<string> TrustedProviderNpis,
    IReadOnlyList<string> Subscribers)
{
    public static AuthorizationPolicy Default(IReadOnlySet<string>? trustedProviderNpis = null, IReadOnlyList<string>? subscribers = null) => new(
        AuthorizationDeadline.Current,
        AuthorizationPeriods.Current,
        CaliforniaWorkingDays.Current,
        CodeSets.PopulationsOfFocus.Current,
        CodeSets.CommunitySupports.Current,
        trustedProviderNpis ?? new HashSet<string>(),
        subscribers ?? ["authorizations"]);

    /// <summary>Why a request is authorized presumptively, or null when plan staff must review it.</summary>
    public string? PresumptiveBasis(AuthorizationRequest request, EligibilityResult eligibility)
    {
        if (!eligibility.Shown)
        {
            return null;
        }

        if (request.Service.Program == ServiceProgram.Ecm)
        {
            var met = eligibility.Met.Select(PopulationsOfFocus.Find).OfType<PopulationOfFocus>().ToList();
            if (met.Any(p => p.Presumptive == Presumptive.Always))
            {
                return "justice-involved-population-of-focus";
            }

            return TrustedProviderNpis.Contains(request.RequestingProviderNpi) && met.Any(p => p.Presumptive == Presumptive.WhenTrustedProvider)
                ? "trusted-provider"
                : null;
        }

        return TrustedProviderNpis.Contains(request.RequestingProviderNpi) ? "trusted-provider" : null;
    }
}
