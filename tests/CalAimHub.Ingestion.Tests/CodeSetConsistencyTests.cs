using CalAimHub.Domain.Referrals;
using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// Code lists that exist twice: as ingestion data (<c>CodeSets/*.codes.json</c>, what partner files are checked against) and in
/// the Domain (what the referral workflow and its FHIR mapping act on). A status one side accepts and the other does not know
/// would be accepted from a file and then fail (or be dropped) downstream, so the two must list the same codes and names.
/// </summary>
public sealed class CodeSetConsistencyTests
{
    private static CodeSet Set(string name) => FormatCatalog.Default.CodeSets[name];

    [Fact]
    public void The_referral_status_code_set_and_the_domain_statuses_are_the_same_list()
    {
        var codes = Set("referral-status").Codes;

        // Codes: the DHCS text is the code on both sides, in DHCS order.
        Assert.Equal(ReferralStatuses.DhcsNames.Select(n => n.Value), codes.Select(c => c.Code));
        // Display names: a label or alias in the file must name the same status in the Domain.
        Assert.All(codes, c => Assert.All(c.Aliases.Append(c.Label ?? c.Code), name => Assert.Equal(c.Code, ReferralStatuses.Parse(name)?.DhcsName())));
        // Every Domain status has its DHCS name, and the FHIR mapping only names statuses from that list.
        Assert.Equal(Enum.GetValues<ReferralStatus>(), ReferralStatuses.DhcsNames.Select(n => n.Key));
        Assert.All(ReferralStatusMap.Rows.Where(r => r.DhcsStatus is not null), r => Assert.Contains(r.DhcsStatus!.Value.DhcsName(), codes.Select(c => c.Code)));
    }

    [Fact]
    public void The_loop_closure_reason_the_domain_names_is_in_the_code_set()
    {
        // The Domain keeps no list of closure reasons, only the one DHCS confirms (the reason that maps to FHIR 'completed');
        // it must be a code of the set, spelled the same, or a closed loop from a file would never map to 'completed'.
        var codes = Set("referral-loop-closure-reason").Codes.Select(c => c.Code).ToArray();

        Assert.Contains(ReferralStatuses.ServicesReceived, codes);
        Assert.Equal(ReferralStatuses.ServicesReceived, ReferralStatusMap.Rows.Single(r => r.TaskStatus == "completed").ImpliedReason);
    }
}
