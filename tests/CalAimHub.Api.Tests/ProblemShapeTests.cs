using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CalAimHub.Functions.Extensions;
using CalAimHub.Hosting.Json;

namespace CalAimHub.Api.Tests;

/// <summary>problem+json is well-formed on the live handler: one member per name, a detail stating the cause, capped error lists.</summary>
public sealed class ProblemShapeTests : IClassFixture<ApiHub>
{
    private readonly ApiHub hub;

    public ProblemShapeTests(ApiHub hub) => this.hub = hub;

    [Fact]
    public async Task A_duplicate_authorization_409_carries_its_status_once_and_the_authorization_status_by_its_own_name()
    {
        var request = ApiContract.Example("RequestAuthorization")!.AsObject();
        request["memberCin"] = "93333333C";
        using var first = await PostAsync("/api/authorizations", request);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var second = await PostAsync("/api/authorizations", request);
        var bytes = await second.Content.ReadAsByteArrayAsync();
        var problem = JsonNode.Parse(bytes)!;

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Null(StrictJson.Check(bytes));
        Assert.Equal(409, problem["status"]!.GetValue<int>());
        Assert.Equal("in-review", problem["authorizationStatus"]!.GetValue<string>());
        Assert.StartsWith("this member already has an open or active authorization (in-review)", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_command_409_carries_its_status_once()
    {
        var request = ApiContract.Example("RequestAuthorization")!.AsObject();
        request["memberCin"] = "94444444D";
        using var created = await PostAsync("/api/authorizations", request);
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["authorizationId"]!.GetValue<string>();
        using var extended = await PostAsync($"/api/authorizations/{id}/extension", ApiContract.Example("ExtendAuthorizationReview")!);
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);

        using var again = await PostAsync($"/api/authorizations/{id}/extension", ApiContract.Example("ExtendAuthorizationReview")!);
        var bytes = await again.Content.ReadAsByteArrayAsync();
        var problem = JsonNode.Parse(bytes)!;

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Null(StrictJson.Check(bytes));
        Assert.Equal(409, problem["status"]!.GetValue<int>());
        Assert.Equal("in-review", problem["authorizationStatus"]!.GetValue<string>());
        Assert.Equal(id, problem["authorizationId"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_with_150_field_errors_lists_the_first_100_and_counts_the_rest()
    {
        var request = ApiContract.Example("RequestAuthorization")!.AsObject();
        request["supportingFacts"] = new JsonArray([.. Enumerable.Repeat<JsonNode?>(null, 150).Select(_ => (JsonNode?)JsonValue.Create(" "))]);

        using var response = await PostAsync("/api/authorizations", request);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var listed = problem["errors"]!.AsObject().Sum(e => e.Value!.AsArray().Count);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ProblemResponses.MaxListedErrors, listed);
        Assert.Equal(50, problem["moreErrors"]!.GetValue<int>());
        Assert.Equal("'supportingFacts[0]' must be a non-blank code string (and 149 more; errors lists the first 100, moreErrors counts the rest)", problem["detail"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> PostAsync(string path, JsonNode body) =>
        hub.Client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
}
