using System.Globalization;
using System.Net;
using System.Text.Json;
using CalAimHub.Testing;

namespace CalAimHub.Domain.Tests;

/// <summary><c>GET /api/authorizations</c> through the local host: the listing index written through the workflow outbox.</summary>
[Collection(nameof(AuthorizationHubCollection))]
public class AuthorizationListEndToEndTests(AuthorizationHubFixture hub)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static object Request(string cin, object service, string[] facts, string urgency = "routine") => new
    {
        memberCin = cin,
        service,
        requestingProviderNpi = "1245319599",
        referringEntity = "county-hospital",
        urgency,
        supportingFacts = facts,
        consentReference = "ascmi-2026-0001",
    };

    private async Task<string> CreateAsync(object request)
    {
        using var created = await hub.PostAsync("/api/authorizations", request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("authorizationId").GetString()!;
    }

    private async Task<JsonElement> ListAsync(string query)
    {
        using var response = await hub.Api.GetAsync(new Uri("/api/authorizations" + query, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static IEnumerable<string> Ids(JsonElement list) => list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("authorizationId").GetString()!);

    [Fact]
    public async Task Authorizations_are_listed_by_status_service_and_deadline_without_member_data()
    {
        var review = await CreateAsync(Request("90000101A", new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } }, ["experiencing-homelessness"]));
        var presumptive = await CreateAsync(Request("90000102A", new { program = "ecm", populationsOfFocus = new[] { "justice-involved" } }, ["transitioning-from-incarceration"], "expedited"));
        var meals = await CreateAsync(Request("90000103A", new { program = "community-supports", services = new[] { "medically-tailored-meals" } }, []));

        var inReviewEcm = await Eventually.ValueAsync(() => ListAsync("?status=in-review&service=ecm&top=200"), l => Ids(l).Contains(review), Patience, "the in-review ECM request listed");
        var authorized = await Eventually.ValueAsync(() => ListAsync("?status=authorized&top=200"), l => Ids(l).Contains(presumptive), Patience, "the presumptive request listed");
        var mealsListed = await ListAsync("?service=medically-tailored-meals&top=200");

        Assert.DoesNotContain(presumptive, Ids(inReviewEcm));
        Assert.DoesNotContain(meals, Ids(inReviewEcm));
        Assert.DoesNotContain(review, Ids(authorized));
        Assert.Equal([meals], Ids(mealsListed).Where(id => id == meals || id == review || id == presumptive));
        var item = authorized.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("authorizationId").GetString() == presumptive);
        Assert.Equal("authorized", item.GetProperty("status").GetString());
        Assert.Equal(["ecm"], item.GetProperty("services").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("justice-involved-population-of-focus", item.GetProperty("presumptiveBasis").GetString());
        Assert.DoesNotContain("90000102A", authorized.GetRawText(), StringComparison.Ordinal);

        // dueBefore is exclusive: the request's own decision deadline leaves it out, a second later takes it in.
        var listed = inReviewEcm.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("authorizationId").GetString() == review);
        var due = listed.GetProperty("nextDeadline").GetDateTimeOffset();
        var before = await ListAsync($"?status=in-review&service=ecm&top=200&dueBefore={Uri.EscapeDataString(due.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture))}");
        var after = await ListAsync($"?status=in-review&service=ecm&top=200&dueBefore={Uri.EscapeDataString(due.AddSeconds(1).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))}");
        Assert.DoesNotContain(review, Ids(before));
        Assert.Contains(review, Ids(after));
        var deadlines = Ids(after).Select(id => after.GetProperty("items").EnumerateArray().First(i => i.GetProperty("authorizationId").GetString() == id).GetProperty("nextDeadline").GetDateTimeOffset()).ToList();
        Assert.Equal(deadlines.Order(), deadlines);
    }

    [Fact]
    public async Task A_page_is_at_most_top_and_the_continuation_gives_the_next_one()
    {
        await CreateAsync(Request("90000111A", new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } }, ["experiencing-homelessness"]));
        await CreateAsync(Request("90000112A", new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } }, ["experiencing-homelessness"]));

        var first = await Eventually.ValueAsync(() => ListAsync("?top=1"), l => l.GetProperty("continuation").ValueKind == JsonValueKind.String, Patience, "a first page with a continuation");
        var second = await ListAsync("?top=1&continuation=" + Uri.EscapeDataString(first.GetProperty("continuation").GetString()!));

        var none = await ListAsync("?status=expired&service=transitional-rent");
        Assert.Empty(none.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, none.GetProperty("continuation").ValueKind);
        Assert.Single(first.GetProperty("items").EnumerateArray());
        Assert.Single(second.GetProperty("items").EnumerateArray());
        Assert.NotEqual(Ids(first).Single(), Ids(second).Single());
    }

    [Fact]
    public async Task An_authorization_request_with_120_bad_facts_lists_the_first_100_errors_and_counts_the_rest()
    {
        var facts = Enumerable.Range(0, 120).Select(i => $"fact-{(char)('a' + (i / 26))}{(char)('a' + (i % 26))}").ToArray();

        using var response = await hub.PostAsync("/api/authorizations", Request("90000121A", new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } }, facts));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Invalid authorization request", problem.GetProperty("title").GetString());
        Assert.EndsWith(" (and 119 more; errors lists the first 100, moreErrors counts the rest)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("'supportingFacts[0]' 'fact-aa' is not a DHCS eligibility criterion code", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(100, problem.GetProperty("errors").EnumerateObject().Count());
        Assert.Equal(20, problem.GetProperty("moreErrors").GetInt32());
    }

    [Theory]
    [InlineData("?status=approved", "'status' 'approved' is not an authorization status; use one of 'in-review', 'pending-information', 'authorized', 'denied', 'expired'")]
    [InlineData("?service=dog-walking", "'service' 'dog-walking' is not a service; use 'ecm' or a Community Supports service (housing-transition-navigation, housing-deposits, housing-tenancy-sustaining, short-term-post-hospitalization-housing, recuperative-care, respite-services, day-habilitation-programs, nursing-facility-transition-to-alf, community-transition-services, personal-care-and-homemaker, environmental-accessibility-adaptations, medically-tailored-meals, sobering-centers, asthma-remediation, transitional-rent)")]
    [InlineData("?dueBefore=2026-07-10", "'dueBefore' '2026-07-10' is not an ISO 8601 date and time with an offset, e.g. 2026-07-10T17:00:00-07:00 or 2026-07-11T00:00:00Z")]
    [InlineData("?dueBefore=2026-07-10T17:00:00", "'dueBefore' '2026-07-10T17:00:00' is not an ISO 8601 date and time with an offset, e.g. 2026-07-10T17:00:00-07:00 or 2026-07-11T00:00:00Z")]
    [InlineData("?top=0", "'top' '0' is not a page size; use a whole number from 1 to 200 (default 50)")]
    [InlineData("?top=500&status=new", "'status' 'new' is not an authorization status; use one of 'in-review', 'pending-information', 'authorized', 'denied', 'expired' (and 1 more; see errors)")]
    public async Task A_bad_filter_is_400_naming_the_parameter_and_the_allowed_values(string query, string detail)
    {
        using var response = await hub.Api.GetAsync(new Uri("/api/authorizations" + query, UriKind.Relative));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Invalid authorization query", problem.GetProperty("title").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }
}
