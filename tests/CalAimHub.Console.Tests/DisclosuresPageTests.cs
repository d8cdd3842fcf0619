using System.Net;
using System.Net.Http.Json;
using CalAimHub.Domain.Consent;
using CalAimHub.Functions.Consent;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CalAimHub.Console.Tests;

/// <summary>
/// The disclosures page as privacy staff use it: the CIN typed into a form (never in the URL), the member's accounting of
/// disclosures and consents listed; a viewer without the privacy role is told so and refused by the API.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class DisclosuresPageTests(ConsoleHub hub)
{
    private const string Cin = "94440001A";

    [Fact]
    public async Task Privacy_staff_look_up_a_member_by_CIN_in_a_form_and_see_the_accounting_and_consents()
    {
        var at = new DateTimeOffset(2026, 11, 1, 22, 0, 0, TimeSpan.Zero);
        const string path = "outbound/prov-ecm-3/mif/2026-11/mif-prov-ecm-3-2026-11.csv";
        await new TableDisclosureLog(hub.Hub.Storage).RecordAsync(
            [new Disclosure(Disclosure.IdFor(path, Cin), Cin, "prov-ecm-3", "ecm-mif", path, at, ["identity", "authorization", "utilization"], ["contact", "substance-use-disorder"])],
            CancellationToken.None);
        using var consent = await hub.Api.PostAsJsonAsync("/api/members/consents", new
        {
            cin = Cin, kind = "grant", formVersion = "ascmi-ab133-2024", sourceDocument = "forms/console-1.pdf", effectiveOn = "2026-10-01",
            choices = new Dictionary<string, string> { ["contact"] = "do-not-share" },
        });
        Assert.Equal(HttpStatusCode.Created, consent.StatusCode);
        var page = await hub.PageAsync(StaffIdentity.Supervisor);
        await ConsoleHub.OpenAsync(page, "/disclosures");

        await page.GetByLabel("Member CIN").FillAsync(Cin.ToLowerInvariant());
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();

        var disclosures = page.GetByRole(AriaRole.Region, new() { Name = "Accounting of disclosures" }).GetByRole(AriaRole.Table);
        await Expect(disclosures.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(disclosures.Locator("tbody tr").First).ToContainTextAsync(path);
        await Expect(disclosures.Locator("tbody tr").First).ToContainTextAsync("contact, substance-use-disorder");
        await Expect(disclosures.Locator("tbody tr").First).ToContainTextAsync("ecm-mif");
        var consents = page.GetByRole(AriaRole.Region, new() { Name = "Consents on file" }).GetByRole(AriaRole.Table);
        await Expect(consents.Locator("tbody tr").First).ToContainTextAsync("contact: do-not-share");
        Assert.DoesNotContain(Cin, page.Url, StringComparison.OrdinalIgnoreCase);
        await Expect(page.GetByLabel("Member CIN")).ToHaveValueAsync("");
        await ConsoleHub.ScreenshotAsync(page, "disclosures");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_viewer_is_told_the_page_needs_the_privacy_role_and_the_API_refuses_it()
    {
        var page = await hub.PageAsync(StaffIdentity.Viewer);
        await ConsoleHub.OpenAsync(page, "/disclosures");

        await Expect(page.GetByText("Looking up disclosures needs the privacy role.")).ToBeVisibleAsync();
        await page.GetByLabel("Member CIN").FillAsync(Cin);
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Accounting of disclosures" }).GetByRole(AriaRole.Alert))
            .ToContainTextAsync("your role does not allow this");
        var refused = await page.APIRequest.PostAsync("/api/members/disclosures/search", new() { DataObject = new { cin = Cin } });
        Assert.Equal(403, refused.Status);
        await page.Context.CloseAsync();
    }
}
