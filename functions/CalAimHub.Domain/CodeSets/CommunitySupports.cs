namespace CalAimHub.Domain.CodeSets;

/// <summary>
/// The Community Supports services (14 pre-approved + Transitional Rent) as versioned data.
/// </summary>
/// <remarks>
/// Source: calaim-standards.md §5.2 (DHCS June 2021 ILOS final requirements as listed by Molina and the Intrepid
/// Ascent deck; Transitional Rent added 1 July 2025, mandatory for plans from 1 Jan 2026). The per-service DHCS
/// eligibility text (CS Policy Guide) was not available as text, so each service has one criterion: the referrer's
/// attestation that the member meets the DHCS CS Policy Guide eligibility for that service. Plans may not add more.
/// </remarks>
public static class CommunitySupports
{
    public const string Source = "DHCS Community Supports Policy Guide service list, as summarized in calaim-standards.md §5.2";

    public const string HousingTransitionNavigation = "housing-transition-navigation";
    public const string HousingDeposits = "housing-deposits";
    public const string HousingTenancySustaining = "housing-tenancy-sustaining";
    public const string ShortTermPostHospitalizationHousing = "short-term-post-hospitalization-housing";
    public const string RecuperativeCare = "recuperative-care";

    /// <summary>The housing trio, which a referrer may request in one joint request.</summary>
    public static readonly IReadOnlyList<string> HousingTrio = [HousingTransitionNavigation, HousingDeposits, HousingTenancySustaining];

    public static readonly CodeSet<CommunitySupport> V2026 = new(
        Name: "community-supports-services",
        Version: "2026-01-01",
        EffectiveFrom: new DateOnly(2026, 1, 1),
        Source: Source,
        Entries:
        [
            Service(HousingTransitionNavigation, 1, "Housing Transition Navigation Services"),
            Service(HousingDeposits, 2, "Housing Deposits"),
            Service(HousingTenancySustaining, 3, "Housing Tenancy and Sustaining Services"),
            Service(ShortTermPostHospitalizationHousing, 4, "Short-Term Post-Hospitalization Housing", hospitalDischarge: true),
            Service(RecuperativeCare, 5, "Recuperative Care (Medical Respite)", hospitalDischarge: true),
            Service("respite-services", 6, "Respite Services"),
            Service("day-habilitation-programs", 7, "Day Habilitation Programs"),
            Service("nursing-facility-transition-to-alf", 8, "Nursing Facility Transition/Diversion to Assisted Living Facilities"),
            Service("community-transition-services", 9, "Community Transition Services / Nursing Facility Transition to a Home"),
            Service("personal-care-and-homemaker", 10, "Personal Care and Homemaker Services"),
            Service("environmental-accessibility-adaptations", 11, "Environmental Accessibility Adaptations (Home Modifications)"),
            Service("medically-tailored-meals", 12, "Medically Tailored Meals / Medically Supportive Food"),
            Service("sobering-centers", 13, "Sobering Centers"),
            Service("asthma-remediation", 14, "Asthma Remediation"),
            Service("transitional-rent", 15, "Transitional Rent"),
        ]);

    public static CodeSet<CommunitySupport> Current => V2026;

    /// <summary>Whether these services may be requested together in one authorization (only the housing trio).</summary>
    public static bool IsJointRequest(IReadOnlyCollection<string> services) =>
        services.Count == HousingTrio.Count && HousingTrio.All(services.Contains);

    public static string EligibilityCriterionCode(string serviceId) => serviceId + ".meets-dhcs-criteria";

    private static CommunitySupport Service(string id, int number, string name, bool hospitalDischarge = false) =>
        new(id, number, name, [new Criterion(EligibilityCriterionCode(id), $"Meets the DHCS Community Supports Policy Guide eligibility for {name}")], hospitalDischarge);
}

/// <param name="HospitalDischarge">Typically requested at hospital discharge, where the expedited 72-hour clock applies.</param>
public sealed record CommunitySupport(string Id, int Number, string Name, IReadOnlyList<Criterion> Criteria, bool HospitalDischarge) : ICodeSetEntry;
