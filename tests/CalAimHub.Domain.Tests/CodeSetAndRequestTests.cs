using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Tests;

public class CodeSetTests
{
    [Fact]
    public void Populations_of_focus_are_the_nine_DHCS_populations_with_1a_and_1b_and_a_source()
    {
        Assert.Equal(["1a", "1b", "2", "3", "4", "5", "6", "7", "8", "9"], PopulationsOfFocus.Current.Entries.Select(p => p.DhcsNumber));
        Assert.Equal(new DateOnly(2024, 1, 1), PopulationsOfFocus.Current.EffectiveFrom);
        Assert.False(string.IsNullOrWhiteSpace(PopulationsOfFocus.Current.Source));
        Assert.Equal(Presumptive.Always, PopulationsOfFocus.Current.Find(PopulationsOfFocus.JusticeInvolved)!.Presumptive);
        Assert.Single(PopulationsOfFocus.Current.Entries, p => p.Presumptive == Presumptive.Always);
    }

    [Fact]
    public void Community_supports_are_the_14_pre_approved_services_plus_Transitional_Rent()
    {
        Assert.Equal(Enumerable.Range(1, 15), CommunitySupports.Current.Entries.Select(s => s.Number));
        Assert.Equal("transitional-rent", CommunitySupports.Current.Entries[^1].Id);
        Assert.Equal([CommunitySupports.ShortTermPostHospitalizationHousing, CommunitySupports.RecuperativeCare],
            CommunitySupports.Current.Entries.Where(s => s.HospitalDischarge).Select(s => s.Id));
    }

    [Fact]
    public void Only_the_housing_trio_is_a_joint_request()
    {
        Assert.True(CommunitySupports.IsJointRequest(["housing-tenancy-sustaining", "housing-deposits", "housing-transition-navigation"]));
        Assert.False(CommunitySupports.IsJointRequest(["housing-deposits", "housing-transition-navigation"]));
        Assert.False(CommunitySupports.IsJointRequest(["housing-deposits", "housing-transition-navigation", "recuperative-care"]));
    }

    [Fact]
    public void Criterion_codes_are_unique_across_both_code_sets()
    {
        var codes = PopulationsOfFocus.Current.Entries.SelectMany(p => p.Criteria).Select(c => c.Code).Distinct()
            .Concat(CommunitySupports.Current.Entries.SelectMany(s => s.Criteria).Select(c => c.Code)).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
    }

    [Theory]
    [InlineData("1234567893", null)]
    [InlineData("1245319599", null)]
    [InlineData("1234567890", "fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit")]
    [InlineData("1243567893", "fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit")]
    [InlineData("123456789", "must be exactly 10 digits")]
    [InlineData("12345678X3", "must be exactly 10 digits")]
    [InlineData("", "is required: the requesting provider's 10-digit NPI")]
    public void NPI_check_digit_uses_Luhn_with_the_80840_prefix(string npi, string? problem) =>
        Assert.Equal(problem, NationalProviderIdentifier.Problem(npi));
}

public class AuthorizationRequestReaderTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 4, 17, 0, 0, TimeSpan.Zero);

    private static RequestReading Read(string json) =>
        AuthorizationRequestReader.Read(JsonDocument.Parse(json).RootElement, "auth-1", Now, AuthorizationPolicy.Default());

    private const string Valid = """
        {"memberCin":"91234567a","service":{"program":"community-supports","services":["housing-transition-navigation","housing-deposits","housing-tenancy-sustaining"]},
         "requestingProviderNpi":"1234567893","referringEntity":"cbo-1","urgency":"Routine","supportingFacts":["housing-deposits.meets-dhcs-criteria"]}
        """;

    [Fact]
    public void A_valid_joint_housing_request_reads_into_the_start_input()
    {
        var reading = Read(Valid);
        Assert.Empty(reading.Errors);
        var request = reading.Request!;
        Assert.Equal(("91234567A", Urgency.Routine, ServiceProgram.CommunitySupports, Now), (request.MemberCin, request.Urgency, request.Service.Program, request.ReceivedAt));
        Assert.Equal(3, request.Service.ServiceKeys.Count);
        Assert.Null(request.ConsentReference);
    }

    [Theory]
    [InlineData("""{"service":{"program":"community-supports","services":["housing-deposits","recuperative-care"]}}""", "service.services",
        "only the housing trio (housing-transition-navigation, housing-deposits, housing-tenancy-sustaining) may be requested jointly; send one request per other service")]
    [InlineData("""{"service":{"program":"dental"}}""", "service.program", "must be 'ecm' or 'community-supports'")]
    [InlineData("""{"service":{"program":"ecm"}}""", "service.populationsOfFocus", "ECM needs at least one Population of Focus: experiencing-homelessness-adults, experiencing-homelessness-families, avoidable-hospital-ed-utilization, serious-mental-health-sud, justice-involved, at-risk-ltc-institutionalization, nursing-facility-transition, ccs-additional-needs, child-welfare, birth-equity")]
    [InlineData("""{"service":"ecm"}""", "service", "must be an object with program and populationsOfFocus or services")]
    [InlineData("""{"supportingFacts":["lives-in-a-van"]}""", "supportingFacts[0]", "'lives-in-a-van' is not a DHCS eligibility criterion code; use a code listed for the requested Population of Focus or service, or 'includes-42-cfr-part-2-information'")]
    [InlineData("""{"supportingFacts":"all"}""", "supportingFacts", "must be an array of codes")]
    [InlineData("""{"referringEntity":"   "}""", "referringEntity", "is required and must not be blank")]
    [InlineData("""{"referringEntity":7}""", "referringEntity", "must be a string")]
    [InlineData("""{"consentReference":""}""", "consentReference", "must not be blank; leave it out instead")]
    [InlineData("""{"memberCin":"912345678"}""", "memberCin", "must be a Medi-Cal CIN: 8 digits followed by a letter")]
    public void Each_bad_field_is_named_with_its_fix(string patch, string field, string message)
    {
        var body = JsonDocument.Parse(Valid).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        foreach (var p in JsonDocument.Parse(patch).RootElement.EnumerateObject())
        {
            body[p.Name] = p.Value;
        }

        var reading = Read(JsonSerializer.Serialize(body));

        Assert.Null(reading.Request);
        Assert.Equal(new FieldError(field, message), Assert.Single(reading.Errors));
    }

    [Fact]
    public void A_body_that_is_not_an_object_is_one_error_on_the_root()
    {
        Assert.Equal(new FieldError("$", "the body must be a JSON object with memberCin, service, requestingProviderNpi, referringEntity and urgency"), Assert.Single(Read("[1]").Errors));
    }
}
