using System.Text.Json;
using CalAimHub.Domain.Referrals;

namespace CalAimHub.Referrals.Tests;

public sealed class GenericReferralEventReaderTests
{
    private static readonly DateTimeOffset Now = new(2026, 7, 2, 17, 0, 0, TimeSpan.Zero);

    private static ReferralReading Read(string json) => GenericReferralEventReader.Read(JsonDocument.Parse(json).RootElement, "evt-1", "ciela", Now);

    [Fact]
    public void A_created_event_maps_every_field()
    {
        var e = Read(ReferralSamples.GenericCreated()).Event;

        Assert.NotNull(e);
        Assert.Equal("evt-1", e.EventId);
        Assert.Equal("ciela", e.Platform);
        Assert.Equal("ciela:R-1001", e.ReferralId);
        Assert.Equal("R-1001", e.PlatformReferralId);
        Assert.Equal(ReferralEventKind.Created, e.Kind);
        Assert.Equal(ReferralStatus.Pending, e.Status);
        Assert.Equal("requested", e.TaskStatus);
        Assert.Equal("ecm", e.Service!.Code);
        Assert.Equal(["experiencing-homelessness-adults"], e.Service.PopulationsOfFocus);
        Assert.Equal(ReferralSamples.Cin, e.Member!.Cin);
        Assert.Equal(new ReferringEntity("St. Rosa Delgado Medical Center", ReferralSamples.ReferrerNpi), e.ReferringEntity);
        Assert.Equal(ReferralUrgency.Discharge, e.Urgency);
        Assert.Equal(new DateTimeOffset(2026, 7, 2, 9, 30, 0, TimeSpan.FromHours(-7)), e.OccurredAt);
        Assert.Equal(Now, e.ReceivedAt);
    }

    [Fact]
    public void The_member_cin_never_shows_in_the_event_text() =>
        Assert.DoesNotContain(ReferralSamples.Cin, Read(ReferralSamples.GenericCreated()).Event!.ToString(), StringComparison.Ordinal);

    [Fact]
    public void A_community_supports_referral_names_one_service() =>
        Assert.Equal("medically-tailored-meals", Read(ReferralSamples.GenericCreated(service: """{"code":"medically-tailored-meals"}""")).Event!.Service!.Code);

    [Theory]
    [InlineData("Declined", "no capacity this month", ReferralStatus.Declined, "rejected")]
    [InlineData("Outreach Initiated", null, ReferralStatus.OutreachInitiated, "in-progress")]
    [InlineData("Referral Loop Closed", "Services Received", ReferralStatus.ReferralLoopClosed, "completed")]
    [InlineData("Referral Loop Closed", "Member declined services", ReferralStatus.ReferralLoopClosed, "cancelled")]
    public void A_status_change_maps_status_and_task_status(string status, string? reason, ReferralStatus expected, string taskStatus)
    {
        var e = Read(ReferralSamples.GenericStatus("R-1001", status, reason)).Event!;

        Assert.Equal(ReferralEventKind.StatusChanged, e.Kind);
        Assert.Equal(expected, e.Status);
        Assert.Equal(taskStatus, e.TaskStatus);
        Assert.Equal(reason, e.Reason);
        Assert.Null(e.Member);
    }

    [Fact]
    public void A_cancellation_closes_the_loop_with_its_reason()
    {
        var e = Read("""{"type":"referral.cancelled","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","reason":"member moved"}""").Event!;

        Assert.Equal(ReferralEventKind.Cancelled, e.Kind);
        Assert.Equal(ReferralStatus.ReferralLoopClosed, e.Status);
        Assert.Equal("cancelled", e.TaskStatus);
    }

    [Theory]
    [InlineData("""{"type":"referral.status-changed","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","status":"Declined"}""", "reason", "is required when the status is 'Declined': why the provider declined")]
    [InlineData("""{"type":"referral.status-changed","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","status":"Referral Loop Closed"}""", "reason", "is required when the status is 'Referral Loop Closed': the closure reason, e.g. 'Services Received'")]
    [InlineData("""{"type":"referral.cancelled","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z"}""", "reason", "is required when a referral is cancelled: the closure reason")]
    [InlineData("""{"type":"referral.status-changed","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","status":"Closed"}""", "status", "'Closed' is not a DHCS referral status; use one of 'Pending', 'Accepted', 'Declined', 'Outreach Initiated', 'Referral Loop Closed'")]
    [InlineData("""{"type":"referral.status-changed","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z"}""", "status", "is required for 'referral.status-changed': one of 'Pending', 'Accepted', 'Declined', 'Outreach Initiated', 'Referral Loop Closed'")]
    [InlineData("""{"type":"referral.updated","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z"}""", "type", "must be 'referral.created', 'referral.status-changed' or 'referral.cancelled'")]
    [InlineData("""{"type":"referral.cancelled","referralId":"R/1","occurredAt":"2026-07-03T10:00:00Z","reason":"x"}""", "referralId", "must be 1-64 letters, digits, '-' or '.', starting with a letter or digit")]
    [InlineData("""{"type":"referral.cancelled","referralId":"R-1","occurredAt":"2026-07-03T10:00:00","reason":"x"}""", "occurredAt", "must be ISO 8601 with a UTC offset, e.g. 2026-07-01T09:30:00-07:00 or 2026-07-01T16:30:00Z")]
    [InlineData("""{"type":"referral.cancelled","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","reasons":"x","reason":"x"}""", "reasons", "is not a field of the referral event; see docs/webhooks.md")]
    [InlineData("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","status":"Accepted","service":{"code":"ecm","populationsOfFocus":["child-welfare"]},"member":{"cin":"91234567A"},"referringEntity":{"name":"X"}}""", "status", "a new referral is 'Pending'; report later statuses with 'referral.status-changed'")]
    [InlineData("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","service":{"code":"ecm"},"member":{"cin":"91234567A"},"referringEntity":{"name":"X"}}""", "service.populationsOfFocus", "is required for ECM: at least one Population of Focus id")]
    [InlineData("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","service":{"code":"ecm","populationsOfFocus":["child-welfare","pets"]},"member":{"cin":"91234567A"},"referringEntity":{"name":"X"}}""", "service.populationsOfFocus[1]", "'pets' is not a Population of Focus; use one of experiencing-homelessness-adults, experiencing-homelessness-families, avoidable-hospital-ed-utilization, serious-mental-health-sud, justice-involved, at-risk-ltc-institutionalization, nursing-facility-transition, ccs-additional-needs, child-welfare, birth-equity")]
    [InlineData("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","service":{"code":"ecm","populationsOfFocus":["child-welfare"]},"member":{"cin":"9123456"},"referringEntity":{"name":"X"}}""", "member.cin", "must be a Medi-Cal CIN: 8 digits followed by a letter")]
    [InlineData("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","service":{"code":"ecm","populationsOfFocus":["child-welfare"]},"referringEntity":{"name":"X"}}""", "member", "is required when a referral is created: {\"cin\":\"<Medi-Cal CIN>\"}")]
    [InlineData("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","service":{"code":"ecm","populationsOfFocus":["child-welfare"]},"member":{"cin":"91234567A"},"referringEntity":{"name":"X","npi":"1234567890"}}""", "referringEntity.npi", "fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit")]
    [InlineData("""[1,2]""", "$", "the body must be a JSON object")]
    public void A_bad_event_names_the_field(string json, string field, string message)
    {
        var reading = Read(json);

        Assert.Null(reading.Event);
        Assert.Equal(new ReferralFieldError(field, message), reading.Errors[0]);
    }

    [Theory]
    [InlineData("Los Angeles", "Los Angeles")]
    [InlineData("los angeles county", "Los Angeles")]
    [InlineData(" San Luis Obispo County ", "San Luis Obispo")]
    public void A_member_county_is_read_as_its_canonical_california_name(string sent, string county)
    {
        var e = Read(ReferralSamples.GenericCreated(county: sent)).Event!;

        Assert.Equal(new MemberReference(ReferralSamples.Cin, county), e.Member);
    }

    [Fact]
    public void The_member_county_is_optional() =>
        Assert.Null(Read(ReferralSamples.GenericCreated()).Event!.Member!.County);

    [Fact]
    public void An_unknown_county_names_the_field_and_does_not_echo_the_value()
    {
        var reading = Read(ReferralSamples.GenericCreated(county: "Gotham County"));

        Assert.Null(reading.Event);
        Assert.Equal(
            new ReferralFieldError("member.county", "is not a California county: use one of the 58 county names, e.g. 'Los Angeles' or 'Los Angeles County'"),
            Assert.Single(reading.Errors));
        Assert.DoesNotContain(reading.Errors, e => e.Message.Contains("Gotham", StringComparison.Ordinal));
    }

    [Fact]
    public void A_county_that_is_not_a_string_names_the_field() =>
        Assert.Equal(new ReferralFieldError("member.county", "must be a string"),
            Assert.Single(Read(ReferralSamples.GenericCreated().Replace("\"cin\": \"91234567A\"", "\"cin\": \"91234567A\", \"county\": 19", StringComparison.Ordinal)).Errors));

    [Fact]
    public void An_unknown_member_field_is_refused_so_a_misspelt_county_is_not_dropped() =>
        Assert.Equal(new ReferralFieldError("member.conty", "is not a field of the member; use cin and county"),
            Assert.Single(Read(ReferralSamples.GenericCreated().Replace("\"cin\": \"91234567A\"", "\"cin\": \"91234567A\", \"conty\": \"Kern\"", StringComparison.Ordinal)).Errors));

    [Fact]
    public void The_member_county_never_shows_in_the_event_text() =>
        Assert.DoesNotContain("Alameda", Read(ReferralSamples.GenericCreated(county: "Alameda")).Event!.ToString(), StringComparison.Ordinal);

    [Fact]
    public void A_bad_cin_is_never_echoed()
    {
        var reading = Read("""{"type":"referral.created","referralId":"R-1","occurredAt":"2026-07-03T10:00:00Z","service":{"code":"ecm","populationsOfFocus":["child-welfare"]},"member":{"cin":"X9123456"},"referringEntity":{"name":"X"}}""");

        Assert.DoesNotContain(reading.Errors, e => e.Message.Contains("X9123456", StringComparison.Ordinal));
    }
}
