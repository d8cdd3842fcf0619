using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain;
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
/// <c>InvoiceFiles</c> (queue <c>invoice-events</c>): accepted invoice lines, the run's <c>file-stored</c> event and remittance
/// rows from ingestion, as the CloudEvents batches it publishes (<see cref="DomainEvent.QueueFor"/>).
/// Invoice lines are checked (<see cref="InvoiceLineChecks"/>) and staged by run and invoice (<see cref="InvoiceLineStaging"/>):
/// ingestion spreads an invoice's lines over its partition buckets, so raising them per message cost a workflow commit per
/// line. When the run's <c>file-stored</c> event finds every line staged, each invoice is started once with its lines (one
/// commit; further commits only past <see cref="InvoiceStart.MaxLines"/> lines), then marks the run started and sends a
/// <see cref="RunStartedType"/> event, whose handling removes the run's staged lines. Exactly once under redelivery: staging is an
/// upsert by event id, a start is idempotent by invoice id, the later chunks' event ids derive from the run, and an invoice
/// already holding a chunk's lines unchanged is not raised again (a re-dropped file starts and raises nothing).
/// Remittance rows: per invoice and remittance, one <c>remittance</c> event, refused (counted, logged without member data)
/// when it names no invoice or breaks a rule.
/// </summary>
public sealed partial class InvoiceFilesFunction(
    WorkflowRuntime runtime, StorageAccount storage, InvoiceLineChecks checks, PartnerDirectory partners, InvoiceLineStaging staging, ILogger<InvoiceFilesFunction> logger) : IQueueFunction
{
    public const string InvoiceLineType = "calaimhub.invoice.received";
    public const string RemittanceType = "calaimhub.remittance.received";
    public const string FileStoredType = DomainEvent.FileStoredType;

    /// <summary>Sent by a completion once every invoice of its run is started: the run's staged lines are removed.</summary>
    public const string RunStartedType = "calaimhub.invoice.run-started";

    /// <summary>How often a <c>file-stored</c> event waits for lines still on their way before starting what is staged (about an hour in all).</summary>
    public const int MaxWaits = 60;

    private const int Parallelism = 8;

    /// <summary>Batch starts of one file in flight at once: one batch's dispatch overlaps the next one's commits.</summary>
    private const int BatchParallelism = 2;

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

        var summary = new List<string>();
        var lineEvents = events.Where(e => e.Type == InvoiceLineType).ToList();
        if (lineEvents.Count > 0)
        {
            summary.Add(await ReceiveLinesAsync(invocation.Metadata.MessageId, lineEvents, cancellationToken));
        }

        foreach (var stored in events.Where(e => e.Type is FileStoredType or DomainEvent.LegacyInvoiceFileStored))
        {
            summary.Add(await CompleteFileAsync(stored.Data, stored.Time, cancellationToken));
        }

        foreach (var started in events.Where(e => e.Type == RunStartedType))
        {
            if (Text(started.Data, "runId") is { } runId)
            {
                var removed = await staging.RemoveRunAsync(runId, cancellationToken);
                LogStagingRemoved(logger, runId, removed);
                summary.Add($"run {runId}: {removed} staged rows removed");
            }
        }

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

        if (applied + rejected > 0)
        {
            LogRemittances(logger, invocation.Metadata.MessageId, applied, rejected);
            summary.Add($"remittances: {applied} applied, {rejected} refused");
        }

        return summary.Count == 0 ? "Invoices: nothing in this message." : "Invoices: " + string.Join("; ", summary) + ".";
    }

    /// <summary>Checks a message's lines and stages them by run; lines without a run (sent before staging existed) or of a run already started are raised at once.</summary>
    private async Task<string> ReceiveLinesAsync(string? messageId, List<(string Id, string Type, DateTimeOffset Time, JsonElement Data)> lineEvents, CancellationToken ct)
    {
        var checkedLines = new List<StagedLine>();
        var cins = await MemberCinsAsync(lineEvents, ct);
        var invoices = lineEvents.GroupBy(e => (Provider: ProviderOf(e.Data), Number: Text(e.Data, "InvoiceNumber") ?? "")).ToList();
        await Parallel.ForEachAsync(invoices, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (group, token) =>
        {
            // A line naming no invoice is staged unread all the same: the run's count of staged lines must reach the count sent.
            var lines = group.Key.Provider is null || group.Key.Number.Length == 0
                ? group.Select(e => new StagedLine("inv-unreadable", "", "", Text(e.Data, "partnerId") ?? "", e.Id, e.Time, null)).ToList()
                : await CheckAsync(group.Key.Provider, group.Key.Number, [.. group], cins, checks.ForRun(Text(group.First().Data, "runId")), token);
            lock (checkedLines)
            {
                checkedLines.AddRange(lines);
            }
        });

        var runs = lineEvents.Select(e => Text(e.Data, "runId")).ToList();
        var byEvent = lineEvents.Select((e, i) => (e.Id, Run: runs[i])).ToDictionary(x => x.Id, x => x.Run, StringComparer.Ordinal);
        var raisedNow = new List<StagedLine>();
        var lateRows = new List<StagedRows>();
        foreach (var run in checkedLines.GroupBy(l => byEvent.GetValueOrDefault(l.EventId)))
        {
            if (run.Key is null)
            {
                raisedNow.AddRange(run);
                continue;
            }

            var rows = await staging.StageAsync(run.Key, [.. run], ct);
            // Staged, then the mark read (the completion marks, then reads): one of the two sees the other, so no line is left behind.
            if (await staging.CompletedAsync(run.Key, ct))
            {
                raisedNow.AddRange(run);
                lateRows.Add(rows);
            }
        }

        var started = 0;
        await Parallel.ForEachAsync(raisedNow.Where(l => l.Line is not null).GroupBy(l => l.InvoiceId), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (invoice, token) =>
        {
            if (await ReceiveAsync([.. invoice], "lines:" + Hash(string.Join('\u001f', invoice.Select(l => l.EventId).Order(StringComparer.Ordinal))), token))
            {
                Interlocked.Increment(ref started);
            }
        });

        // Raised: a late message's staged rows are not read again (its run's rows may be removed already).
        foreach (var rows in lateRows)
        {
            await staging.RemoveAsync(rows, ct);
        }

        LogLines(logger, messageId, lineEvents.Count, checkedLines.Count - raisedNow.Count, raisedNow.Count, started);
        return $"{lineEvents.Count} lines checked, {checkedLines.Count - raisedNow.Count} staged, {raisedNow.Count} raised at once ({started} invoices started)";
    }

    /// <summary>
    /// The run's <c>file-stored</c> event: when every line of the run is staged (or after <see cref="MaxWaits"/> waits), marks the
    /// run and starts each invoice once with its lines. Lines still on their way: the event is sent again, delayed.
    /// </summary>
    private async Task<string> CompleteFileAsync(JsonElement data, DateTimeOffset time, CancellationToken ct)
    {
        if (Text(data, "runId") is not { } runId || !int.TryParse(Text(data, "lines"), NumberStyles.None, CultureInfo.InvariantCulture, out var expected))
        {
            return "file-stored event without run or line count ignored";
        }

        if ((await staging.CompletionAsync(runId, ct))?.StartedAt is not null)
        {
            return $"run {runId}: every invoice already started"; // a redelivery after the run's staged lines were removed
        }

        var waits = int.TryParse(Text(data, "waits"), NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : 0;
        var lines = await staging.ReadAsync(runId, ct);
        if (lines.Count < expected)
        {
            if (waits < MaxWaits)
            {
                await WaitAgainAsync(data, time, waits + 1, ct);
                LogWaiting(logger, runId, lines.Count, expected, waits + 1);
                return $"run {runId}: {lines.Count} of {expected} lines staged, waiting";
            }

            LogGaveUp(logger, runId, lines.Count, expected);
        }

        await staging.MarkCompletedAsync(runId, DateTimeOffset.UtcNow, ct);
        if (lines.Count < expected)
        {
            lines = await staging.ReadAsync(runId, ct); // lines staged after the mark are raised by their own message
        }

        var receivedAt = lines.Count == 0 ? time : lines.Min(l => l.ReceivedAt);
        var started = 0;
        var invoices = lines.Where(l => l.Line is not null).GroupBy(l => l.InvoiceId).ToList();
        // Batch starts (the lines are read in key order, so a redelivery forms the same batches): a crash before their
        // dispatch is finished by this message's redelivery, or by the sweeper (WorkflowRuntime.StartManyAsync).
        await Parallel.ForEachAsync(invoices.Chunk(WorkflowRuntime.MaxBatchStarts), new ParallelOptions { MaxDegreeOfParallelism = BatchParallelism, CancellationToken = ct }, async (batch, token) =>
        {
            Interlocked.Add(ref started, await ReceiveManyAsync([.. batch.Select(invoice => (IReadOnlyList<StagedLine>)[.. invoice.Select(l => l with { ReceivedAt = receivedAt })])], "staged:" + runId, token));
        });

        await staging.MarkStartedAsync(runId, DateTimeOffset.UtcNow, invoices.Count, ct);
        if (lines.Count > 0)
        {
            await SendToSelfAsync($"evt-started-{runId}", RunStartedType, new() { ["runId"] = runId, ["partnerId"] = Text(data, "partnerId") ?? "" }, time, null, ct);
        }

        LogCompleted(logger, runId, lines.Count, invoices.Count, started);
        return $"run {runId}: {lines.Count} lines, {invoices.Count} invoices ({started} started)";
    }

    private async Task WaitAgainAsync(JsonElement data, DateTimeOffset time, int waits, CancellationToken ct)
    {
        var again = JsonSerializer.Deserialize<Dictionary<string, string>>(data.GetRawText())!;
        again["waits"] = waits.ToString(CultureInfo.InvariantCulture);
        await SendToSelfAsync($"evt-stored-{again["runId"]}-{waits}", FileStoredType, again, time, TimeSpan.FromSeconds(Math.Min(60, 2 * waits)), ct);
    }

    /// <summary>
    /// An event of a run this function sends itself on <c>invoice-events</c>: a <c>file-stored</c> event waiting again, or the
    /// run-started event whose handling removes the run's staged lines (so the completion's work ends with its starts).
    /// </summary>
    private async Task SendToSelfAsync(string id, string type, Dictionary<string, string> data, DateTimeOffset time, TimeSpan? delay, CancellationToken ct)
    {
        var e = new DomainEvent(id, type, $"/calaimhub/ingestion/{data.GetValueOrDefault("partnerId")}/invoice", data["runId"], time, data);
        foreach (var message in TableRowDestination.EventMessages([e]))
        {
            await storage.Queues.GetQueueClient(DomainEvent.InvoiceQueueName).SendMessageAsync(message, visibilityTimeout: delay, cancellationToken: ct);
        }
    }

    /// <summary>
    /// The CINs of a message's lines from their batches' member rows, by stored row: one point read per batch and run, not
    /// per message. Ingestion splits a batch's events over two or three messages (<see cref="TableRowDestination.MaxEventMessageBytes"/>),
    /// so the row is kept with the run's look-ups until every line it names was read (<see cref="InvoiceRunLookups.MemberRows"/>).
    /// A line whose event names no member row (sent before ingestion wrote them) is read on its own.
    /// </summary>
    private async Task<Dictionary<(string Partition, string RowKey), string>> MemberCinsAsync(
        List<(string Id, string Type, DateTimeOffset Time, JsonElement Data)> lineEvents, CancellationToken ct)
    {
        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        var batches = lineEvents
            .Select(e => (Partition: Text(e.Data, "partitionKey"), Row: Text(e.Data, TableRowDestination.MemberRowField), Run: Text(e.Data, "runId")))
            .Where(b => b.Partition is not null && b.Row is not null)
            .GroupBy(b => b)
            .Select(b => (b.Key.Partition, b.Key.Row, b.Key.Run, Lines: b.Count()))
            .ToList();
        var rows = await Task.WhenAll(batches.Select(async b =>
        {
            var run = checks.ForRun(b.Run);
            var key = b.Partition + "|" + b.Row;
            var members = await InvoiceRunLookups.OnceAsync(run.MemberRows, key, async () =>
            {
                var row = await table.GetEntityIfExistsAsync<TableEntity>(b.Partition!, b.Row!, select: [TableRowDestination.MemberCinsColumn], cancellationToken: ct);
                return row.HasValue && row.Value!.GetString(TableRowDestination.MemberCinsColumn) is { } json
                    ? new BatchMembers(JsonSerializer.Deserialize<Dictionary<string, string>>(json)!)
                    : null;
            });
            // Every line of the batch read (a redelivery counts again: the row is then read once more, never missed).
            if (members is null || members.Read(b.Lines))
            {
                run.MemberRows.TryRemove(key, out _);
            }

            return members;
        }));
        var cins = new Dictionary<(string, string), string>();
        foreach (var (batch, members) in batches.Zip(rows))
        {
            foreach (var (rowKey, cin) in members?.Cins ?? new Dictionary<string, string>())
            {
                cins[(batch.Partition!, rowKey)] = cin;
            }
        }

        return cins;
    }

    /// <summary>Per invoice of a message: the billed lines read (CIN from the batch's member row or the stored row, for the checks only) and checked.</summary>
    private async Task<List<StagedLine>> CheckAsync(
        string providerId, string invoiceNumber, IReadOnlyList<(string Id, string Type, DateTimeOffset Time, JsonElement Data)> rows,
        IReadOnlyDictionary<(string Partition, string RowKey), string> cins, InvoiceRunLookups run, CancellationToken ct)
    {
        var invoiceId = InvoiceIds.For(providerId, invoiceNumber);
        var listed = await checks.ProviderListedAsync(providerId, run, ct);
        var table = storage.Tables.GetTableClient(TableRowDestination.TableName);
        var staged = new List<StagedLine>(rows.Count);
        foreach (var row in rows.OrderBy(r => Number(r.Data)))
        {
            ReceivedLine? received = null;
            if (Text(row.Data, "partitionKey") is { } partition && Text(row.Data, "rowKey") is { } key)
            {
                // The event carries no member data; the CIN is read from storage, used for the checks and hashed.
                var cin = cins.GetValueOrDefault((partition, key));
                if (cin is null)
                {
                    var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, key, select: ["MemberCin"], cancellationToken: ct);
                    cin = stored.HasValue ? stored.Value!.GetString("MemberCin") : null;
                }

                if (cin is not null && Billed(row.Data, cin) is { } line)
                {
                    received = await checks.CheckAsync(providerId, listed, line, run, ct);
                }
            }

            staged.Add(new StagedLine(invoiceId, invoiceNumber, providerId, Text(row.Data, "partnerId") ?? "", row.Id, row.Time, received));
        }

        return staged;
    }

    /// <summary>
    /// Starts the invoice with its first <see cref="InvoiceStart.MaxLines"/> lines and raises the rest in chunks; an invoice that
    /// already exists gets every chunk it does not hold unchanged as <c>lines-received</c>. True when this call started it.
    /// </summary>
    private async Task<bool> ReceiveAsync(IReadOnlyList<StagedLine> staged, string eventIdPrefix, CancellationToken ct)
    {
        var invoice = Invoice(staged);
        var start = await runtime.StartAsync(InvoiceWorkflow.TypeName, invoice.Id, invoice.Start, ct);
        await RaiseRestAsync(invoice, start.Created, eventIdPrefix, ct);
        return start.Created;
    }

    /// <summary><see cref="ReceiveAsync"/> for up to <see cref="WorkflowRuntime.MaxBatchStarts"/> invoices with one batch start; how many it started.</summary>
    private async Task<int> ReceiveManyAsync(IReadOnlyList<IReadOnlyList<StagedLine>> invoices, string eventIdPrefix, CancellationToken ct)
    {
        var prepared = invoices.Select(Invoice).ToList();
        var starts = await runtime.StartManyAsync(InvoiceWorkflow.TypeName, [.. prepared.Select(p => (p.Id, (JsonElement?)p.Start))], ct);
        await Parallel.ForEachAsync(
            prepared.Zip(starts).Where(p => p.First.Chunks.Count > 1 || !p.Second.Created),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            async (p, token) => await RaiseRestAsync(p.First, p.Second.Created, eventIdPrefix, token));
        return starts.Count(s => s.Created);
    }

    private sealed record PreparedInvoice(string Id, JsonElement Start, DateTimeOffset ReceivedAt, IReadOnlyList<ReceivedLine[]> Chunks);

    /// <summary>An invoice's start (its first <see cref="InvoiceStart.MaxLines"/> lines) and the chunks of the rest.</summary>
    private PreparedInvoice Invoice(IReadOnlyList<StagedLine> staged)
    {
        var first = staged[0];
        var subscriber = partners.Find(first.PartnerId)?.Subscriber ?? first.PartnerId;
        var receivedAt = staged.Min(l => l.ReceivedAt);
        var chunks = staged.Select(l => l.Line!).DistinctBy(l => l.Number).OrderBy(l => l.Number).Chunk(InvoiceStart.MaxLines).ToList();
        return new PreparedInvoice(first.InvoiceId,
            WorkflowJson.ToElement(new InvoiceStart(first.InvoiceId, first.InvoiceNumber, first.ProviderId, first.PartnerId, subscriber, receivedAt, chunks[0])), receivedAt, chunks);
    }

    /// <summary>The chunks past the start as <c>lines-received</c>: after a new start, all but the first; on an existing invoice, every chunk it does not hold unchanged.</summary>
    private async Task RaiseRestAsync(PreparedInvoice invoice, bool created, string eventIdPrefix, CancellationToken ct)
    {
        var state = created ? null : await runtime.GetStateAsync<InvoiceState>(invoice.Id, ct);
        for (var i = created ? 1 : 0; i < invoice.Chunks.Count; i++)
        {
            if (state is not null && invoice.Chunks[i].All(l => state.Line(l.Number)?.Fingerprint == l.Fingerprint))
            {
                continue; // a repeat: a redelivery or a re-dropped file
            }

            await runtime.RaiseEventAsync(invoice.Id, InvoiceEvents.LinesReceived, WorkflowJson.ToElement(new LinesReceived(invoice.ReceivedAt, invoice.Chunks[i])), $"{eventIdPrefix}:{i}", ct);
        }
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

    private static string Hash(string text) => StableHash.Hex(text, 16);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invoice events {MessageId}: {Lines} lines checked, {Staged} staged, {Raised} raised at once ({Started} invoices started)")]
    private static partial void LogLines(ILogger logger, string? messageId, int lines, int staged, int raised, int started);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invoice events {MessageId}: remittances {Applied} applied, {Refused} refused")]
    private static partial void LogRemittances(ILogger logger, string? messageId, int applied, int refused);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invoice run {RunId}: {Staged} of {Expected} lines staged; waiting ({Waits})")]
    private static partial void LogWaiting(ILogger logger, string runId, int staged, int expected, int waits);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invoice run {RunId}: {Staged} of {Expected} lines staged after every wait; starting what is staged, later lines are raised as they come")]
    private static partial void LogGaveUp(ILogger logger, string runId, int staged, int expected);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invoice run {RunId}: {Lines} staged lines, {Invoices} invoices ({Started} started)")]
    private static partial void LogCompleted(ILogger logger, string runId, int lines, int invoices, int started);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invoice run {RunId}: every invoice started, {Removed} staged rows removed")]
    private static partial void LogStagingRemoved(ILogger logger, string runId, int removed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remittance {RemittanceId} for invoice {InvoiceId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string invoiceId, string remittanceId, string reason);
}
