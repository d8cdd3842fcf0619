using System.Net;
using System.Text;
using System.Text.Json;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Staff;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CalAimHub.Functions.Tests;

/// <summary>Every function folder reaches a handler route, as the Functions host will call it (in-memory server; no storage needed).</summary>
public sealed class HandlerRoutesTests : IClassFixture<HandlerRoutesTests.Handler>
{
    private readonly Handler handler;

    public HandlerRoutesTests(Handler handler) => this.handler = handler;

    public sealed class Handler : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.UseSetting("FUNCTIONS_APP_ROOT_PATH", AppContext.BaseDirectory);
            // Clients are created, never called, by these tests.
            builder.UseSetting("AzureWebJobsStorage", "UseDevelopmentStorage=true");
        }
    }

    [Fact]
    public async Task Readiness_probe_answers_200()
    {
        using var client = handler.CreateClient();

        var response = await client.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Every_queue_and_timer_function_has_an_invocation_route()
    {
        var app = FunctionAppDefinition.Load(AppContext.BaseDirectory);
        using var client = handler.CreateClient();
        var invoked = app.Functions.Where(f => f.Trigger.Type != BindingDefinition.HttpTrigger).ToArray();
        Assert.NotEmpty(invoked);

        foreach (var function in invoked)
        {
            using var response = await client.PostAsync(new Uri("/" + function.Name, UriKind.Relative), new StringContent("{}", Encoding.UTF8, "application/json"));

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal($"{function.Name}: malformed invocation", problem.GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task Malformed_envelope_json_fails_the_invocation_with_400_problem_json()
    {
        using var client = handler.CreateClient();

        using var response = await client.PostAsync(new Uri("/Notify", UriKind.Relative), new StringContent("{\"Data\":", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith("Invocation body is not valid JSON: ", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_notification_before_the_last_attempt_answers_500_so_the_host_retries()
    {
        using var client = handler.CreateClient();
        var envelope = """{"Data":{"notification":"\"not json\""},"Metadata":{"DequeueCount":"2","Id":"\"m-7\""}}""";

        using var response = await client.PostAsync(new Uri("/Notify", UriKind.Relative), new StringContent(envelope, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Notify attempt 2 of 5 failed", problem.GetProperty("title").GetString());
        Assert.StartsWith("notification message is not valid JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_api_path_is_a_404_problem_to_staff_and_401_to_anyone_else()
    {
        using var client = handler.CreateClient();
        // Without a sign-in the hub does not say which paths exist (App Service authentication answers 401 first in Azure).
        using var anonymous = await client.GetAsync(new Uri("/api/no-such-thing", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        client.DefaultRequestHeaders.Add(ClientPrincipal.Header, ClientPrincipal.Development("vic", [StaffRoles.Viewer]).Encode());

        using var response = await client.GetAsync(new Uri("/api/no-such-thing", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("GET /api/no-such-thing is not an API of this hub.", problem.GetProperty("detail").GetString());
    }
}
