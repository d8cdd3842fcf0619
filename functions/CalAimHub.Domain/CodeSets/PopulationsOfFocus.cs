namespace CalAimHub.Domain.CodeSets;

/// <summary>
/// ECM Populations of Focus as versioned data, each with the eligibility criteria a referral must attest to.
/// The criteria are the DHCS ones only: a plan may not add criteria beyond DHCS, so plan configuration has no way to
/// extend this list (see <see cref="Authorizations.AuthorizationPolicy"/>).
/// </summary>
/// <remarks>
/// Source: research notes <c>calaim-standards.md</c> §5.1 (CCHP "nine Populations of Focus", L.A. Care eligibility
/// page for the homelessness criteria, Health Net 1a/1b numbering, HPSJ phase-in). Thresholds for avoidable
/// utilization and the Birth Equity criteria text were not found in public sources ([U]); their criteria are stated
/// as the referrer's attestation that the DHCS definition is met, not as invented numbers.
/// </remarks>
public static class PopulationsOfFocus
{
    public const string Source = "DHCS ECM Policy Guide Populations of Focus, as summarized in calaim-standards.md §5.1 (CCHP, L.A. Care, Health Net, HPSJ pages)";

    public const string JusticeInvolved = "justice-involved";

    /// <summary>The nine PoFs after Birth Equity went live (1 Jan 2024) and I/DD was folded into PoF 3.</summary>
    public static readonly CodeSet<PopulationOfFocus> V2024 = new(
        Name: "ecm-populations-of-focus",
        Version: "2024-01-01",
        EffectiveFrom: new DateOnly(2024, 1, 1),
        Source: Source,
        Entries:
        [
            new("experiencing-homelessness-adults", "1a", "Adults without dependent children experiencing homelessness",
                [Criteria.ExperiencingHomelessness, Criteria.ComplexNeed], Presumptive.WhenTrustedProvider),
            new("experiencing-homelessness-families", "1b", "Homeless families and unaccompanied children and youth experiencing homelessness",
                [Criteria.ExperiencingHomelessness, Criteria.FamilyOrUnaccompaniedYouth], Presumptive.WhenTrustedProvider),
            new("avoidable-hospital-ed-utilization", "2", "Individuals at risk for avoidable hospital or ED utilization",
                [Criteria.AvoidableUtilization], Presumptive.WhenTrustedProvider),
            new("serious-mental-health-sud", "3", "Individuals with serious mental health and/or SUD needs",
                [Criteria.SeriousMentalHealthOrSud], Presumptive.WhenTrustedProvider),
            new(JusticeInvolved, "4", "Individuals transitioning from incarceration",
                [Criteria.TransitioningFromIncarceration], Presumptive.Always),
            new("at-risk-ltc-institutionalization", "5", "Adults living in the community and at risk for LTC institutionalization",
                [Criteria.AtRiskLtcInstitutionalization], Presumptive.WhenTrustedProvider),
            new("nursing-facility-transition", "6", "Adult nursing facility residents transitioning to the community",
                [Criteria.NursingFacilityTransition], Presumptive.WhenTrustedProvider),
            new("ccs-additional-needs", "7", "Children and youth enrolled in CCS or CCS WCM with additional needs beyond the CCS condition",
                [Criteria.CcsAdditionalNeeds], Presumptive.WhenTrustedProvider),
            new("child-welfare", "8", "Children and youth involved in child welfare",
                [Criteria.ChildWelfare], Presumptive.WhenTrustedProvider),
            new("birth-equity", "9", "Birth Equity Population of Focus",
                [Criteria.BirthEquity], Presumptive.WhenTrustedProvider),
        ]);

    public static CodeSet<PopulationOfFocus> Current => V2024;

    /// <summary>Eligibility facts a referral attests to (field <c>supportingFacts</c>), one code each.</summary>
    public static class Criteria
    {
        public static readonly Criterion ExperiencingHomelessness = new("experiencing-homelessness",
            "Experiencing homelessness under the modified HUD definition (no fixed nighttime residence, shelter or motel programs, exiting an institution into homelessness, losing housing within 30 days, fleeing domestic violence)");
        public static readonly Criterion ComplexNeed = new("complex-need-unable-to-self-manage",
            "At least one complex physical, behavioral or developmental health need with inability to successfully self-manage");
        public static readonly Criterion FamilyOrUnaccompaniedYouth = new("family-or-unaccompanied-youth",
            "A family with children, or an unaccompanied child or youth");
        public static readonly Criterion AvoidableUtilization = new("avoidable-utilization",
            "Meets the DHCS avoidable hospital or emergency department utilization definition");
        public static readonly Criterion SeriousMentalHealthOrSud = new("serious-mental-health-or-sud-need",
            "Serious mental health and/or substance use disorder needs under the DHCS definition");
        public static readonly Criterion TransitioningFromIncarceration = new("transitioning-from-incarceration",
            "Transitioning from a correctional facility (or released) under the DHCS Justice-Involved definition");
        public static readonly Criterion AtRiskLtcInstitutionalization = new("at-risk-ltc-institutionalization",
            "Living in the community and at risk for long-term care institutionalization under the DHCS definition");
        public static readonly Criterion NursingFacilityTransition = new("nursing-facility-resident-transitioning",
            "Nursing facility resident interested in and able to transition to the community");
        public static readonly Criterion CcsAdditionalNeeds = new("ccs-with-additional-needs",
            "Enrolled in CCS or CCS WCM with needs beyond the CCS-eligible condition");
        public static readonly Criterion ChildWelfare = new("child-welfare-involved",
            "Involved in child welfare under the DHCS definition");
        public static readonly Criterion BirthEquity = new("birth-equity-population",
            "Meets the DHCS Birth Equity Population of Focus definition");
    }
}

/// <param name="Id">Stable code used in requests and stored state.</param>
/// <param name="DhcsNumber">The PoF number plans report (1a, 1b, 2 … 9).</param>
public sealed record PopulationOfFocus(string Id, string DhcsNumber, string Name, IReadOnlyList<Criterion> Criteria, Presumptive Presumptive)
    : ICodeSetEntry;

/// <summary>One eligibility fact: every criterion of a PoF or CS service must be attested for eligibility to be shown.</summary>
public sealed record Criterion(string Code, string Text);

/// <summary>When a request may be authorized presumptively, without waiting for plan review.</summary>
public enum Presumptive
{
    /// <summary>Only when the requesting provider is configured as trusted.</summary>
    WhenTrustedProvider,

    /// <summary>Always (Justice-Involved ECM, issue 4 and architecture §4).</summary>
    Always,

    /// <summary>Never; plan staff review every request.</summary>
    Never,
}

public interface ICodeSetEntry
{
    string Id { get; }

    IReadOnlyList<Criterion> Criteria { get; }
}

/// <summary>A versioned code set: every entry carries where it came from and since when it applies.</summary>
public sealed record CodeSet<T>(string Name, string Version, DateOnly EffectiveFrom, string Source, IReadOnlyList<T> Entries)
    where T : ICodeSetEntry
{
    public T? Find(string id) => Entries.FirstOrDefault(e => string.Equals(e.Id, id, StringComparison.Ordinal));

    public IEnumerable<string> Ids => Entries.Select(e => e.Id);
}
