using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Invoices;

/// <summary>
/// <c>InvoiceFiles</c> (queue <c>invoice-events</c>): accepted invoice lines and remittance rows from ingestion, as the
/// CloudEvents batches it publishes (<see cref="DomainEvent.QueueFor"/>). Invoice lines: per billing provider and invoice
/// number, the <c>invoice</c> workflow is started (idempotent by its id, so a re-dropped file starts nothing twice), the
/// lines are checked (<see cref="InvoiceLineChecks"/>) and raised as one <c>lines-received</c> event whose id derives from
/// the rows' event ids and the file's arrival. Remittance rows: per invoice and remittance, one <c>remittance</c> event,
/// refused (counted, logged without member data) when it names no invoice or breaks a rule.
/// </summary>
public sealed partial class InvoiceFilesFunction(
    WorkflowRuntime runtime, StorageAccount storage, InvoiceLineChecks checks, PartnerDirectory partners, ILogger<InvoiceFilesFunction> logger) : IQueueFunction
{
    public const string InvoiceLineType = "calaimhub.invoice.received";
    public const string RemittanceType = "calaimhub.remittance.received";

    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        List<(string Id, string Type, DateTimeOffset Time, JsonElement Data)> events = [];
        try
        {
            using var document = JsonDocument.Parse(invocation.Message);
            var items = document.RootElement.ValueKind == JsonValueKind.Array ? [.. document.RootElement.EnumerateArray()] : new[] { document.RootElement };
            foreach (var e in items)
            {
                if (e.TryGetProperty("type", out var type) && e.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                    && e.TryGetProperty("id", out var id) && e.TryGetProperty("time", out var time) && time.TryGetDateTimeOffset(out var at))
                {
                    events.Add((id.GetString()!, type.GetString()!, at, data.Clone()));
                }
            }
        }
        catch (JsonException)
        {
            return $"Ignored message {invocation.Metadata.MessageId}: not CloudEvents JSON.";
        }

        var invoices = events.Where(e => e.Type == InvoiceLineType)
            .GroupBy(e => (Provider: ProviderOf(e.Data), Number: Text(e.Data, "InvoiceNumber") ?? "")).Where(g => g.Key.Provider is not null && g.Key.Number.Length > 0).ToList();
        var started = 0;
        var lines = 0;
        await Parallel.ForEachAsync(invoices, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (group, ct) =>
        {
            if (await ReceiveAsync(group.Key.Provider!, group.Key.Number, [.. group], ct))
            {
                Interlocked.Increment(ref started);
            }

            Interlocked.Add(ref lines, group.Count());
        });

        int applied = 0, rejected = 0;
        foreach (var group in events.Where(e => e.Type == RemittanceType)
                     .GroupBy(e => (Provider: ProviderOf(e.Data), Number: Text(e.Data, "InvoiceNumber") ?? "", Remittance: Text(e.Data, "RemittanceId") ?? "")))
        {
            if (await RemitAsync(group.Key.Provider, group.Key.Number, group.Key.Remittance, [.. group], cancellationToken))
            {
                applied++;
            }
            else
            {
                rejected++;
            }
        }

        LogBatch(logger, invocation.Metadata.MessageId, invoices.Count, started, lines, applied, rejected);
        return $"Invoices: {invoices.Count} in this batch ({started} started), {lines} lines checked; remittances: {applied} applied, {rejected} refused.";
    }

    private async Task<bool> ReceiveAsync(string providerId, string invoiceNumber, IReadOnlyList<(string Id, string Type, DateTimeOffset Time, JsonElement Data)> rows, CancellationToken ct)
    {
        var invoiceId = InvoiceIds.For(providerId, invoiceNumber);
        var first = rows[0];
        var partnerId = Text(first.Data, "partnerId") ?? "";
        var subscriber = partners.Find(partnerId)?.Subscriber ?? partnerId;
        var receivedAt = rows.Min(r => r.Time);
        var start = await runtime.StartAsync(InvoiceWorkflow.TypeName, invoiceId,
            WorkflowJson.ToElement(new InvoiceStart(invoiceId, invoiceNumber, providerId, partnerId, subscriber, receivedAt)), ct);

        var listed = await checks.ProviderListedAsync(providerId, ct);
        var authorizations = new Dictionary<string, Domain.Authorizations.AuthorizationState?>(StringComparer.Ordinal);
        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        var received = new List<ReceivedLine>(rows.Count);
        foreach (var row in rows.OrderBy(r => Number(r.Data)))
        {
            if (Text(row.Data, "partitionKey") is not { } partition || Text(row.Data, "rowKey") is not { } key)
            {
                continue;
            }

            // The event carries no member data; the CIN is read from the stored row, used for the checks and hashed.
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, key, select: ["MemberCin"], cancellationToken: ct);
            if (!stored.HasValue || stored.Value!.GetString("MemberCin") is not { } cin || Billed(row.Data, cin) is not { } line)
            {
                continue;
            }

            received.Add(await checks.CheckAsync(providerId, listed, line, authorizations, ct));
        }

        if (received.Count > 0)
        {
            var eventId = "lines:" + Hash(string.Join('\u001f', rows.Select(r => r.Id).Order(StringComparer.Ordinal)) + "\u001f" + receivedAt.ToString("O", CultureInfo.InvariantCulture));
            await runtime.RaiseEventAsync(invoiceId, InvoiceEvents.LinesReceived, WorkflowJson.ToElement(new LinesReceived(receivedAt, received)), eventId, ct);
        }

        return start.Created;
    }

    private async Task<bool> RemitAsync(string? providerId, string invoiceNumber, string remittanceId, IReadOnlyList<(string Id, string Type, DateTimeOffset Time, JsonElement Data)> rows, CancellationToken ct)
    {
        if (providerId is null || invoiceNumber.Length == 0)
        {
            return false;
        }

        var invoiceId = InvoiceIds.For(providerId, invoiceNumber);
        var outcomes = rows.Select(r => Outcome(r.Data)).ToList();
        if (outcomes.Any(o => o is null))
        {
            LogRefused(logger, invoiceId, remittanceId, "a row could not be read");
            return false;
        }

        var remittance = new Remittance(remittanceId, [.. outcomes.Select(o => o!)]);
        var state = await runtime.GetStateAsync<InvoiceState>(invoiceId, ct);
        if (state is null)
        {
            LogRefused(logger, invoiceId, remittanceId, "no such invoice");
            return false;
        }

        if (InvoiceWorkflow.RemittanceProblem(state, remittance) is { } problem)
        {
            LogRefused(logger, invoiceId, remittanceId, $"{problem.Field} {problem.Detail}");
            return false;
        }

        var eventId = $"remittance:{remittanceId}:" + Hash(string.Join('\u001f', rows.Select(r => r.Id).Order(StringComparer.Ordinal)));
        var result = await runtime.RaiseEventAsync(invoiceId, InvoiceEvents.Remittance, WorkflowJson.ToElement(remittance), eventId, ct);
        return result.Outcome is ApplyOutcome.Applied or ApplyOutcome.AlreadyApplied;
    }

    private static LineOutcome? Outcome(JsonElement data)
    {
        var line = Number(data);
        if (line <= 0
            || !DateOnly.TryParseExact(Text(data, "OutcomeDate"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var on))
        {
            return null;
        }

        LineOutcomeKind? kind = Text(data, "Outcome")?.ToLowerInvariant() switch
        {
            "paid" => LineOutcomeKind.Paid,
            "denied" => LineOutcomeKind.Denied,
            "contested" => LineOutcomeKind.Contested,
            _ => null,
        };
        return kind is { } k ? new LineOutcome(line, k, on, Decimal(data, "PaidAmount"), Text(data, "ReasonCode"), Text(data, "MissingInformation")) : null;
    }

    private static BilledLine? Billed(JsonElement data, string cin)
    {
        var number = Number(data);
        if (number <= 0
            || !DateOnly.TryParseExact(Text(data, "ServiceStartDate"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
            || Text(data, "HcpcsCode") is not { } hcpcs || Decimal(data, "Units") is not { } units || Decimal(data, "ChargeAmount") is not { } charge)
        {
            return null;
        }

        DateOnly? to = DateOnly.TryParseExact(Text(data, "ServiceEndDate"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var end) ? end : null;
        string[] modifiers = [.. new[] { "Modifier1", "Modifier2", "Modifier3", "Modifier4" }.Select(m => Text(data, m)).OfType<string>()];
        return new BilledLine(number, cin, from, to, hcpcs, modifiers, units, charge);
    }

    private static string? ProviderOf(JsonElement data) => Text(data, "BillingProviderNPI") ?? Text(data, "BillingProviderAtypicalID");

    private static int Number(JsonElement data) => int.TryParse(Text(data, "LineNumber"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static decimal? Decimal(JsonElement data, string name) =>
        decimal.TryParse(Text(data, name)?.TrimStart('$'), NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? d : null;

    private static string? Text(JsonElement data, string name) =>
        data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    [LoggerMessage(Level = LogLevel.Information, Message = "Invoice events {MessageId}: {Invoices} invoices ({Started} started), {Lines} lines; remittances {Applied} applied, {Refused} refused")]
    private static partial void LogBatch(ILogger logger, string? messageId, int invoices, int started, int lines, int applied, int refused);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remittance {RemittanceId} for invoice {InvoiceId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string invoiceId, string remittanceId, string reason);
}
