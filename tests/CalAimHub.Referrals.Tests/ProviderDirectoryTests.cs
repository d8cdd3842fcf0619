using System.Net;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Referrals;

namespace CalAimHub.Referrals.Tests;

public sealed class ProviderDirectoryReaderTests
{
    private const string Npi = "1234567893";
    private const string Body = """
        {"name":"Harbor Care ECM","services":["ecm","medically-tailored-meals"],"counties":["Los Angeles County","orange"],
         "populationsOfFocus":["experiencing-homelessness-adults"],"capacity":{"serving":40,"ableToServe":50}}
        """;

    [Fact]
    public void A_provider_is_read_with_canonical_county_names_and_available_capacity()
    {
        var (entry, errors) = ProviderDirectoryReader.Read(Npi, JsonDocument.Parse(Body).RootElement);

        Assert.Empty(errors);
        Assert.Equal(["Los Angeles", "Orange"], entry!.Counties);
        Assert.Equal(["ecm", "medically-tailored-meals"], entry.Services);
        Assert.Equal(10, entry.Capacity.Available);
    }

    [Theory]
    [InlineData("1234567890", Body, "npi", "fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit")]
    [InlineData(Npi, """{"name":"X","services":["ecm"],"counties":["Gotham"],"capacity":{"serving":0,"ableToServe":5}}""", "counties[0]", "'Gotham' is not a California county")]
    [InlineData(Npi, """{"name":"X","services":["dog-walking"],"counties":["Yolo"],"capacity":{"serving":0,"ableToServe":5}}""", "services[0]", "'dog-walking' is not a service; use 'ecm' or a Community Supports service (housing-transition-navigation, housing-deposits, housing-tenancy-sustaining, short-term-post-hospitalization-housing, recuperative-care, respite-services, day-habilitation-programs, nursing-facility-transition-to-alf, community-transition-services, personal-care-and-homemaker, environmental-accessibility-adaptations, medically-tailored-meals, sobering-centers, asthma-remediation, transitional-rent)")]
    [InlineData(Npi, """{"name":"X","services":["asthma-remediation"],"counties":["Yolo"],"populationsOfFocus":["child-welfare"],"capacity":{"serving":0,"ableToServe":5}}""", "populationsOfFocus", "are ECM specialties: list 'ecm' in services too")]
    [InlineData(Npi, """{"name":"X","services":["ecm"],"counties":["Yolo"],"capacity":{"serving":-1,"ableToServe":5}}""", "capacity.serving", "is required: a whole number, 0 or more")]
    [InlineData(Npi, """{"services":["ecm"],"counties":["Yolo"],"capacity":{"serving":1,"ableToServe":5}}""", "name", "is required: the provider's name, at most 200 characters")]
    public void A_bad_provider_names_the_field(string npi, string body, string field, string message) =>
        Assert.Equal(new ReferralFieldError(field, message), ProviderDirectoryReader.Read(npi, JsonDocument.Parse(body).RootElement).Errors[0]);
}

public sealed class ProviderDirectoryEndToEndTests(WebhookHub fixture) : IClassFixture<WebhookHub>
{
    [Fact]
    public async Task A_provider_is_created_then_replaced_and_read_back()
    {
        const string body = """{"name":"Harbor Care ECM","services":["ecm"],"counties":["Los Angeles"],"populationsOfFocus":["justice-involved"],"capacity":{"serving":4,"ableToServe":10}}""";

        using var created = await PutAsync("1234567893", body);
        using var replaced = await PutAsync("1234567893", body.Replace("\"serving\":4", "\"serving\":9", StringComparison.Ordinal));
        using var read = await fixture.Client.GetAsync(new Uri("/api/providers/1234567893", UriKind.Relative));
        var provider = JsonDocument.Parse(await read.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal(9, provider.GetProperty("capacity").GetProperty("serving").GetInt32());
        Assert.Equal(1, provider.GetProperty("capacity").GetProperty("available").GetInt32());
    }

    [Fact]
    public async Task A_bad_npi_is_400_naming_it_and_nothing_is_stored()
    {
        using var response = await PutAsync("1234567890", """{"name":"X","services":["ecm"],"counties":["Yolo"],"capacity":{"serving":0,"ableToServe":5}}""");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("'npi' fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit", problem.GetProperty("detail").GetString());
        Assert.False((await fixture.Hub.Storage.Tables.GetTableClient("Providers").GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("provider", "1234567890")).HasValue);
    }

    [Fact]
    public async Task A_provider_with_120_bad_services_lists_the_first_100_errors_and_counts_the_rest()
    {
        var services = string.Join(",", Enumerable.Range(0, 120).Select(i => $"\"walking-{(char)('a' + (i / 26))}{(char)('a' + (i % 26))}\""));

        using var response = await PutAsync("1234567893", $$$"""{"name":"X","services":[{{{services}}}],"counties":["Yolo"],"capacity":{"serving":0,"ableToServe":5}}""");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid provider", problem.GetProperty("title").GetString());
        Assert.StartsWith("'services[0]' 'walking-aa' is not a service; use 'ecm' or a Community Supports service (", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.EndsWith(") (and 119 more; errors lists the first 100, moreErrors counts the rest)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(100, problem.GetProperty("errors").EnumerateObject().Count());
        Assert.Equal("services[99]", problem.GetProperty("errors").EnumerateObject().Last().Name);
        Assert.Equal(20, problem.GetProperty("moreErrors").GetInt32());
    }

    [Fact]
    public async Task The_directory_is_listed_in_pages_of_top_in_npi_order()
    {
        string[] npis = ["1003000126", "1144221847", "1245319599"];
        foreach (var npi in npis)
        {
            using var put = await PutAsync(npi, """{"name":"Listed CBO","services":["respite-services"],"counties":["Yolo"],"capacity":{"serving":1,"ableToServe":5}}""");
            Assert.True(put.IsSuccessStatusCode);
        }

        var listed = new List<string>();
        string? continuation = null;
        var pages = 0;
        do
        {
            using var response = await fixture.Client.GetAsync(new Uri("/api/providers?top=2" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)), UriKind.Relative));
            var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.InRange(page.GetProperty("items").GetArrayLength(), 0, 2);
            listed.AddRange(page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("npi").GetString()!));
            continuation = page.GetProperty("continuation").ValueKind == JsonValueKind.String ? page.GetProperty("continuation").GetString() : null;
            pages++;
        }
        while (continuation is not null && pages < 50);

        Assert.Null(continuation);
        Assert.True(pages >= 2, $"{listed.Count} providers in {pages} page(s)");
        Assert.Subset(listed.ToHashSet(), npis.ToHashSet());
        Assert.Equal(listed.Order(StringComparer.Ordinal), listed);
        Assert.Equal(listed.Count, listed.Distinct().Count());
    }

    [Theory]
    [InlineData("?top=0", "'top' '0' is not a page size; use a whole number from 1 to 200 (default 50)")]
    [InlineData("?top=201", "'top' '201' is not a page size; use a whole number from 1 to 200 (default 50)")]
    [InlineData("?top=ten", "'top' 'ten' is not a page size; use a whole number from 1 to 200 (default 50)")]
    [InlineData("?continuation=MTAwMzAwMDEyNg", "'continuation' is not a token this listing gave; start again without it")]
    public async Task A_bad_page_size_is_400_naming_it(string query, string detail)
    {
        using var response = await fixture.Client.GetAsync(new Uri("/api/providers" + query, UriKind.Relative));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid provider query", problem.GetProperty("title").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }

    private Task<HttpResponseMessage> PutAsync(string npi, string body) =>
        fixture.Client.PutAsync(new Uri($"/api/providers/{npi}", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
}
