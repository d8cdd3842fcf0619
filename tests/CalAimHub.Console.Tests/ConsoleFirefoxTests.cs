using Microsoft.Playwright;

namespace CalAimHub.Console.Tests;

/// <summary>
/// Debian's Firefox ESR, driven by Playwright over WebDriver BiDi (the <c>moz-firefox</c> channel: the stock browser, not
/// Playwright's own patched build, which cannot be downloaded here). Never downloads a browser: the executable is
/// <see cref="Path"/>, installed by scripts/test.sh from the Debian package.
/// </summary>
public sealed class FirefoxBrowser : IAsyncLifetime
{
    public const string Path = "/usr/bin/firefox-esr";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException($"{Path} is missing: install Debian's firefox-esr package (scripts/test.sh does: apt-get install -y firefox-esr).");
        }

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Firefox.LaunchAsync(new BrowserTypeLaunchOptions { Channel = "moz-firefox", ExecutablePath = Path, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
    }
}

/// <summary>
/// The console works in Firefox as well as Chromium: every page renders with its title and without a script error, and
/// the keyboard reaches the navigation. Through the local front door, signed in as its development identity (every role).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleFirefoxTests(ConsoleHub hub, FirefoxBrowser firefox) : IClassFixture<FirefoxBrowser>
{
    public static TheoryData<string, string> Pages => new()
    {
        { "today", "Today" },
        { "authorizations", "Authorizations" },
        { "referrals", "Closed-loop referrals" },
        { "files", "Partner files" },
        { "invoices", "Invoices" },
        { "outbound", "Outbound files" },
        { "disclosures", "Disclosures" },
        { "operations", "Operations" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Every_page_renders_in_firefox_with_its_title_and_no_script_error(string section, string title)
    {
        var (page, errors) = await OpenAsync(section);
        try
        {
            Assert.Equal(title, await page.EvaluateAsync<string>("document.getElementById('page-title').textContent"));
            Assert.Equal($"{title} · CalAimHub console", await page.EvaluateAsync<string>("document.title"));
            Assert.Equal(section, await page.EvaluateAsync<string>("document.querySelector('nav a[aria-current=page]').dataset.section"));
            Assert.Empty(errors);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task The_keyboard_reaches_the_navigation_and_follows_a_link_in_firefox()
    {
        var (page, errors) = await OpenAsync("today");
        try
        {
            // Tab until the Operations link has the focus (skip link and earlier links first), then Enter follows it.
            string? focused = null;
            for (var presses = 0; presses < 20 && focused != "operations"; presses++)
            {
                await page.Keyboard.PressAsync("Tab");
                focused = await page.EvaluateAsync<string>("document.activeElement?.dataset?.section ?? ''");
            }

            Assert.Equal("operations", focused);
            await page.Keyboard.PressAsync("Enter");
            await page.WaitForSelectorAsync("body[data-rendered='operations']");
            Assert.Equal("Operations", await page.EvaluateAsync<string>("document.getElementById('page-title').textContent"));
            Assert.Empty(errors);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    private async Task<(IPage Page, List<string> Errors)> OpenAsync(string section)
    {
        var page = await firefox.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var errors = new List<string>();
        page.PageError += (_, message) => errors.Add(message);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(hub.Hub.ApiBaseAddress, $"{ConsoleHub.ConsolePath}#/{section}").ToString());
        await page.WaitForSelectorAsync($"body[data-rendered='{section}']");
        return (page, errors);
    }
}
