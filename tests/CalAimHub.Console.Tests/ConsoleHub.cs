using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
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

    /// <summary>Calls the staff API as a supervisor with every role (test setup, not what is being tested).</summary>
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
            },
            HostOverrides = new Dictionary<string, string>
            {
                ["extensions:queues:visibilityTimeout"] = "00:00:00",
                ["extensions:queues:maxPollingInterval"] = "00:00:00.250",
            },
        });
        Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        foreach (var (name, value) in StaffIdentity.Supervisor.Headers)
        {
            Api.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
        }

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
    public async Task<IPage> PageAsync(StaffIdentity identity)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Hub.ApiBaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            ExtraHTTPHeaders = identity.Headers,
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
/// header (base64 JSON of the token's claims, app roles as <c>roles</c> claims) and its name header. The browser sends
/// them on every request of its context, as the platform adds them in Azure.
/// </summary>
public sealed record StaffIdentity(string Name, IReadOnlyList<string> Roles)
{
    public static readonly StaffIdentity Supervisor = new("dana.supervisor@plan.example", ["viewer", "decider", "operator"]);
    public static readonly StaffIdentity Viewer = new("vic.viewer@plan.example", ["viewer"]);

    public Dictionary<string, string> Headers
    {
        get
        {
            var claims = new List<object> { new { typ = "name", val = Name }, new { typ = "preferred_username", val = Name } };
            claims.AddRange(Roles.Select(r => new { typ = "roles", val = r }));
            var principal = JsonSerializer.Serialize(new { auth_typ = "aad", claims, name_typ = "name", role_typ = "roles" });
            return new Dictionary<string, string>
            {
                ["X-MS-CLIENT-PRINCIPAL"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(principal)),
                ["X-MS-CLIENT-PRINCIPAL-NAME"] = Name,
                ["X-MS-CLIENT-PRINCIPAL-ID"] = Name,
                ["X-MS-CLIENT-PRINCIPAL-IDP"] = "aad",
            };
        }
    }
}
