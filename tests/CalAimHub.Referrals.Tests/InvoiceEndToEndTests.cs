using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// The hub for invoices end to end: blob events on <c>inbound</c>, one file partner sending invoices and remittances (and the
/// notice subscriber the partner's invoice notices go to), the business clock at real speed a few days back, so an
/// authorization approved "three days ago" covers yesterday's services while the files are judged on today's date.
/// </summary>
public sealed class InvoiceHub : SignedNoticeHub
{
    public const string Partner = "cbo-invoices";

    public ConcurrentQueue<Notice> Deliveries { get; } = new();

    protected override IReadOnlyList<string> Platforms => [Partner];

    protected override string ClockStart => DateTimeOffset.UtcNow.AddDays(-3).ToString("O", CultureInfo.InvariantCulture);

    protected override double ClockSpeed => 1;

    protected override bool BlobEvents => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new($"Ingestion__Partners__{Partner}__Kinds__0", "invoice"),
        new($"Ingestion__Partners__{Partner}__Kinds__1", "remittance"),
        new($"Ingestion__Partners__{Partner}__Subscriber", Partner),
    ];

    protected override void OnDelivery(SignedDelivery delivery) => Deliveries.Enqueue(Notice.From(delivery));

    public Task UploadAsync(string kind, string file, string csv) =>
        Hub.Storage.Blobs.GetBlobContainerClient("inbound").GetBlobClient($"{Partner}/{kind}/{file}").UploadAsync(BinaryData.FromString(csv), overwrite: true);

    public async Task<JsonElement> GetAsync(string path)
    {
        using var response = await Api.GetAsync(new Uri(path, UriKind.Relative));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async Task<JsonElement> WaitAsync(string path, Func<JsonElement, bool> until, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement last = default;
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await GetAsync(path);
            if (until(last))
            {
                return last;
            }

            await Task.Delay(150);
        }

        throw new TimeoutException($"{what} not reached; last {path}: {last}\nhandler:\n{string.Join('\n', Hub.HandlerOutput.TakeLast(40))}");
    }
}

/// <summary>
/// Issue 13, the end-to-end case: an invoice file with lines that have and lack authorizations, dropped under
/// <c>inbound/{partner}/invoice/</c> → one invoice workflow per provider + invoice number → the right lines contested with
/// the right reasons → a remittance file pays the rest → each notice signed and delivered exactly once (a re-dropped file
/// starts and says nothing) → the provider list and the timeliness figures exact.
/// </summary>
public sealed class InvoiceEndToEndTests(InvoiceHub hub) : IClassFixture<InvoiceHub>
{
    private const string Listed = "1000000004";
    private const string Unlisted = "1000000012";
    private const string Authorized = "91234567A";
    private const string Unauthorized = "91000032G";
    private const string Header = "Invoice Number,Invoice Date,Line Number,Member CIN,Member Last Name,Member First Name,Member Date of Birth,Service Start Date,Service End Date,HCPCS Code,Modifier 1,Modifier 2,Modifier 3,Modifier 4,Units,Charge Amount,Rendering Provider NPI,Rendering Provider Atypical ID,Billing Provider Name,Billing Provider NPI,Billing Provider Atypical ID,Billing Provider TIN";

    [Fact]
    public async Task Lines_without_authorization_are_contested_a_remittance_file_pays_the_rest_notices_once_and_figures_exact()
    {
        var calendar = CaliforniaWorkingDays.Current;
        var today = calendar.DateOf(DateTimeOffset.UtcNow);
        var dos = today.AddDays(-1).ToString("MM/dd/yyyy", CultureInfo.InvariantCulture);
        var billed = today.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture);
        await hub.Api.PutProviderAsync(Listed, "Harbor Community Supports", "housing-deposits", available: 3);

        // An approved ECM authorization for one member (approved "three days ago" on the business clock).
        using (var request = await hub.Api.PostAsync(new Uri("/api/authorizations", UriKind.Relative), JsonContent.Create(JsonDocument.Parse(
            $$"""{ "memberCin": "{{Authorized}}", "service": { "program": "ecm", "populationsOfFocus": ["experiencing-homelessness-adults"] }, "requestingProviderNpi": "{{Listed}}", "referringEntity": "county", "urgency": "routine", "supportingFacts": ["experiencing-homelessness", "complex-need-unable-to-self-manage"] }""").RootElement)))
        {
            Assert.Equal(HttpStatusCode.Created, request.StatusCode);
            var authorizationId = (await request.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationId").GetString();
            using var decision = await hub.Api.PostAsJsonAsync($"/api/authorizations/{authorizationId}/decision", new { outcome = "approve", decidedBy = "um-1" });
            Assert.Equal(HttpStatusCode.OK, decision.StatusCode);
        }

        string Row(string invoice, int line, string cin, string code, string modifier, string charge, string npi) =>
            $"{invoice},{billed},{line},{cin},Doe,Sam,03/14/1961,{dos},{dos},{code},{modifier},,,,4,{charge},{npi},,Harbor Community Supports,{npi},,12-3456789";
        var invoices = string.Join('\n',
            Header,
            Row("INV-E2E-1", 1, Authorized, "G9012", "U2", "$250.00", Listed),   // authorized: clean
            Row("INV-E2E-1", 2, Unauthorized, "G9012", "U2", "$250.00", Listed), // no authorization for this member
            Row("INV-E2E-1", 3, Authorized, "H0044", "U2", "$900.00", Listed),   // housing deposits: not authorized
            Row("INV-E2E-2", 1, Authorized, "G9012", "U2", "$250.00", Unlisted), // provider not in the directory
            Row("INV-E2E-3", 1, Authorized, "G9008", "U1", "$180.00", Listed)) + "\n"; // clean
        await hub.UploadAsync("invoice", "2026-12 invoices.csv", invoices);

        var first = InvoiceIds.For(Listed, "INV-E2E-1");
        var second = InvoiceIds.For(Unlisted, "INV-E2E-2");
        var third = InvoiceIds.For(Listed, "INV-E2E-3");
        var one = await hub.WaitAsync($"/api/invoices/{first}", v => v.TryGetProperty("lines", out var l) && l.GetArrayLength() == 3, "invoice 1 with its 3 lines");
        var two = await hub.WaitAsync($"/api/invoices/{second}", v => v.TryGetProperty("lines", out var l) && l.GetArrayLength() == 1, "invoice 2");
        await hub.WaitAsync($"/api/invoices/{third}", v => v.TryGetProperty("lines", out var l) && l.GetArrayLength() == 1, "invoice 3");

        static (string Status, string Reasons) Line(JsonElement invoice, int n)
        {
            var line = invoice.GetProperty("lines").EnumerateArray().Single(l => l.GetProperty("number").GetInt32() == n);
            return (line.GetProperty("status").GetString()!, string.Join(',', line.GetProperty("contested").EnumerateArray().Select(r => r.GetProperty("code").GetString()!)));
        }

        Assert.Equal(("received", ""), Line(one, 1));
        Assert.Equal(("contested", ContestReasons.NoAuthorization), Line(one, 2));
        Assert.Equal(("contested", ContestReasons.NoAuthorization), Line(one, 3));
        Assert.Contains("housing-deposits (H0044-U2)", one.GetProperty("lines").EnumerateArray().Single(l => l.GetProperty("number").GetInt32() == 3)
            .GetProperty("contested")[0].GetProperty("missing").GetString(), StringComparison.Ordinal);
        Assert.Equal(("contested", ContestReasons.ProviderNotInDirectory), Line(two, 1));
        Assert.Equal("contested", two.GetProperty("status").GetString());

        // The same file dropped again: nothing starts twice, nothing is said twice.
        await hub.UploadAsync("invoice", "2026-12 invoices.csv", invoices);

        // The plan's claims system pays the lines that passed.
        var paidOn = today.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture);
        await hub.UploadAsync("remittance", "era-1.csv", string.Join('\n',
            "Remittance ID,Invoice Number,Billing Provider NPI,Billing Provider Atypical ID,Line Number,Outcome,Outcome Date,Paid Amount,Reason Code,Missing Information",
            $"ERA-E2E-1,INV-E2E-1,{Listed},,1,paid,{paidOn},$250.00,,",
            $"ERA-E2E-1,INV-E2E-3,{Listed},,1,paid,{paidOn},$180.00,,") + "\n");
        one = await hub.WaitAsync($"/api/invoices/{first}", v => Line(v, 1).Status == "paid", "invoice 1 line 1 paid");
        var three = await hub.WaitAsync($"/api/invoices/{third}", v => v.GetProperty("status").GetString() == "paid", "invoice 3 paid");
        Assert.Equal(("contested", 250m, 0m), (one.GetProperty("status").GetString(), one.GetProperty("paid").GetDecimal(), one.GetProperty("interestOwed").GetDecimal()));
        Assert.Equal("Completed", three.GetProperty("runtimeStatus").GetString());

        // Notices: received ×3, contested ×3 (one per contested line), paid ×2 — each exactly once, every one validly signed.
        string[] expected =
        [
            $"{first}:{InvoiceWorkflow.Received}", $"{first}:{InvoiceWorkflow.Contested}", $"{first}:{InvoiceWorkflow.Contested}", $"{first}:{InvoiceWorkflow.Paid}",
            $"{second}:{InvoiceWorkflow.Received}", $"{second}:{InvoiceWorkflow.Contested}",
            $"{third}:{InvoiceWorkflow.Received}", $"{third}:{InvoiceWorkflow.Paid}",
        ];
        IEnumerable<string> Seen() => hub.Deliveries.Where(n => n.Type.StartsWith("calaim.invoice.", StringComparison.Ordinal)).Select(n => $"{n.Subject}:{n.Type}");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(45);
        while (DateTimeOffset.UtcNow < deadline && Seen().Count() < expected.Length)
        {
            await Task.Delay(100);
        }

        await Task.Delay(2000); // stragglers, redeliveries and the second drop's processing
        Assert.Equal(expected.Order(StringComparer.Ordinal), Seen().Order(StringComparer.Ordinal));
        Assert.Equal(0, hub.SignatureFailures);
        Assert.All(hub.Deliveries.Where(n => n.Type.StartsWith("calaim.invoice.", StringComparison.Ordinal)), n => Assert.Equal(InvoiceHub.Partner, n.Subscriber));
        var contests = hub.Deliveries.Where(n => n.Subject == first && n.Type == InvoiceWorkflow.Contested).Select(n => n.Data.GetProperty("lines")[0]).ToList();
        Assert.Equal([2, 3], contests.Select(l => l.GetProperty("line").GetInt32()).Order());
        Assert.All(contests, l => Assert.Equal(ContestReasons.NoAuthorization, l.GetProperty("reasons")[0].GetProperty("code").GetString()));
        Assert.Equal(hub.Deliveries.Count, hub.Deliveries.Select(n => n.Id).Distinct().Count()); // no webhook-id delivered twice
        Assert.DoesNotContain(Authorized, string.Concat(hub.Deliveries.Select(n => n.Raw)), StringComparison.Ordinal);

        // The provider's list, from the read model.
        var contested = await hub.WaitAsync($"/api/providers/{Listed}/invoices?status=contested", v => v.GetProperty("items").GetArrayLength() == 1, "listing");
        Assert.Equal("INV-E2E-1", contested.GetProperty("items")[0].GetProperty("invoiceNumber").GetString());
        var paid = await hub.GetAsync($"/api/providers/{Listed}/invoices?status=paid");
        Assert.Equal("INV-E2E-3", Assert.Single(paid.GetProperty("items").EnumerateArray()).GetProperty("invoiceNumber").GetString());
        Assert.Empty((await hub.GetAsync($"/api/providers/{Listed}/invoices?overdue=true")).GetProperty("items").EnumerateArray());
        using (var forged = await hub.Api.GetAsync(new Uri($"/api/providers/{Listed}/invoices?continuation=c1.eA.AAAAAAAAAAAAAAAAAAAAAA", UriKind.Relative)))
        {
            // Page tokens are signed for one provider's listing and its filters: a made-up one reads nothing.
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
            Assert.Equal("'continuation' is not a token this listing gave (with these filters); start again without it", JsonDocument.Parse(await forged.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        }

        // The timeliness figures of the receipt month: three invoices, one clean, paid the day it arrived.
        var month = one.GetProperty("receivedOn").GetString()![..7];
        var figures = await hub.WaitAsync($"/api/console/invoices/timeliness?month={month}", v => v.GetProperty("invoices").GetInt32() == 3
            && v.GetProperty("targets")[0].GetProperty("paidWithin").GetInt32() == 1, "figures");
        Assert.Equal(1, figures.GetProperty("cleanInvoices").GetInt32());
        Assert.Equal([(30, 0.90m, 1, 1m, true), (90, 0.99m, 1, 1m, true)], figures.GetProperty("targets").EnumerateArray()
            .Select(t => (t.GetProperty("calendarDays").GetInt32(), t.GetProperty("target").GetDecimal(), t.GetProperty("paidWithin").GetInt32(), t.GetProperty("share").GetDecimal(), t.GetProperty("met").GetBoolean())));
        Assert.Equal((0, 0m), (figures.GetProperty("workingDayBreaches").GetInt32(), figures.GetProperty("interestOwed").GetDecimal()));
        Assert.Equal(new Dictionary<string, int> { [ContestReasons.NoAuthorization] = 2, [ContestReasons.ProviderNotInDirectory] = 1 },
            figures.GetProperty("contestReasons").Deserialize<Dictionary<string, int>>());
        Assert.Equal([Listed, Unlisted], figures.GetProperty("byProvider").EnumerateArray().Select(p => p.GetProperty("provider").GetString()));

        // Every invoice of the file is started: the run's staged lines were removed, its completion mark stays (as does the
        // remittance file's, whose completion had no lines to wait for).
        var staged = hub.Hub.Storage.Tables.GetTableClient("InvoiceLineStaging");
        var removedBy = DateTimeOffset.UtcNow.AddSeconds(30);
        List<string> rows;
        while ((rows = [.. (await staged.QueryAsync<Azure.Data.Tables.TableEntity>(select: ["RowKey"]).ToListAsync()).Select(r => r.RowKey)]).Any(r => r != "~completed") && DateTimeOffset.UtcNow < removedBy)
        {
            await Task.Delay(150);
        }

        Assert.Equal(["~completed", "~completed"], rows);
    }
}
