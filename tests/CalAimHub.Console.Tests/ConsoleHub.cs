using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CalAimHub.Hosting.Staff;
using CalAimHub.LocalHost;
using Microsoft.Playwright;

namespace CalAimHub.Console.Tests;

/// <summary>
/// The hub as the end-to-end suites run it (in-memory Azurite, the real handler process behind the local host) with its
/// business clock accelerated (12 virtual hours per real second, as AuthorizationHubFixture) so a real 72-hour deadline
/// breaches in seconds, and Debian's chromium driven by Playwright. Never downloads a browser: the executable is
/// <see cref="ChromiumPath"/>, installed by scripts/test.sh from the Debian package.
/// </summary>
public sealed class ConsoleHub : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const double Speed = 43_200;
    public const string ClockStart = "2026-05-04T09:00:00-07:00";
    public const string ConsolePath = "/api/console/ui";
    public const string FilePartner = "cbo-console";

    public LocalHub Hub { get; private set; } = null!;

    /// <summary>Calls the staff API through the front door as its development identity, every role (test setup, not what is tested).</summary>
    public HttpClient Api { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public static string RepositoryRoot => LocalHubOptions.DefaultRepositoryRoot;

    public static string ScreenshotDirectory => Path.Combine(RepositoryRoot, "docs", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium package (scripts/test.sh does: apt-get install -y chromium).");
        }

        Hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            AppSettings = new Dictionary<string, string>
            {
                ["Authorizations__AcceleratedClock__Start"] = ClockStart,
                ["Authorizations__AcceleratedClock__Speed"] = Speed.ToString(CultureInfo.InvariantCulture),
                ["Workflows__MaxTimerDelay"] = "00:00:01",
                ["Notifications__RequireHttps"] = "false",
                [$"Ingestion__Partners__{FilePartner}__Kinds__0"] = "otf",
                [$"Ingestion__Partners__{FilePartner}__Kinds__1"] = "invoice",
                [$"Ingestion__Partners__{FilePartner}__Kinds__2"] = "assignment",
            },
            HostOverrides = new Dictionary<string, string>
            {
                ["extensions:queues:visibilityTimeout"] = "00:00:00",
                ["extensions:queues:maxPollingInterval"] = "00:00:00.250",
            },
        });
        // Through the front door, signed in as its default development identity (every role).
        Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
        Api?.Dispose();
        if (Hub is not null)
        {
            await Hub.DisposeAsync();
        }
    }

    /// <summary>A browser page signed in as <paramref name="identity"/>, 1280×800 (the size the console must read well at).</summary>
    public async Task<IPage> PageAsync(DevelopmentIdentity identity)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Hub.HandlerAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            ExtraHTTPHeaders = StaffIdentity.Headers(identity),
            AcceptDownloads = true,
            TimezoneId = "America/Los_Angeles",
            Locale = "en-US",
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    /// <summary>Opens a console page (hash route) and waits until the console has rendered it.</summary>
    public static async Task OpenAsync(IPage page, string route)
    {
        await page.GotoAsync($"{ConsolePath}#{route}");
        await WaitRenderedAsync(page, route);
    }

    /// <summary>Waits for the console's "page rendered" mark (set when every part of the page has loaded or failed).</summary>
    public static Task WaitRenderedAsync(IPage page, string route) =>
        page.WaitForSelectorAsync($"body[data-rendered='{route.TrimStart('/').Split('/', '?')[0]}']");

    /// <summary>Writes a screenshot of the page for the README (docs/screenshots/{name}.png).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>Requests an authorization through the API; its id.</summary>
    public async Task<string> RequestAuthorizationAsync(string urgency = "routine", string? communitySupportsService = null)
    {
        var cin = Random.Shared.Next(10_000_000, 99_999_999).ToString(CultureInfo.InvariantCulture) + "C";
        object service = communitySupportsService is null
            ? new { program = "ecm", populationsOfFocus = new[] { "experiencing-homelessness-adults" } }
            : new { program = "community-supports", services = new[] { communitySupportsService } };
        using var response = await Api.PostAsJsonAsync("/api/authorizations", new
        {
            memberCin = cin,
            service,
            requestingProviderNpi = "1234567893",
            referringEntity = "St. Rosa Medical Center discharge planning",
            urgency,
            supportingFacts = communitySupportsService is null ? new[] { "experiencing-homelessness", "complex-need-unable-to-self-manage" } : [],
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"requesting an authorization: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!["authorizationId"]!.GetValue<string>();
    }

    public async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await Api.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleHub>
{
    public const string Name = "console";
}

/// <summary>
/// A member of staff as App Service authentication (Easy Auth) presents them to the app: the <c>X-MS-CLIENT-PRINCIPAL</c>
/// headers, in the shape the local front door injects for <c>./hub run --as</c>. The front door signs every request in as
/// its one configured identity and drops client-sent principals (as App Service does), so a browser that must be a viewer
/// in one test and a decider in the next talks to the handler directly and its context sends these headers, playing the
/// part Easy Auth plays in Azure.
/// </summary>
public static class StaffIdentity
{
    public static readonly DevelopmentIdentity Supervisor = new("dana.supervisor", StaffRoles.All);
    public static readonly DevelopmentIdentity Viewer = new("vic.viewer", [StaffRoles.Viewer]);

    public static Dictionary<string, string> Headers(DevelopmentIdentity identity)
    {
        var principal = identity.ToPrincipal();
        return new Dictionary<string, string>
        {
            [ClientPrincipal.Header] = principal.Encode(),
            ["X-MS-CLIENT-PRINCIPAL-NAME"] = identity.Name,
            ["X-MS-CLIENT-PRINCIPAL-ID"] = principal.Values(ClientPrincipal.ObjectIdType).First(),
            ["X-MS-CLIENT-PRINCIPAL-IDP"] = "aad",
        };
    }
}
