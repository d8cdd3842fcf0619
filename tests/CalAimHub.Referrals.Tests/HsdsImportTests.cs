using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;

namespace CalAimHub.Referrals.Tests;

/// <summary>An Open Referral HSDS 3.x export (nested form plus top-level link tables) used by the import tests.</summary>
public static class HsdsSamples
{
    public const string HarborNpi = "1543210987";
    public const string MealsNpi = "1765432103";

    public static string Export(string harborAvailable = "3") => $$"""
        {
          "organizations": [
            { "id": "0a1b2c3d-0000-4000-8000-000000000001", "name": "Harbor Care ECM", "description": "ECM lead care management",
              "organization_identifiers": [ { "id": "oi-1", "identifier_scheme": "US-NPI", "identifier_type": "NPI", "identifier": "{{HarborNpi}}" } ] },
            { "id": "0a1b2c3d-0000-4000-8000-000000000002", "name": "Valley Meals", "description": "Medically tailored meals" },
            { "id": "0a1b2c3d-0000-4000-8000-000000000003", "name": "No NPI Org", "description": "no identifiers" },
            { "id": "0a1b2c3d-0000-4000-8000-000000000004", "name": "Typo Org", "description": "bad NPI",
              "organization_identifiers": [ { "id": "oi-4", "identifier_type": "npi", "identifier": "1234567890" } ] }
          ],
          "organization_identifiers": [
            { "id": "oi-2", "organization_id": "0a1b2c3d-0000-4000-8000-000000000002", "identifier_type": "NPI", "identifier": "{{MealsNpi}}" }
          ],
          "services": [
            { "id": "svc-ecm", "organization_id": "0a1b2c3d-0000-4000-8000-000000000001", "name": "Enhanced Care Management", "status": "active",
              "attributes": [
                { "id": "a1", "link_id": "svc-ecm", "link_type": "service", "taxonomy_term": { "id": "t1", "code": "ecm", "name": "ECM", "taxonomy": "calaim-service" } },
                { "id": "a2", "link_id": "svc-ecm", "taxonomy_term": { "id": "t2", "code": "experiencing-homelessness-adults", "taxonomy": "calaim-pof" } } ],
              "capacities": [ { "id": "c1", "service_id": "svc-ecm", "available": {{harborAvailable}}, "maximum": 50, "unit": { "id": "u1", "name": "members" } } ] },
            { "id": "svc-htn", "organization_id": "0a1b2c3d-0000-4000-8000-000000000001", "name": "Housing navigation", "status": "active",
              "attributes": [ { "id": "a3", "link_id": "svc-htn", "taxonomy_term": { "id": "t3", "code": "Housing-Transition-Navigation" } } ],
              "capacities": [ { "id": "c2", "service_id": "svc-htn", "available": 5, "maximum": 10 } ] },
            { "id": "svc-mtm", "organization_id": "0a1b2c3d-0000-4000-8000-000000000002", "name": "Meals", "status": "active" },
            { "id": "svc-old", "organization_id": "0a1b2c3d-0000-4000-8000-000000000002", "name": "Old pantry", "status": "defunct" },
            { "id": "svc-nonpi", "organization_id": "0a1b2c3d-0000-4000-8000-000000000003", "name": "Something", "status": "active",
              "attributes": [ { "id": "a5", "taxonomy_term": { "id": "t5", "code": "respite-services" } } ],
              "capacities": [ { "id": "c5", "available": 1 } ] },
            { "id": "svc-typo", "organization_id": "0a1b2c3d-0000-4000-8000-000000000004", "name": "Typo", "status": "active" },
            { "id": "svc-food", "organization_id": "0a1b2c3d-0000-4000-8000-000000000002", "name": "Food bank", "status": "active",
              "attributes": [ { "id": "a6", "taxonomy_term": { "id": "t6", "code": "food-pantry" } } ],
              "capacities": [ { "id": "c6", "available": 100 } ] }
          ],
          "attributes": [
            { "id": "a4", "link_id": "svc-mtm", "link_type": "service", "taxonomy_term": { "id": "t4", "code": "medically-tailored-meals" } }
          ],
          "service_capacities": [
            { "id": "c4", "service_id": "svc-mtm", "available": 20 }
          ],
          "locations": [
            { "id": "loc-la", "location_type": "physical", "name": "Harbor main",
              "addresses": [ { "id": "ad1", "location_id": "loc-la", "address_1": "1 Harbor Way", "city": "San Pedro", "region": "Los Angeles County", "state_province": "CA", "postal_code": "90731", "country": "US", "address_type": "physical" } ] },
            { "id": "loc-or", "location_type": "physical", "name": "Harbor south",
              "addresses": [ { "id": "ad2", "address_1": "2 Main St", "city": "Santa Ana", "region": "orange", "state_province": "California", "postal_code": "92701", "country": "US" } ] },
            { "id": "loc-nv", "location_type": "physical", "name": "Out of state",
              "addresses": [ { "id": "ad3", "address_1": "3 Strip", "city": "Reno", "region": "Orange", "state_province": "NV", "country": "US" } ] },
            { "id": "loc-yolo", "location_type": "physical", "name": "Valley kitchen" }
          ],
          "addresses": [
            { "id": "ad4", "location_id": "loc-yolo", "address_1": "4 Oak", "city": "Davis", "region": "Yolo", "state_province": "CA", "country": "US" }
          ],
          "service_at_locations": [
            { "id": "sal-1", "service_id": "svc-ecm", "location_id": "loc-la" },
            { "id": "sal-2", "service_id": "svc-ecm", "location_id": "loc-or" },
            { "id": "sal-3", "service_id": "svc-htn", "location_id": "loc-nv" },
            { "id": "sal-4", "service_id": "svc-htn", "location_id": "loc-la" },
            { "id": "sal-5", "service_id": "svc-mtm", "location_id": "loc-yolo" },
            { "id": "sal-6", "service_id": "svc-nonpi", "location_id": "loc-yolo" },
            { "id": "sal-7", "service_id": "svc-food", "location_id": "loc-yolo" },
            { "service_id": "svc-food", "location_id": "loc-la" }
          ]
        }
        """;
}

public sealed class HsdsProviderMappingTests
{
    private static HsdsMapping Map(string json)
    {
        var (mapping, errors) = HsdsProviderMapping.Map(JsonDocument.Parse(json).RootElement);
        Assert.Empty(errors);
        return mapping!;
    }

    [Fact]
    public void Services_are_grouped_by_the_organization_NPI_with_codes_counties_and_summed_capacity()
    {
        var harbor = Map(HsdsSamples.Export()).Entries.Single(e => e.Npi == HsdsSamples.HarborNpi);

        Assert.Equal("Harbor Care ECM", harbor.Name);
        Assert.Equal(["ecm", "housing-transition-navigation"], harbor.Services);
        Assert.Equal(["Los Angeles", "Orange"], harbor.Counties); // Reno's "Orange" region is in NV: not a California county
        Assert.Equal(["experiencing-homelessness-adults"], harbor.PopulationsOfFocus);
        Assert.Equal(new ProviderCapacity(47 + 5, 60), harbor.Capacity);
        Assert.Equal("hsds:0a1b2c3d-0000-4000-8000-000000000001", harbor.Source);
    }

    [Fact]
    public void Top_level_link_tables_are_joined_by_their_foreign_keys()
    {
        var meals = Map(HsdsSamples.Export()).Entries.Single(e => e.Npi == HsdsSamples.MealsNpi);

        Assert.Equal(["medically-tailored-meals"], meals.Services);
        Assert.Equal(["Yolo"], meals.Counties);
        Assert.Empty(meals.PopulationsOfFocus);
        Assert.Equal(new ProviderCapacity(0, 20), meals.Capacity);
    }

    [Fact]
    public void Entries_without_a_valid_NPI_or_a_CalAIM_code_are_skipped_and_reported()
    {
        var skipped = Map(HsdsSamples.Export()).Skipped;

        Assert.Contains(skipped, s => s is { Entity: "service", Id: "svc-nonpi" } && s.Reason.StartsWith("no NPI", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s is { Entity: "service", Id: "svc-typo" } && s.Reason.Contains("fails the NPI check digit", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s is { Entity: "service", Id: "svc-old" } && s.Reason.Contains("'defunct'", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s is { Entity: "service", Id: "svc-food" } && s.Reason.Contains("no taxonomy_term code", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s is { Entity: "service_at_location", Id: "#7" });
        Assert.Contains(skipped, s => s is { Entity: "organization", Id: "0a1b2c3d-0000-4000-8000-000000000003" });
        Assert.DoesNotContain(skipped, s => s.Id == "svc-ecm" || s.Id == "svc-mtm" || s.Id == "svc-htn");
    }

    [Fact]
    public void The_same_export_maps_to_equal_entries()
    {
        var first = JsonSerializer.Serialize(Map(HsdsSamples.Export()).Entries, ReferralJson.Options);
        var second = JsonSerializer.Serialize(Map(HsdsSamples.Export()).Entries, ReferralJson.Options);

        Assert.Equal(first, second);
    }

    [Fact]
    public void A_service_NPI_attribute_overrides_the_organization_and_a_second_organization_cannot_claim_an_NPI()
    {
        var json = """
            {"organizations":[{"id":"o1","name":"One","organization_identifiers":[{"identifier_type":"NPI","identifier":"NPI_A"}]},
                              {"id":"o2","name":"Two","organization_identifiers":[{"identifier_type":"NPI","identifier":"NPI_A"}]}],
             "services":[{"id":"s1","organization_id":"o1","status":"active","attributes":[{"id":"a","taxonomy_term":{"code":"ecm"}},{"id":"b","taxonomy_term":{"code":"NPI"},"value":"NPI_B"}],"capacities":[{"available":2,"maximum":4}]},
                         {"id":"s2","organization_id":"o1","status":"active","attributes":[{"id":"c","taxonomy_term":{"code":"ecm"}}],"capacities":[{"available":1}]},
                         {"id":"s3","organization_id":"o2","status":"active","attributes":[{"id":"d","taxonomy_term":{"code":"ecm"}}],"capacities":[{"available":1}]}],
             "locations":[{"id":"l","location_type":"physical","addresses":[{"region":"Yolo","state_province":"CA"}]}],
             "service_at_locations":[{"id":"x1","service_id":"s1","location_id":"l"},{"id":"x2","service_id":"s2","location_id":"l"},{"id":"x3","service_id":"s3","location_id":"l"}]}
            """.Replace("NPI_A", HsdsSamples.HarborNpi, StringComparison.Ordinal).Replace("NPI_B", HsdsSamples.MealsNpi, StringComparison.Ordinal);

        var mapping = Map(json);

        Assert.Equal([HsdsSamples.HarborNpi, HsdsSamples.MealsNpi], mapping.Entries.Select(e => e.Npi));
        Assert.Contains(mapping.Skipped, s => s is { Entity: "service", Id: "s3" } && s.Reason.Contains("already used by organization 'o1'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[]", "$")]
    [InlineData("""{"services":[]}""", "organizations")]
    [InlineData("""{"organizations":[],"services":{}}""", "services")]
    public void A_wrong_shape_names_the_field(string json, string field) =>
        Assert.Equal(field, HsdsProviderMapping.Map(JsonDocument.Parse(json).RootElement).Errors[0].Field);
}

public sealed class HsdsImportEndToEndTests(WebhookHub fixture) : IClassFixture<WebhookHub>
{
    [Fact]
    public async Task An_export_is_imported_then_a_reimport_changes_nothing_and_a_change_updates_one_entry()
    {
        using var first = await ImportAsync(HsdsSamples.Export());
        var firstSummary = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement;
        var stamp = await UpdatedAtAsync(HsdsSamples.HarborNpi);
        using var again = await ImportAsync(HsdsSamples.Export());
        var againSummary = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;
        var stampAfterReimport = await UpdatedAtAsync(HsdsSamples.HarborNpi);
        using var changed = await ImportAsync(HsdsSamples.Export(harborAvailable: "10"));
        var changedSummary = JsonDocument.Parse(await changed.Content.ReadAsStringAsync()).RootElement;
        using var read = await fixture.Client.GetAsync(new Uri($"/api/providers/{HsdsSamples.HarborNpi}", UriKind.Relative));
        var provider = JsonDocument.Parse(await read.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((2, 0, 0), Counts(firstSummary));
        Assert.Contains(firstSummary.GetProperty("skipped").EnumerateArray(), s => s.GetProperty("entity").GetString() == "service" && s.GetProperty("id").GetString() == "svc-typo");
        Assert.Equal((0, 0, 2), Counts(againSummary));
        Assert.Equal(stamp, stampAfterReimport);
        Assert.Equal((0, 1, 1), Counts(changedSummary));
        Assert.Equal(15, provider.GetProperty("capacity").GetProperty("available").GetInt32()); // 60 able − (40 + 5) serving
        Assert.Equal("hsds:0a1b2c3d-0000-4000-8000-000000000001", provider.GetProperty("source").GetString());
    }

    [Theory]
    [InlineData("""{"organizations":[{"id":"o1","name":"X",""", HttpStatusCode.BadRequest, "$.organizations[0].name")]
    [InlineData("""{"organizations":{}}""", HttpStatusCode.BadRequest, "organizations")]
    public async Task A_bad_body_is_problem_json_and_nothing_is_stored(string body, HttpStatusCode status, string field)
    {
        var before = await ProviderRowsAsync();
        using var response = await ImportAsync(body);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith($"'{field}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await ProviderRowsAsync());
    }

    [Fact]
    public async Task An_oversized_export_is_413_and_nothing_is_stored()
    {
        var before = await ProviderRowsAsync();
        var padding = new string(' ', 8 * 1024 * 1024);
        using var response = await ImportAsync(HsdsSamples.Export().Replace("{\n", "{" + padding, StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await ProviderRowsAsync());
    }

    [Fact]
    public async Task Another_content_type_is_415()
    {
        using var response = await fixture.Client.PostAsync(new Uri("/api/providers/import", UriKind.Relative), new StringContent("a,b", Encoding.UTF8, "text/csv"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    private static (int Imported, int Updated, int Unchanged) Counts(JsonElement summary) =>
        (summary.GetProperty("imported").GetInt32(), summary.GetProperty("updated").GetInt32(), summary.GetProperty("unchanged").GetInt32());

    private Task<HttpResponseMessage> ImportAsync(string body) =>
        fixture.Client.PostAsync(new Uri("/api/providers/import", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

    private async Task<DateTimeOffset?> UpdatedAtAsync(string npi) =>
        (await fixture.Hub.Storage.Tables.GetTableClient("Providers").GetEntityAsync<TableEntity>("provider", npi)).Value.GetDateTimeOffset("UpdatedAt");

    private async Task<int> ProviderRowsAsync()
    {
        var count = 0;
        await foreach (var _ in fixture.Hub.Storage.Tables.GetTableClient("Providers").QueryAsync<TableEntity>())
        {
            count++;
        }

        return count;
    }
}
