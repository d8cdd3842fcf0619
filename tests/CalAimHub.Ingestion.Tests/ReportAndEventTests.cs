using System.Text;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;

namespace CalAimHub.Ingestion.Tests;

public sealed class ReportAndEventTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("-1+1", "'-1+1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("plain, text", "\"plain, text\"")]
    [InlineData("ok", "ok")]
    public void Report_csv_cells_that_excel_would_run_as_formulas_are_escaped(string value, string cell) =>
        Assert.Equal(cell, ReportCsv.Cell(value));

    [Fact]
    public async Task The_csv_report_has_one_line_per_listed_problem_with_a_bom_for_excel()
    {
        var (report, _) = await Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv([Samples.RtfA(1).With("MCP Name", "=cmd|' /C calc'!A0").With("ECM Provider NPI", "1")])));

        var bytes = ReportCsv.ToBytes(report);
        var text = Encoding.UTF8.GetString(bytes.AsSpan(3));

        Assert.Equal(Encoding.UTF8.GetPreamble(), bytes[..3]);
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("row,column,value,rule,severity,message,hint", lines[0]);
        Assert.StartsWith("2,ECM Provider NPI,1,value.npi,error,", lines[1], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
    }

    private const string EventGridEvent = """
        {"id":"e-1","topic":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a","subject":"/blobServices/default/containers/inbound/blobs/mcp-one/rtf/2025-12 RTF.csv",
         "eventType":"Microsoft.Storage.BlobCreated","eventTime":"2026-01-15T20:00:00Z","dataVersion":"1",
         "data":{"api":"PutBlob","eTag":"0x8DC","contentLength":1234,"url":"https://a.blob.core.windows.net/inbound/mcp-one/rtf/2025-12%20RTF.csv"}}
        """;

    [Fact]
    public void An_event_grid_schema_blob_created_event_names_container_blob_and_size()
    {
        var e = BlobCreatedEvent.Parse(EventGridEvent, out var reason);

        Assert.Null(reason);
        Assert.Equal(("e-1", "inbound", "mcp-one/rtf/2025-12 RTF.csv", "0x8DC", 1234L), (e!.Id, e.Container, e.BlobName, e.ETag, e.ContentLength));
    }

    [Fact]
    public void A_cloud_events_schema_event_is_read_the_same_way_and_a_url_is_enough()
    {
        var cloudEvent = """{"specversion":"1.0","id":"c-1","type":"Microsoft.Storage.BlobCreated","source":"/subscriptions/s","data":{"url":"http://127.0.0.1:10000/devstoreaccount1/inbound/p1/otf/f.csv"}}""";

        var e = BlobCreatedEvent.Parse(cloudEvent, out _);

        Assert.Equal(("c-1", "inbound", "p1/otf/f.csv"), (e!.Id, e.Container, e.BlobName));
    }

    [Fact]
    public void A_base64_encoded_or_single_element_array_message_is_unwrapped()
    {
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(EventGridEvent));

        Assert.Equal("mcp-one/rtf/2025-12 RTF.csv", BlobCreatedEvent.Parse(base64, out _)!.BlobName);
        Assert.Equal("mcp-one/rtf/2025-12 RTF.csv", BlobCreatedEvent.Parse("[" + EventGridEvent + "]", out _)!.BlobName);
    }

    [Theory]
    [InlineData("{\"eventType\":\"Microsoft.Storage.BlobDeleted\",\"subject\":\"/blobServices/default/containers/inbound/blobs/a/b/c\"}", "is not Microsoft.Storage.BlobCreated")]
    [InlineData("not json at all!", "neither JSON nor base64")]
    [InlineData("{\"eventType\":\"Microsoft.Storage.BlobCreated\"}", "names no blob")]
    [InlineData("{\"eventType\":", "not valid JSON")]
    public void Anything_else_is_refused_with_a_reason(string message, string reason)
    {
        Assert.Null(BlobCreatedEvent.Parse(message, out var why));
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mcp-one/rtf/a.csv", "mcp-one", "rtf", "a.csv")]
    [InlineData("mcp-one/RTF/2025/a.csv", "mcp-one", "rtf", "2025/a.csv")]
    public void Inbound_paths_are_partner_kind_and_file(string blob, string partner, string kind, string file) =>
        Assert.Equal(new InboundPath(partner, kind, file), InboundPath.TryParse(blob));

    [Theory]
    [InlineData("a.csv")]
    [InlineData("mcp-one/a.csv")]
    [InlineData("mcp one/rtf/a.csv")]
    public void Other_paths_are_not_inbound_files(string blob) => Assert.Null(InboundPath.TryParse(blob));

    [Fact]
    public async Task Domain_event_ids_are_stable_across_runs_and_messages_stay_under_the_queue_limit()
    {
        var file = Samples.Utf8(Samples.Csv(Enumerable.Range(1, 300).Select(Samples.Invoice)));

        var (_, first) = await Samples.RunAsync("invoice", file);
        var (_, second) = await Samples.RunAsync("invoice", file, submission: Samples.Submission("invoice") with { RunId = "run-other", ReceivedAt = Samples.Now.AddHours(1) });
        var messages = TableRowDestination.EventMessages(first.SelectMany(r => r.Events).ToArray()).ToArray();

        Assert.Equal(first.SelectMany(r => r.Events).Select(e => e.Id), second.SelectMany(r => r.Events).Select(e => e.Id));
        Assert.Equal(300, first.SelectMany(r => r.Events).Select(e => e.Id).Distinct().Count());
        Assert.All(messages, m => Assert.True(Encoding.UTF8.GetByteCount(m) <= TableRowDestination.MaxEventMessageBytes));
        Assert.Equal(300, messages.Sum(m => TableRowDestination.ReadEvents(m).Count));
    }
}
