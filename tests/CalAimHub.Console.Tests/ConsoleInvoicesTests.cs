using System.Globalization;
using System.Text.Json.Nodes;
using CalAimHub.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CalAimHub.Console.Tests;

/// <summary>
/// Issue 13 on the console: an invoice file dropped for a provider of the test's own (its lines have no authorization on file
/// and the provider is not in the directory, so every line is contested) → the invoices page lists that provider's invoices
/// with status and contested lines, shows the month's timeliness figures exactly as the read models count them, filters by
/// status, and pages with the hub's signed continuation.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleInvoicesTests(ConsoleHub hub)
{
    private const string Header = "Invoice Number,Invoice Date,Line Number,Member CIN,Member Last Name,Member First Name,Member Date of Birth,Service Start Date,Service End Date,HCPCS Code,Modifier 1,Modifier 2,Modifier 3,Modifier 4,Units,Charge Amount,Rendering Provider NPI,Rendering Provider Atypical ID,Billing Provider Name,Billing Provider NPI,Billing Provider Atypical ID,Billing Provider TIN";

    [Fact]
    public async Task A_supervisor_sees_a_providers_invoices_and_the_months_timeliness_figures_and_filters_by_status()
    {
        var provider = "ATYP-" + Random.Shared.Next(100_000, 999_999).ToString(CultureInfo.InvariantCulture);
        string[] lines =
        [
            Line("INV-C-0001", 1, provider, "91000031F"),
            Line("INV-C-0001", 2, provider, "91000032G"),
            Line("INV-C-0002", 1, provider, "91000033H"),
        ];
        await DropAsync(provider, string.Join("\r\n", [Header, .. lines]) + "\r\n");
        var listed = await Eventually.ValueAsync(() => hub.GetJsonAsync($"/api/providers/{provider}/invoices"),
            l => l["items"]!.AsArray().Count == 2 && l["items"]!.AsArray().All(i => i!["contestedLines"]!.GetValue<int>() == i["lines"]!.GetValue<int>()),
            TimeSpan.FromSeconds(90), $"the two invoices of {provider} in the listing");
        var receivedAt = listed["items"]![0]!["receivedAt"]!.GetValue<DateTimeOffset>();
        var month = TimeZoneInfo.ConvertTime(receivedAt, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        // The counters are another read-model table than the listing: they may follow it a moment later.
        var figures = await Eventually.ValueAsync(() => hub.GetJsonAsync($"/api/console/invoices/timeliness?month={month}&provider={provider}"),
            f => f["invoices"]!.GetValue<int>() == 2, TimeSpan.FromSeconds(60), $"the timeliness counters of {provider} to count both invoices");
        Assert.Equal((2, 0), (figures["invoices"]!.GetValue<int>(), figures["cleanInvoices"]!.GetValue<int>()));
        Assert.Equal(3, figures["contestReasons"]!["provider-not-in-directory"]!.GetValue<int>());

        var page = await hub.PageAsync(StaffIdentity.Supervisor);
        await ConsoleHub.OpenAsync(page, "/invoices");
        await page.GetByLabel("Billing provider (NPI or atypical id)").FillAsync(provider);
        await page.GetByLabel("Receipt month").FillAsync(month);
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"#/invoices\\?provider={provider}&month={month}$"));
        await ConsoleHub.WaitRenderedAsync(page, "/invoices");

        var list = page.GetByRole(AriaRole.Table, new() { Name = $"Invoices of {provider}, in receipt order" });
        Assert.Equal(["INV-C-0001", "INV-C-0002"], (await list.Locator("tbody tr th").AllTextContentsAsync()).Order());
        var first = list.Locator("tbody tr").Filter(new() { HasText = "INV-C-0001" });
        await Expect(first.Locator("td").Nth(1)).ToHaveTextAsync("contested");
        await Expect(first.Locator("td").Nth(2)).ToHaveTextAsync("2");
        await Expect(first.Locator("td").Nth(3)).ToHaveTextAsync("2");
        await Expect(first.Locator("td").Nth(4)).ToHaveTextAsync("$500.00");

        var timeliness = page.GetByRole(AriaRole.Table, new() { Name = $"Timeliness of invoices received in {month}" });
        await Expect(Row(timeliness, "Invoices received")).ToHaveTextAsync("2");
        await Expect(Row(timeliness, "Clean invoices (no line contested)")).ToHaveTextAsync("0");
        await Expect(Row(timeliness, "Clean invoices paid within 30 days")).ToHaveTextAsync("No clean invoices");
        await Expect(timeliness.Locator("tr").Filter(new() { HasText = "Clean invoices paid within 30 days" }).Locator("td").Nth(1)).ToHaveTextAsync("90%");
        await Expect(timeliness.Locator("tr").Filter(new() { HasText = "Clean invoices paid within 90 days" }).Locator("td").Nth(1)).ToHaveTextAsync("99%");
        await Expect(Row(timeliness, "Interest owed")).ToHaveTextAsync("$0.00");
        var reasons = page.GetByRole(AriaRole.Table, new() { Name = "Contest reasons (lines)" });
        foreach (var (reason, count) in figures["contestReasons"]!.AsObject())
        {
            await Expect(reasons.Locator("tr").Filter(new() { HasText = reason }).Locator("td")).ToHaveTextAsync(count!.GetValue<int>().ToString(CultureInfo.InvariantCulture));
        }

        await ConsoleHub.ScreenshotAsync(page, "invoices");

        await page.GetByLabel("Status").SelectOptionAsync("paid");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await ConsoleHub.WaitRenderedAsync(page, "/invoices");
        await Expect(page.GetByText("No invoice of this provider matches these filters.")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_provider_invoice_list_pages_with_a_signed_continuation_and_refuses_a_forged_one()
    {
        var provider = "ATYP-" + Random.Shared.Next(100_000, 999_999).ToString(CultureInfo.InvariantCulture);
        await DropAsync(provider, string.Join("\r\n", [Header, Line("INV-P-0001", 1, provider, "91000031F"), Line("INV-P-0002", 1, provider, "91000032G")]) + "\r\n");
        await Eventually.ValueAsync(() => hub.GetJsonAsync($"/api/providers/{provider}/invoices"), l => l["items"]!.AsArray().Count == 2,
            TimeSpan.FromSeconds(90), $"the two invoices of {provider}");

        var page = await hub.PageAsync(StaffIdentity.Viewer);
        var firstPage = await hub.GetJsonAsync($"/api/providers/{provider}/invoices?top=1");
        var token = firstPage["continuation"]!.GetValue<string>();
        Assert.StartsWith("c1.", token, StringComparison.Ordinal);
        var second = await hub.GetJsonAsync($"/api/providers/{provider}/invoices?top=1&continuation={Uri.EscapeDataString(token)}");
        Assert.NotEqual(firstPage["items"]![0]!["invoiceNumber"]!.GetValue<string>(), second["items"]![0]!["invoiceNumber"]!.GetValue<string>());

        using var forged = await hub.Api.GetAsync(new Uri($"/api/providers/{provider}/invoices?continuation=abc", UriKind.Relative));
        var problem = JsonNode.Parse(await forged.Content.ReadAsStringAsync())!;
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Invalid invoice query", problem["title"]!.GetValue<string>());
        Assert.Equal("'continuation' is not a token this listing gave (with these filters); start again without it", problem["detail"]!.GetValue<string>());
        Assert.Equal("is not a token this listing gave (with these filters); start again without it", problem["errors"]!["continuation"]![0]!.GetValue<string>());
        // A token of another listing (other filters) is refused the same way.
        using var moved = await hub.Api.GetAsync(new Uri($"/api/providers/{provider}/invoices?status=paid&continuation={Uri.EscapeDataString(token)}", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, moved.StatusCode);
        await page.Context.CloseAsync();
    }

    private static ILocator Row(ILocator table, string figure) => table.Locator("tr").Filter(new() { HasText = figure }).Locator("td").First;

    private static string Line(string invoice, int line, string provider, string cin) =>
        $"{invoice},01/10/2026,{line},{cin},Quillfeather,Rosalind,03/14/1961,12/01/2025,12/31/2025,G9012,U2,GQ,,,4,$250.00,9876543213,,Example CS Provider,,{provider},12-3456789";

    private async Task DropAsync(string provider, string csv)
    {
        var file = $"invoices {provider} {Guid.NewGuid():N}.csv";
        var blob = hub.Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{ConsoleHub.FilePartner}/invoice/{file}");
        await blob.UploadAsync(BinaryData.FromString(csv));
        var report = hub.Hub.Storage.Blobs.GetBlobContainerClient("results").GetBlobClient($"{ConsoleHub.FilePartner}/invoice/{file}.report.json");
        await Eventually.ValueAsync(async () => (await report.ExistsAsync()).Value, e => e, TimeSpan.FromSeconds(60), $"the report of {file}");
    }
}
