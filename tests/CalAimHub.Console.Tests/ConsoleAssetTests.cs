using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CalAimHub.Console.Tests;

/// <summary>
/// The console is served by the handler itself (through the local host's front door, as the Functions host would):
/// its page, scripts and styles from the assembly, nothing from another origin, and the chart library byte for byte the
/// npm package pinned in package-lock.json.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class ConsoleAssetTests(ConsoleHub hub)
{
    private HttpClient Client() => new() { BaseAddress = hub.Hub.ApiBaseAddress };

    [Fact]
    public async Task The_page_and_every_asset_it_names_are_served_by_the_app_under_a_same_origin_policy()
    {
        using var client = Client();

        using var response = await client.GetAsync(new Uri(ConsoleHub.ConsolePath, UriKind.Relative));
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var assets = AssetReference().Matches(page).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["/api/console/ui/assets/console.css", "/api/console/ui/assets/chart.umd.min.js", "/api/console/ui/assets/console.js"], assets);
        foreach (var asset in assets)
        {
            using var assetResponse = await client.GetAsync(new Uri(asset, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, assetResponse.StatusCode);
            var text = await assetResponse.Content.ReadAsStringAsync();
            Assert.True(text.Length > 1000, $"{asset} is {text.Length} characters");
            Assert.Equal(asset.EndsWith(".css", StringComparison.Ordinal) ? "text/css" : "text/javascript", assetResponse.Content.Headers.ContentType?.MediaType);
            if (!asset.Contains("chart", StringComparison.Ordinal))
            {
                // The console's own code names no other origin (the chart library's licence banner names its site).
                Assert.DoesNotMatch("https?://", text);
            }
        }

        Assert.DoesNotMatch("https?://", page);
    }

    [Fact]
    public async Task Without_a_sign_in_the_page_offers_the_entra_sign_in_and_back_and_shows_no_data()
    {
        // Straight to the handler with no principal, as App Service authentication lets the page's excluded path through.
        var context = await hub.Browser.NewContextAsync(new Microsoft.Playwright.BrowserNewContextOptions { BaseURL = hub.Hub.HandlerAddress.ToString() });
        var page = await context.NewPageAsync();
        var data = new List<int>();
        page.Response += (_, response) =>
        {
            if (response.Url.Contains("/api/console/", StringComparison.Ordinal) && !response.Url.Contains("/api/console/ui", StringComparison.Ordinal))
            {
                data.Add(response.Status);
            }
        };
        try
        {
            await ConsoleHub.OpenAsync(page, "/today");
            var signIn = page.Locator("a.sign-in");

            Assert.Equal("Sign in", await signIn.TextContentAsync());
            Assert.Equal("/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fconsole%2Fui%23%2Ftoday", await signIn.GetAttributeAsync("href"));
            Assert.NotEmpty(data);
            Assert.All(data, status => Assert.Equal(401, status));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_unchanged_asset_is_a_304_on_revalidation()
    {
        using var client = Client();
        using var first = await client.GetAsync(new Uri("/api/console/ui/assets/console.js", UriKind.Relative));
        var etag = first.Headers.ETag!;

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/console/ui/assets/console.js", UriKind.Relative));
        request.Headers.IfNoneMatch.Add(etag);
        using var second = await client.SendAsync(request);

        Assert.Equal("no-cache", first.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Empty(await second.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("nothing.js")]
    [InlineData("index.html")]
    [InlineData("..%2Fconsole.js")]
    public async Task An_asset_the_console_does_not_have_is_a_404_problem(string file)
    {
        using var client = Client();

        using var response = await client.GetAsync(new Uri($"/api/console/ui/assets/{file}", UriKind.Relative));
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("No such console asset", problem["title"]!.GetValue<string>());
        Assert.Equal($"the console has no asset '{file}'; its assets are chart.umd.min.js, console.css, console.js",
            problem["detail"]!.GetValue<string>());
    }

    /// <summary>The committed chart library (StaffConsole/ui/chart.umd.min.js) is the file of the npm package version
    /// package-lock.json pins; after <c>npm install chart.js@x --save-exact</c> this fails until the file is copied again.</summary>
    [Fact]
    public async Task The_served_chart_library_is_the_npm_package_pinned_in_package_lock()
    {
        var root = ConsoleHub.RepositoryRoot;
        var pinned = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "package-lock.json")))!["packages"]!["node_modules/chart.js"]!["version"]!.GetValue<string>();
        var installed = Path.Combine(root, "node_modules", "chart.js");
        Assert.True(File.Exists(Path.Combine(installed, "package.json")), "node_modules/chart.js is missing: run npm ci (scripts/test.sh does)");
        Assert.Equal(pinned, JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(installed, "package.json")))!["version"]!.GetValue<string>());
        using var client = Client();

        var served = await client.GetByteArrayAsync(new Uri("/api/console/ui/assets/chart.umd.min.js", UriKind.Relative));

        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(installed, "dist", "chart.umd.min.js")), served);
        Assert.Contains($"Chart.js v{pinned}", System.Text.Encoding.UTF8.GetString(served.AsSpan(0, 200)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/console")]
    public async Task The_local_front_door_sends_a_browser_to_the_console(string path)
    {
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = hub.Hub.ApiBaseAddress };

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/api/console/ui", response.Headers.Location?.OriginalString);
    }

    [GeneratedRegex("(?:src|href)=\"(/api/console/ui/assets/[^\"]+)\"")]
    private static partial Regex AssetReference();
}
