using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using CalAimHub.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CalAimHub.Console.Tests;

/// <summary>
/// What a supervisor does in the console, in chromium against the running hub: Today shows the breach the test made,
/// the authorization list filters, a decider decides (a viewer is offered nothing and refused by the API), an operator
/// replays a poison message, a file report downloads. Each writes the screenshot of its page for the README.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsolePageTests(ConsoleHub hub)
{
    private static readonly TimeSpan ReadModelWait = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_supervisor_opens_Today_and_sees_the_breach_the_test_created()
    {
        var id = await hub.RequestAuthorizationAsync("expedited");
        await Eventually.ValueAsync(() => hub.GetJsonAsync($"/api/authorizations/{id}"),
            a => a["clocks"]!.AsArray().Any(c => c!["kind"]!.GetValue<string>() == "decision" && c["breached"]!.GetValue<bool>()),
            TimeSpan.FromSeconds(60), $"the 72-hour decision clock of {id} to breach");
        var page = await hub.PageAsync(StaffIdentity.Supervisor);

        var breached = page.GetByRole(AriaRole.Region, new() { Name = "Breached" }).GetByRole(AriaRole.Link, new() { Name = id });
        await ReloadUntilVisibleAsync(page, "/today", breached);

        await Expect(breached).ToHaveAttributeAsync("href", $"#/authorizations/{id}");
        var authorizations = page.Locator("li.count").Filter(new() { HasText = "Authorizations" });
        Assert.True(int.Parse(await authorizations.Locator("[data-count=breached]").TextContentAsync() ?? "0", System.Globalization.CultureInfo.InvariantCulture) >= 1);
        await ConsoleHub.ScreenshotAsync(page, "today");

        await breached.ClickAsync();
        await page.WaitForSelectorAsync("body[data-rendered='authorizations']");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Authorization {id}", Level = 1 })).ToBeVisibleAsync();
        var due = page.GetByRole(AriaRole.List, new() { Name = "Clocks in time order" }).GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Initial decision due" });
        await Expect(due).ToContainTextAsync("Breached");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task The_authorization_list_filters_by_service_and_status()
    {
        var ecm = await hub.RequestAuthorizationAsync();
        var meals = await hub.RequestAuthorizationAsync(communitySupportsService: "medically-tailored-meals");
        var page = await hub.PageAsync(StaffIdentity.Viewer);
        await ReloadUntilVisibleAsync(page, "/authorizations", page.GetByRole(AriaRole.Link, new() { Name = meals }));

        await page.GetByLabel("Service").SelectOptionAsync("medically-tailored-meals");
        await page.GetByLabel("Status").SelectOptionAsync("in-review");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/authorizations\\?status=in-review&service=medically-tailored-meals$"));
        var table = page.GetByRole(AriaRole.Table);
        await Expect(table.GetByRole(AriaRole.Link, new() { Name = meals })).ToBeVisibleAsync();
        await Expect(table.GetByRole(AriaRole.Link, new() { Name = ecm })).ToHaveCountAsync(0);
        foreach (var services in await table.Locator("tbody tr td:nth-child(3)").AllTextContentsAsync())
        {
            Assert.Contains("medically-tailored-meals", services, StringComparison.Ordinal);
        }

        await page.GetByLabel("Service").SelectOptionAsync("");
        await page.GetByLabel("Status").SelectOptionAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Table).GetByRole(AriaRole.Link, new() { Name = ecm })).ToBeVisibleAsync();
        await ConsoleHub.ScreenshotAsync(page, "authorizations");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_decider_approves_an_authorization_and_a_viewer_is_offered_nothing_and_refused()
    {
        var id = await hub.RequestAuthorizationAsync();

        var viewer = await hub.PageAsync(StaffIdentity.Viewer);
        await ConsoleHub.OpenAsync(viewer, $"/authorizations/{id}");
        await Expect(viewer.GetByText("Deciding needs the decider role")).ToBeVisibleAsync();
        await Expect(viewer.GetByRole(AriaRole.Button, new() { Name = "Record decision" })).ToHaveCountAsync(0);
        var refused = await viewer.APIRequest.PostAsync($"/api/authorizations/{id}/decision", new() { DataObject = new { outcome = "approve" } });
        Assert.Equal(403, refused.Status);
        Assert.StartsWith("application/problem+json", refused.Headers["content-type"], StringComparison.Ordinal);
        await viewer.Context.CloseAsync();

        var decider = await hub.PageAsync(StaffIdentity.Supervisor);
        await ConsoleHub.OpenAsync(decider, $"/authorizations/{id}");
        await Expect(decider.Locator("#who")).ToHaveTextAsync($"Signed in as dana.supervisor (viewer, decider, operator, privacy)");
        await ConsoleHub.ScreenshotAsync(decider, "authorization");
        await decider.GetByLabel("Approve").CheckAsync();
        await decider.GetByLabel("Reason (required to deny or pend)").FillAsync("Meets the Adults Experiencing Homelessness criteria");
        await decider.GetByRole(AriaRole.Button, new() { Name = "Record decision" }).ClickAsync();

        await Expect(decider.GetByRole(AriaRole.Status).Filter(new() { HasText = "Decision recorded." })).ToBeVisibleAsync();
        await Expect(decider.Locator("[data-field=status]")).ToHaveTextAsync("Authorized");
        var decided = await hub.GetJsonAsync($"/api/authorizations/{id}");
        Assert.Equal("authorized", decided["status"]!.GetValue<string>());
        Assert.Contains(decided["history"]!.AsArray(), h => h!["name"]!.GetValue<string>() == "decision");
        await decider.Context.CloseAsync();
    }

    [Fact]
    public async Task An_operator_replays_a_poison_message()
    {
        // domain-events has no trigger in the hub: a replayed message stays where it lands and can be checked there.
        var queue = hub.Hub.Storage.Queues.GetQueueClient("domain-events");
        var poison = hub.Hub.Storage.Queues.GetQueueClient("domain-events-poison");
        var marker = "console-replay-" + Guid.NewGuid().ToString("N");
        var sent = await poison.SendMessageAsync(new JsonObject { ["type"] = "calaimhub.console.test", ["id"] = marker }.ToJsonString());
        var page = await hub.PageAsync(StaffIdentity.Supervisor);
        await ConsoleHub.OpenAsync(page, "/operations");

        var queues = page.GetByRole(AriaRole.Region, new() { Name = "Queues" });
        await Expect(queues.GetByRole(AriaRole.Row).Filter(new() { HasText = "domain-events" })).ToBeVisibleAsync();
        await queues.GetByRole(AriaRole.Button, new() { Name = "Show the poison messages of domain-events" }).ClickAsync();
        var replay = page.GetByRole(AriaRole.Button, new() { Name = $"Replay message {sent.Value.MessageId}" });
        await Expect(replay).ToBeVisibleAsync();
        await ConsoleHub.ScreenshotAsync(page, "operations");
        await replay.ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"Message {sent.Value.MessageId} replayed onto domain-events." })).ToBeVisibleAsync();
        var replayed = await Eventually.ValueAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToArray(),
            bodies => bodies.Any(b => b.Contains(marker, StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "the replayed message on domain-events");
        Assert.Single(replayed, b => b.Contains(marker, StringComparison.Ordinal));
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32)).Value, m => m.Body.ToString().Contains(marker, StringComparison.Ordinal));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_file_report_downloads_from_the_partner_file_runs()
    {
        var file = await DropPartnerFileAsync();
        var page = await hub.PageAsync(StaffIdentity.Viewer);
        var download = page.GetByRole(AriaRole.Region, new() { Name = "Runs" }).GetByRole(AriaRole.Button, new() { Name = $"Download the report of {file} as JSON" });
        await ReloadUntilVisibleAsync(page, $"/files?partner={ConsoleHub.FilePartner}", download);
        await ConsoleHub.ScreenshotAsync(page, "files");

        await AssertDownloadsReportAsync(page, download, file);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_file_report_downloads_by_file_name()
    {
        var file = await DropPartnerFileAsync();
        var page = await hub.PageAsync(StaffIdentity.Viewer);
        await ConsoleHub.OpenAsync(page, "/files");

        var form = page.GetByRole(AriaRole.Form, new() { Name = "Find a report by file name" });
        await form.GetByLabel("Partner").FillAsync(ConsoleHub.FilePartner);
        await form.GetByLabel("Kind").SelectOptionAsync("otf");
        await form.GetByLabel("File name").FillAsync(file);
        await form.GetByRole(AriaRole.Button, new() { Name = "Find report" }).ClickAsync();

        var found = page.GetByRole(AriaRole.Region, new() { Name = "A report by file name" });
        await AssertDownloadsReportAsync(page, found.GetByRole(AriaRole.Button, new() { Name = $"Download the report of {file} as JSON" }), file);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_outbound_mif_is_listed_with_its_withheld_categories_and_downloads()
    {
        // The sample assignment file (January 2026), then the period generated as an operator would.
        var blob = hub.Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{ConsoleHub.FilePartner}/assignment/assignments {Guid.NewGuid():N}.csv");
        await blob.UploadAsync(Path.Combine(ConsoleHub.RepositoryRoot, "samples", "files", "assignment.csv"));
        await Eventually.ValueAsync(async () =>
        {
            using var generate = await hub.Api.PostAsync(new Uri("/api/outbound/2026-01/generate", UriKind.Relative), null);
            return JsonNode.Parse(await generate.Content.ReadAsStringAsync())!["queued"]!.AsArray().Count;
        }, n => n == 2, TimeSpan.FromSeconds(60), "both providers of the sample assignments");

        var page = await hub.PageAsync(StaffIdentity.Viewer);
        var download = page.GetByRole(AriaRole.Region, new() { Name = "Files" }).GetByRole(AriaRole.Button, new() { Name = "Download PLAN_ECM_MIF_ecm-sunrise_202601.csv" });
        await ReloadUntilVisibleAsync(page, "/outbound?period=2026-01", download);
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "ecm-sunrise" })).ToContainTextAsync("substance-use-disorder (2)");
        await ConsoleHub.ScreenshotAsync(page, "outbound");

        var file = await page.RunAndWaitForDownloadAsync(() => download.ClickAsync());
        Assert.Equal("PLAN_ECM_MIF_ecm-sunrise_202601.csv", file.SuggestedFilename);
        Assert.StartsWith("Member Information File Reporting Period,", await File.ReadAllTextAsync((await file.PathAsync())!), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    private static async Task AssertDownloadsReportAsync(IPage page, ILocator button, string file)
    {
        var download = await page.RunAndWaitForDownloadAsync(() => button.ClickAsync());

        Assert.Equal($"{file}.report.json", download.SuggestedFilename);
        var report = JsonNode.Parse(await File.ReadAllTextAsync((await download.PathAsync())!))!;
        Assert.Equal(file, report["file"]!.GetValue<string>());
    }

    /// <summary>Drops the sample OTF file for the test partner and waits for its report; the file name.</summary>
    private async Task<string> DropPartnerFileAsync()
    {
        var file = $"2026-05 OTF {Guid.NewGuid():N}.csv";
        var blob = hub.Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{ConsoleHub.FilePartner}/otf/{file}");
        await blob.UploadAsync(Path.Combine(ConsoleHub.RepositoryRoot, "samples", "files", "otf.csv"));
        var report = hub.Hub.Storage.Blobs.GetBlobContainerClient("results").GetBlobClient($"{ConsoleHub.FilePartner}/otf/{file}.report.json");
        await Eventually.ValueAsync(async () => (await report.ExistsAsync()).Value, e => e, TimeSpan.FromSeconds(60), $"the report of {file}");
        return file;
    }

    /// <summary>Read models follow the workflows a moment later: the page is opened again until the item shows.</summary>
    private static async Task ReloadUntilVisibleAsync(IPage page, string route, ILocator locator)
    {
        var deadline = DateTime.UtcNow + ReadModelWait;
        await ConsoleHub.OpenAsync(page, route);
        while (!await locator.IsVisibleAsync())
        {
            if (DateTime.UtcNow > deadline)
            {
                await Expect(locator).ToBeVisibleAsync(new() { Timeout = 1 });
            }

            await page.WaitForTimeoutAsync(500);
            await page.ReloadAsync();
            await ConsoleHub.WaitRenderedAsync(page, route);
        }
    }
}
