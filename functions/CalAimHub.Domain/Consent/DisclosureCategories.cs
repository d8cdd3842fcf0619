using System.Collections.Frozen;

namespace CalAimHub.Domain.Consent;

/// <summary>A category of member information a consent can share or withhold.</summary>
/// <param name="Id">Stable id used in consents, decisions and the disclosure log (e.g. <c>contact</c>).</param>
/// <param name="ConsentControlled">False for the minimum an assignment cannot go without (who the member is, what is
/// authorized): plan operations and payment, sent whatever the consent says. A consent naming such a category is refused.</param>
/// <param name="SharedWithoutConsent">The hub baseline when no consent is in force: HIPAA treatment/payment/operations
/// sharing needs no consent (DSAG), so every category is shared except 42 CFR Part 2 ones.</param>
/// <param name="Part2">42 CFR Part 2 information: shared only under a Part 2 consent naming the recipient or "any".</param>
public sealed record DisclosureCategory(string Id, string Title, bool ConsentControlled, bool SharedWithoutConsent, bool Part2);

/// <summary>
/// The disclosure categories and which outbound column belongs to which, as data. The DHCS/ASCMI category list was not
/// found (calaim-2026-update.md §7, calaim-standards.md §8 "NOT FOUND"), so this is the hub's own baseline; the columns
/// are those of the MIF/RTF/CS-file layouts in calaim-standards.md §1.2–1.4 and calaim-2026-update.md §1.1–1.3, plus the
/// hub's own MIF needs columns (the DHCS MIF field list was not found either).
/// </summary>
public sealed class DisclosureCategories
{
    public const string Source = "hub baseline — DHCS category list not found (calaim-2026-update.md §7, calaim-standards.md §8); columns from calaim-standards.md §1.2–1.4 and calaim-2026-update.md §1.1–1.3";

    public const string Identity = "identity";
    public const string Authorization = "authorization";
    public const string Contact = "contact";
    public const string Demographics = "demographics";
    public const string Housing = "housing";
    public const string Utilization = "utilization";
    public const string Needs = "needs";
    public const string Referral = "referral";
    public const string BehavioralHealth = "behavioral-health";
    public const string SubstanceUseDisorder = "substance-use-disorder";

    /// <summary>The value of a Part 2 recipient list that means every recipient.</summary>
    public const string AnyRecipient = "any";

    public static DisclosureCategories Current { get; } = new(
        version: "hub-2026-12",
        categories:
        [
            new(Identity, "Who the member is (CIN, MRN, name, date of birth)", ConsentControlled: false, SharedWithoutConsent: true, Part2: false),
            new(Authorization, "The assignment and its authorization (numbers, dates, ECM status, provider)", ConsentControlled: false, SharedWithoutConsent: true, Part2: false),
            new(Contact, "How to reach the member and their alternate contact", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(Demographics, "Gender, language, county, Medicare enrollment", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(Housing, "Homelessness and housing status (social services)", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(Utilization, "Care management activity, assessments, encounters, acuity, discontinuation", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(Needs, "Populations of Focus and physical health or social needs", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(Referral, "Who referred the member and the referral's status", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(BehavioralHealth, "Mental health needs and services", ConsentControlled: true, SharedWithoutConsent: true, Part2: false),
            new(SubstanceUseDisorder, "Substance use disorder information from a Part 2 program (42 CFR Part 2)", ConsentControlled: true, SharedWithoutConsent: false, Part2: true),
        ],
        columns: new Dictionary<string, string>
        {
            // identity
            ["Member Client Index Number (CIN)"] = Identity,
            ["Member Client Index Number"] = Identity,
            ["Medi-Cal Member Client Index Number (CIN)"] = Identity,
            ["CIN"] = Identity,
            ["Medical Record Number (MRN)"] = Identity,
            ["Member ID"] = Identity,
            ["Client_ID2"] = Identity,
            ["Member First Name"] = Identity,
            ["Member Last Name"] = Identity,
            ["Client Name"] = Identity,
            ["Member Date of Birth"] = Identity,
            ["Age Group"] = Identity,
            ["Primary Payer (MCP) Identifier"] = Identity,
            ["MCP Name"] = Identity,
            // authorization: the assignment itself
            ["Authorization Number"] = Authorization,
            ["Authorization Start Date"] = Authorization,
            ["Authorization End Date"] = Authorization,
            ["ECM Service Authorization ID"] = Authorization,
            ["ECM Benefit Start Date"] = Authorization,
            ["ECM Benefit End Date"] = Authorization,
            ["ECM Enrollment Start Date"] = Authorization,
            ["ECM Enrollment End Date"] = Authorization,
            ["Member ECM Status"] = Authorization,
            ["Member Record Status"] = Authorization,
            ["Community Support Service"] = Authorization,
            ["Date Received Request for Authorization"] = Authorization,
            ["Date of Referral Authorization Decision"] = Authorization,
            ["Reauthorization Request"] = Authorization,
            ["ECM Provider Name"] = Authorization,
            ["ECM Provider NPI"] = Authorization,
            ["ECM Provider TIN"] = Authorization,
            ["ECM Provider Phone Number"] = Authorization,
            ["Provider ID"] = Authorization,
            ["Provider Type"] = Authorization,
            ["Member Information File Reporting Period"] = Authorization,
            ["Member Information File Production Date"] = Authorization,
            ["Member Information Return Transmission File Production Date"] = Authorization,
            ["Member Information RTF Production Date"] = Authorization,
            ["Member Information RTF Reporting Period"] = Authorization,
            ["Community Supports Provider RTF Production Date"] = Authorization,
            ["Community Supports Provider RTF Reporting Period"] = Authorization,
            // contact
            ["Member Residential Address"] = Contact,
            ["Member Residential City"] = Contact,
            ["Member Residential State"] = Contact,
            ["Member Residential Zip"] = Contact,
            ["Member Residential Zip Code"] = Contact,
            ["Member Mailing Address"] = Contact,
            ["Member Mailing City"] = Contact,
            ["Member Mailing State"] = Contact,
            ["Member Mailing Zip Code"] = Contact,
            ["Member Phone Number"] = Contact,
            ["Primary Phone Number"] = Contact,
            ["Home Phone Number"] = Contact,
            ["Member Email Address"] = Contact,
            ["Member New Address Indicator"] = Contact,
            ["Member New Phone Number Indicator"] = Contact,
            ["Emergency/Alternate Contact Name"] = Contact,
            ["Emergency/Alternate Contact Relation"] = Contact,
            ["Emergency/Alternate Contact Phone Number"] = Contact,
            ["Emergency/Alternate Contact Email Address"] = Contact,
            // demographics
            ["Member Gender Code"] = Demographics,
            ["Member Preferred Language (Spoken)"] = Demographics,
            ["Member Preferred Language (Written)"] = Demographics,
            ["Medi-Cal Coverage County"] = Demographics,
            ["Member Dually Enrolled in Medicare"] = Demographics,
            // housing (social services)
            ["Member Homelessness Indicator"] = Housing,
            ["Has Member Been Housed"] = Housing,
            ["Housing Type"] = Housing,
            ["Date Housed"] = Housing,
            // utilization: care management activity and the use of services
            ["Member Acuity Level"] = Utilization,
            ["Acuity Level"] = Utilization,
            ["Status of Member Engagement"] = Utilization,
            ["Date of Latest Care Plan Revision"] = Utilization,
            ["Date of Most Recent Care Conference"] = Utilization,
            ["Date Assessment Started"] = Utilization,
            ["Date of Most Recent Completed Assessment"] = Utilization,
            ["Date of Most Recent Encounter with Member"] = Utilization,
            ["ECM Lead Care Manager Name"] = Utilization,
            ["ECM Lead Care Manager Phone Number"] = Utilization,
            ["ECM Lead Care Manager Email"] = Utilization,
            ["Discontinuation Date"] = Utilization,
            ["Recommendation for Discontinuation Date"] = Utilization,
            ["Discontinuation Reason Code"] = Utilization,
            ["Discontinuation Reason"] = Utilization,
            ["In Person"] = Utilization,
            ["Telephonic/Video"] = Utilization,
            ["Date of Outreach Attempt"] = Utilization,
            ["Outreach Attempt Method"] = Utilization,
            ["Outreach Attempt Successful"] = Utilization,
            ["Contact Reason"] = Utilization,
            ["Contact Outcome"] = Utilization,
            ["Time Spent Performing Outreach"] = Utilization,
            ["Emergency Department Visits (12 Months)"] = Utilization,
            ["Inpatient Admissions (12 Months)"] = Utilization,
            // needs: Populations of Focus and physical health / social needs
            ["Member POF Indicator"] = Needs,
            ["Member POF"] = Needs,
            ["Population of Focus"] = Needs,
            ["Individuals Experiencing Homelessness"] = Needs,
            ["Individuals at Risk for Avoidable Hospital or ED Utilization"] = Needs,
            ["Individuals Transitioning from Incarceration"] = Needs,
            ["Birth Equity Population of Focus"] = Needs,
            ["Adults Living in the Community and at Risk for LTC Institutionalization"] = Needs,
            ["Adult Nursing Facility Residents Transitioning to the Community"] = Needs,
            ["Children and Youth Enrolled in CCS or CCS WCM with Additional Needs Beyond the CCS Condition"] = Needs,
            ["Children and Youth Involved in Child Welfare"] = Needs,
            ["Medical Needs"] = Needs,
            ["Social Needs"] = Needs,
            // referral
            ["Referring Organization"] = Referral,
            ["Referring Individual Name"] = Referral,
            ["Referring Individual Phone Number"] = Referral,
            ["Referring Individual Email Address"] = Referral,
            ["Referral ID"] = Referral,
            ["Referral Status"] = Referral,
            ["Date of Referral Status Update"] = Referral,
            ["Reason for Referral Loop Closure"] = Referral,
            // behavioral health (a PoF that says "mental health and/or SUD needs" is a plan-side flag, not a Part 2 record)
            ["Individuals with Serious Mental Health and/or SUD Needs"] = BehavioralHealth,
            ["Behavioral Health Needs"] = BehavioralHealth,
            ["Specialty Mental Health Services Indicator"] = BehavioralHealth,
            // 42 CFR Part 2: information that comes from a Part 2 program
            ["Substance Use Disorder Needs"] = SubstanceUseDisorder,
            ["SUD Treatment Program Indicator"] = SubstanceUseDisorder,
            ["SUD Treatment Provider"] = SubstanceUseDisorder,
        });

    private readonly FrozenDictionary<string, DisclosureCategory> byId;
    private readonly FrozenDictionary<string, string> categoryByColumn;

    public DisclosureCategories(string version, IReadOnlyList<DisclosureCategory> categories, IReadOnlyDictionary<string, string> columns)
    {
        Version = version;
        All = categories;
        byId = categories.ToFrozenDictionary(category => category.Id, StringComparer.Ordinal);
        var normalized = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (column, category) in columns)
        {
            if (!byId.ContainsKey(category))
            {
                throw new ArgumentException($"Column '{column}' names category '{category}', which is not in the list", nameof(columns));
            }

            if (!normalized.TryAdd(Normalize(column), category))
            {
                throw new ArgumentException($"Column '{column}' is listed twice (headers compare without case, spaces or punctuation)", nameof(columns));
            }
        }

        categoryByColumn = normalized.ToFrozenDictionary(StringComparer.Ordinal);
        Columns = columns;
    }

    public string Version { get; }

    public IReadOnlyList<DisclosureCategory> All { get; }

    /// <summary>Every column name this table classifies, as written (header aliases of the same column included).</summary>
    public IReadOnlyDictionary<string, string> Columns { get; }

    public bool IsCategory(string id) => byId.ContainsKey(id);

    public DisclosureCategory this[string id] => byId.TryGetValue(id, out var category)
        ? category
        : throw new KeyNotFoundException($"'{id}' is not a disclosure category ({string.Join(", ", byId.Keys)})");

    /// <summary>
    /// The category of an outbound column, by its header. Headers compare ignoring case, spaces and punctuation, since
    /// plans spell them differently ("Emergency/ Alternate Contact Name"). A column that is not classified is an error:
    /// a file must not carry member data the consent gate cannot decide on.
    /// </summary>
    public string CategoryOf(string columnName) => TryCategoryOf(columnName, out var category)
        ? category
        : throw new KeyNotFoundException($"Outbound column '{columnName}' has no disclosure category; add it to {nameof(DisclosureCategories)} before sending it");

    public bool TryCategoryOf(string columnName, out string category) =>
        categoryByColumn.TryGetValue(Normalize(columnName), out category!);

    private static string Normalize(string header) =>
        string.Concat(header.Where(char.IsLetterOrDigit)).ToLowerInvariant();
}
