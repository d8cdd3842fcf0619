using System.Diagnostics;
using System.Globalization;
using CalAimHub.LocalHost;
using Microsoft.Playwright;

namespace CalAimHub.Benchmarks;

/// <summary>
/// Issue 12's render target with the benchmark's items loaded: Today and the referral funnel in Debian's chromium (driven by
/// Playwright by path, never a downloaded browser), from navigation to the console's "page rendered" mark, pages
/// interleaved, a warm-up round first. Through the front door, signed in as its development identity (every role).
/// </summary>
public static class ConsoleRenderTimes
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static async Task PrintAsync(LocalHub hub, int rounds)
    {
        if (!File.Exists(ChromiumPath))
        {
            Console.WriteLine($"render times skipped: {ChromiumPath} is missing (apt-get install -y chromium; scripts/test.sh installs it)");
            return;
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = new Uri(hub.ApiBaseAddress, "/").ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            TimezoneId = "America/Los_Angeles",
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        string[] routes = ["today", "referrals"];
        var times = routes.ToDictionary(r => r, _ => new List<double>());
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var route in routes)
            {
                await page.GotoAsync("about:blank");
                var watch = Stopwatch.StartNew();
                await page.GotoAsync($"/api/console/ui#/{route}");
                // The console marks the body once every part of the page has loaded (or failed).
                await page.WaitForSelectorAsync($"body[data-rendered='{route}']");
                watch.Stop();
                if (round > 0)
                {
                    times[route].Add(watch.Elapsed.TotalMilliseconds);
                }
            }
        }

        Console.WriteLine("| page (chromium, navigation → rendered) | median ms | max ms | loads |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (route, samples) in times)
        {
            samples.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {route} | {samples[samples.Count / 2]:0} | {samples[^1]:0} | {samples.Count} |"));
        }
    }
}
