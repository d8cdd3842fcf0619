extern alias localhost;

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CalAimHub.Hosting.Staff;
using localhost::CalAimHub.LocalHost;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CalAimHub.Api.Tests;

/// <summary>
/// A hub whose front door signs every request in as a viewer ("vic"), plus direct calls to its handler with the
/// principal App Service authentication would set ("Azure mode": the handler trusts only X-MS-CLIENT-PRINCIPAL).
/// </summary>
public sealed class StaffHub : IAsyncLifetime
{
    public LocalHub Hub { get; private set; } = null!;

    /// <summary>Through the front door, signed in as vic (viewer).</summary>
    public HttpClient FrontDoor { get; private set; } = null!;

    /// <summary>Straight to the handler, as App Service forwards a request: the test sets (or omits) the principal.</summary>
    public HttpClient Handler { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            Instances = 1,
            EnableTimerTriggers = false,
            StaffIdentity = DevelopmentIdentity.Parse("vic:viewer"),
            AppSettings = new Dictionary<string, string> { ["Notifications__RequireHttps"] = "false" },
        });
        FrontDoor = new HttpClient { BaseAddress = Hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Handler = new HttpClient { BaseAddress = Hub.HandlerAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        FrontDoor.Dispose();
        Handler.Dispose();
        await Hub.DisposeAsync();
    }
}

public sealed class StaffAccessTests(StaffHub hub) : IClassFixture<StaffHub>
{
    private static object EcmRequest(string cin) => new
    {
        memberCin = cin,
        service = new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } },
        requestingProviderNpi = "1234567893",
        referringEntity = "county-hospital",
        urgency = "routine",
        supportingFacts = new[] { "experiencing-homelessness", "complex-need-unable-to-self-manage" },
    };

    private static HttpRequestMessage As(HttpMethod method, string path, string? principal, object? body = null)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (principal is not null)
        {
            request.Headers.Add(ClientPrincipal.Header, principal);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    private static string Principal(string name, params string[] roles) => ClientPrincipal.Development(name, roles).Encode();

    private static async Task<JsonNode> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    [Theory]
    [InlineData("GET", "/api/authorizations")]
    [InlineData("GET", "/api/workflows")]
    [InlineData("GET", "/api/referrals")]
    [InlineData("GET", "/api/providers")]
    [InlineData("POST", "/api/authorizations/auth-1/decision")]
    [InlineData("POST", "/api/workflows/auth-1/terminate")]
    [InlineData("GET", "/api/console/me")]
    [InlineData("GET", "/api/console/operations")]
    public async Task Without_a_principal_every_staff_route_is_401_sign_in_required(string method, string path)
    {
        using var response = await hub.Handler.SendAsync(As(new HttpMethod(method), path, null, method == "POST" ? new { } : null));

        var problem = await ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("https://calaimhub/problems/sign-in-required", problem["type"]!.GetValue<string>());
        Assert.Equal("Sign-in required", problem["title"]!.GetValue<string>());
        Assert.Equal(
            "this API is for signed-in plan staff: sign in with Microsoft Entra ID (App Service authentication sets the X-MS-CLIENT-PRINCIPAL header); no valid principal arrived",
            problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("eyJub3QiOiJhIHByaW5jaXBhbCJ9")] // {"not":"a principal"}
    public async Task A_principal_header_that_is_not_a_client_principal_is_401(string header)
    {
        using var response = await hub.Handler.SendAsync(As(HttpMethod.Get, "/api/authorizations", header));

        var problem = await ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Sign-in required", problem["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_and_the_api_contract_stay_anonymous()
    {
        using var health = await hub.Handler.GetAsync(new Uri("/api/health", UriKind.Relative));
        using var contract = await hub.Handler.GetAsync(new Uri("/api/openapi.json", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, contract.StatusCode);
    }

    [Fact]
    public async Task The_webhook_route_is_not_behind_sign_in_its_signature_is_the_credential()
    {
        using var response = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/webhooks/sampleplatform", null, new { }));

        var problem = await ProblemAsync(response, response.StatusCode);
        Assert.NotEqual("https://calaimhub/problems/sign-in-required", problem["type"]?.GetValue<string>());
        Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task A_viewer_reads_but_a_decision_is_403_naming_the_decider_role()
    {
        using var list = await hub.Handler.SendAsync(As(HttpMethod.Get, "/api/authorizations", Principal("vera", StaffRoles.Viewer)));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);

        using var decide = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/authorizations/auth-1/decision", Principal("vera", StaffRoles.Viewer), new { outcome = "approve" }));

        var problem = await ProblemAsync(decide, HttpStatusCode.Forbidden);
        Assert.Equal("https://calaimhub/problems/role-required", problem["type"]!.GetValue<string>());
        Assert.Equal("Role required", problem["title"]!.GetValue<string>());
        Assert.Equal("POST /api/authorizations/auth-1/decision needs the 'decider' role; vera has viewer", problem["detail"]!.GetValue<string>());
        Assert.Equal(["decider"], problem["requiredRoles"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Fact]
    public async Task A_decider_may_not_repair_workflows_and_a_principal_without_hub_roles_reads_nothing()
    {
        using var terminate = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/workflows/auth-1/terminate", Principal("dana", StaffRoles.Decider)));
        var problem = await ProblemAsync(terminate, HttpStatusCode.Forbidden);
        Assert.Equal("POST /api/workflows/auth-1/terminate needs the 'operator' role; dana has decider", problem["detail"]!.GetValue<string>());

        using var read = await hub.Handler.SendAsync(As(HttpMethod.Get, "/api/referrals", Principal("nemo")));
        problem = await ProblemAsync(read, HttpStatusCode.Forbidden);
        Assert.Equal("GET /api/referrals needs one of the roles 'viewer', 'decider', 'operator', 'privacy'; nemo has no hub role", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_decider_decides_and_the_history_records_who()
    {
        var decider = Principal("dana.decider@plan.example", StaffRoles.Decider);
        using var created = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/authorizations", decider, EcmRequest("93456789A")));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["authorizationId"]!.GetValue<string>();

        using var decided = await hub.Handler.SendAsync(As(HttpMethod.Post, $"/api/authorizations/{id}/decision", decider, new { outcome = "approve", decidedBy = "um-nurse-14" }));
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);

        using var read = await hub.Handler.SendAsync(As(HttpMethod.Get, $"/api/authorizations/{id}", Principal("vera", StaffRoles.Viewer)));
        var history = JsonNode.Parse(await read.Content.ReadAsStringAsync())!["history"]!.AsArray();
        var decision = history.Single(h => h!["name"]!.GetValue<string>() == "decision")!;
        Assert.Equal("dana.decider@plan.example", decision["by"]!["name"]!.GetValue<string>());
        Assert.Equal("local-dana.decider@plan.example", decision["by"]!["objectId"]!.GetValue<string>());
        Assert.Equal("dana.decider@plan.example", history.Single(h => h!["name"]!.GetValue<string>() == "started")!["by"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_operator_repair_is_recorded_with_who_did_it()
    {
        var operatorPrincipal = Principal("olga", StaffRoles.Operator);
        using var created = await hub.Handler.SendAsync(As(HttpMethod.Post, "/api/authorizations", Principal("dana", StaffRoles.Decider), EcmRequest("93456790A")));
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["authorizationId"]?.GetValue<string>();
        Assert.NotNull(id);

        using var terminated = await hub.Handler.SendAsync(As(HttpMethod.Post, $"/api/workflows/{id}/terminate?reason=duplicate", operatorPrincipal));
        Assert.Equal(HttpStatusCode.Accepted, terminated.StatusCode);

        using var status = await hub.Handler.SendAsync(As(HttpMethod.Get, $"/api/workflows/{id}?showHistory=true", operatorPrincipal));
        var last = JsonNode.Parse(await status.Content.ReadAsStringAsync())!["historyEvents"]!.AsArray()[^1]!;
        Assert.Equal("$terminate", last["name"]!.GetValue<string>());
        Assert.Equal("olga", last["by"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_front_door_drops_a_forged_principal_and_signs_the_request_in_as_its_own_identity()
    {
        // vic is a viewer; the client claims to be an operator. App Service authentication strips such a header, and so does the local front door.
        using var request = As(HttpMethod.Post, "/api/workflows/auth-1/terminate", Principal("mallory", StaffRoles.Operator));
        request.Headers.Add("X-MS-CLIENT-PRINCIPAL-NAME", "mallory");
        using var response = await hub.FrontDoor.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("POST /api/workflows/auth-1/terminate needs the 'operator' role; vic has viewer", problem["detail"]!.GetValue<string>());

        using var me = await hub.FrontDoor.GetAsync(new Uri("/api/console/me", UriKind.Relative));
        Assert.Equal("""{"name":"vic","roles":["viewer"]}""", await me.Content.ReadAsStringAsync());
    }
}

/// <summary>Every route's access, read from the mapped endpoints: anonymous only where the contract says, every change behind its role.</summary>
public sealed class StaffAccessMapTests(OpenApiDocumentTests.Handler handler) : IClassFixture<OpenApiDocumentTests.Handler>
{
    private static readonly string[] Anonymous =
    [
        "GET /", "GET /api/health", "POST /api/webhooks/{platform}", "GET /api/openapi.json", "GET /api/docs/*",
        "GET /api/outbound/{providerId}/{kind}/{file}", // a provider's fetch: its own API key, checked by the route
        "GET /api/console/ui", "GET /api/console/ui/assets/{file}", // the console's page and scripts: no data; they offer the sign-in
    ];

    /// <summary>The changes each role allows (roles.md of the contract: decider decides, operator replays, repairs, edits and generates).</summary>
    private static readonly Dictionary<string, string> Changes = new(StringComparer.Ordinal)
    {
        ["RequestAuthorization"] = StaffRoles.Decider,
        ["DecideAuthorization"] = StaffRoles.Decider,
        ["ExtendAuthorizationReview"] = StaffRoles.Decider,
        ["RecordAuthorizationNoticesSent"] = StaffRoles.Decider,
        ["RequestReauthorization"] = StaffRoles.Decider,
        ["StartWorkflow"] = StaffRoles.Operator,
        ["RaiseWorkflowEvent"] = StaffRoles.Operator,
        ["TerminateWorkflow"] = StaffRoles.Operator,
        ["SuspendWorkflow"] = StaffRoles.Operator,
        ["ResumeWorkflow"] = StaffRoles.Operator,
        ["PurgeWorkflow"] = StaffRoles.Operator,
        ["ImportProviderDirectory"] = StaffRoles.Operator,
        ["PutProvider"] = StaffRoles.Operator,
        ["ReplayPoisonMessage"] = StaffRoles.Operator,
        ["GenerateMonitoringExtract"] = StaffRoles.Operator,
        ["RebuildConsoleReadModels"] = StaffRoles.Operator,
        ["RecordInvoiceRemittance"] = StaffRoles.Operator,
        // Member-level privacy records: recording consents and reading consents and disclosure histories (bodies keep the CIN out of URLs).
        ["RecordMemberConsent"] = StaffRoles.Privacy,
        ["SearchMemberConsents"] = StaffRoles.Privacy,
        ["SearchMemberDisclosures"] = StaffRoles.Privacy,
        ["GenerateOutboundFiles"] = StaffRoles.Operator,
    };

    /// <summary>POSTs that only read (bodies keep member ids out of URLs) or check a file without storing it.</summary>
    private static readonly HashSet<string> ReadingPosts = new(StringComparer.Ordinal) { "LookUpMemberAuthorizations", "ValidatePartnerFile", "ReceiveReferralWebhook" };

    private IEnumerable<(RouteEndpoint Endpoint, string Route, string? Name, IReadOnlyList<string> Policies, bool IsAnonymous)> Routes() =>
        from source in handler.Services.GetServices<EndpointDataSource>()
        from endpoint in source.Endpoints.OfType<RouteEndpoint>()
        let methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []
        from method in methods
        let route = method + " /" + endpoint.RoutePattern.RawText!.Trim('/')
        where !route.StartsWith("POST /", StringComparison.Ordinal) || route.Contains("/api/", StringComparison.Ordinal)
        select (endpoint, route, endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName,
            (IReadOnlyList<string>)[.. endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>()],
            endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null);

    [Fact]
    public void Only_health_webhooks_the_contract_and_the_hosts_invocations_are_anonymous()
    {
        // The reference page's own routes (its script, its icon, the page) count as one.
        var anonymousApi = Routes().Where(r => r.IsAnonymous)
            .Select(r => r.Route.StartsWith("GET /api/docs/", StringComparison.Ordinal) ? "GET /api/docs/*" : r.Route)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(Anonymous.Order(StringComparer.Ordinal), anonymousApi);
    }

    /// <summary>
    /// In Azure, App Service authentication answers 401 before the app sees a request unless its path is excluded in
    /// infra/modules/functionapp.bicep: an anonymous route missing there cannot be reached (a provider's file fetch was).
    /// "GET /" is the handler's own readiness answer, which the Functions host never routes.
    /// </summary>
    [Fact]
    public void Every_anonymous_route_is_excluded_from_app_service_authentication_in_the_bicep()
    {
        var bicep = File.ReadAllText(Path.Combine(LocalHubOptions.DefaultRepositoryRoot, "infra", "modules", "functionapp.bicep"));
        var list = System.Text.RegularExpressions.Regex.Match(bicep, @"excludedPaths:\s*\[(?<paths>[^\]]*)\]").Groups["paths"].Value;
        var excluded = System.Text.RegularExpressions.Regex.Matches(list, "'([^']+)'").Select(m => m.Groups[1].Value).ToArray();

        var unreachable = Anonymous.Where(r => r != "GET /")
            .Select(r => r.Split(' ', 2)[1])
            .Where(path => !excluded.Any(e => e.EndsWith("/*", StringComparison.Ordinal) ? path.StartsWith(e[..^1], StringComparison.Ordinal) : path == e))
            .ToArray();

        Assert.NotEmpty(excluded);
        Assert.Empty(unreachable);
    }

    [Fact]
    public void Every_change_needs_its_role_and_no_other_change_goes_unclassified()
    {
        var wrong = Routes()
            .Where(r => !r.IsAnonymous && !r.Route.StartsWith("GET ", StringComparison.Ordinal))
            .Where(r => r.Name is null || !ReadingPosts.Contains(r.Name))
            .Where(r => r.Name is null || !Changes.TryGetValue(r.Name, out var role) || !r.Policies.Contains(role))
            .Select(r => $"{r.Route} ({r.Name}: {string.Join(",", r.Policies)})")
            .ToArray();

        Assert.Empty(wrong);
        Assert.All(Changes.Keys, name => Assert.Contains(Routes(), r => r.Name == name));
    }
}
