using System.Net;
using System.Text.Json;
using CalAimHub.Ingestion.Reports;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// <c>GET /api/files/{partner}/{kind}/{file}/report</c> through the local host: a dropped file's stored report, as JSON or
/// CSV by Accept, and every refusal as problem+json with its exact status, type, title and detail.
/// </summary>
[Collection(HubCollection.Name)]
public sealed class FileReportApiTests(HubFixture hub)
{
    private const string Blob = $"{HubFixture.Reporter}/otf/2026-01 OTF.csv";
    private static readonly string ReportPath = $"/api/files/{HubFixture.Reporter}/otf/2026-01%20OTF.csv/report";

    private HttpClient Client() => new() { BaseAddress = hub.Hub.ApiBaseAddress };

    private async Task<IngestReport> DroppedAsync()
    {
        if (!(await hub.Results.GetBlobClient(Blob + ".report.json").ExistsAsync()).Value)
        {
            await hub.DropAsync(Blob, Samples.Utf8(Samples.Csv([Samples.Otf(501), Samples.Otf(502).With("ECM Provider NPI", "1234567890")])), overwrite: true);
        }

        return await hub.WaitForReportAsync(Blob);
    }

    private async Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return await client.SendAsync(request);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("*/*")]
    [InlineData("text/csv;q=0.5, application/json")]
    public async Task The_report_is_json_by_default_and_when_json_is_preferred(string? accept)
    {
        var stored = await DroppedAsync();
        using var client = Client();

        using var response = await GetAsync(client, ReportPath, accept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal((await hub.Results.GetBlobClient(Blob + ".report.json").DownloadContentAsync()).Value.Content.ToArray(), body);
        var report = IngestReport.FromJson(System.Text.Encoding.UTF8.GetString(body));
        Assert.Equal((stored.RunId, IngestOutcome.PartiallyAccepted, 1, 1), (report.RunId, report.Outcome, report.RowsAccepted, report.RowsRejected));
        Assert.Contains("Accept", response.Headers.Vary);
    }

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/*")]
    [InlineData("application/json;q=0.2, text/csv")]
    public async Task The_report_is_csv_when_csv_is_preferred(string accept)
    {
        await DroppedAsync();
        using var client = Client();

        using var response = await GetAsync(client, ReportPath, accept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("text/csv", "utf-8"), (response.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentType?.CharSet));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal((await hub.Results.GetBlobClient(Blob + ".report.csv").DownloadContentAsync()).Value.Content.ToArray(), body);
        var lines = System.Text.Encoding.UTF8.GetString(body).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("row,column,value,rule,severity,message,hint", lines[0]);
        Assert.StartsWith("3,ECM Provider NPI,1234567890,value.npi,error,", lines[1], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task An_accept_it_cannot_answer_is_a_406_problem()
    {
        await DroppedAsync();
        using var client = Client();

        using var response = await GetAsync(client, ReportPath, "application/xml, text/csv;q=0");

        var problem = await ProblemAsync(response, HttpStatusCode.NotAcceptable);
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.5.7", problem.GetProperty("type").GetString());
        Assert.Equal("Not acceptable", problem.GetProperty("title").GetString());
        Assert.Equal("the report is served as application/json (the default) or text/csv; send Accept with one of them", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_control_character_in_the_file_name_is_refused_at_the_edge()
    {
        using var client = Client();

        using var response = await GetAsync(client, $"/api/files/{HubFixture.Partner}/rtf/a%01b.csv/report");

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("Invalid request parameter", problem.GetProperty("title").GetString());
        Assert.Equal("the path segment 'file' contains a control character (such as a line break or NUL); remove it from the URL", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_file_without_a_report_is_a_404_problem()
    {
        using var client = Client();

        using var response = await GetAsync(client, $"/api/files/{HubFixture.Partner}/rtf/never-dropped.csv/report");

        var problem = await ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.5.5", problem.GetProperty("type").GetString());
        Assert.Equal("No report", problem.GetProperty("title").GetString());
        Assert.Equal($"there is no report for this file: it was not dropped under inbound/{HubFixture.Partner}/rtf/, or it is still being processed", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("bad.partner", "rtf", "a.csv", "partner", "partner must be a partner id: 1 to 64 letters, digits, '-' or '_'")]
    [InlineData(HubFixture.Partner, "mif", "a.csv", "kind", "kind must be one of rtf, otf, invoice, referral, remittance, assignment")]
    [InlineData(HubFixture.Partner, "rtf", "a..csv", "file", "file must be a file name: no '/', '\\', '..' or control characters, at most 1024 characters")]
    [InlineData(HubFixture.Partner, "rtf", "a%5Cb.csv", "file", "file must be a file name: no '/', '\\', '..' or control characters, at most 1024 characters")]
    public async Task A_name_that_is_not_one_is_a_400_problem_naming_the_field(string partner, string kind, string file, string field, string error)
    {
        using var client = Client();

        using var response = await GetAsync(client, $"/api/files/{partner}/{kind}/{file}/report");

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.5.1", problem.GetProperty("type").GetString());
        Assert.Equal("Bad file report request", problem.GetProperty("title").GetString());
        // The detail states the cause first (the app's problem shape), then how to call the route.
        Assert.Equal(error + ". Call GET /api/files/{partner}/{kind}/{file}/report with the partner id, the kind and the file name the file was dropped under.", problem.GetProperty("detail").GetString());
        var errors = problem.GetProperty("errors");
        Assert.Equal([field], errors.EnumerateObject().Select(p => p.Name));
        Assert.Equal(error, errors.GetProperty(field)[0].GetString());
    }

    // The reconciliation report of an RTF is served by the same responder: the same refusals, its own wording.
    [Theory]
    [InlineData("bad.partner", "rtf", "a.csv", "partner", "partner must be a partner id: 1 to 64 letters, digits, '-' or '_'")]
    [InlineData(HubFixture.Partner, "otf", "a.csv", "kind", "kind must be rtf: only Return Transmission Files are reconciled")]
    [InlineData(HubFixture.Partner, "rtf", "a..csv", "file", "file must be a file name: no '/', '\\', '..' or control characters, at most 1024 characters")]
    public async Task A_reconciliation_name_that_is_not_one_is_a_400_problem_naming_the_field(string partner, string kind, string file, string field, string error)
    {
        using var client = Client();

        using var response = await GetAsync(client, $"/api/files/{partner}/{kind}/{file}/reconciliation");

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.5.1", problem.GetProperty("type").GetString());
        Assert.Equal("Bad reconciliation request", problem.GetProperty("title").GetString());
        Assert.Equal(error + ". Call GET /api/files/{partner}/rtf/{file}/reconciliation with the provider's partner id and the RTF's file name as dropped.", problem.GetProperty("detail").GetString());
        var errors = problem.GetProperty("errors");
        Assert.Equal([field], errors.EnumerateObject().Select(p => p.Name));
        Assert.Equal(error, errors.GetProperty(field)[0].GetString());
    }

    [Fact]
    public async Task A_reconciliation_accept_it_cannot_answer_is_a_406_and_a_missing_one_a_404()
    {
        using var client = Client();

        using var refused = await GetAsync(client, $"/api/files/{HubFixture.Partner}/rtf/never-dropped.csv/reconciliation", "application/xml");
        var problem = await ProblemAsync(refused, HttpStatusCode.NotAcceptable);
        Assert.Equal(("Not acceptable", "the reconciliation report is served as application/json (the default) or text/csv; send Accept with one of them"),
            (problem.GetProperty("title").GetString(), problem.GetProperty("detail").GetString()));
        Assert.Contains("Accept", refused.Headers.Vary);

        using var missing = await GetAsync(client, $"/api/files/{HubFixture.Partner}/rtf/never-dropped.csv/reconciliation", "text/csv");
        problem = await ProblemAsync(missing, HttpStatusCode.NotFound);
        Assert.Equal("No reconciliation", problem.GetProperty("title").GetString());
        Assert.Equal($"there is no reconciliation for this file: it is not an accepted RTF under inbound/{HubFixture.Partner}/rtf/, nothing was sent to this provider for its period yet, or it is still being processed",
            problem.GetProperty("detail").GetString());
    }
}
