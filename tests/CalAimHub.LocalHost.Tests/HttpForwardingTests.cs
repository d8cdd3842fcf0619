using System.Net;
using System.Text;
using System.Text.Json;

namespace CalAimHub.LocalHost.Tests;

public sealed class HttpForwardingTests : IAsyncLifetime
{
    private readonly TestApp _app = TestApp.Create(new()
    {
        ["Api"] = TestApp.Http("{*path}", "get", "post"),
        ["Health"] = TestApp.Http("health", "get"),
    });

    private readonly List<string> _log = [];
    private StandInHandler _handler = null!;
    private LocalHub _hub = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _handler = await StandInHandler.StartAsync();
        _hub = await LocalHub.StartAsync(Hubs.For(_app, _handler, _log) with { EnableQueueTriggers = false, EnableBlobEvents = false });
        _client = new HttpClient { BaseAddress = _hub.ApiBaseAddress };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _hub.DisposeAsync();
        await _handler.DisposeAsync();
        _app.Dispose();
    }

    [Fact]
    public async Task The_request_is_forwarded_as_is_and_the_response_streamed_back()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals/a%20b?status=open&q=%C3%A9&q=2")
        {
            Content = new StringContent("{\"referral\":\"R-1\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", "msg_123");

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("X-Echo").Single());
        using var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("POST", echo.RootElement.GetProperty("method").GetString());
        Assert.Equal("/api/referrals/a%20b", echo.RootElement.GetProperty("path").GetString());
        Assert.Equal("?status=open&q=%C3%A9&q=2", echo.RootElement.GetProperty("query").GetString());
        Assert.Equal("{\"referral\":\"R-1\"}", echo.RootElement.GetProperty("body").GetString());
        var received = Assert.Single(_handler.Requests);
        Assert.Equal("msg_123", received.Headers["webhook-id"]);
        Assert.Equal("application/json; charset=utf-8", received.Headers["Content-Type"]);
        Assert.True(Guid.TryParse(received.Headers["X-Azure-Functions-InvocationId"], out _));
        Assert.Contains(Hubs.Snapshot(_log), l => l.StartsWith("HTTP Api POST -> 201", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_literal_route_wins_over_the_catch_all()
    {
        using var health = await _client.GetAsync("/api/health");
        using var other = await _client.GetAsync("/api/healthz");

        Assert.Equal(HttpStatusCode.Created, health.StatusCode);
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        var lines = Hubs.Snapshot(_log);
        Assert.Contains(lines, l => l.StartsWith("HTTP Health GET -> 201", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("HTTP Api GET -> 201", StringComparison.Ordinal));
        Assert.Equal(["/api/health", "/api/healthz"], _handler.Requests.Select(r => r.Path).ToArray());
    }

    [Fact]
    public async Task Methods_are_filtered_and_unknown_paths_are_404_without_reaching_the_handler()
    {
        using var put = await _client.PutAsync("/api/referrals/1", new StringContent("{}"));
        using var delete = await _client.DeleteAsync("/api/health");
        using var outside = await _client.GetAsync("/other/thing");
        using var postHealth = await _client.PostAsync("/api/health", new StringContent("{}")); // Health is GET only; the catch-all takes POST

        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        Assert.Equal(HttpStatusCode.Created, postHealth.StatusCode);
        Assert.Equal("POST /api/health", Assert.Single(_handler.Requests.Select(r => $"{r.Method} {r.Path}")));
    }

    [Theory]
    [InlineData("api", "{*path}", "/api/{*path}")]
    [InlineData("api", "health", "/api/health")]
    [InlineData("", "webhooks/{platform}", "/webhooks/{platform}")]
    [InlineData("/api/", "/x/", "/api/x")]
    public void Route_patterns_join_the_prefix_and_the_function_route(string prefix, string route, string expected) =>
        Assert.Equal(expected, FrontDoor.RoutePattern(prefix, route));
}
