using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using FhirTask = Hl7.Fhir.Model.Task;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The hub with two referral platforms: <c>ciela</c> (generic JSON) and <c>ehrwest</c> (FHIR, <c>Format=fhir</c>), and a
/// signed-CloudEvents receiver per subscriber that keeps each delivery's whole CloudEvent (to see <c>datacontenttype</c>).
/// </summary>
public sealed class FhirNoticeHub : SignedNoticeHub
{
    public const string GenericPlatform = "ciela";
    public const string FhirPlatform = "ehrwest";

    public ConcurrentDictionary<string, JsonElement> Received { get; } = new();

    protected override IReadOnlyList<string> Platforms => [GenericPlatform, FhirPlatform];

    protected override string ClockStart => "2026-07-06T09:00:00-07:00";

    protected override double ClockSpeed => 60;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings => [new($"Webhooks__Platforms__{FhirPlatform}__Format", "fhir")];

    protected override void OnDelivery(SignedDelivery delivery) => Received.TryAdd(
        delivery.Id, JsonSerializer.SerializeToElement(new { subscriber = delivery.Subscriber, cloudEvent = delivery.CloudEvent, raw = delivery.Raw }));
    public async Task<HttpStatusCode> WebhookAsync(string platform, string body, string contentType)
    {
        using var response = await Api.SendSignedWebhookAsync(platform, body, contentType);
        return response.StatusCode;
    }

    public async Task PutProviderAsync(string npi, string service)
    {
        using var response = await Api.PutAsync(new Uri($"/api/providers/{npi}", UriKind.Relative), new StringContent(
            $$$"""{"name":"Provider {{{npi}}}","services":["{{{service}}}"],"counties":["Alameda"],"capacity":{"serving":1,"ableToServe":10}}""", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
    public Task WaitForPhaseAsync(string referralId, string phase) =>
        Api.WaitForWorkflowAsync(referralId, w => w.GetProperty("phase").GetString() == phase, TimeSpan.FromSeconds(30), $"phase {phase}");

    /// <summary>(subscriber, CloudEvent, raw body) of the notices about a referral, once <paramref name="count"/> have arrived.</summary>
    public async Task<IReadOnlyList<(string Subscriber, JsonElement Event, string Raw)>> NoticesAsync(string referralId, int count)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var found = Received.Values
                .Where(r => r.GetProperty("cloudEvent").GetProperty("subject").GetString() == referralId)
                .Select(r => (r.GetProperty("subscriber").GetString()!, r.GetProperty("cloudEvent"), r.GetProperty("raw").GetString()!))
                .ToList();
            if (found.Count >= count || DateTimeOffset.UtcNow > deadline)
            {
                return found;
            }

            await Task.Delay(100);
        }
    }
}

public sealed class FhirNoticeTests(FhirNoticeHub hub) : IClassFixture<FhirNoticeHub>
{
    [Fact]
    public async Task A_FHIR_platform_gets_Task_notices_with_the_status_of_each_step_and_no_member_data()
    {
        const string sr = "sr-fhir-notice-1";
        const string npi = "1324354657";
        var referralId = $"{FhirNoticeHub.FhirPlatform}:{sr}";
        await hub.PutProviderAsync(npi, "ecm");

        Assert.Equal(HttpStatusCode.Accepted, await hub.WebhookAsync(FhirNoticeHub.FhirPlatform, ReferralSamples.FhirBundle(sr), "application/fhir+json"));
        await hub.WaitForPhaseAsync(referralId, "awaiting-acknowledgement");
        Assert.Equal(HttpStatusCode.Accepted, await hub.WebhookAsync(FhirNoticeHub.FhirPlatform, ReferralSamples.FhirTask("accepted", sr), "application/fhir+json"));
        await hub.WaitForPhaseAsync(referralId, "accepted");
        Assert.Equal(HttpStatusCode.Accepted, await hub.WebhookAsync(FhirNoticeHub.FhirPlatform, ReferralSamples.FhirTask("completed", sr), "application/fhir+json"));
        await hub.WaitForPhaseAsync(referralId, "closed");

        var notices = await hub.NoticesAsync(referralId, 4);
        var toPlatform = notices.Where(n => n.Subscriber == FhirNoticeHub.FhirPlatform).ToDictionary(n => n.Event.GetProperty("type").GetString()!, n => n.Event);
        Assert.Equal([ReferralWorkflow.Assigned, ReferralWorkflow.Closed], toPlatform.Keys.Order(StringComparer.Ordinal));

        var assigned = ParseTask(toPlatform[ReferralWorkflow.Assigned].GetProperty("data"));
        var closed = ParseTask(toPlatform[ReferralWorkflow.Closed].GetProperty("data"));
        Assert.All(toPlatform.Values, e => Assert.Equal("application/fhir+json", e.GetProperty("datacontenttype").GetString()));
        Assert.Equal(FhirTask.TaskStatus.Accepted, assigned.Status);
        Assert.Equal("Accepted", assigned.BusinessStatus!.Coding[0].Code);
        Assert.Equal(npi, assigned.Owner!.Identifier!.Value);
        Assert.Equal(FhirTask.TaskStatus.Completed, closed.Status);
        Assert.Equal("Services Received", closed.StatusReason!.Text);
        Assert.Equal(referralId, closed.Identifier.Single().Value);
        Assert.Equal($"ServiceRequest/{sr}", closed.Focus!.Reference);
        Assert.Null(closed.For);

        // The member's notices keep the generic shape; nothing sent carries the CIN or the member's name.
        var toMembers = notices.Where(n => n.Subscriber == "members").ToList();
        Assert.Equal(2, toMembers.Count);
        Assert.All(toMembers, n => Assert.Equal("application/json", n.Event.GetProperty("datacontenttype").GetString()));
        Assert.All(toMembers, n => Assert.Equal(referralId, n.Event.GetProperty("data").GetProperty("referralId").GetString()));
        Assert.All(notices, n => Assert.DoesNotContain(ReferralSamples.Cin, n.Raw, StringComparison.Ordinal));
        Assert.All(notices, n => Assert.DoesNotContain("Delgado", n.Raw, StringComparison.Ordinal));
        Assert.Equal(0, hub.SignatureFailures);
    }

    /// <summary>Parsed (and so checked) with the Firely SDK: the data is a valid R4 Task.</summary>
    private static FhirTask ParseTask(JsonElement data)
    {
        var reader = new System.Text.Json.Utf8JsonReader(Encoding.UTF8.GetBytes(data.GetRawText()));
        Assert.True(new FhirJsonDeserializer(new DeserializerSettings()).TryDeserializeResource(ref reader, out var resource, out var issues), string.Join("; ", issues ?? []));
        return Assert.IsType<FhirTask>(resource);
    }

    [Fact]
    public async Task A_generic_platform_still_gets_the_generic_notice()
    {
        const string id = "R-GENERIC-NOTICE-1";
        const string npi = "1987654328";
        var referralId = $"{FhirNoticeHub.GenericPlatform}:{id}";
        await hub.PutProviderAsync(npi, "day-habilitation-programs");

        Assert.Equal(HttpStatusCode.Accepted, await hub.WebhookAsync(FhirNoticeHub.GenericPlatform,
            ReferralSamples.GenericCreated(id, """{"code":"day-habilitation-programs"}"""), "application/json"));
        await hub.WaitForPhaseAsync(referralId, "awaiting-acknowledgement");
        Assert.Equal(HttpStatusCode.Accepted, await hub.WebhookAsync(FhirNoticeHub.GenericPlatform, ReferralSamples.GenericStatus(id, "Accepted"), "application/json"));
        await hub.WaitForPhaseAsync(referralId, "accepted");

        var toPlatform = (await hub.NoticesAsync(referralId, 2)).Single(n => n.Subscriber == FhirNoticeHub.GenericPlatform);
        Assert.Equal(ReferralWorkflow.Assigned, toPlatform.Event.GetProperty("type").GetString());
        Assert.Equal("application/json", toPlatform.Event.GetProperty("datacontenttype").GetString());
        Assert.Equal("Accepted", toPlatform.Event.GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(npi, toPlatform.Event.GetProperty("data").GetProperty("providerNpi").GetString());
        Assert.False(toPlatform.Event.GetProperty("data").TryGetProperty("resourceType", out _));
    }
}

public sealed class ReferralNoticeTaskTests
{
    [Fact]
    public void The_notice_Task_has_no_member_reference_but_the_full_Task_does()
    {
        var created = new ReferralEvent(
            "evt-1", "ehrwest", "ehrwest:sr-1", "sr-1", ReferralEventKind.Created, ReferralStatus.Pending, "requested", null,
            new ReferralService("ecm", []), new MemberReference(ReferralSamples.Cin), new ReferringEntity("Valley Clinic", ReferralSamples.ReferrerNpi), null,
            ReferralUrgency.Routine, DateTimeOffset.Parse("2026-07-02T09:30:00-07:00", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-07-02T09:31:00-07:00", System.Globalization.CultureInfo.InvariantCulture));
        var snapshot = ReferralSnapshot.Start(created);

        Assert.Contains(ReferralSamples.Cin, ReferralTaskWriter.ToJson(snapshot), StringComparison.Ordinal);
        Assert.DoesNotContain(ReferralSamples.Cin, ReferralTaskWriter.ToNoticeJson(snapshot), StringComparison.Ordinal);
        Assert.Null(ReferralTaskWriter.ToNoticeTask(snapshot).For);
        Assert.Equal("ehrwest:sr-1", ReferralTaskWriter.ToNoticeTask(snapshot).Identifier.Single().Value);
    }
}
