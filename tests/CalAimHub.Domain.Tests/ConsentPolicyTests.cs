using CalAimHub.Domain.Consent;
using static CalAimHub.Domain.Consent.DisclosureCategories;

namespace CalAimHub.Domain.Tests;

/// <summary>Given the consents on file, when a file for a recipient is decided on a day, then these categories go out.</summary>
public class ConsentPolicyTests
{
    private const string Cin = "91234567A";
    private const string Provider = "prov-ecm-1";
    private static readonly DateOnly Day = new(2026, 12, 1);
    private static readonly string[] Asked = [Identity, Authorization, Contact, Utilization, BehavioralHealth, SubstanceUseDisorder];

    private static MemberConsent Grant(string id, DateOnly effective, DateOnly? expires = null, Dictionary<string, ConsentChoice>? choices = null,
        string[]? part2 = null, string[]? recipients = null, ConsentKind kind = ConsentKind.Grant) =>
        new(id, Cin, kind, "ascmi-ab133-2024", $"docs/{id}.pdf", effective, expires, choices ?? [], part2 ?? [], recipients ?? [AnyRecipient],
            new DateTimeOffset(effective.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));

    private static ConsentDecision Decide(params MemberConsent[] consents) => ConsentPolicy.Decide(Cin, consents, Provider, Asked, Day);

    [Fact]
    public void No_consent_on_file_shares_everything_under_HIPAA_TPO_but_withholds_Part_2()
    {
        var decision = Decide();

        Assert.Equal([Authorization, BehavioralHealth, Contact, Identity, Utilization], decision.Shared.Order(StringComparer.Ordinal));
        Assert.Equal([SubstanceUseDisorder], decision.Withheld);
        Assert.Null(decision.ConsentId);
    }

    [Fact]
    public void A_share_choice_shares_and_a_do_not_share_choice_withholds_that_category_only()
    {
        var decision = Decide(Grant("c1", Day.AddDays(-10), choices: new() { [Contact] = ConsentChoice.Share, [BehavioralHealth] = ConsentChoice.DoNotShare }));

        Assert.Equal([BehavioralHealth, SubstanceUseDisorder], decision.Withheld.Order(StringComparer.Ordinal));
        Assert.Contains(Contact, decision.Shared);
        Assert.Contains(Utilization, decision.Shared); // not named: the baseline
        Assert.Equal("c1", decision.ConsentId);
    }

    [Fact]
    public void Identity_and_authorization_go_out_whatever_the_consent_says()
    {
        var decision = Decide(Grant("r1", Day.AddDays(-1), kind: ConsentKind.Revocation));

        Assert.Equal([Authorization, Identity], decision.Shared.Order(StringComparer.Ordinal));
        Assert.Equal(Asked.Length, decision.Shared.Count + decision.Withheld.Count);
    }

    [Fact]
    public void An_expired_consent_falls_back_to_the_baseline()
    {
        var decision = Decide(Grant("c1", Day.AddYears(-1), expires: Day.AddDays(-1), choices: new() { [Contact] = ConsentChoice.DoNotShare },
            part2: [AnyRecipient]));

        Assert.Contains(Contact, decision.Shared);
        Assert.Contains(SubstanceUseDisorder, decision.Withheld);
        Assert.Null(decision.ConsentId);
    }

    [Fact]
    public void A_consent_still_applies_on_its_expiry_day()
    {
        var decision = Decide(Grant("c1", Day.AddYears(-1), expires: Day, choices: new() { [Contact] = ConsentChoice.DoNotShare }));

        Assert.Contains(Contact, decision.Withheld);
        Assert.Equal("c1", decision.ConsentId);
    }

    [Fact]
    public void A_revocation_withholds_every_consent_controlled_category_from_its_effective_day_not_before()
    {
        var grant = Grant("c1", Day.AddDays(-30), part2: [AnyRecipient]);
        var revocation = Grant("r1", Day, kind: ConsentKind.Revocation);

        var before = ConsentPolicy.Decide(Cin, [grant, revocation], Provider, Asked, Day.AddDays(-1));
        var from = ConsentPolicy.Decide(Cin, [grant, revocation], Provider, Asked, Day);

        Assert.Empty(before.Withheld);
        Assert.Equal("c1", before.ConsentId);
        Assert.Equal([BehavioralHealth, Contact, SubstanceUseDisorder, Utilization], from.Withheld.Order(StringComparer.Ordinal));
        Assert.Equal("r1", from.ConsentId);
    }

    [Fact]
    public void A_newer_consent_after_a_revocation_applies_again()
    {
        var decision = Decide(Grant("r1", Day.AddDays(-20), kind: ConsentKind.Revocation), Grant("c2", Day.AddDays(-5)));

        Assert.Equal([SubstanceUseDisorder], decision.Withheld);
        Assert.Equal("c2", decision.ConsentId);
    }

    [Fact]
    public void Part_2_information_is_shared_with_a_named_recipient()
    {
        var decision = Decide(Grant("c1", Day.AddDays(-3), part2: [Provider]));

        Assert.Contains(SubstanceUseDisorder, decision.Shared);
        Assert.Empty(decision.Withheld);
    }

    [Fact]
    public void Part_2_information_is_shared_with_any_recipient_when_the_consent_says_any()
    {
        Assert.Contains(SubstanceUseDisorder, Decide(Grant("c1", Day.AddDays(-3), part2: [AnyRecipient])).Shared);
    }

    [Fact]
    public void Part_2_information_is_withheld_from_a_recipient_the_Part_2_consent_does_not_name()
    {
        var decision = Decide(Grant("c1", Day.AddDays(-3), part2: ["prov-other"]));

        Assert.Equal([SubstanceUseDisorder], decision.Withheld);
    }

    [Fact]
    public void Part_2_is_withheld_when_the_member_chose_do_not_share_for_it_even_with_a_named_recipient()
    {
        var decision = Decide(Grant("c1", Day.AddDays(-3), part2: [Provider], choices: new() { [SubstanceUseDisorder] = ConsentChoice.DoNotShare }));

        Assert.Contains(SubstanceUseDisorder, decision.Withheld);
    }

    [Fact]
    public void A_consent_scoped_to_other_recipients_does_not_decide_for_this_one()
    {
        var decision = Decide(Grant("c1", Day.AddDays(-3), choices: new() { [Contact] = ConsentChoice.DoNotShare }, recipients: ["prov-other"]));

        Assert.Contains(Contact, decision.Shared);
        Assert.Null(decision.ConsentId);
    }

    [Fact]
    public void A_consent_not_yet_effective_does_not_decide()
    {
        var decision = Decide(Grant("c1", Day.AddDays(1), choices: new() { [Contact] = ConsentChoice.DoNotShare }));

        Assert.Contains(Contact, decision.Shared);
    }

    [Fact]
    public void An_unknown_category_is_an_error_not_a_silent_share()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => ConsentPolicy.Decide(Cin, [], Provider, ["genetics"], Day));
        Assert.StartsWith("'genetics' is not a disclosure category", error.Message, StringComparison.Ordinal);
    }
}

public class DisclosureCategoriesTests
{
    [Theory]
    [InlineData("Member Client Index Number (CIN)", Identity)]
    [InlineData("member residential zip code", Contact)]
    [InlineData("Emergency/ Alternate Contact Name", Contact)]
    [InlineData("Authorization Number", Authorization)]
    [InlineData("Member Acuity Level", Utilization)]
    [InlineData("Individuals with Serious Mental Health and/or SUD Needs", BehavioralHealth)]
    [InlineData("Substance Use Disorder Needs", SubstanceUseDisorder)]
    [InlineData("Referral Status", Referral)]
    public void A_column_maps_to_its_category_whatever_the_spelling_of_case_and_spaces(string column, string category) =>
        Assert.Equal(category, Current.CategoryOf(column));

    [Fact]
    public void An_unclassified_column_is_refused_so_no_file_carries_data_the_gate_cannot_decide()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => Current.CategoryOf("Favourite Colour"));
        Assert.Equal("Outbound column 'Favourite Colour' has no disclosure category; add it to DisclosureCategories before sending it", error.Message);
    }

    [Fact]
    public void Only_substance_use_disorder_is_Part_2_and_only_it_is_withheld_without_consent()
    {
        Assert.Equal([SubstanceUseDisorder], Current.All.Where(c => c.Part2).Select(c => c.Id));
        Assert.Equal([SubstanceUseDisorder], Current.All.Where(c => !c.SharedWithoutConsent).Select(c => c.Id));
        Assert.StartsWith("hub baseline — DHCS category list not found", Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_RTF_column_of_the_ingestion_schemas_has_a_category()
    {
        var schemas = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "functions", "CalAimHub.Ingestion", "Schemas");
        var unclassified = new List<string>();
        foreach (var name in new[] { "rtf-a", "rtf-b", "otf" })
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(schemas, $"{name}.schema.json")));
            foreach (var column in document.RootElement.GetProperty("columns").EnumerateArray())
            {
                var header = column.GetProperty("name").GetString()!;
                if (!Current.TryCategoryOf(header, out _))
                {
                    unclassified.Add($"{name}: {header}");
                }
            }
        }

        Assert.Empty(unclassified);
    }
}
