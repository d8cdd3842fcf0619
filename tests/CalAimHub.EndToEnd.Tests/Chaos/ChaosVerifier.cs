using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.LocalHost;

namespace CalAimHub.Chaos;

/// <summary>
/// One trial's outcome: the table row for docs/performance.md and every broken invariant, each naming its item.
/// <see cref="Lost"/>: an item (a referral, an event of it, an authorization, a file row, a run, a report, a notice) the hub
/// accepted and does not have. <see cref="Duplicated"/>: an item it has more than once (a second referral row or history entry,
/// a second run, a notice under two webhook-ids, a stored row beyond the file's). <see cref="Redelivered"/>: a notice POSTed again
/// under its own webhook-id after a kill between the subscriber's 2xx and the delivery record — Standard Webhooks' at-least-once,
/// which receivers dedupe on the id (it is counted, not a failure).
/// </summary>
public sealed record ChaosResult(
    int Seed, int Kills, int Restarts, int Webhooks, int Rows, int Authorizations, int Notices, int Lost, int Duplicated, int Redelivered,
    int UnexpectedPoison, int Unexpected5xx, IReadOnlyDictionary<int, int> Answers, IReadOnlyList<string> Failures, TimeSpan Duration, bool Settled)
{
    public IReadOnlyList<string> HubLog { get; init; } = [];

    /// <summary>The full host log and handler output of a failed trial.</summary>
    public string? LogFile { get; init; }

    public bool Passed => Failures.Count == 0;

    public const string TableHeader = "| trial | kills (restarts) | webhooks | file rows | authorizations | notices | lost | duplicated | unexpected poison | unexpected 5xx | notices redelivered (same id) | duration |\n|---|---|---|---|---|---|---|---|---|---|---|---|";

    public string TableRow(int trial) => string.Create(CultureInfo.InvariantCulture,
        $"| {trial} (seed {Seed}) | {Kills} ({Restarts}) | {Webhooks:N0} | {Rows:N0} | {Authorizations:N0} | {Notices:N0} | {Lost} | {Duplicated} | {UnexpectedPoison} | {Unexpected5xx} | {Redelivered} | {Duration.TotalSeconds:0} s |");

    public string Report() =>
        $"{TableHeader}\n{TableRow(1)}\nHTTP answers: {string.Join(", ", Answers.OrderBy(a => a.Key).Select(a => $"{(a.Key == 0 ? "no answer" : a.Key.ToString(CultureInfo.InvariantCulture))}×{a.Value}"))}\n" +
        (Passed ? "every invariant held" : $"{Failures.Count} broken invariants:\n  " + string.Join("\n  ", Failures.Take(60))) +
        (Passed ? "" : $"\nhub log (last lines; all of it in {LogFile}):\n  " + string.Join("\n  ", HubLog));
}

/// <summary>Waits until the hub settled after a trial and checks every invariant of issue 11 exactly.</summary>
public sealed class ChaosVerifier(LocalHub hub, HttpClient api, NoticeReceivers receivers, ChaosPlan plan)
{
    /// <summary>Queues whose visible messages mean work still in flight (not workflow-timers: it re-arms every open clock's timer
    /// every <c>Workflows:MaxTimerDelay</c> until it is due, so it is never empty while a referral waits for its provider).</summary>
    private static readonly string[] WorkQueues = ["blob-created", "notifications", "referral-events", "referral-status-events", "workflow-work"];

    /// <summary>True once every owed notice arrived, every file's run completed, the canary is poison and no work queue has a
    /// visible message; false when <paramref name="patience"/> ran out first (the verification then names what is missing).</summary>
    public async Task<bool> WaitUntilSettledAsync(TimeSpan patience)
    {
        var until = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < until)
        {
            var (required, _) = plan.Notices();
            var received = receivers.ById.Values.Select(v => Key(v.Notice)).ToHashSet();
            if (required.IsSubsetOf(received) && await FilesCompletedAsync() && await CanaryPoisonedAsync() && await QueuesIdleAsync())
            {
                // A late duplicate would be on its way by now.
                await Task.Delay(TimeSpan.FromSeconds(3));
                return true;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        Unsettled = await WhatIsUnsettledAsync();
        return false;
    }

    /// <summary>What was still in flight when the patience of <see cref="WaitUntilSettledAsync"/> ran out (empty until then).</summary>
    public string Unsettled { get; private set; } = "";

    private async Task<string> WhatIsUnsettledAsync()
    {
        var (required, _) = plan.Notices();
        var received = receivers.ById.Values.Select(v => Key(v.Notice)).ToHashSet();
        var parts = new List<string>();
        if (required.Count(n => !received.Contains(n)) is > 0 and var missing)
        {
            parts.Add($"{missing} owed notice(s) not received");
        }

        if (!await FilesCompletedAsync())
        {
            parts.Add("not every file's run completed");
        }

        if (!await CanaryPoisonedAsync())
        {
            parts.Add("the canary notice is not in notifications-poison");
        }

        foreach (var name in WorkQueues)
        {
            var depth = (await hub.Storage.Queues.GetQueueClient(name).GetPropertiesAsync()).Value.ApproximateMessagesCount;
            if (depth > 0)
            {
                parts.Add($"{name} holds {depth} message(s)");
            }
        }

        return string.Join("; ", parts);
    }

    public async Task<ChaosResult> VerifyAsync(
        ChaosTrialOptions options, int kills, int restarts, IReadOnlyDictionary<int, int> answers, IReadOnlyList<string> anomalies, TimeSpan duration, bool settled, int seed)
    {
        var failures = new List<string>(anomalies);
        if (!settled)
        {
            failures.Add($"the hub did not settle within {options.Wait.TotalSeconds:0} s ({Unsettled})");
        }

        var lost = 0;
        var duplicated = 0;
        void Lost(string what)
        {
            lost++;
            failures.Add("lost: " + what);
        }

        void Duplicated(string what)
        {
            duplicated++;
            failures.Add("duplicated: " + what);
        }

        await VerifyReferralsAsync(failures, Lost, Duplicated);
        await VerifyAuthorizationsAsync(failures, Lost, Duplicated);
        await VerifyWorkflowCountAsync(Lost, Duplicated);
        await VerifyFilesAsync(failures, Lost, Duplicated);
        var redelivered = VerifyNotices(failures, Lost, Duplicated);
        var unexpectedPoison = await VerifyPoisonAsync(failures);
        if (kills != options.Kills)
        {
            failures.Add($"{kills} kills sent, {options.Kills} planned");
        }

        if (restarts < kills)
        {
            failures.Add($"{restarts} restarts after {kills} kills: an instance did not come back");
        }

        if (receivers.SignatureFailures > 0)
        {
            failures.Add($"{receivers.SignatureFailures} notices failed signature verification");
        }

        var unexpected5xx = answers.Where(a => a.Key >= 500 && a.Key is not (502 or 503)).Sum(a => a.Value);
        using (var health = await api.GetAsync(new Uri("/api/health", UriKind.Relative)))
        {
            if (health.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"health answered {(int)health.StatusCode} after the trial");
            }
        }

        var (required, _) = plan.Notices();
        return new ChaosResult(seed, kills, restarts, plan.Referrals.Sum(r => r.Accepted.Count + (r.Redelivered ? 1 : 0)), plan.Files.Sum(f => f.Rows), plan.Authorizations.Count,
            required.Count, lost, duplicated, redelivered, unexpectedPoison, unexpected5xx, answers.ToDictionary(), failures, duration, settled);
    }

    private async Task VerifyReferralsAsync(List<string> failures, Action<string> lost, Action<string> duplicated)
    {
        await Parallel.ForEachAsync(plan.Referrals, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (referral, _) =>
        {
            var accepted = referral.Accepted.ToArray();
            if (accepted.Length == 0)
            {
                return; // never accepted: the driver recorded why
            }

            using var response = await api.GetAsync(new Uri($"/api/referrals/{Uri.EscapeDataString(referral.ReferralId)}", UriKind.Relative));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                lock (failures)
                {
                    lost($"referral {referral.ReferralId}: GET answered {(int)response.StatusCode}");
                }

                return;
            }

            var view = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var events = view.TryGetProperty("events", out var list) && list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0;
            accepted = referral.Applied(events);
            var final = accepted[^1];
            var workflow = view.TryGetProperty("workflow", out var found) ? found : default;
            lock (failures)
            {
                if (events < accepted.Length)
                {
                    lost($"referral {referral.ReferralId}: {events} recorded events for {accepted.Length} accepted webhooks");
                }
                else if (events > accepted.Length)
                {
                    duplicated($"referral {referral.ReferralId}: {events} recorded events for {accepted.Length} accepted webhooks");
                }

                if (workflow.ValueKind != JsonValueKind.Object)
                {
                    lost($"referral {referral.ReferralId}: no workflow (status {Text(view, "status")}, {events} events)");
                    return;
                }

                var history = workflow.TryGetProperty("history", out var entries) ? entries.EnumerateArray().Select(h => Text(h, "status")).ToArray() : [];
                if (!history.SequenceEqual(accepted))
                {
                    (history.Length > accepted.Length ? duplicated : lost)(
                        $"referral {referral.ReferralId}: workflow history [{string.Join(", ", history)}], accepted [{string.Join(", ", accepted)}]");
                }

                var phase = final switch
                {
                    "Pending" => "awaiting-acknowledgement",
                    "Accepted" => "accepted",
                    "Outreach Initiated" => "outreach-initiated",
                    _ => "closed",
                };
                var state = (Text(view, "status"), Text(workflow, "status"), Text(workflow, "phase"), Text(workflow, "runtimeStatus") == "Completed");
                if (state != (final, final, phase, final == "Referral Loop Closed"))
                {
                    failures.Add($"wrong state: referral {referral.ReferralId}: status {state.Item1}, workflow {state.Item2}/{state.Item3}/completed={state.Item4}; its events imply {final}/{phase}");
                }
            }
        });
    }

    private async Task VerifyAuthorizationsAsync(List<string> failures, Action<string> lost, Action<string> duplicated)
    {
        await Parallel.ForEachAsync(plan.Authorizations, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (authorization, _) =>
        {
            if (authorization.Id is not { } id)
            {
                return; // never answered: the driver recorded why
            }

            using var response = await api.GetAsync(new Uri($"/api/authorizations/{Uri.EscapeDataString(id)}", UriKind.Relative));
            using var member = await api.GetAsync(new Uri($"/api/members/{authorization.Cin}/authorizations", UriKind.Relative));
            var held = member.StatusCode == HttpStatusCode.OK
                ? JsonDocument.Parse(await member.Content.ReadAsStringAsync()).RootElement.TryGetProperty("authorizations", out var held0) ? held0.GetArrayLength() : 0
                : 0;
            var status = response.StatusCode == HttpStatusCode.OK ? Text(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement, "status") : null;
            lock (failures)
            {
                if (status is null)
                {
                    lost($"authorization {id}: GET answered {(int)response.StatusCode}");
                    return;
                }

                if (held != 1)
                {
                    (held == 0 ? lost : duplicated)($"authorization {id}: the member holds {held} authorizations for ECM");
                }

                if (status != authorization.ExpectedStatus)
                {
                    failures.Add($"wrong state: authorization {id}: {status}, its requests imply {authorization.ExpectedStatus}");
                }
            }
        });
    }

    private async Task VerifyWorkflowCountAsync(Action<string> lost, Action<string> duplicated)
    {
        var instances = 0;
        await foreach (var _ in hub.Storage.Tables.GetTableClient("Workflows").QueryAsync<TableEntity>(e => e.RowKey == "state", select: ["PartitionKey"]))
        {
            instances++;
        }

        var expected = plan.Referrals.Count(r => !r.Accepted.IsEmpty) + plan.Authorizations.Count(a => a.Id is not null);
        if (instances != expected)
        {
            (instances < expected ? lost : duplicated)($"{instances} workflow instances for {expected} accepted referrals and authorizations");
        }
    }

    private async Task VerifyFilesAsync(List<string> failures, Action<string> lost, Action<string> duplicated)
    {
        foreach (var file in plan.Files)
        {
            var runs = new List<TableEntity>();
            await foreach (var run in hub.Storage.Tables.GetTableClient("IngestRuns").QueryAsync<TableEntity>(e => e.PartitionKey == file.Partner))
            {
                runs.Add(run);
            }

            if (runs.Count != 1)
            {
                (runs.Count == 0 ? lost : duplicated)($"file {file.BlobName}: {runs.Count} ingest runs");
            }

            foreach (var run in runs)
            {
                var counts = (run.GetString("Status"), run.GetInt32("RowsAccepted"), run.GetInt32("RowsRejected"));
                if (counts != ("completed", file.ValidRows, file.InvalidRows))
                {
                    failures.Add($"wrong state: file {file.BlobName}: run {run.RowKey} {counts.Item1}, {counts.Item2} accepted, {counts.Item3} rejected; expected completed, {file.ValidRows}, {file.InvalidRows}");
                }
            }

            var stored = 0;
            var prefix = file.Partner + "~";
            await foreach (var _ in hub.Storage.Tables.GetTableClient("IngestedRows").QueryAsync<TableEntity>(
                TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {file.Partner + "~~"} and RowKey lt {"~"}"), select: ["PartitionKey"])) // not a batch's member row
            {
                stored++;
            }

            if (stored != file.ValidRows)
            {
                (stored < file.ValidRows ? lost : duplicated)($"file {file.BlobName}: {stored} stored rows for {file.ValidRows} valid rows");
            }

            var reports = new List<string>();
            await foreach (var blob in hub.Storage.Blobs.GetBlobContainerClient(InboundPath.ResultsContainer).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, file.Partner + "/", CancellationToken.None))
            {
                reports.Add(blob.Name);
            }

            var names = InboundPath.ReportNames(file.BlobName);
            if (!reports.Order(StringComparer.Ordinal).SequenceEqual(new[] { names.Json, names.Csv }.Order(StringComparer.Ordinal)))
            {
                (reports.Count < 2 ? lost : duplicated)($"file {file.BlobName}: reports [{string.Join(", ", reports)}]");
            }
        }
    }

    private int VerifyNotices(List<string> failures, Action<string> lost, Action<string> duplicated)
    {
        var (required, allowed) = plan.Notices();
        var received = receivers.ById.Values.GroupBy(v => Key(v.Notice)).ToDictionary(g => g.Key, g => g.ToArray());
        foreach (var key in required.Where(k => !received.ContainsKey(k)))
        {
            lost($"notice {key.Type} to {key.Subscriber} for {key.Subject}");
        }

        var redelivered = 0;
        foreach (var (key, copies) in received)
        {
            if (!required.Contains(key) && !allowed.Contains(key))
            {
                failures.Add($"unexpected notice {key.Type} to {key.Subscriber} for {key.Subject} ({copies.Length} webhook-ids)");
            }

            if (copies.Length > 1)
            {
                duplicated($"notice {key.Type} to {key.Subscriber} for {key.Subject} under {copies.Length} webhook-ids: {string.Join(", ", copies.Select(c => c.Notice.WebhookId))}");
            }

            redelivered += copies.Sum(c => c.Count - 1);
        }

        return redelivered;
    }

    private async Task<int> VerifyPoisonAsync(List<string> failures)
    {
        var unexpected = 0;
        await foreach (var queue in hub.Storage.Queues.GetQueuesAsync(prefix: null))
        {
            if (!queue.Name.EndsWith("-poison", StringComparison.Ordinal))
            {
                continue;
            }

            var messages = (await hub.Storage.Queues.GetQueueClient(queue.Name).PeekMessagesAsync(32)).Value;
            foreach (var message in messages)
            {
                var body = message.Body.ToString();
                if (queue.Name == "notifications-poison" && body.Contains(ChaosPlan.PoisonDeliveryId, StringComparison.Ordinal) && messages.Count(m => m.Body.ToString().Contains(ChaosPlan.PoisonDeliveryId, StringComparison.Ordinal)) == 1)
                {
                    continue;
                }

                unexpected++;
                failures.Add($"unexpected poison in {queue.Name}: {(body.Length > 400 ? body[..400] + "…" : body)}");
            }

            if (queue.Name == "notifications-poison" && !messages.Any(m => m.Body.ToString().Contains(ChaosPlan.PoisonDeliveryId, StringComparison.Ordinal)))
            {
                failures.Add("the expected poison message (a notice to a subscriber that always answers 500) is not in notifications-poison");
            }
        }

        return unexpected;
    }

    private async Task<bool> FilesCompletedAsync()
    {
        var completed = 0;
        await foreach (var run in hub.Storage.Tables.GetTableClient("IngestRuns").QueryAsync<TableEntity>(select: ["PartitionKey", "Status"]))
        {
            completed += run.GetString("Status") == "completed" ? 1 : 0;
        }

        return completed >= plan.Files.Count;
    }

    private async Task<bool> CanaryPoisonedAsync() =>
        (await hub.Storage.Queues.GetQueueClient("notifications-poison").PeekMessagesAsync(32)).Value.Any(m => m.Body.ToString().Contains(ChaosPlan.PoisonDeliveryId, StringComparison.Ordinal));

    private async Task<bool> QueuesIdleAsync()
    {
        foreach (var name in WorkQueues)
        {
            if ((await hub.Storage.Queues.GetQueueClient(name).PeekMessagesAsync(1)).Value.Length > 0)
            {
                return false;
            }
        }

        return true;
    }

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static NoticeKey Key(ReceivedNotice notice) => new(notice.Subscriber, notice.Type, notice.Subject);
}
