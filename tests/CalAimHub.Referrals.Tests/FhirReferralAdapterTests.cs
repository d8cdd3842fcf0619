using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Referrals;

namespace CalAimHub.Referrals.Tests;

public sealed class FhirReferralAdapterTests
{
    private static readonly DateTimeOffset Now = new(2026, 7, 3, 16, 0, 0, TimeSpan.Zero);

    private static ReferralReading Read(string json) => FhirReferralAdapter.Read(Encoding.UTF8.GetBytes(json), "evt-9", "ehreast", Now);

    [Fact]
    public void A_transaction_bundle_with_service_request_task_and_patient_creates_the_referral()
    {
        var e = Read(ReferralSamples.FhirBundle()).Event;

        Assert.NotNull(e);
        Assert.Equal(ReferralEventKind.Created, e.Kind);
        Assert.Equal("ehreast:sr-77", e.ReferralId);
        Assert.Equal(ReferralStatus.Pending, e.Status);
        Assert.Equal("requested", e.TaskStatus);
        Assert.Equal("ecm", e.Service!.Code);
        Assert.Equal(["experiencing-homelessness-adults"], e.Service.PopulationsOfFocus);
        Assert.Equal(ReferralSamples.Cin, e.Member!.Cin);
        Assert.Equal(new ReferringEntity("Valley Clinic", ReferralSamples.ReferrerNpi), e.ReferringEntity);
        Assert.Equal(ReferralUrgency.Urgent, e.Urgency);
        Assert.Equal(new DateTimeOffset(2026, 7, 3, 8, 0, 0, TimeSpan.FromHours(-7)), e.OccurredAt);
    }

    [Fact]
    public void The_member_county_comes_from_the_patients_home_address_district()
    {
        var e = Read(ReferralSamples.FhirBundle(addresses: """[ { "use": "home", "line": [ "12 Harbor Way" ], "city": "Oakland", "district": "Alameda County", "state": "CA", "postalCode": "94607" } ]""")).Event;

        Assert.NotNull(e);
        Assert.Equal(new MemberReference(ReferralSamples.Cin, "Alameda"), e.Member);
    }

    [Fact]
    public void Without_a_district_the_county_is_unknown() =>
        Assert.Null(Read(ReferralSamples.FhirBundle(addresses: """[ { "use": "home", "city": "Oakland", "state": "CA" } ]""")).Event!.Member!.County);

    [Fact]
    public void A_home_address_wins_and_old_or_billing_addresses_are_skipped() =>
        Assert.Equal("Kern", Read(ReferralSamples.FhirBundle(addresses: """
            [ { "use": "old", "district": "Fresno" }, { "use": "billing", "district": "Marin" }, { "use": "work", "district": "Inyo" }, { "use": "home", "district": "Kern", "state": "California" } ]
            """)).Event!.Member!.County);

    [Fact]
    public void An_address_in_another_state_has_no_california_county()
    {
        var reading = Read(ReferralSamples.FhirBundle(addresses: """[ { "use": "home", "city": "Reno", "district": "Washoe", "state": "NV" } ]"""));

        Assert.Empty(reading.Errors);
        Assert.Null(reading.Event!.Member!.County);
    }

    [Fact]
    public void An_unknown_county_names_the_address_element_and_does_not_echo_the_value()
    {
        var reading = Read(ReferralSamples.FhirBundle(addresses: """[ { "use": "old", "district": "Fresno" }, { "use": "home", "district": "Gotham", "state": "CA" } ]"""));

        Assert.Null(reading.Event);
        Assert.Equal(
            new ReferralFieldError("Patient.address[1].district", "is not a California county: use one of the 58 county names, e.g. 'Los Angeles' or 'Los Angeles County'"),
            Assert.Single(reading.Errors));
        Assert.DoesNotContain(reading.Errors, e => e.Message.Contains("Gotham", StringComparison.Ordinal));
    }

    [Fact]
    public void A_patient_contained_in_a_lone_service_request_gives_the_cin_and_county()
    {
        var e = Read(ReferralSamples.FhirServiceRequestWithContainedPatient("San Mateo")).Event;

        Assert.NotNull(e);
        Assert.Equal((ReferralEventKind.Created, "ehreast:sr-88"), (e.Kind, e.ReferralId));
        Assert.Equal(new MemberReference(ReferralSamples.Cin, "San Mateo"), e.Member);
    }

    [Theory]
    [InlineData("requested", null, ReferralStatus.Pending, ReferralEventKind.StatusChanged, null)]
    [InlineData("accepted", null, ReferralStatus.Accepted, ReferralEventKind.StatusChanged, null)]
    [InlineData("rejected", "no capacity", ReferralStatus.Declined, ReferralEventKind.StatusChanged, "no capacity")]
    [InlineData("in-progress", null, ReferralStatus.OutreachInitiated, ReferralEventKind.StatusChanged, null)]
    [InlineData("on-hold", "member in hospital", ReferralStatus.OutreachInitiated, ReferralEventKind.StatusChanged, "member in hospital")]
    [InlineData("completed", null, ReferralStatus.ReferralLoopClosed, ReferralEventKind.StatusChanged, "Services Received")]
    [InlineData("failed", "member unreachable", ReferralStatus.ReferralLoopClosed, ReferralEventKind.StatusChanged, "member unreachable")]
    [InlineData("cancelled", "duplicate referral", ReferralStatus.ReferralLoopClosed, ReferralEventKind.Cancelled, "duplicate referral")]
    [InlineData("entered-in-error", null, ReferralStatus.ReferralLoopClosed, ReferralEventKind.Cancelled, "Entered in error")]
    public void Every_task_status_update_maps_through_the_table(string taskStatus, string? statusReason, ReferralStatus status, ReferralEventKind kind, string? reason)
    {
        var e = Read(ReferralSamples.FhirTask(taskStatus, statusReason: statusReason)).Event;

        Assert.NotNull(e);
        Assert.Equal(kind, e.Kind);
        Assert.Equal(status, e.Status);
        Assert.Equal(taskStatus, e.TaskStatus);
        Assert.Equal(reason, e.Reason);
        Assert.Equal("ehreast:sr-77", e.ReferralId);
    }

    [Theory]
    [InlineData("rejected")]
    [InlineData("cancelled")]
    [InlineData("on-hold")]
    [InlineData("failed")]
    public void Statuses_that_need_a_reason_without_one_name_statusReason(string taskStatus)
    {
        var error = Assert.Single(Read(ReferralSamples.FhirTask(taskStatus)).Errors);

        Assert.Equal("Task.statusReason.text", error.Field);
        Assert.StartsWith($"is required when Task.status is '{taskStatus}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ready", "'ready' is not in the SDOHCC Referral Task Status value set; use one of 'draft', 'requested', 'accepted', 'rejected', 'in-progress', 'on-hold', 'completed', 'cancelled', 'failed', 'entered-in-error'")]
    [InlineData("received", "'received' is not in the SDOHCC Referral Task Status value set; use one of 'draft', 'requested', 'accepted', 'rejected', 'in-progress', 'on-hold', 'completed', 'cancelled', 'failed', 'entered-in-error'")]
    [InlineData("draft", "'draft' is not actionable yet (not yet actionable: not a referral until the requester sets it to 'requested'); send the Task when it is 'requested'")]
    public void Task_statuses_outside_the_referral_value_set_are_refused(string taskStatus, string message) =>
        Assert.Equal(new ReferralFieldError("Task.status", message), Assert.Single(Read(ReferralSamples.FhirTask(taskStatus)).Errors));

    [Fact]
    public void A_structurally_invalid_task_names_the_element_from_the_firely_parser()
    {
        var json = ReferralSamples.FhirTask("accepted").Replace("\"status\": \"accepted\"", "\"status\": \"approved\"", StringComparison.Ordinal);

        var error = Read(json).Errors[0];

        Assert.Equal("Task.status", error.Field);
        Assert.Equal("is not a correct code for valueset 'TaskStatus'.", error.Message);
    }

    public static TheoryData<string, string, string> MemberDataInBadInput() => new()
    {
        // the sample bundle's text, what replaces it (member data in the wrong shape), the exact errors: never the value
        { "\"birthDate\": \"1961-04-02\"", "\"birthDate\": \"1961-04-02 Rosa Delgado 91234567A\"", "Bundle.entry[0].resource.birthDate: string is not a correct literal for a date." },
        { "\"birthDate\": \"1961-04-02\"", "\"birthDate\": \"1961-04-02\", \"gender\": \"Rosa Delgado\"", "Bundle.entry[0].resource.gender: is not a correct code for valueset 'AdministrativeGender'." },
        { "\"given\": [ \"Rosa\" ]", "\"given\": [ 19610402 ]", "Bundle.entry[0].resource.name[0].given[0]: integer is not the right type of literal for a string." },
        { "\"family\": \"Delgado\"", "\"family\": [ \"Delgado\" ]", "Bundle.entry[0].resource.name[0].family[1]: Expected property to be a single string, but found a collection of string." },
        { "\"identifier\": [ { \"system\": \"urn:calaimhub:medi-cal-cin\", \"value\": \"91234567A\" } ]", "\"identifier\": [ { \"system\": \"urn:calaimhub:medi-cal-cin\", \"value\": 912345670 } ]", "Bundle.entry[0].resource.identifier[0].value: integer is not the right type of literal for a string." },
    };

    [Theory]
    [MemberData(nameof(MemberDataInBadInput))]
    public void Parser_errors_never_echo_member_data(string find, string bad, string expected)
    {
        var json = ReferralSamples.FhirBundle().Replace(find, bad, StringComparison.Ordinal);
        Assert.NotEqual(ReferralSamples.FhirBundle(), json);

        var errors = Read(json).Errors;

        Assert.Equal(expected, string.Join(" | ", errors.Select(e => $"{e.Field}: {e.Message}")));
        foreach (var e in errors)
        {
            foreach (var phi in new[] { "1961", "19610402", "912345670", "Rosa", "Delgado", ReferralSamples.Cin })
            {
                Assert.DoesNotContain(phi, e.Message, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Theory]
    [InlineData("Literal '1961-13-02' cannot be parsed as a date.", "cannot be parsed as a date.")]
    [InlineData("Value 'Rosa' is not a correct code for valueset 'AdministrativeGender'.", "is not a correct code for valueset 'AdministrativeGender'.")]
    [InlineData("Expected a string, but found a number with value '19610402'.", "Expected a string, but found a number.")]
    [InlineData("integer 19610402 is not the right type of literal for a string.", "integer is not the right type of literal for a string.")]
    [InlineData("Token 91234567 was unexpected at this point.", "Token … was unexpected at this point.")]
    [InlineData("Found unknown element 'colour'.", "Found unknown element 'colour'.")]
    [InlineData("Something about 'Delgado' we did not foresee.", "Something about '…' we did not foresee.")]
    public void Firely_messages_lose_the_values_they_quote_and_keep_specification_names(string firely, string shown) =>
        Assert.Equal(shown, FhirReferralAdapter.WithoutValues(firely));

    [Fact]
    public void An_unknown_element_is_named()
    {
        var json = ReferralSamples.FhirTask("accepted").Replace("\"intent\": \"order\"", "\"intent\": \"order\", \"colour\": \"red\"", StringComparison.Ordinal);

        Assert.Equal(new ReferralFieldError("Task.colour", "Found unknown element 'colour'."), Assert.Single(Read(json).Errors));
    }

    [Theory]
    [InlineData("\"intent\": \"order\"", "\"intent\": \"plan\"", "Task.intent", "must be 'order' (SDOHCC Task For Referral Management)")]
    [InlineData("\"code\": \"fulfill\"", "\"code\": \"approve\"", "Task.code", "must be http://hl7.org/fhir/CodeSystem/task-code#fulfill")]
    [InlineData("\"reference\": \"ServiceRequest/sr-77\"", "\"reference\": \"Condition/c1\"", "Task.focus", "must be 'ServiceRequest/{id}', the referral's ServiceRequest")]
    [InlineData("\"authoredOn\": \"2026-07-02T09:30:00-07:00\",", "", "Task.authoredOn", "is required")]
    public void Profile_rules_name_the_element(string from, string to, string field, string message) =>
        Assert.Equal(new ReferralFieldError(field, message), Assert.Single(Read(ReferralSamples.FhirTask("accepted").Replace(from, to, StringComparison.Ordinal)).Errors));

    [Fact]
    public void Truncated_json_is_named_at_the_root()
    {
        var json = ReferralSamples.FhirTask("accepted");

        var error = Assert.Single(Read(json[..(json.Length / 2)]).Errors);

        Assert.Equal("$", error.Field);
        Assert.StartsWith("is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bundle_that_is_not_a_transaction_is_refused() =>
        Assert.Equal(new ReferralFieldError("Bundle.type", "must be 'transaction'"),
            Assert.Single(Read(ReferralSamples.FhirBundle().Replace("\"type\": \"transaction\"", "\"type\": \"collection\"", StringComparison.Ordinal)).Errors));

    [Fact]
    public void A_bundle_service_must_be_a_calaim_service() =>
        Assert.Equal("ServiceRequest.code",
            Assert.Single(Read(ReferralSamples.FhirBundle(serviceCode: "dog-walking")).Errors).Field);

    [Fact]
    public void A_bundle_population_of_focus_must_be_known() =>
        Assert.Equal("ServiceRequest.reasonCode[0]",
            Assert.Single(Read(ReferralSamples.FhirBundle(population: "pets")).Errors).Field);

    [Fact]
    public void Other_resources_are_not_referrals() =>
        Assert.Equal(new ReferralFieldError("resourceType", "a Observation is not a referral; send a Task, a ServiceRequest or a transaction Bundle"),
            Assert.Single(Read("""{"resourceType":"Observation","status":"final","code":{"text":"x"}}""").Errors));

    [Fact]
    public void The_current_task_round_trips_through_the_adapter()
    {
        var created = Read(ReferralSamples.FhirBundle()).Event!;
        var accepted = Read(ReferralSamples.FhirTask("accepted")).Event!;
        var snapshot = ReferralSnapshot.Start(created).Apply(accepted);

        var json = ReferralTaskWriter.ToJson(snapshot);
        var task = JsonDocument.Parse(json).RootElement;

        Assert.Equal("Task", task.GetProperty("resourceType").GetString());
        Assert.Equal("accepted", task.GetProperty("status").GetString());
        Assert.Equal("Accepted", task.GetProperty("businessStatus").GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("ServiceRequest/sr-77", task.GetProperty("focus").GetProperty("reference").GetString());
        var back = FhirReferralAdapter.Read(Encoding.UTF8.GetBytes(json), "evt-10", "ehreast", Now).Event;
        Assert.NotNull(back);
        Assert.Equal(ReferralStatus.Accepted, back.Status);
        Assert.Equal("ehreast:sr-77", back.ReferralId);
    }
}
