using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Ingestion;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Ingestion;
using CalAimHub.Ingestion.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Issue 13, invoice lines staged by run and invoice (<see cref="InvoiceLineStaging"/>) on Azurite: the real
/// <see cref="InvoiceFilesFunction"/> fed the messages ingestion sends for one file (lines spread over partition buckets, then the
/// run's file-stored event). Each invoice is started once, with all its lines, in one commit; redelivery, a file-stored event
/// that comes before its lines, a completion stopped part-way and a re-dropped file change none of that.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class InvoiceStagingTests(AzuriteFixture azurite)
{
    private const string Provider = "1234567893";

    [Fact]
    public async Task Lines_of_an_invoice_spread_over_messages_start_it_once_with_all_its_lines_in_one_commit()
    {
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var file = await hub.StoreFileAsync(invoices: 3, linesPerInvoice: 7);

        foreach (var message in file.LineMessages)
        {
            await hub.HandleAsync(message);
        }

        Assert.Empty(await hub.InvoicesAsync(file)); // staged, nothing started before the file is complete
        var completed = await hub.HandleAsync(file.StoredMessage);

        Assert.Contains("21 lines, 3 invoices (3 started)", completed, StringComparison.Ordinal);
        var invoices = await hub.InvoicesAsync(file);
        Assert.Equal(3, invoices.Count);
        Assert.All(invoices, i => Assert.Equal((1L, 7), (i.Instance.Seq, i.State.Lines.Count)));
        Assert.All(invoices, i => Assert.Equal(Enumerable.Range(1, 7), i.State.Lines.Select(l => l.Number)));
        Assert.Equal(3, hub.Notices.Count(n => n.Type == InvoiceWorkflow.Received));
    }

    [Fact]
    public async Task A_runs_lines_are_staged_one_packed_row_per_message_and_read_back_once_each_in_key_order_with_rows_of_the_older_layouts()
    {
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var file = await hub.StoreFileAsync(invoices: 6, linesPerInvoice: 5);
        foreach (var message in file.LineMessages.Concat(file.LineMessages))
        {
            await hub.HandleAsync(message);
        }

        // One partition and one packed row per message, however often it came: no partition grows with the file.
        var table = azurite.Storage.Tables.GetTableClient(InvoiceLineStaging.TableName);
        var rows = await table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {file.RunId} and PartitionKey lt {file.RunId + "~"}")).ToListAsync();
        Assert.Equal(file.LineMessages.Count, rows.Count);
        Assert.Equal(file.LineMessages.Count, rows.Select(r => r.PartitionKey).Distinct().Count());
        Assert.All(rows, r => Assert.Equal((file.RunId + "|", InvoiceLineStaging.PackedRowPrefix + "000"), (r.PartitionKey[..(file.RunId.Length + 1)], r.RowKey)));

        var staging = new InvoiceLineStaging(azurite.Storage);
        var staged = await staging.ReadAsync(file.RunId, CancellationToken.None);
        Assert.Equal(30, staged.Count);

        // Rows of the layouts before this one: one row per line in a message's partition, and in the run's own partition.
        // Each is read, and once when a packed row holds the same line too.
        var twice = staged[0];
        foreach (var partition in new[] { file.RunId + "|0000000000000000", file.RunId })
        {
            await table.AddEntityAsync(new TableEntity(partition, $"{twice.InvoiceId}~{twice.EventId}")
            {
                ["InvoiceNumber"] = twice.InvoiceNumber, ["ProviderId"] = twice.ProviderId, ["PartnerId"] = twice.PartnerId, ["ReceivedAt"] = twice.ReceivedAt,
                ["Line"] = JsonSerializer.Serialize(twice.Line, WorkflowJson.Options),
            });
        }

        await table.AddEntityAsync(new TableEntity(file.RunId + "|0000000000000000", "inv-only-line-row~evt-old") { ["InvoiceNumber"] = "OLD-2", ["ProviderId"] = Provider, ["PartnerId"] = "p", ["ReceivedAt"] = DateTimeOffset.UtcNow });
        await table.AddEntityAsync(new TableEntity(file.RunId, "inv-only-old~evt-old") { ["InvoiceNumber"] = "OLD-1", ["ProviderId"] = Provider, ["PartnerId"] = "p", ["ReceivedAt"] = DateTimeOffset.UtcNow });

        var read = await staging.ReadAsync(file.RunId, CancellationToken.None);
        var keys = read.Select(l => $"{l.InvoiceId}~{l.EventId}").ToList();
        Assert.Equal(32, read.Count);
        Assert.Equal(keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal), keys);
        Assert.Contains("inv-only-old~evt-old", keys);
        Assert.Contains("inv-only-line-row~evt-old", keys);
        Assert.Equal(JsonSerializer.Serialize(staged, WorkflowJson.Options), JsonSerializer.Serialize(read.Where(l => l.InvoiceNumber is not ("OLD-1" or "OLD-2")), WorkflowJson.Options));
    }

    [Fact]
    public async Task Once_every_invoice_of_a_run_is_started_its_staged_rows_are_removed_and_redeliveries_afterwards_start_and_raise_nothing()
    {
        // Given a file staged in full
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var file = await hub.StoreFileAsync(invoices: 3, linesPerInvoice: 7);
        foreach (var message in file.LineMessages)
        {
            await hub.HandleAsync(message);
        }

        var staging = new InvoiceLineStaging(azurite.Storage);
        Assert.Equal(0, await staging.RemoveRunAsync(file.RunId, CancellationToken.None)); // not started: nothing goes
        Assert.Equal(file.LineMessages.Count, (await StagedRowsAsync(file.RunId)).Count);

        // When its completion starts every invoice, and the run-started message it sends is handled (twice)
        var completed = await hub.HandleAsync(file.StoredMessage);
        var sent = Assert.Single(await hub.TakeQueuedAsync());
        var removed = await hub.HandleAsync(sent);
        var again = await hub.HandleAsync(sent);

        // Then the run's staged rows are gone; its mark stays and says every invoice started
        Assert.Contains("21 lines, 3 invoices (3 started)", completed, StringComparison.Ordinal);
        Assert.Equal(InvoiceFilesFunction.RunStartedType, TableRowDestination.ReadEvents(sent).Single().GetProperty("type").GetString());
        Assert.Equal($"Invoices: run {file.RunId}: {file.LineMessages.Count} staged rows removed.", removed);
        Assert.Equal($"Invoices: run {file.RunId}: 0 staged rows removed.", again);
        Assert.Equal([InvoiceLineStaging.CompletedRow], (await StagedRowsAsync(file.RunId)).Select(r => r.RowKey));
        var mark = await staging.CompletionAsync(file.RunId, CancellationToken.None);
        Assert.Equal(3, mark!.Invoices);
        Assert.NotNull(mark.StartedAt);

        // And the completion and a line message delivered again start, raise and stage nothing
        var noticesBefore = hub.Notices.Count;
        Assert.Equal($"Invoices: run {file.RunId}: every invoice already started.", await hub.HandleAsync(file.StoredMessage));
        Assert.Contains("raised at once (0 invoices started)", await hub.HandleAsync(file.LineMessages[0]), StringComparison.Ordinal);
        Assert.All(await hub.InvoicesAsync(file), i => Assert.Equal((1L, 7), (i.Instance.Seq, i.State.Lines.Count)));
        Assert.Equal(noticesBefore, hub.Notices.Count);
        Assert.Equal([InvoiceLineStaging.CompletedRow], (await StagedRowsAsync(file.RunId)).Select(r => r.RowKey));
    }

    [Fact]
    public async Task A_second_completion_marking_a_started_run_again_keeps_it_started()
    {
        // Given a run marked started by its first completion
        var staging = new InvoiceLineStaging(azurite.Storage);
        await azurite.Storage.Tables.GetTableClient(InvoiceLineStaging.TableName).CreateIfNotExistsAsync();
        var runId = "run-twice-" + Guid.NewGuid().ToString("N");
        var first = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
        await staging.MarkCompletedAsync(runId, first, CancellationToken.None);
        await staging.MarkStartedAsync(runId, first.AddMinutes(1), 7, CancellationToken.None);

        // When a second completion (a redelivery that passed its check before the first marked the run started) marks it again
        await staging.MarkCompletedAsync(runId, first.AddMinutes(2), CancellationToken.None);

        // Then the run is still started, with its invoice count
        Assert.Equal(new RunCompletion(first.AddMinutes(2), first.AddMinutes(1), 7), await staging.CompletionAsync(runId, CancellationToken.None));
    }

    private async Task<List<TableEntity>> StagedRowsAsync(string runId) =>
        await azurite.Storage.Tables.GetTableClient(InvoiceLineStaging.TableName)
            .QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {runId} and PartitionKey lt {runId + "~"}")).ToListAsync();

    [Fact]
    public async Task A_message_whose_lines_outgrow_one_packed_row_is_staged_in_several_whole_rows_and_read_back_exactly()
    {
        var staging = new InvoiceLineStaging(azurite.Storage);
        await azurite.Storage.Tables.GetTableClient(InvoiceLineStaging.TableName).CreateIfNotExistsAsync();
        var runId = "run-packed-" + Guid.NewGuid().ToString("N");
        // 400 lines with long invoice numbers: about 900 characters of JSON each, more than one row's 360,000.
        var lines = Enumerable.Range(0, 400).Select(i => new StagedLine($"inv-{i / 4:D4}", new string('N', 800) + i.ToString(CultureInfo.InvariantCulture), Provider, "p", $"evt-{i:D4}",
            new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero), null)).Reverse().ToList();

        await staging.StageAsync(runId, lines, CancellationToken.None);
        await staging.StageAsync(runId, lines, CancellationToken.None); // a redelivery rewrites the same rows

        var rows = await azurite.Storage.Tables.GetTableClient(InvoiceLineStaging.TableName)
            .QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey gt {runId + "|"} and PartitionKey lt {runId + "|~"}")).ToListAsync();
        Assert.Equal(["lines|000", "lines|001"], rows.Select(r => r.RowKey).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.All(r.Keys.Where(k => k.StartsWith("Part", StringComparison.Ordinal)), k => Assert.True(r.GetString(k).Length <= InvoiceLineStaging.PartLength)));
        var read = await staging.ReadAsync(runId, CancellationToken.None);
        Assert.Equal(lines.OrderBy(l => $"{l.InvoiceId}~{l.EventId}", StringComparer.Ordinal), read);
    }

    [Fact]
    public async Task Every_message_delivered_twice_and_the_file_dropped_again_start_and_raise_nothing_twice()
    {
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var file = await hub.StoreFileAsync(invoices: 2, linesPerInvoice: 5);
        foreach (var message in file.LineMessages.Concat(file.LineMessages).Append(file.StoredMessage).Append(file.StoredMessage))
        {
            await hub.HandleAsync(message);
        }

        var noticesBefore = hub.Notices.Count;
        var again = hub.Redropped(file);
        foreach (var message in again.LineMessages.Append(again.StoredMessage))
        {
            await hub.HandleAsync(message);
        }

        var invoices = await hub.InvoicesAsync(file);
        Assert.All(invoices, i => Assert.Equal((1L, 5), (i.Instance.Seq, i.State.Lines.Count)));
        // Per invoice one received notice and one contest per line (no authorization is on file), each sent once.
        Assert.Equal((12, 12), (noticesBefore, hub.Notices.Count));
        Assert.Equal(12, hub.Notices.Select(n => n.DeliveryId).Distinct().Count());
    }

    [Fact]
    public async Task A_file_stored_event_before_its_lines_waits_and_a_completion_stopped_part_way_resumes_exactly_once()
    {
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var file = await hub.StoreFileAsync(invoices: 12, linesPerInvoice: 3);
        var half = file.LineMessages.Count / 2;
        foreach (var message in file.LineMessages.Take(half))
        {
            await hub.HandleAsync(message);
        }

        var early = await hub.HandleAsync(file.StoredMessage);
        var waiting = await hub.TakeQueuedAsync();

        Assert.Contains("lines staged, waiting", early, StringComparison.Ordinal);
        Assert.Empty(await hub.InvoicesAsync(file));
        var resent = Assert.Single(waiting);
        Assert.Equal("1", TableRowDestination.ReadEvents(resent).Single().GetProperty("data").GetProperty("waits").GetString());

        // The handler stops after the first half was staged: the platform redelivers it, then the rest arrives.
        foreach (var message in file.LineMessages)
        {
            await hub.HandleAsync(message);
        }

        // The completion is killed part-way (cancelled as the first invoice is told it was received), then redelivered.
        using var kill = new CancellationTokenSource();
        hub.OnNotice = kill.Cancel;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hub.HandleAsync(resent, kill.Token));
        hub.OnNotice = null;
        var startedBeforeTheKill = (await hub.InvoicesAsync(file)).Count;
        var toldBeforeTheKill = hub.Notices.Count(n => n.Type == InvoiceWorkflow.Received);
        var resumed = await hub.HandleAsync(resent);

        Assert.Contains("36 lines, 12 invoices (0 started)", resumed, StringComparison.Ordinal);
        var invoices = await hub.InvoicesAsync(file);
        Assert.Equal(12, invoices.Count);
        Assert.All(invoices, i => Assert.Equal((1L, 3), (i.Instance.Seq, i.State.Lines.Count)));
        // One batch start: all 12 committed before the dispatch the kill cut short, and no commit left an outbox row.
        Assert.Equal(12, startedBeforeTheKill);
        Assert.InRange(toldBeforeTheKill, 1, 12);
        foreach (var invoice in invoices)
        {
            Assert.Empty(await hub.Runtime.Store.OutboxRowsAsync(invoice.Instance.InstanceId, CancellationToken.None));
        }

        // The redelivery found the batch unfinished and dispatched its starts again: every invoice was told it was received,
        // each under its one delivery id (receivers dedupe on it: Notify never sends a delivered id again); no batch row is left.
        var received = hub.Notices.Where(n => n.Type == InvoiceWorkflow.Received).ToList();
        Assert.Equal(file.InvoiceIds.Order(), received.Select(n => n.Subject).Distinct().Order());
        Assert.Equal(12, received.Select(n => n.DeliveryId).Distinct().Count());
        Assert.Equal(12 + 36, hub.Notices.Select(n => n.DeliveryId).Distinct().Count());
        Assert.Empty(await hub.StartBatchRowsAsync());
    }

    [Fact]
    public async Task A_completion_killed_between_its_commits_and_their_dispatch_ends_with_exact_read_models_and_one_notice_each_when_redelivered()
    {
        // Given a file whose invoices are committed, then the process dies before their dispatch
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var month = InvoiceReadModelsProjection.Month(InvoicePolicy.Default().Calendar.DateOf(DateTimeOffset.UtcNow));
        var before = await hub.TimelinessAsync(month);
        var file = await hub.StoreFileAsync(invoices: 130, linesPerInvoice: 2);
        foreach (var message in file.LineMessages)
        {
            await hub.HandleAsync(message);
        }

        hub.Runtime.BeforeBatchDispatch = () => throw new IOException("killed between the commits and their dispatch");
        await Assert.ThrowsAsync<IOException>(() => hub.HandleAsync(file.StoredMessage));
        hub.Runtime.BeforeBatchDispatch = null;
        // 130 invoices: two batches (100 and 30) at once; the first to die stops the other part-way through its commits.
        Assert.InRange((await hub.InvoicesAsync(file)).Count, 30, 129);
        Assert.Empty(hub.Notices);
        Assert.Equal(before, await hub.TimelinessAsync(month));
        Assert.Empty(await hub.ListedAsync(file));
        Assert.Equal(2, (await hub.StartBatchRowsAsync()).Count); // 130 invoices: batches of 100 and 30

        // When the platform delivers the message again, twice
        await hub.HandleAsync(file.StoredMessage);
        await hub.HandleAsync(file.StoredMessage);

        // Then each invoice is listed once, counted once in its month and provider, and told once it was received
        Assert.Equal(file.InvoiceIds.Order(), (await hub.ListedAsync(file)).Order());
        Assert.Equal((before.Month + 130, before.Provider + 130), await hub.TimelinessAsync(month));
        var received = hub.Notices.Where(n => n.Type == InvoiceWorkflow.Received).ToList();
        Assert.Equal(file.InvoiceIds.Order(), received.Select(n => n.Subject).Order());
        Assert.Equal(130, received.Select(n => n.DeliveryId).Distinct().Count());
        Assert.Empty(await hub.StartBatchRowsAsync());
    }

    [Fact]
    public async Task A_line_staged_after_its_run_was_started_is_raised_at_once()
    {
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var file = await hub.StoreFileAsync(invoices: 1, linesPerInvoice: 4);
        var late = file.LineMessages[^1];
        foreach (var message in file.LineMessages.SkipLast(1))
        {
            await hub.HandleAsync(message);
        }

        var gaveUp = await hub.HandleAsync(Waits(file.StoredMessage, InvoiceFilesFunction.MaxWaits));
        var lateResult = await hub.HandleAsync(late);

        Assert.Contains("3 lines, 1 invoices (1 started)", gaveUp, StringComparison.Ordinal);
        Assert.Contains("1 raised at once", lateResult, StringComparison.Ordinal);
        var invoice = Assert.Single(await hub.InvoicesAsync(file));
        Assert.Equal(4, invoice.State.Lines.Count);
        Assert.Equal(2L, invoice.Instance.Seq);
    }

    [Fact]
    public async Task Units_are_a_running_total_per_authorization_a_line_beyond_what_remains_is_contested_naming_the_remaining_units()
    {
        // Given an approved Transitional Rent authorization (H0043-U2: 168 units) and a paid line of 100 units on it
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        const string Cin = "93456789B";
        var authorization = await hub.ApproveTransitionalRentAsync(Cin);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime);
        string Day(int days) => today.AddDays(days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var first = await hub.StoreFileAsync(1, 1, prefix: "A", hcpcs: "H0043", units: "100", cin: Cin, serviceFrom: Day(0), serviceTo: Day(0));
        await hub.DeliverAsync(first);
        var paid = Assert.Single(await hub.InvoicesAsync(first));
        Assert.Equal(authorization, paid.State.Lines.Single().AuthorizationId);
        Assert.DoesNotContain(paid.State.Lines.Single().Contested, c => c.Code == ContestReasons.UnitsExceedAuthorization);
        await hub.PayAllAsync(paid.Instance.InstanceId);

        // When another invoice bills 100 more units on it, and a third the 68 that remain
        var beyond = await hub.StoreFileAsync(1, 1, prefix: "B", hcpcs: "H0043", units: "100", cin: Cin, serviceFrom: Day(0), serviceTo: Day(1));
        var within = await hub.StoreFileAsync(1, 1, prefix: "C", hcpcs: "H0043", units: "68", cin: Cin, serviceFrom: Day(0), serviceTo: Day(2));
        await hub.DeliverAsync(beyond);
        await hub.DeliverAsync(within);

        // Then the first is contested naming the 68 units that remain, the second fits
        var contested = Assert.Single((await hub.InvoicesAsync(beyond)).Single().State.Lines).Contested;
        var reason = Assert.Single(contested, c => c.Code == ContestReasons.UnitsExceedAuthorization);
        Assert.Equal($"an authorization for 100 units of H0043-U2: authorization {authorization} allows 168, 100 are already paid, 68 remain", reason.Missing);
        Assert.DoesNotContain((await hub.InvoicesAsync(within)).Single().State.Lines.Single().Contested, c => c.Code == ContestReasons.UnitsExceedAuthorization);
    }

    [Fact]
    public async Task A_file_billing_one_member_over_many_messages_reads_the_members_authorizations_and_their_state_once()
    {
        // Given an approved authorization and a file of 6 invoices × 4 lines for that member, spread over 4 messages
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        const string Cin = "93456789C";
        var authorization = await hub.ApproveTransitionalRentAsync(Cin);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime);
        var file = await hub.StoreFileAsync(6, 4, hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Assert.Equal(4, file.LineMessages.Count);

        // When the file is delivered
        await hub.DeliverAsync(file);

        // Then every line carries the authorization, found with one query on the member's partition and one state read for the run
        var invoices = await hub.InvoicesAsync(file);
        Assert.Equal(6, invoices.Count);
        // (the test directory does not list the provider: that is the one reason every line is contested for)
        Assert.All(invoices.SelectMany(i => i.State.Lines), l => Assert.Equal((authorization, ContestReasons.ProviderNotInDirectory), (l.AuthorizationId, Assert.Single(l.Contested).Code)));
        Assert.Equal(2, hub.Checks.AuthorizationLookups);
    }

    [Fact]
    public async Task The_look_ups_are_kept_per_run_so_a_later_file_sees_an_authorization_approved_after_the_first()
    {
        // Given a file billing a member who has no authorization: its line is contested
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        const string Cin = "93456789D";
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var before = await hub.StoreFileAsync(1, 1, prefix: "A", hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: today);
        await hub.DeliverAsync(before);
        var contested = Assert.Single((await hub.InvoicesAsync(before)).Single().State.Lines).Contested;
        Assert.Equal([ContestReasons.NoAuthorization, ContestReasons.ProviderNotInDirectory], contested.Select(c => c.Code));

        // When the authorization is approved and the provider bills again in a new file
        var authorization = await hub.ApproveTransitionalRentAsync(Cin);
        var after = await hub.StoreFileAsync(1, 1, prefix: "B", hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: today);
        await hub.DeliverAsync(after);

        // Then the new file's line finds it
        var line = Assert.Single((await hub.InvoicesAsync(after)).Single().State.Lines);
        Assert.Equal((authorization, ContestReasons.ProviderNotInDirectory), (line.AuthorizationId, Assert.Single(line.Contested).Code));
    }

    [Fact]
    public async Task A_messages_lines_take_their_CINs_from_their_batchs_member_row()
    {
        // Given a file stored as ingestion stores it now: each bucket batch's CINs in one member row, the line rows'
        // own CIN column left empty here, so a line finds its member only through the member row its event names
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        const string Cin = "93456789E";
        var authorization = await hub.ApproveTransitionalRentAsync(Cin);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime);
        var file = await hub.StoreFileAsync(3, 4, hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), memberRows: true);

        // When it is delivered
        await hub.DeliverAsync(file);

        // Then every line was read and checked with its member's authorization
        var lines = (await hub.InvoicesAsync(file)).SelectMany(i => i.State.Lines).ToList();
        Assert.Equal(12, lines.Count);
        Assert.All(lines, l => Assert.Equal((authorization, ContestReasons.ProviderNotInDirectory), (l.AuthorizationId, Assert.Single(l.Contested).Code)));
    }

    [Fact]
    public async Task A_batch_whose_events_came_in_two_messages_is_read_from_its_member_row_once()
    {
        // Given a file whose every batch's events ingestion sent in two messages (as it does past 45,000 bytes)
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        const string Cin = "93456789H";
        var authorization = await hub.ApproveTransitionalRentAsync(Cin);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime);
        var file = await hub.StoreFileAsync(3, 4, hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), memberRows: true);
        var halves = file.LineMessages.Select(m => JsonDocument.Parse(m).RootElement.EnumerateArray().ToList())
            .Select(events => (First: JsonSerializer.Serialize(events.Take(events.Count / 2)), Second: JsonSerializer.Serialize(events.Skip(events.Count / 2)))).ToList();
        Assert.All(file.LineMessages, m => Assert.True(JsonDocument.Parse(m).RootElement.GetArrayLength() >= 2));

        // When the first halves are handled, every member row is deleted, and then the second halves come
        foreach (var (first, _) in halves)
        {
            await hub.HandleAsync(first);
        }

        var table = azurite.Storage.Tables.GetTableClient(TableRowDestination.TableName);
        foreach (var data in file.LineMessages.Select(m => JsonDocument.Parse(m).RootElement[0].GetProperty("data")))
        {
            await table.DeleteEntityAsync(data.GetProperty("partitionKey").GetString(), data.GetProperty(TableRowDestination.MemberRowField).GetString());
        }

        foreach (var (_, second) in halves)
        {
            await hub.HandleAsync(second);
        }

        await hub.HandleAsync(file.StoredMessage);

        // Then the second halves took their CINs from the member rows the first halves read: every line found the authorization
        var lines = (await hub.InvoicesAsync(file)).SelectMany(i => i.State.Lines).ToList();
        Assert.Equal(12, lines.Count);
        Assert.All(lines, l => Assert.Equal((authorization, ContestReasons.ProviderNotInDirectory), (l.AuthorizationId, Assert.Single(l.Contested).Code)));

        // And a batch all of whose lines were read is not kept: a second half delivered again reads its member row anew (here
        // rewritten to name a member without an authorization, so the re-read shows)
        var batch = JsonDocument.Parse(halves[0].Second).RootElement.EnumerateArray().Select(e => e.GetProperty("data")).ToList();
        var rewritten = TableRowDestination.MemberRow(batch[0].GetProperty("partitionKey").GetString()!, file.RunId,
            JsonDocument.Parse(file.LineMessages[0]).RootElement.EnumerateArray().Select(e => (e.GetProperty("data").GetProperty("rowKey").GetString()!, "93456789J")));
        Assert.Equal(batch[0].GetProperty(TableRowDestination.MemberRowField).GetString(), rewritten.RowKey);
        await table.UpsertEntityAsync(rewritten);
        await hub.HandleAsync(halves[0].Second);
        var reread = (await hub.InvoicesAsync(file)).SelectMany(i => i.State.Lines).Where(l => l.Contested.Any(c => c.Code == ContestReasons.NoAuthorization)).ToList();
        Assert.Equal(batch.Count, reread.Count);
    }

    [Fact]
    public async Task A_line_billing_a_paid_service_again_is_contested_naming_the_paid_line_under_the_new_key_and_an_old_one()
    {
        // Given a paid line (member, H0043, today), and a paid line stored before the member bucket (its old key)
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        const string Cin = "93456789F";
        await hub.ApproveTransitionalRentAsync(Cin);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime);
        string Day(int days) => today.AddDays(days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var first = await hub.StoreFileAsync(1, 1, prefix: "A", hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: Day(0));
        await hub.DeliverAsync(first);
        var paid = Assert.Single(await hub.InvoicesAsync(first));
        await hub.PayAllAsync(paid.Instance.InstanceId);
        Assert.Contains("|", paid.State.Lines.Single().DuplicateKey!, StringComparison.Ordinal);
        var old = new BilledLine(1, Cin, today.AddDays(1), null, "H0043", ["U2"], 1m, 250m);
        var legacy = InvoiceLineChecks.LegacyDuplicateKey(old);
        Assert.DoesNotContain("|", legacy, StringComparison.Ordinal);
        var oldPaid = ReadModelEntry.Of(InvoiceReadModelsProjection.PaidLinesTable, Provider, "inv-old:1", [ReadModelRow.Of(legacy, new PaidLineData("inv-old", 1))],
            new Dictionary<string, long> { [InvoiceReadModelsProjection.LegacyPaidLines] = 1 });
        Assert.True(await new ReadModelStore(azurite.Storage.Tables).ApplyAsync(ProjectionUpdate.Of(oldPaid, 1), CancellationToken.None));

        // When a file bills the same member and service on both days again, and another member on the first day
        var again = await hub.StoreFileAsync(1, 1, prefix: "B", hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: Day(0), memberRows: true);
        var oldAgain = await hub.StoreFileAsync(1, 1, prefix: "C", hcpcs: "H0043", units: "1", cin: Cin, serviceFrom: Day(1), memberRows: true);
        var other = await hub.StoreFileAsync(1, 1, prefix: "D", hcpcs: "H0043", units: "1", cin: "93456789G", serviceFrom: Day(0), memberRows: true);
        foreach (var file in new[] { again, oldAgain, other })
        {
            await hub.DeliverAsync(file);
        }

        // Then the repeats are contested naming the paid line, found by the new key and by the old one; the other member's is not
        ContestReason Duplicate(InvoiceState state) => Assert.Single(Assert.Single(state.Lines).Contested, c => c.Code == ContestReasons.DuplicateOfPaidLine);
        Assert.Equal($"a service not already paid: the same member, H0043-U2 and date of service were paid on invoice {paid.Instance.InstanceId} line 1",
            Duplicate((await hub.InvoicesAsync(again)).Single().State).Missing);
        Assert.Equal("a service not already paid: the same member, H0043-U2 and date of service were paid on invoice inv-old line 1",
            Duplicate((await hub.InvoicesAsync(oldAgain)).Single().State).Missing);
        Assert.DoesNotContain(Assert.Single((await hub.InvoicesAsync(other)).Single().State.Lines).Contested, c => c.Code == ContestReasons.DuplicateOfPaidLine);
    }

    [Fact]
    public async Task The_timeliness_counts_of_a_month_and_of_each_provider_are_counter_rows_of_the_months_one_partition()
    {
        var hub = await InvoiceFileHub.CreateAsync(azurite);
        var readModels = new InvoiceReadModels(new ReadModelStore(azurite.Storage.Tables));
        var month = InvoiceReadModelsProjection.Month(InvoicePolicy.Default().Calendar.DateOf(DateTimeOffset.UtcNow));
        async Task<(long Month, long Provider, long Listed)> CountsAsync() => (
            (await readModels.MonthAsync(month, null, CancellationToken.None)).GetValueOrDefault(InvoiceReadModelsProjection.Invoices),
            (await readModels.MonthAsync(month, Provider, CancellationToken.None)).GetValueOrDefault(InvoiceReadModelsProjection.Invoices),
            (await readModels.ProvidersAsync(month, CancellationToken.None)).Where(p => p.Provider == Provider).Sum(p => p.Counts.GetValueOrDefault(InvoiceReadModelsProjection.Invoices)));
        var before = await CountsAsync();

        await hub.DeliverAsync(await hub.StoreFileAsync(invoices: 3, linesPerInvoice: 2));

        Assert.Equal((before.Month + 3, before.Provider + 3, before.Provider + 3), await CountsAsync());
        Assert.Equal(before.Provider, before.Listed);
        // One partition per month, no partition per month and provider: a commit writes one timeliness transaction.
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var shard in ShardTables(InvoiceReadModelsProjection.TimelinessTable))
        {
            await foreach (var row in azurite.Storage.Tables.GetTableClient(shard).QueryAsync<TableEntity>(select: ["PartitionKey"]))
            {
                partitions.Add(row.PartitionKey);
            }
        }

        Assert.Contains(month, partitions);
        Assert.DoesNotContain(partitions, p => p.Contains('|', StringComparison.Ordinal));
    }

    /// <summary>The tables that hold a sharded read-model table's rows.</summary>
    private static IEnumerable<string> ShardTables(string table) =>
        Enumerable.Range(0, ReadModelShards.Hub.Of(table)).Select(shard => ReadModelShards.TableOf(table, shard, ReadModelShards.Hub.Of(table)));

    /// <summary>The file-stored message as it is after <paramref name="waits"/> waits.</summary>
    private static string Waits(string message, int waits) =>
        message.Replace("\"lines\":", $"\"waits\":\"{waits.ToString(CultureInfo.InvariantCulture)}\",\"lines\":", StringComparison.Ordinal);

    internal sealed record InvoiceFile(string RunId, IReadOnlyList<string> InvoiceIds, IReadOnlyList<string> LineMessages, string StoredMessage);

    internal sealed record Notice(string DeliveryId, string Type, string? Subject);

    private sealed class InvoiceFileHub(WorkflowRuntime runtime, InvoiceFilesFunction function, InvoiceLineChecks checks, AzuriteFixture azurite, string queueName, string partner) : IWorkflowNotifier
    {
        public ConcurrentBag<Notice> Notices { get; } = [];

        public InvoiceLineChecks Checks => checks;

        public WorkflowRuntime Runtime => runtime;

        /// <summary>Called after each notice is recorded (the kill switch of a test).</summary>
        public Action? OnNotice { get; set; }

        public static async Task<InvoiceFileHub> CreateAsync(AzuriteFixture azurite)
        {
            var storage = azurite.Storage;
            foreach (var table in new[] { TableRowDestination.TableName, InvoiceLineStaging.TableName, "MemberAuthorizations", ProviderDirectoryApi.TableName,
                         InvoiceReadModelsProjection.ListingTable, InvoiceReadModelsProjection.TimelinessTable, InvoiceReadModelsProjection.TimelinessCountersTable, InvoiceReadModelsProjection.PaidLinesTable })
            {
                await storage.Tables.GetTableClient(table).CreateIfNotExistsAsync();
            }

            await storage.Queues.GetQueueClient(DomainEvent.InvoiceQueueName).CreateIfNotExistsAsync();
            var (store, queues) = await azurite.NewRuntimeStorageAsync();
            var invoices = new InvoiceWorkflow(InvoicePolicy.Default());
            var readModels = new ReadModelStore(storage.Tables);
            var notifier = new ForwardingNotifier();
            var runtime = new WorkflowRuntime(store,
                new WorkflowRegistry([WorkflowDefinition.From(new AuthorizationWorkflow(AuthorizationPolicy.Default())), WorkflowDefinition.From(invoices)], [WorkflowProjection.From(InvoiceWorkflow.TypeName, new InvoiceReadModelsProjection(invoices.Policy.Calendar, invoices.Policy.Rules))]),
                queues, notifier, TimeProvider.System, new WorkflowOptions().AsOptions(), NullLogger<WorkflowRuntime>.Instance, readModels);
            var checks = new InvoiceLineChecks(storage, runtime, new ReferralDirectory(storage), new InvoiceReadModels(readModels));
            var function = new InvoiceFilesFunction(runtime, storage, checks, new PartnerDirectory(new ConfigurationBuilder().Build()), new InvoiceLineStaging(storage),
                NullLogger<InvoiceFilesFunction>.Instance);
            var hub = new InvoiceFileHub(runtime, function, checks, azurite, DomainEvent.InvoiceQueueName, "cbo-" + Guid.NewGuid().ToString("N")[..10]);
            notifier.Target = hub;
            return hub;
        }

        /// <summary>Every message of the file, then its file-stored event.</summary>
        public async Task DeliverAsync(InvoiceFile file)
        {
            foreach (var message in file.LineMessages.Append(file.StoredMessage))
            {
                await HandleAsync(message);
            }
        }

        public Task<string> HandleAsync(string message, CancellationToken cancellationToken = default) =>
            function.HandleAsync(new QueueInvocation("InvoiceFiles", queueName, message, new InvocationMetadata(JsonDocument.Parse("{}").RootElement)), cancellationToken);

        public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken)
        {
            Notices.Add(new Notice(deliveryId, notice.Type, notice.Subject));
            OnNotice?.Invoke();
            return Task.CompletedTask;
        }

        /// <summary>An approved Transitional Rent authorization for <paramref name="cin"/> (indexed by member and service, as the API does); its id.</summary>
        public async Task<string> ApproveTransitionalRentAsync(string cin)
        {
            var request = new AuthorizationRequest($"auth-{partner}-{cin}", cin, RequestedService.CommunitySupports("transitional-rent"), Provider, "county",
                Urgency.Routine, [], null, DateTimeOffset.UtcNow.AddDays(-1));
            Assert.True(await new MemberAuthorizationIndex(azurite.Storage).TryClaimAsync(request, new Dictionary<string, MemberAuthorizationRow>(), DateTimeOffset.UtcNow, CancellationToken.None));
            await runtime.StartAsync(AuthorizationWorkflow.TypeName, request.AuthorizationId, WorkflowJson.ToElement(request), CancellationToken.None);
            await runtime.RaiseEventAsync(request.AuthorizationId, AuthorizationEvents.Decision, WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "test")), null, CancellationToken.None);
            var state = await runtime.GetStateAsync<AuthorizationState>(request.AuthorizationId, CancellationToken.None);
            Assert.Equal(AuthorizationStatus.Authorized, state!.Status);
            return request.AuthorizationId;
        }

        /// <summary>The plan pays every line of an invoice in full today.</summary>
        public async Task PayAllAsync(string invoiceId)
        {
            var state = (await runtime.GetStateAsync<InvoiceState>(invoiceId, CancellationToken.None))!;
            var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")).DateTime);
            var remittance = new Remittance("rem-" + invoiceId, [.. state.Lines.Select(l => new LineOutcome(l.Number, LineOutcomeKind.Paid, today, l.Charge))]);
            var result = await runtime.RaiseEventAsync(invoiceId, InvoiceEvents.Remittance, WorkflowJson.ToElement(remittance), "remittance:" + remittance.RemittanceId, CancellationToken.None);
            Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        }

        /// <summary>The file-stored events this hub's function sent back to the queue (its waits), taken off the queue.</summary>
        public async Task<List<string>> TakeQueuedAsync()
        {
            var queue = azurite.Storage.Queues.GetQueueClient(queueName);
            var found = new List<string>();
            var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
            while (found.Count == 0 && DateTimeOffset.UtcNow < deadline)
            {
                foreach (var message in (await queue.ReceiveMessagesAsync(32)).Value)
                {
                    var text = message.Body.ToString();
                    if (text.Contains(partner, StringComparison.Ordinal))
                    {
                        found.Add(text);
                        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                    }
                }

                if (found.Count == 0)
                {
                    await Task.Delay(250);
                }
            }

            return found;
        }

        /// <summary>
        /// Stores the rows as ingestion does (the CIN in <c>IngestedRows</c>, 16 buckets) and builds its messages: one per
        /// bucket batch, so an invoice's lines are spread over several messages; then the run's file-stored event.
        /// </summary>
        public async Task<InvoiceFile> StoreFileAsync(
            int invoices, int linesPerInvoice, string? runId = null, string prefix = "", string hcpcs = "G9012", string modifier = "U2", string units = "4",
            string cin = "91234567A", string? serviceFrom = null, string? serviceTo = null, bool memberRows = false)
        {
            runId ??= "run-" + Guid.NewGuid().ToString("N")[..24];
            var table = azurite.Storage.Tables.GetTableClient(TableRowDestination.TableName);
            var dos = DateTime.UtcNow.AddDays(-2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var received = DateTimeOffset.UtcNow;
            var buckets = new SortedDictionary<int, List<DomainEvent>>();
            var ids = new List<string>();
            for (var invoice = 0; invoice < invoices; invoice++)
            {
                var number = $"INV-{partner}-{prefix}{invoice:D3}";
                ids.Add(InvoiceIds.For(Provider, number));
                for (var line = 1; line <= linesPerInvoice; line++)
                {
                    var rowKey = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{number}/{line}/{runId}")).AsSpan(0, 16));
                    var bucket = (invoice + line) % 4;
                    var partition = AcceptedRow.Partition(partner, "invoice", bucket);
                    // With member rows, the CIN is only in the batch's member row (the line row's copy left out to prove which is read).
                    await table.UpsertEntityAsync(memberRows ? new TableEntity(partition, rowKey) : new TableEntity(partition, rowKey) { ["MemberCin"] = cin });
                    var data = new Dictionary<string, string>
                    {
                        ["partnerId"] = partner, ["kind"] = "invoice", ["runId"] = runId, ["partitionKey"] = partition, ["rowKey"] = rowKey,
                        ["InvoiceNumber"] = number, ["LineNumber"] = line.ToString(CultureInfo.InvariantCulture), ["ServiceStartDate"] = serviceFrom ?? dos,
                        ["HcpcsCode"] = hcpcs, ["Modifier1"] = modifier, ["Units"] = units, ["ChargeAmount"] = "250.00", ["BillingProviderNPI"] = Provider,
                    };
                    if (serviceTo is not null)
                    {
                        data["ServiceEndDate"] = serviceTo;
                    }

                    (buckets.TryGetValue(bucket, out var list) ? list : buckets[bucket] = []).Add(
                        new DomainEvent("evt-" + rowKey, DomainEvent.InvoiceLineReceived, $"/calaimhub/ingestion/{partner}/invoice", $"{partition}/{rowKey}", received, data));
                }
            }

            var messages = new List<string>();
            foreach (var events in buckets.Values)
            {
                var named = events;
                if (memberRows)
                {
                    var members = TableRowDestination.MemberRow(events[0].Data["partitionKey"], runId, events.Select(e => (e.Data["rowKey"], cin)));
                    await table.UpsertEntityAsync(members);
                    named = [.. events.Select(e => TableRowDestination.NamingMemberRow(e, members.RowKey))];
                }

                messages.AddRange(TableRowDestination.EventMessages(named));
            }

            var submission = new FileSubmission(runId, partner, "invoice", "file.csv", null, received);
            var stored = TableRowDestination.EventMessages([DomainEvent.FileStored(submission, invoices * linesPerInvoice, new CalAimHub.Ingestion.Reports.IngestReport { RunId = runId, PartnerId = partner, Kind = "invoice", File = "file.csv", Outcome = "accepted", RowsAccepted = invoices * linesPerInvoice })]).Single();
            return new InvoiceFile(runId, ids, messages, stored);
        }

        /// <summary>The same file dropped again: a new run, the same rows and event ids.</summary>
        public InvoiceFile Redropped(InvoiceFile file)
        {
            var runId = "run-" + Guid.NewGuid().ToString("N")[..24];
            return new InvoiceFile(runId, file.InvoiceIds, [.. file.LineMessages.Select(m => m.Replace(file.RunId, runId, StringComparison.Ordinal))],
                file.StoredMessage.Replace(file.RunId, runId, StringComparison.Ordinal));
        }

        /// <summary>Batch rows of unfinished batch starts (the runtime's outbox rows outside any instance).</summary>
        public async Task<List<OutboxRow>> StartBatchRowsAsync()
        {
            var rows = new List<OutboxRow>();
            await foreach (var row in runtime.Store.OutboxRowsAsync(CancellationToken.None))
            {
                if (row.Work is [StartBatch])
                {
                    rows.Add(row);
                }
            }

            return rows;
        }

        /// <summary>The month's and the test provider's invoice counts in the timeliness read model.</summary>
        public async Task<(long Month, long Provider)> TimelinessAsync(string month)
        {
            var readModels = new InvoiceReadModels(new ReadModelStore(azurite.Storage.Tables));
            return ((await readModels.MonthAsync(month, null, CancellationToken.None)).GetValueOrDefault(InvoiceReadModelsProjection.Invoices),
                (await readModels.MonthAsync(month, Provider, CancellationToken.None)).GetValueOrDefault(InvoiceReadModelsProjection.Invoices));
        }

        /// <summary>The file's invoices in the provider's listing, one entry per row.</summary>
        public async Task<List<string>> ListedAsync(InvoiceFile file)
        {
            var ids = file.InvoiceIds.ToHashSet(StringComparer.Ordinal);
            var listed = new List<string>();
            var rows = ShardTables(InvoiceReadModelsProjection.ListingTable).ToAsyncEnumerable().SelectMany(shard => azurite.Storage.Tables.GetTableClient(shard)
                .QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Provider} and RowKey lt {"~"}"), select: ["RowKey"]));
            await foreach (var row in rows)
            {
                var id = row.RowKey[(row.RowKey.IndexOf('|', StringComparison.Ordinal) + 1)..];
                if (ids.Contains(id))
                {
                    listed.Add(id);
                }
            }

            return listed;
        }

        public async Task<List<(WorkflowInstance Instance, InvoiceState State)>> InvoicesAsync(InvoiceFile file)
        {
            var found = new List<(WorkflowInstance, InvoiceState)>();
            foreach (var id in file.InvoiceIds)
            {
                if (await runtime.GetAsync(id, CancellationToken.None) is { } instance)
                {
                    found.Add((instance, (await runtime.GetStateAsync<InvoiceState>(id, CancellationToken.None))!));
                }
            }

            return found;
        }
    }

    /// <summary>The runtime needs its notifier before the hub exists.</summary>
    private sealed class ForwardingNotifier : IWorkflowNotifier
    {
        public IWorkflowNotifier? Target { get; set; }

        public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken) =>
            Target!.SendAsync(deliveryId, notice, time, cancellationToken);
    }
}
