using System.Diagnostics;
using System.Globalization;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace CalAimHub.Console.Tests;

/// <summary>
/// Render time of Today and of the referral funnel in chromium, from navigation to the content being visible, printed
/// (not asserted: the machine is shared and noisy). The two pages are loaded interleaved (A, B, A, B…) in one run, each a
/// full page load. Run alone: <c>dotnet test tests/CalAimHub.Console.Tests --filter ConsoleRenderBenchmark
/// --logger "console;verbosity=detailed"</c>; the numbers go to docs/performance.md.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleRenderBenchmark(ConsoleHub hub, ITestOutputHelper output)
{
    private const int Rounds = 10;

    [Fact]
    public async Task Today_and_the_referral_funnel_render_times_are_printed()
    {
        var page = await hub.PageAsync(StaffIdentity.Supervisor);
        var pages = new (string Name, string Route, string Content)[]
        {
            ("Today", "/today", "#view .counts, #view .notice"),
            ("Referral funnel", "/referrals", "[data-testid=funnel] canvas, section[aria-labelledby=h-funnel] .notice"),
        };
        var times = pages.ToDictionary(p => p.Name, _ => new List<double>());
        foreach (var round in Enumerable.Range(0, Rounds + 1))
        {
            foreach (var (name, route, content) in pages)
            {
                await page.GotoAsync("about:blank");
                var watch = Stopwatch.StartNew();
                await page.GotoAsync($"{ConsoleHub.ConsolePath}#{route}");
                await page.Locator(content).First.WaitForAsync(new() { State = WaitForSelectorState.Visible });
                watch.Stop();
                if (round > 0)
                {
                    times[name].Add(watch.Elapsed.TotalMilliseconds); // round 0 warms the handler and the browser
                }
            }
        }

        foreach (var (name, samples) in times)
        {
            samples.Sort();
            var line = string.Create(CultureInfo.InvariantCulture,
                $"console render {name}: median {samples[samples.Count / 2]:0} ms, max {samples[^1]:0} ms over {samples.Count} loads (navigation -> content visible)");
            output.WriteLine(line);
            System.Console.WriteLine(line);
        }

        Assert.All(times.Values, s => Assert.Equal(Rounds, s.Count));
        await page.Context.CloseAsync();
    }
}
