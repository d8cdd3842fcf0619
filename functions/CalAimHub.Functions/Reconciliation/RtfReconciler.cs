using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using CalAimHub.Domain.Consent;
using CalAimHub.Domain.Reconciliation;
using CalAimHub.Functions.Consent;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Notifications;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Functions.Reconciliation;

/// <summary>
/// When ingestion has stored an RTF (<see cref="IngestPartnerFile"/>, after its rows are in <c>IngestedRows</c> and before the
/// run is marked complete, so a crash repeats it), compares each reporting period the file answers with the union of the
/// member files sent to that provider for the period (<see cref="TableDisclosureLog.SentFilesAsync"/>), then:
/// <list type="bullet">
/// <item>writes the reconciliation report next to the file's ingestion report, in the same formats
/// (<c>results/{partner}/rtf/{file}.reconciliation.json|csv</c>: an <see cref="IngestReport"/> whose problems are the mismatches);</item>
/// <item>upserts one figure per provider and period (table <c>ReconciliationFigures</c>): reconciled, mismatches by kind;</item>
/// <item>sends the provider a signed notice with the report's path and counts, no member data.</item>
/// </list>
/// Every step is keyed by the run (report names, figure row, delivery id), so a repeat overwrites and sends once. A period
/// nothing was sent for is left alone: there is nothing to reconcile until the hub has sent that provider a MIF.
/// </summary>
public sealed partial class RtfReconciler(
    StorageAccount storage, TableDisclosureLog disclosures, NotificationQueue notifications, TimeProvider time, ILogger<RtfReconciler> logger)
{
    public const string FiguresTableName = "ReconciliationFigures";
    public const string ReconciledType = "calaimhub.rtf.reconciled";
    public const string Schema = "reconciliation";
    public const string RtfKind = "rtf";

    public static (string Json, string Csv) ReportNames(string partner, string kind, string file) =>
        ($"{partner}/{kind}/{file}.reconciliation.json", $"{partner}/{kind}/{file}.reconciliation.csv");

    /// <summary>Reconciles an ingested file when it is an RTF with accepted rows; null otherwise or when no period had anything sent.</summary>
    public async Task<IngestReport?> ReconcileAsync(IngestResult result, CancellationToken ct)
    {
        var report = result.Report;
        if (report.Kind != RtfKind || report.DryRun || report.RowsAccepted == 0)
        {
            return null;
        }

        var rows = await AcceptedRowsAsync(report.PartnerId, report.RunId, ct);
        var results = new List<ReconciliationResult>();
        foreach (var period in rows.GroupBy(r => r.Period, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var sent = await disclosures.SentFilesAsync(report.PartnerId, period.Key, ct);
            if (sent.Count == 0)
            {
                LogNothingSent(logger, report.RunId, report.PartnerId, period.Key);
                continue;
            }

            results.Add(RtfReconciliation.Compare(report.PartnerId, period.Key, sent, [.. period.Select(r => r.Row)]));
        }

        if (results.Count == 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var reconciliation = ToReport(report, results, now);
        var (jsonName, csvName) = ReportNames(report.PartnerId, report.Kind, report.File);
        var container = storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer);
        await container.GetBlobClient(jsonName).UploadAsync(BinaryData.FromBytes(reconciliation.ToJsonBytes()),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } }, ct);
        await container.GetBlobClient(csvName).UploadAsync(BinaryData.FromBytes(ReportCsv.ToBytes(reconciliation)),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/csv; charset=utf-8" } }, ct);

        var figures = storage.Tables.GetTableClient(FiguresTableName);
        foreach (var r in results)
        {
            await figures.UpsertEntityAsync(ReconciliationFigure.From(r, report, now).ToEntity(), TableUpdateMode.Replace, ct);
        }

        await NotifyAsync(result, results, jsonName, csvName, now, ct);
        LogReconciled(logger, report.RunId, report.PartnerId, results.Count, results.Count(r => r.Reconciled), results.Sum(r => r.Mismatches.Count));
        return reconciliation;
    }

    /// <summary>The RTF rows this run stored: its partner's RTF partitions, filtered on the run id.</summary>
    private async Task<List<(string Period, RtfMemberRow Row)>> AcceptedRowsAsync(string partnerId, string runId, CancellationToken ct)
    {
        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        string[] columns = ["IngestRow", "MemberCin", "ReportingPeriod", "AuthorizationNumber", "EcmBenefitStartDate", "EcmBenefitEndDate",
            "EcmEnrollmentStartDate", "EcmEnrollmentEndDate", "ReferralStatus"];
        var rows = new List<(string, RtfMemberRow)>();
        for (var bucket = 0; bucket < CalAimHub.Ingestion.AcceptedRow.Buckets; bucket++)
        {
            var partition = CalAimHub.Ingestion.AcceptedRow.Partition(partnerId, RtfKind, bucket);
            await foreach (var row in table.QueryAsync<TableEntity>(
                TableClient.CreateQueryFilter($"PartitionKey eq {partition} and IngestRunId eq {runId}"), select: columns, cancellationToken: ct))
            {
                if (row.GetString("MemberCin") is not { Length: > 0 } cin || row.GetString("ReportingPeriod") is not { Length: > 0 } period)
                {
                    continue;
                }

                rows.Add((period, new RtfMemberRow(row.GetInt32("IngestRow") ?? 0, cin.ToUpperInvariant(), row.GetString("AuthorizationNumber"),
                    Date(row.GetString("EcmBenefitStartDate") ?? row.GetString("EcmEnrollmentStartDate")),
                    Date(row.GetString("EcmBenefitEndDate") ?? row.GetString("EcmEnrollmentEndDate")),
                    row.GetString("ReferralStatus"))));
            }
        }

        return rows;
    }

    /// <summary>The mismatches as an ingestion report: one problem each, the CIN masked like every PHI value in a report.</summary>
    public static IngestReport ToReport(IngestReport ingested, IReadOnlyList<ReconciliationResult> results, DateTimeOffset at)
    {
        var problems = results.SelectMany(r => r.Mismatches.Select(m => Problem(r.Period, m))).ToList();
        return new IngestReport
        {
            RunId = "reconcile-" + ingested.RunId,
            PartnerId = ingested.PartnerId,
            Kind = ingested.Kind,
            File = ingested.File,
            Schema = Schema,
            SchemaVersion = ingested.SchemaVersion,
            Format = ingested.Format,
            Outcome = problems.Count == 0 ? "reconciled" : "mismatches",
            RowsRead = ingested.RowsAccepted,
            RowsAccepted = ingested.RowsAccepted,
            StartedAt = ingested.CompletedAt,
            CompletedAt = at,
            ProblemCount = problems.Count,
            ProblemsByRule = problems.GroupBy(p => p.Rule, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            Problems = problems.Take(IngestReport.MaxListedProblems).ToList(),
        };
    }

    private static Problem Problem(string period, ReconciliationMismatch m)
    {
        var member = Masking.Mask(m.Cin, phi: true);
        var sentIn = m.SentIn is null ? "" : $" (sent in {m.SentIn})";
        return m.Kind switch
        {
            MismatchKinds.AssignedMemberMissing => new(0, m.Column, member, m.Kind,
                $"Member {member} was assigned to you for {period}{sentIn} but has no row in this RTF", "Add a row for every member of the period's MIF and mini-MIFs", CalAimHub.Ingestion.Validation.Problem.Warning),
            MismatchKinds.MemberNeverAssigned => new(m.Row, m.Column, member, m.Kind,
                $"Member {member} was not in any member file sent to you for {period}", "Check the CIN and the reporting period; the plan assigns members through the MIF", CalAimHub.Ingestion.Validation.Problem.Warning),
            MismatchKinds.ReferralNeverSent => new(m.Row, m.Column, m.Returned, m.Kind,
                $"Referral Status for member {member}, but the plan sent you no referral for this member for {period}", "Report referral status only for referrals the plan sent you", CalAimHub.Ingestion.Validation.Problem.Warning),
            _ => new(m.Row, m.Column, m.Returned, m.Kind,
                $"{m.Column} for member {member} is '{m.Returned}'; the plan sent '{m.Sent}'{sentIn}", "Use the authorization the plan sent, or ask the plan to correct it", CalAimHub.Ingestion.Validation.Problem.Warning),
        };
    }

    private async Task NotifyAsync(IngestResult result, IReadOnlyList<ReconciliationResult> results, string jsonName, string csvName, DateTimeOffset at, CancellationToken ct)
    {
        if (result.Partner is not { Subscriber: { Length: > 0 } subscriber, NotificationUrl: { Length: > 0 } url })
        {
            return;
        }

        var report = result.Report;
        var data = JsonSerializer.SerializeToElement(new
        {
            partnerId = report.PartnerId,
            kind = report.Kind,
            file = report.File,
            periods = results.Select(r => new { period = r.Period, reconciled = r.Reconciled, membersSent = r.MembersSent, membersReturned = r.MembersReturned, mismatchesByKind = r.ByKind }),
            report = $"{InboundPath.ResultsContainer}/{jsonName}",
            reportCsv = $"{InboundPath.ResultsContainer}/{csvName}",
        });
        // The delivery id is the run's: a repeat after a crash enqueues the same delivery, which Notify sends once.
        await notifications.EnqueueAsync(new NotificationMessage("reconcile-" + report.RunId, subscriber, url, ReconciledType, "/calaimhub/reconciliation",
            $"{InboundPath.ResultsContainer}/{jsonName}", at, data), ct);
    }

    private static DateOnly? Date(string? text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation of run {RunId} (partner {PartnerId}): {Periods} periods, {Reconciled} reconciled, {Mismatches} mismatches")]
    private static partial void LogReconciled(ILogger logger, string runId, string partnerId, int periods, int reconciled, int mismatches);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation of run {RunId}: nothing was sent to partner {PartnerId} for {Period}; nothing to compare")]
    private static partial void LogNothingSent(ILogger logger, string runId, string partnerId, string period);
}

/// <summary>The console's figure for one provider and period (table <c>ReconciliationFigures</c>: partition = provider, row = period).</summary>
public sealed record ReconciliationFigure(
    string ProviderId, string Period, bool Reconciled, int MembersSent, int MembersReturned, int Mismatches,
    IReadOnlyDictionary<string, int> MismatchesByKind, string File, string Report, DateTimeOffset ReconciledAt)
{
    public static ReconciliationFigure From(ReconciliationResult result, IngestReport report, DateTimeOffset at) => new(
        result.ProviderId, result.Period, result.Reconciled, result.MembersSent, result.MembersReturned, result.Mismatches.Count, result.ByKind,
        report.File, $"/api/files/{report.PartnerId}/{report.Kind}/{Uri.EscapeDataString(report.File)}/reconciliation", at);

    public TableEntity ToEntity()
    {
        var entity = new TableEntity(ProviderId, Period)
        {
            [nameof(Reconciled)] = Reconciled,
            [nameof(MembersSent)] = MembersSent,
            [nameof(MembersReturned)] = MembersReturned,
            [nameof(Mismatches)] = Mismatches,
            [nameof(File)] = File,
            [nameof(Report)] = Report,
            [nameof(ReconciledAt)] = ReconciledAt,
        };
        foreach (var (kind, count) in MismatchesByKind)
        {
            entity["k_" + kind.Replace('-', '_')] = count;
        }

        return entity;
    }

    public static ReconciliationFigure FromEntity(TableEntity entity) => new(
        entity.PartitionKey, entity.RowKey, entity.GetBoolean(nameof(Reconciled)) ?? false, entity.GetInt32(nameof(MembersSent)) ?? 0,
        entity.GetInt32(nameof(MembersReturned)) ?? 0, entity.GetInt32(nameof(Mismatches)) ?? 0,
        MismatchKinds.All.ToDictionary(k => k, k => entity.GetInt32("k_" + k.Replace('-', '_')) ?? 0, StringComparer.Ordinal),
        entity.GetString(nameof(File)) ?? "", entity.GetString(nameof(Report)) ?? "", entity.GetDateTimeOffset(nameof(ReconciledAt)) ?? default);
}
