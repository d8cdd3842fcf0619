using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Ingestion.Reports;

namespace CalAimHub.Ingestion.Storage;

/// <summary>A partner file run as the console lists it: counts, the most broken rules, the report route.</summary>
public sealed record FileRunSummary(
    string Partner, string Kind, string File, DateTimeOffset ReceivedAt, string Status, int AcceptedRows, int RejectedRows, IReadOnlyList<RuleCount> TopRules, string ReportUrl);

public sealed record RuleCount(string Rule, int Count);

/// <summary>
/// Table <c>ConsoleFiles</c>: one row per ingest run, newest first (partition <c>runs</c>, row
/// <c>{inverted received ticks}|{run id}</c>, with <c>Partner</c> and <c>Kind</c> columns to filter on), written with the
/// run's report and before the run record says "reported": a retried run (crash in between) writes it again, same key.
/// </summary>
public sealed class FileRunIndex(TableServiceClient tables)
{
    public const string TableName = "ConsoleFiles";
    public const string Partition = "runs";
    public const int TopRuleCount = 5;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private TableClient Table => tables.GetTableClient(TableName);

    public static FileRunSummary Summary(IngestReport report, DateTimeOffset receivedAt) => new(
        report.PartnerId, report.Kind, report.File, receivedAt, report.Outcome, report.RowsAccepted, report.RowsRejected,
        [.. report.ProblemsByRule.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Take(TopRuleCount).Select(r => new RuleCount(r.Key, r.Value))],
        $"/api/files/{Uri.EscapeDataString(report.PartnerId)}/{Uri.EscapeDataString(report.Kind)}/{Uri.EscapeDataString(report.File)}/report");

    public Task WriteAsync(IngestReport report, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(new TableEntity(Partition, RowKey(receivedAt, report.RunId))
        {
            ["Partner"] = report.PartnerId,
            ["Kind"] = report.Kind,
            ["Data"] = JsonSerializer.Serialize(Summary(report, receivedAt), Json),
        }, TableUpdateMode.Replace, cancellationToken);

    /// <summary>One page, newest first, optionally of one partner and/or kind.</summary>
    /// <exception cref="RequestFailedException">400 for a continuation the table did not give.</exception>
    public async Task<(IReadOnlyList<FileRunSummary> Items, string? Continuation)> PageAsync(string? partner, string? kind, int top, string? continuation, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition}");
        if (partner is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Partner eq {partner}");
        }

        if (kind is not null)
        {
            filter += " and " + TableClient.CreateQueryFilter($"Kind eq {kind}");
        }

        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: top, select: ["Data"], cancellationToken: cancellationToken).AsPages(continuation, top))
        {
            return ([.. page.Values.Select(r => JsonSerializer.Deserialize<FileRunSummary>(r.GetString("Data"), Json)!)], page.ContinuationToken);
        }

        return ([], null);
    }

    private static string RowKey(DateTimeOffset receivedAt, string runId) =>
        (DateTimeOffset.MaxValue.UtcTicks - receivedAt.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "|" + runId;
}
