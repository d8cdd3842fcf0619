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
using CalAimHub.Functions.Outbound;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Ingestion.Validation;
using Microsoft.Extensions.Options;

namespace CalAimHub.Functions.Reconciliation;

/// <summary>
/// The stored run a <c>file-stored</c> event names (<see cref="CalAimHub.Ingestion.DomainEvent.FileStored"/>): who, which file, and what its
/// ingestion report says of the stored rows. Null for an event that does not name a run.
/// </summary>
public sealed record StoredFile(string PartnerId, string Kind, string RunId, string File, int RowsAccepted, string? SchemaVersion, string? Format, DateTimeOffset StoredAt)
{
    public static StoredFile? FromEvent(JsonElement data, DateTimeOffset time)
    {
        string? Text(string name) => data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return Text("partnerId") is { Length: > 0 } partner && InboundPath.IsId(partner) && Text("runId") is { Length: > 0 } run && Text("kind") is { Length: > 0 } kind
            && int.TryParse(Text("rowsAccepted"), NumberStyles.None, CultureInfo.InvariantCulture, out var rows)
            ? new StoredFile(partner, kind, run, Text("file") ?? "", rows, Text("schemaVersion") is { Length: > 0 } v ? v : null, Text("format") is { Length: > 0 } f ? f : null, time)
            : null;
    }
}

/// <summary>
/// Consumes an RTF run's <c>file-stored</c> event (<see cref="RtfReconciliationFunction"/>, queue <c>reconciliation-events</c>,
/// the same per-run completion event invoices consume): compares each reporting period the file answers with the union of
/// the member files sent to that provider for the period (<see cref="TableDisclosureLog.SentFilesAsync"/>), then:
/// <list type="bullet">
/// <item>writes the reconciliation report next to the file's ingestion report, in the same formats
/// (<c>results/{partner}/rtf/{file}.reconciliation.json|csv</c>: an <see cref="IngestReport"/> whose problems are the mismatches);</item>
/// <item>upserts one figure per provider and period (table <c>ReconciliationFigures</c>): reconciled, mismatches by kind;</item>
/// <item>sends the provider and the plan's subscribers (<c>Outbound:PlanSubscribers</c>, default <c>reconciliations</c>) a
/// signed notice with the report's path and counts, no member data;</item>
/// <item>last, stores the result on the provider's <c>OutboundFiles</c> ledger rows of the period, with the run id.</item>
/// </list>
/// Every step is keyed by the run (report names, figure row, delivery ids), so a repeat after a crash overwrites and sends
/// once; a redelivered event whose run is already on the ledger rows does nothing. A period nothing was sent for is left
/// alone: there is nothing to reconcile until the hub has sent that provider a MIF.
/// </summary>
public sealed partial class RtfReconciler(
    StorageAccount storage, TableDisclosureLog disclosures, OutboundLedger ledger, PartnerDirectory partners, NotificationQueue notifications,
    IConfiguration configuration, IOptions<OutboundOptions> outbound, TimeProvider time, ILogger<RtfReconciler> logger)
{
    public const string FiguresTableName = "ReconciliationFigures";
    public const string ReconciledType = "calaimhub.rtf.reconciled";
    public const string Schema = "reconciliation";
    public const string RtfKind = "rtf";

    public static (string Json, string Csv) ReportNames(string partner, string kind, string file) =>
        ($"{partner}/{kind}/{file}.reconciliation.json", $"{partner}/{kind}/{file}.reconciliation.csv");

    /// <summary>Reconciles a stored file when it is an RTF with accepted rows; null otherwise, when no period had anything sent, or when the run was already reconciled.</summary>
    public async Task<IngestReport?> ReconcileAsync(StoredFile stored, CancellationToken ct)
    {
        if (stored.Kind != RtfKind || stored.RowsAccepted == 0)
        {
            return null;
        }

        var rows = await AcceptedRowsAsync(stored.PartnerId, stored.RunId, ct);
        var periods = rows.Select(r => r.Period).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (await ledger.ReconciledByAsync(stored.PartnerId, periods, stored.RunId, ct))
        {
            LogAlreadyReconciled(logger, stored.RunId, stored.PartnerId);
            return null;
        }

        var results = new List<ReconciliationResult>();
        foreach (var period in rows.GroupBy(r => r.Period, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var sent = await disclosures.SentFilesAsync(stored.PartnerId, period.Key, ct);
            if (sent.Count == 0)
            {
                LogNothingSent(logger, stored.RunId, stored.PartnerId, period.Key);
                continue;
            }

            results.Add(RtfReconciliation.Compare(stored.PartnerId, period.Key, sent, [.. period.Select(r => r.Row)]));
        }

        if (results.Count == 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var reconciliation = ToReport(stored, results, now);
        var (jsonName, csvName) = ReportNames(stored.PartnerId, stored.Kind, stored.File);
        var container = storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer);
        await container.GetBlobClient(jsonName).UploadAsync(BinaryData.FromBytes(reconciliation.ToJsonBytes()),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } }, ct);
        await container.GetBlobClient(csvName).UploadAsync(BinaryData.FromBytes(ReportCsv.ToBytes(reconciliation)),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "text/csv; charset=utf-8" } }, ct);

        var figures = storage.Tables.GetTableClient(FiguresTableName);
        var reportRoute = ReconciliationFigure.ReportRoute(stored.PartnerId, stored.Kind, stored.File);
        foreach (var r in results)
        {
            await figures.UpsertEntityAsync(ReconciliationFigure.From(r, stored.File, reportRoute, now).ToEntity(), TableUpdateMode.Replace, ct);
        }

        await NotifyAsync(stored, results, jsonName, csvName, now, ct);
        // Last: the ledger rows carry the run, so a redelivered event finds its work done.
        foreach (var r in results)
        {
            await ledger.MarkReconciledAsync(r.ProviderId, r.Period, r.Reconciled, r.Mismatches.Count, reportRoute, stored.RunId, now, ct);
        }

        LogReconciled(logger, stored.RunId, stored.PartnerId, results.Count, results.Count(r => r.Reconciled), results.Sum(r => r.Mismatches.Count));
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
    public static IngestReport ToReport(StoredFile stored, IReadOnlyList<ReconciliationResult> results, DateTimeOffset at)
    {
        var problems = results.SelectMany(r => r.Mismatches.Select(m => Problem(r.Period, m))).ToList();
        return new IngestReport
        {
            RunId = "reconcile-" + stored.RunId,
            PartnerId = stored.PartnerId,
            Kind = stored.Kind,
            File = stored.File,
            Schema = Schema,
            SchemaVersion = stored.SchemaVersion,
            Format = stored.Format,
            Outcome = problems.Count == 0 ? "reconciled" : "mismatches",
            RowsRead = stored.RowsAccepted,
            RowsAccepted = stored.RowsAccepted,
            StartedAt = stored.StoredAt,
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

    /// <summary>The provider's notice (to its partner subscriber) and the plan's (to each configured plan subscriber): paths and counts, no member data.</summary>
    private async Task NotifyAsync(StoredFile stored, IReadOnlyList<ReconciliationResult> results, string jsonName, string csvName, DateTimeOffset at, CancellationToken ct)
    {
        var periods = results.Select(r => new { period = r.Period, reconciled = r.Reconciled, membersSent = r.MembersSent, membersReturned = r.MembersReturned, mismatchesByKind = r.ByKind }).ToList();
        var report = $"{InboundPath.ResultsContainer}/{jsonName}";
        // The delivery ids are the run's: a repeat after a crash enqueues the same deliveries, which Notify sends once.
        if (partners.Find(stored.PartnerId) is { Subscriber: { Length: > 0 } subscriber, NotificationUrl: { Length: > 0 } url })
        {
            var data = JsonSerializer.SerializeToElement(new
            {
                partnerId = stored.PartnerId,
                kind = stored.Kind,
                file = stored.File,
                periods,
                report,
                reportCsv = $"{InboundPath.ResultsContainer}/{csvName}",
            });
            await notifications.EnqueueAsync(new NotificationMessage("reconcile-" + stored.RunId, subscriber, url, ReconciledType, "/calaimhub/reconciliation", report, at, data), ct);
        }

        var plan = outbound.Value.PlanSubscriberIds();
        foreach (var id in plan)
        {
            if (configuration[$"Notifications:Subscribers:{id}:Url"] is not { Length: > 0 } planUrl)
            {
                LogNoPlanSubscriber(logger, stored.RunId, id);
                continue;
            }

            var data = JsonSerializer.SerializeToElement(new
            {
                providerId = stored.PartnerId,
                periods,
                report,
                reportCsv = $"{InboundPath.ResultsContainer}/{csvName}",
                reportRoute = ReconciliationFigure.ReportRoute(stored.PartnerId, stored.Kind, stored.File),
            });
            var deliveryId = "reconcile-plan-" + stored.RunId + (plan.Count == 1 ? "" : ":" + id);
            await notifications.EnqueueAsync(new NotificationMessage(deliveryId, id, planUrl, ReconciledType, "/calaimhub/reconciliation", report, at, data), ct);
        }
    }

    private static DateOnly? Date(string? text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation of run {RunId} (partner {PartnerId}): {Periods} periods, {Reconciled} reconciled, {Mismatches} mismatches")]
    private static partial void LogReconciled(ILogger logger, string runId, string partnerId, int periods, int reconciled, int mismatches);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation of run {RunId} (partner {PartnerId}) is already on the outbound ledger; redelivery ignored")]
    private static partial void LogAlreadyReconciled(ILogger logger, string runId, string partnerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation of run {RunId}: plan subscriber {Subscriber} has no URL (Notifications:Subscribers:{Subscriber}:Url); no plan notice")]
    private static partial void LogNoPlanSubscriber(ILogger logger, string runId, string subscriber);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation of run {RunId}: nothing was sent to partner {PartnerId} for {Period}; nothing to compare")]
    private static partial void LogNothingSent(ILogger logger, string runId, string partnerId, string period);
}

/// <summary>The console's figure for one provider and period (table <c>ReconciliationFigures</c>: partition = provider, row = period).</summary>
public sealed record ReconciliationFigure(
    string ProviderId, string Period, bool Reconciled, int MembersSent, int MembersReturned, int Mismatches,
    IReadOnlyDictionary<string, int> MismatchesByKind, string File, string Report, DateTimeOffset ReconciledAt)
{
    public static ReconciliationFigure From(ReconciliationResult result, string file, string report, DateTimeOffset at) => new(
        result.ProviderId, result.Period, result.Reconciled, result.MembersSent, result.MembersReturned, result.Mismatches.Count, result.ByKind, file, report, at);

    /// <summary>The staff route of a file's reconciliation report.</summary>
    public static string ReportRoute(string partner, string kind, string file) => $"/api/files/{partner}/{kind}/{Uri.EscapeDataString(file)}/reconciliation";

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
