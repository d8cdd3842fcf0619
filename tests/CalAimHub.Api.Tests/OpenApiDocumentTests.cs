using CalAimHub.Hosting.Http;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CalAimHub.Domain.CodeSets;
using CalAimHub.Functions.Extensions;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CalAimHub.Api.Tests;

/// <summary>The OpenAPI document is derived from the mapped routes: none is missing, every body is described, enums are the code sets.</summary>
public sealed class OpenApiDocumentTests : IClassFixture<OpenApiDocumentTests.Handler>
{
    private static readonly HashSet<string> Undocumented = new(StringComparer.Ordinal)
    {
        // The document itself, its reference page and the catch-all 404.
        "/api/openapi.json", "/api/{*path}",
    };

    private readonly Handler handler;

    public OpenApiDocumentTests(Handler handler) => this.handler = handler;

    public sealed class Handler : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.UseSetting("FUNCTIONS_APP_ROOT_PATH", AppContext.BaseDirectory);
            builder.UseSetting("AzureWebJobsStorage", "UseDevelopmentStorage=true");
        }
    }

    [Fact]
    public async Task Every_mapped_api_route_is_in_the_document_with_its_method()
    {
        var document = await DocumentAsync();
        var paths = document["paths"]!.AsObject();
        var mapped = ApiRoutes().ToArray();
        Assert.True(mapped.Length >= 25, $"only {mapped.Length} routes found");

        var missing = mapped
            .Where(r => paths[r.Path] is not JsonObject operations || operations[r.Method.ToLowerInvariant()] is null)
            .Select(r => $"{r.Method} {r.Path}")
            .ToArray();

        Assert.Empty(missing);
    }

    [Fact]
    public void Every_staff_route_is_known_to_the_input_edge_with_the_query_parameters_it_binds()
    {
        // An endpoint the edge cannot find a description for is not held to its parameters: none may be left out.
        var parameters = handler.Services.GetRequiredService<RouteQueryParameters>();
        var staff = Endpoints().Where(e => RouteQueryParameters.Applies(e.Endpoint)).ToArray();
        Assert.True(staff.Length >= 40, $"only {staff.Length} staff endpoints found");

        var unknown = staff.Where(e => parameters.Of(e.Endpoint) is null).Select(e => $"{string.Join(",", e.Methods)} {e.Pattern}").ToArray();

        Assert.Empty(unknown);
        var list = staff.Single(e => e.Pattern == "/api/workflows" && e.Methods.Contains("GET"));
        Assert.True(parameters.Of(list.Endpoint)!.Contains("runtimeStatus"), "GET /api/workflows does not take runtimeStatus");
        var referrals = staff.Single(e => e.Pattern == "/api/referrals" && e.Methods.Contains("GET"));
        Assert.True(parameters.Of(referrals.Endpoint)!.Contains("top"), "GET /api/referrals does not take top");
    }

    [Fact]
    public async Task Every_operation_has_an_id_a_summary_and_a_problem_answer()
    {
        var document = await DocumentAsync();

        var incomplete = Operations(document)
            .Where(o => o.Operation["operationId"] is null || o.Operation["summary"] is null
                || (o.Path != "/api/health" && !o.Operation["responses"]!.AsObject().Any(r => r.Key.StartsWith('4'))))
            .Select(o => $"{o.Method} {o.Path}")
            .ToArray();

        Assert.Empty(incomplete);
    }

    [Fact]
    public void Every_route_that_takes_a_body_declares_its_media_types()
    {
        var undeclared = Endpoints()
            .Where(e => e.Methods.Any(m => m is "POST" or "PUT" or "PATCH"))
            .Where(e => e.Endpoint.Metadata.GetMetadata<RequestBodyContract>() is null && !IsBodylessCommand(e.Pattern))
            .Select(e => e.Pattern)
            .ToArray();

        Assert.Empty(undeclared);
    }

    [Fact]
    public async Task Every_json_request_body_has_a_realistic_example()
    {
        var document = await DocumentAsync();

        var withoutExample = Operations(document)
            .Where(o => o.Operation["requestBody"]?["content"]?["application/json"] is JsonObject media && media["example"] is null)
            .Select(o => o.Operation["operationId"]!.GetValue<string>())
            .ToArray();

        Assert.Empty(withoutExample);
        Assert.Contains("RequestAuthorization", ApiContract.ExampleOperations());
    }

    [Fact]
    public async Task Enums_in_the_document_are_the_hubs_code_sets()
    {
        var document = await DocumentAsync();
        var request = Body(document, "/api/authorizations", "post");
        var service = Resolve(document, request["properties"]!["service"]!);
        var webhook = Body(document, "/api/webhooks/{platform}", "post");

        var populations = Codes(service["properties"]!["populationsOfFocus"]!["items"]!);
        var services = Codes(service["properties"]!["services"]!["items"]!);
        var statuses = Codes(webhook["properties"]!["status"]!);
        var urgency = Codes(Resolve(document, request["properties"]!["urgency"]!));

        Assert.Equal(PopulationsOfFocus.Current.Entries.Select(p => p.Id), populations);
        Assert.Equal(CommunitySupports.Current.Entries.Select(s => s.Id), services);
        Assert.Equal(["Pending", "Accepted", "Declined", "Outreach Initiated", "Referral Loop Closed"], statuses);
        Assert.Equal(["routine", "expedited"], urgency);
    }

    [Fact]
    public async Task The_reference_page_loads_nothing_from_the_internet()
    {
        using var client = handler.CreateClient();

        var page = await client.GetStringAsync(new Uri(ApiContract.ReferenceRoute + "/", UriKind.Relative));
        var scripts = System.Text.RegularExpressions.Regex.Matches(page, "src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();

        Assert.DoesNotContain("https://", page, StringComparison.OrdinalIgnoreCase);
        Assert.NotEmpty(scripts);
        var sizes = new List<int>();
        foreach (var script in scripts)
        {
            using var response = await client.GetAsync(new Uri(new Uri("http://localhost" + ApiContract.ReferenceRoute + "/"), script));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            sizes.Add((await response.Content.ReadAsByteArrayAsync()).Length);
        }

        // The reference itself (Scalar's bundle, megabytes) is served by the app, not fetched from a CDN.
        Assert.Contains(sizes, s => s > 1_000_000);
    }

    /// <summary>The JSON request body schema of an operation, its reference resolved.</summary>
    private static JsonNode Body(JsonNode document, string path, string method) =>
        Resolve(document, document["paths"]![path]![method]!["requestBody"]!["content"]!["application/json"]!["schema"]!);

    private static JsonNode Resolve(JsonNode document, JsonNode schema) =>
        schema["$ref"] is { } reference ? document["components"]!["schemas"]![reference.GetValue<string>().Split('/')[^1]]! : schema;

    private static IEnumerable<string> Codes(JsonNode schema) => schema["enum"]!.AsArray().Select(n => n?.GetValue<string>()).OfType<string>();

    private async Task<JsonNode> DocumentAsync()
    {
        using var client = handler.CreateClient();
        using var response = await client.GetAsync(new Uri(ApiContract.DocumentRoute, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        return document;
    }

    private static IEnumerable<(string Method, string Path, JsonObject Operation)> Operations(JsonNode document) =>
        from path in document["paths"]!.AsObject()
        from operation in path.Value!.AsObject()
        where operation.Value is JsonObject
        select (operation.Key.ToUpperInvariant(), path.Key, operation.Value!.AsObject());

    private IEnumerable<(string Method, string Path)> ApiRoutes() =>
        from e in Endpoints()
        where e.Pattern.StartsWith("/api/", StringComparison.Ordinal) && !Undocumented.Contains(e.Pattern)
            && !e.Pattern.StartsWith(ApiContract.ReferenceRoute, StringComparison.Ordinal)
        from method in e.Methods
        select (method, e.Pattern);

    private IEnumerable<(RouteEndpoint Endpoint, string Pattern, IReadOnlyList<string> Methods)> Endpoints() =>
        from source in handler.Services.GetServices<EndpointDataSource>()
        from endpoint in source.Endpoints.OfType<RouteEndpoint>()
        let pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/')
        let methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []
        where methods.Count > 0
        select (endpoint, pattern, (IReadOnlyList<string>)methods);

    /// <summary>Commands whose only input is the URL (terminate/suspend/resume take ?reason=; a poison replay and an extract
    /// generation are named by their path) and the invocation routes of the Functions host.</summary>
    private static bool IsBodylessCommand(string pattern) =>
        pattern.EndsWith("/terminate", StringComparison.Ordinal) || pattern.EndsWith("/suspend", StringComparison.Ordinal)
        || pattern.EndsWith("/{messageId}/replay", StringComparison.Ordinal) || pattern == "/api/console/extracts/{month}" || pattern == "/api/console/read-models/rebuild"
        || pattern == "/api/outbound/{period}/generate"
        || pattern.EndsWith("/resume", StringComparison.Ordinal) || !pattern.StartsWith("/api/", StringComparison.Ordinal);
}
