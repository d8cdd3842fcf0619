using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CalAimHub.Console.Tests;

/// <summary>
/// WCAG 2.1 AA basics the console keeps on every page: landmarks, one level-one heading naming the page, every form
/// control labelled, a skip link, navigation by keyboard alone with a visible focus ring, and no horizontal scrolling at
/// 1280×800.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleAccessibilityTests(ConsoleHub hub)
{
    public static TheoryData<string, string> Pages => new()
    {
        { "/today", "Today" },
        { "/authorizations", "Authorizations" },
        { "/referrals", "Closed-loop referrals" },
        { "/files", "Partner files" },
        { "/disclosures", "Disclosures" },
        { "/invoices", "Invoices" },
        { "/outbound", "Outbound files" },
        { "/operations", "Operations" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Every_page_has_landmarks_one_heading_labelled_controls_and_fits_1280_wide(string route, string heading)
    {
        var page = await hub.PageAsync(StaffIdentity.Viewer);
        await ConsoleHub.OpenAsync(page, route);

        await Expect(page.GetByRole(AriaRole.Banner)).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Console sections" })).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Main)).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Contentinfo)).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(heading);
        await Expect(page).ToHaveTitleAsync($"{heading} · CalAimHub console");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = heading, Exact = true })).ToHaveAttributeAsync("aria-current", "page");
        var unlabelled = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('input, select, textarea')].filter(c => c.labels.length === 0 && !c.getAttribute('aria-label')).map(c => c.id || c.name)");
        Assert.Empty(unlabelled);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= 1280"), "the page scrolls sideways at 1280 wide");
        if (route == "/referrals")
        {
            await ConsoleHub.ScreenshotAsync(page, "referrals");
        }

        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_keyboard_alone_skips_to_the_content_and_moves_between_sections_with_a_visible_focus()
    {
        var page = await hub.PageAsync(StaffIdentity.Viewer);
        await ConsoleHub.OpenAsync(page, "/today");

        await page.Keyboard.PressAsync("Tab");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Main)).ToBeFocusedAsync();
        Assert.EndsWith("#/today", page.Url, StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" }).FocusAsync();
        for (var i = 0; i < 2; i++)
        {
            await page.Keyboard.PressAsync("Tab");
        }

        var authorizations = page.GetByRole(AriaRole.Link, new() { Name = "Authorizations", Exact = true });
        await Expect(authorizations).ToBeFocusedAsync();
        Assert.NotEqual("none", await authorizations.EvaluateAsync<string>("a => getComputedStyle(a).outlineStyle"));
        await page.Keyboard.PressAsync("Enter");
        await ConsoleHub.WaitRenderedAsync(page, "/authorizations");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeFocusedAsync();
        await page.Context.CloseAsync();
    }
}
