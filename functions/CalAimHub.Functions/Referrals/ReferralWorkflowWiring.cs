using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Referrals;

/// <summary>Configuration section <c>Referrals</c>: the referral workflow's deadlines and notice subscribers.</summary>
public sealed class ReferralOptions
{
    public int AcknowledgementBusinessDays { get; set; } = 2;

    public double DischargeAcknowledgementHours { get; set; } = 24;

    /// <summary>Comma-separated services whose referrals need authorization first; unset = ECM and every Community Support but sobering centers; empty = none.</summary>
    public string? AuthorizationServices { get; set; }

    public string MemberSubscriber { get; set; } = "members";

    public string PlanStaffSubscriber { get; set; } = "plan-staff";

    /// <summary>Platform → notification subscriber of its referring entities; unlisted platforms are their own subscriber id.</summary>
    public Dictionary<string, string> ReferrerSubscribers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// RTF referral statuses one <c>ReferralStatusFiles</c> invocation applies at most; the rest of its message goes on in a
    /// continuation message (see <see cref="ReferralStatusFilesFunction"/>).
    /// </summary>
    public int StatusEventsPerInvocation { get; set; } = 16;

    /// <summary>Time after which a <c>ReferralStatusFiles</c> invocation hands the rest of its message to a continuation.</summary>
    public TimeSpan StatusInvocationBudget { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Test-only fault points (<c>Referrals:FaultInjection</c>); refused in Azure.</summary>
    public ReferralFaultInjectionOptions FaultInjection { get; set; } = new();

    public ReferralPolicy ToPolicy() => new(
        AcknowledgementBusinessDays,
        TimeSpan.FromHours(DischargeAcknowledgementHours),
        CaliforniaWorkingDays.Current,
        AuthorizationServices is null
            ? ReferralPolicy.DefaultAuthorizationServices
            : AuthorizationServices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal),
        MemberSubscriber,
        PlanStaffSubscriber,
        ReferrerSubscribers);
}

/// <summary>
/// Test-only: <see cref="ExitOnceAfterStatusContinuation"/> = a file path kills the process (Environment.FailFast) right
/// after a <c>ReferralStatusFiles</c> continuation is sent, before the message it continues is completed — once per hub:
/// the first process to get there creates the file, and the handlers the host restarts find it and carry on. Unset = off.
/// </summary>
public sealed class ReferralFaultInjectionOptions
{
    public string? ExitOnceAfterStatusContinuation { get; set; }
}

/// <summary>The routing input: directory entries (table <c>Providers</c>) that offer a service and have capacity left.</summary>
public sealed class ReferralDirectory(StorageAccount storage)
{
    /// <summary>One provider by NPI (whatever its capacity or services), or null when the directory does not list it.</summary>
    public async Task<ProviderDirectoryEntry?> FindAsync(string? npi, CancellationToken cancellationToken)
    {
        if (npi is null || !Domain.Authorizations.NationalProviderIdentifier.IsValid(npi))
        {
            return null;
        }

        var row = await storage.Tables.GetTableClient(ProviderDirectoryApi.TableName).GetEntityIfExistsAsync<TableEntity>("provider", npi, select: ["Entry"], cancellationToken: cancellationToken);
        return row.HasValue ? JsonSerializer.Deserialize<ProviderDirectoryEntry>(row.Value!.GetString("Entry"), ReferralJson.Options) : null;
    }

    /// <summary>
    /// The routing input of a new referral: providers offering the service with capacity, plus the provider the platform
    /// already chose when the directory lists it without capacity (so its offer carries its directory name).
    /// </summary>
    public async Task<IReadOnlyList<ProviderDirectoryEntry>> RoutingInputAsync(string service, string? preferredNpi, CancellationToken cancellationToken)
    {
        var offering = await OfferingAsync(service, cancellationToken);
        return preferredNpi is null || offering.Any(p => p.Npi == preferredNpi) || await FindAsync(preferredNpi, cancellationToken) is not { } preferred
            ? offering
            : [.. offering, preferred];
    }

    public async Task<IReadOnlyList<ProviderDirectoryEntry>> OfferingAsync(string service, CancellationToken cancellationToken)
    {
        var found = new List<ProviderDirectoryEntry>();
        var table = storage.Tables.GetTableClient(ProviderDirectoryApi.TableName);
        await foreach (var row in table.QueryAsync<TableEntity>("Available gt 0", cancellationToken: cancellationToken))
        {
            if (row.GetString("Services")?.Contains($"|{service}|", StringComparison.Ordinal) == true
                && JsonSerializer.Deserialize<ProviderDirectoryEntry>(row.GetString("Entry"), ReferralJson.Options) is { } entry)
            {
                found.Add(entry);
            }
        }

        return found;
    }
}

/// <summary>
/// Table <c>ReferralMembers</c>: member CIN (partition, as <c>MemberAuthorizations</c> does) → the member's referral ids, so an
/// RTF row (which names the member and the provider, not the referral) finds its referral. Stored, never logged.
/// </summary>
public sealed class ReferralMemberIndex(StorageAccount storage)
{
    public const string TableName = "ReferralMembers";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public Task AddAsync(string cin, string referralId, CancellationToken cancellationToken) =>
        Table.UpsertEntityAsync(new TableEntity(Key(cin), referralId), TableUpdateMode.Merge, cancellationToken);

    public async Task<IReadOnlyList<string>> ReferralsOfAsync(string cin, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Key(cin)}"), select: ["RowKey"], cancellationToken: cancellationToken))
        {
            ids.Add(row.RowKey);
        }

        return ids;
    }

    private static string Key(string cin) => cin.Trim().ToUpperInvariant();
}

/// <summary>The referral's status as its workflow holds it (the source of truth once the workflow runs), for the intake's transition check.</summary>
public interface IReferralStatusSource
{
    Task<ReferralStatus?> CurrentAsync(string referralId, CancellationToken cancellationToken);
}

public sealed class WorkflowReferralStatusSource(WorkflowRuntime runtime) : IReferralStatusSource
{
    public async Task<ReferralStatus?> CurrentAsync(string referralId, CancellationToken cancellationToken) =>
        await runtime.GetAsync(referralId, cancellationToken) is { Type: ReferralWorkflow.TypeName } instance
        && runtime.Registry.Find(ReferralWorkflow.TypeName)?.ReadState(instance.State, instance.Version) is ReferralState state
            ? state.Status
            : null;
}

/// <summary>
/// <c>ReferralEvents</c> (queue <c>referral-events</c>): canonical webhook events → the <c>referral</c> workflow instance
/// whose id is the hub referral id (<c>{platform}:{platformReferralId}</c>, never member data). Created starts it with the
/// directory candidates; a status change becomes a <c>status-reported</c> event whose id derives from (referral, status,
/// status date), so the same status reported again here or by an RTF file is applied once.
/// </summary>
public sealed partial class ReferralEventsFunction(
    WorkflowRuntime runtime, ReferralDirectory directory, ReferralMemberIndex members, ReferralPolicy policy, Monitoring.ReferralTrackingReadModel tracking, ILogger<ReferralEventsFunction> logger) : IQueueFunction
{
    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        ReferralEvent? e;
        try
        {
            e = JsonSerializer.Deserialize<ReferralEvent>(invocation.Message, ReferralJson.Options);
        }
        catch (JsonException)
        {
            e = null;
        }

        if (e is null || ReferralIdentifiers.Split(e.ReferralId) is null)
        {
            LogIgnored(logger, invocation.Metadata.MessageId);
            return $"Ignored message {invocation.Metadata.MessageId}: not a referral event.";
        }

        // Every ledger event is a row of the monitoring extract's month, whatever the workflow makes of it (an upsert by
        // the event's key: a redelivery writes the same row).
        await tracking.RecordAsync(e, cancellationToken);

        if (e.Kind == ReferralEventKind.Created)
        {
            if (e.Service is null)
            {
                return $"Ignored created event {e.EventId}: no service.";
            }

            if (e.Member?.Cin is { } cin)
            {
                // Before the start: an RTF row arriving right after must find the referral.
                await members.AddAsync(cin, e.ReferralId, cancellationToken);
            }

            // The member's county (when the platform sent it) narrows routing to providers serving it.
            var start = new ReferralStart(e.ReferralId, e.Platform, e.Service, e.Member?.Cin, e.ReferringEntity, e.ReceivingProviderNpi, e.Urgency, e.Member?.County,
                e.OccurredAt, await directory.RoutingInputAsync(e.Service.Code, e.ReceivingProviderNpi, cancellationToken), e.SupportingFacts);
            var started = await runtime.StartAsync(ReferralWorkflow.TypeName, e.ReferralId, WorkflowJson.ToElement(start), cancellationToken);
            LogStarted(logger, e.ReferralId, started.Created);
            if (!started.Created && started.Instance.Status == WorkflowRuntimeStatus.Failed)
            {
                // The id names a Failed instance (a decider failure, or one created before the domain-API-only rule):
                // the referral would be lost here, so it goes to the poison queue with the reason instead.
                throw new FunctionFailure($"referral {e.ReferralId}: its workflow instance is Failed and takes no more events; created event {e.EventId} was not applied", permanent: true);
            }

            if (e.Status == ReferralStatus.Pending)
            {
                return $"Referral {e.ReferralId} {(started.Created ? "started" : "already started")}.";
            }
        }

        var report = new StatusReport(e.Status, e.Reason, e.ReceivingProviderNpi, policy.Calendar.DateOf(e.OccurredAt), "webhook",
            e.Status == ReferralStatus.Accepted ? (await directory.FindAsync(e.ReceivingProviderNpi, cancellationToken))?.Name : null);
        var result = await ReferralStatusApplier.ApplyAsync(runtime, e.ReferralId, report, cancellationToken);
        LogApplied(logger, e.ReferralId, e.Status.DhcsName(), result.Outcome);
        return result.Outcome switch
        {
            ApplyOutcome.NotFound => throw new FunctionFailure($"referral {e.ReferralId} has no workflow yet (its created event is not processed); retried"),
            ApplyOutcome.Gone when result.Instance?.Status == WorkflowRuntimeStatus.Failed => throw new FunctionFailure(
                $"referral {e.ReferralId}: its workflow instance is Failed and takes no more events; status '{e.Status.DhcsName()}' of event {e.EventId} was not applied", permanent: true),
            ApplyOutcome.SuspendedFull => throw new FunctionFailure($"referral {e.ReferralId}: its workflow instance is suspended and holds {InstanceTransition.MaxHeldEvents} events; retried until it is resumed"),
            _ => $"Referral {e.ReferralId} '{e.Status.DhcsName()}': {result.Outcome}.",
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral event message {MessageId} ignored: not a referral event")]
    private static partial void LogIgnored(ILogger logger, string? messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral workflow {ReferralId} start (created: {Created})")]
    private static partial void LogStarted(ILogger logger, string referralId, bool created);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} status '{Status}' from webhook: {Outcome}")]
    private static partial void LogApplied(ILogger logger, string referralId, string status, ApplyOutcome outcome);
}

/// <summary>One path for status reports from every channel: same event name, same deterministic event id.</summary>
public static class ReferralStatusApplier
{
    public static Task<ApplyResult> ApplyAsync(WorkflowRuntime runtime, string referralId, StatusReport report, CancellationToken cancellationToken) =>
        runtime.RaiseEventAsync(referralId, ReferralWorkflowEvents.StatusReported, WorkflowJson.ToElement(report),
            ReferralWorkflowEvents.StatusEventId(referralId, report.Status, report.StatusDate), cancellationToken);
}

/// <summary>
/// <c>ReferralStatusFiles</c> (queue <c>referral-status-events</c>): RTF referral-status rows from ingestion
/// (<c>calaimhub.rtf.referral-status-updated</c> CloudEvents batches, which ingestion publishes on this queue — see
/// <c>DomainEvent.QueueFor</c>) → <c>status-reported</c> on the referral. The
/// event carries no member data, so the referral is found through the ingested row (its CIN) and
/// <see cref="ReferralMemberIndex"/>: the member's open referral offered to or accepted by the row's ECM provider. Other
/// event types on the queue are completed untouched.
/// </summary>
/// <remarks>
/// Why the work per invocation is bounded: ingestion publishes up to 100 rows' events in one message, and on a loaded
/// host one status costs a second or more (the stored row, the member's referrals, the raise). A worker that dies during a
/// long invocation costs the message one of its five deliveries each time, so five deaths during one long batch poisoned
/// it (the chaos trial: 80-event batches ran 42–191 s). Now an invocation applies at most
/// <see cref="ReferralOptions.StatusEventsPerInvocation"/> statuses or works <see cref="ReferralOptions.StatusInvocationBudget"/>,
/// then sends the remaining events, in order, as a fresh message (its own five deliveries) and completes. A worker death
/// before the continuation is sent redelivers the message and redoes at most one slice; after it is sent and before the
/// message completes, the continuation runs twice (so does a slice retried for a suspended instance, which sends its
/// continuation again). All are safe: a status's event id is derived from the referral, status and date, so each status
/// is applied exactly once and a repeat is <c>AlreadyApplied</c>.
/// </remarks>
public sealed partial class ReferralStatusFilesFunction(
    WorkflowRuntime runtime, StorageAccount storage, ReferralMemberIndex members, ReferralDirectory directory, ReferralOptions options,
    TimeProvider clock, ILogger<ReferralStatusFilesFunction> logger) : IQueueFunction
{
    public const string EventType = "calaimhub.rtf.referral-status-updated";

    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        JsonElement[] events;
        try
        {
            using var document = JsonDocument.Parse(invocation.Message);
            events = document.RootElement.ValueKind == JsonValueKind.Array
                ? [.. document.RootElement.EnumerateArray().Select(e => e.Clone())]
                : [document.RootElement.Clone()];
        }
        catch (JsonException)
        {
            return $"Ignored message {invocation.Metadata.MessageId}: not CloudEvents JSON.";
        }

        int applied = 0, duplicate = 0, unmatched = 0, other = 0;
        var failed = new List<string>();
        var suspended = new List<string>();
        // The slice's rows are looked up together (member and referral ids: reads of data applying a status does not
        // change), then applied one by one in file order. One after the other, a 16-row slice of unmatched rows took
        // 7–11 s of round trips on a loaded Azurite (issue 11's full chaos run did not settle in time because of it).
        var slice = Math.Min(events.Length, Math.Max(1, options.StatusEventsPerInvocation));
        var rows = await Task.WhenAll(events[..slice].Select(e => ReadRowAsync(e, cancellationToken)));
        // The budget bounds the round trips of applying, and starts once the slice is read: counted from the start, a
        // slow read left room for one row, and the rest, read again by the continuation, met the same slow reads (the
        // chaos run's last minutes: 3 of 4 invocations handled 1 row of 16). A row without the member's referrals costs
        // no round trip, so it is counted whatever the time.
        var started = clock.GetTimestamp();
        var next = 0;
        for (; next < slice; next++)
        {
            if (rows[next] is not { } row)
            {
                other++;
                continue;
            }

            if (row.Referrals.Count > 0 && next > 0 && clock.GetElapsedTime(started) >= options.StatusInvocationBudget)
            {
                break;
            }

            var (result, referralId) = await ApplyAsync(row, cancellationToken);
            _ = result?.Outcome switch
            {
                ApplyOutcome.Applied => applied++,
                ApplyOutcome.AlreadyApplied => duplicate++,
                _ => unmatched++,
            };
            if (result is { Outcome: ApplyOutcome.Gone, Instance.Status: WorkflowRuntimeStatus.Failed })
            {
                failed.Add(referralId!);
            }
            else if (result?.Outcome == ApplyOutcome.SuspendedFull)
            {
                suspended.Add(referralId!);
            }
        }

        LogBatch(logger, invocation.Metadata.MessageId, applied, duplicate, unmatched, other);
        var continued = events.Length - next;
        if (continued > 0)
        {
            // Sent before this slice's own failures are thrown, so the rest of the batch goes on whatever this slice's fate.
            await storage.Queues.GetQueueClient(invocation.Queue).SendMessageAsync(JsonSerializer.Serialize(events[next..]), cancellationToken);
            LogContinued(logger, invocation.Metadata.MessageId, next, continued);
            if (options.FaultInjection.ExitOnceAfterStatusContinuation is { Length: > 0 } marker && TryCreate(marker))
            {
                Environment.FailFast("Referrals:FaultInjection:ExitOnceAfterStatusContinuation: killed after sending a continuation, before its message completed");
            }
        }

        // The rest of the batch is applied first; a retry or a replay of the whole batch re-applies nothing (the status
        // event ids are deterministic), so only the statuses that could not be applied are at stake.
        if (suspended.Count > 0)
        {
            throw new FunctionFailure($"referral workflow instance(s) {string.Join(", ", suspended)} are suspended and hold {InstanceTransition.MaxHeldEvents} events; retried until resumed");
        }

        if (failed.Count > 0)
        {
            throw new FunctionFailure($"referral workflow instance(s) {string.Join(", ", failed)} are Failed and take no more events; their RTF statuses in this batch were not applied", permanent: true);
        }

        return $"RTF referral statuses: {applied} applied, {duplicate} already applied, {unmatched} without an open referral, {other} other events" +
            (continued > 0 ? $"; {continued} more in a continuation message." : ".");
    }

    private static bool TryCreate(string path)
    {
        try
        {
            new FileStream(path, FileMode.CreateNew).Dispose();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>One RTF status row as the event names it, with its member's referrals; null for another kind of event.</summary>
    private sealed record StatusRow(ReferralStatus? Status, DateOnly Date, string? Npi, string? Reason, IReadOnlyList<string> Referrals);

    private async Task<StatusRow?> ReadRowAsync(JsonElement e, CancellationToken cancellationToken)
    {
        if (!(e.TryGetProperty("type", out var type) && type.GetString() == EventType && e.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object))
        {
            return null;
        }

        string? Text(string name) => data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var (npi, reason) = (Text("EcmProviderNpi"), Text("ReasonForReferralLoopClosure"));
        if (ReferralStatuses.Parse(Text("ReferralStatus")) is not { } status
            || !DateOnly.TryParseExact(Text("DateOfReferralStatusUpdate"), "yyyy-MM-dd", out var date)
            || Text("partitionKey") is not { } partition || Text("rowKey") is not { } row)
        {
            return new StatusRow(null, default, npi, reason, []);
        }

        var stored = await storage.Tables.GetTableClient(CalAimHub.Ingestion.Storage.TableRowDestination.TableName)
            .GetEntityIfExistsAsync<TableEntity>(partition, row, select: ["MemberCin"], cancellationToken: cancellationToken);
        return !stored.HasValue || stored.Value!.GetString("MemberCin") is not { } cin
            ? new StatusRow(null, default, npi, reason, [])
            : new StatusRow(status, date, npi, reason, await members.ReferralsOfAsync(cin, cancellationToken));
    }

    private async Task<(ApplyResult? Result, string? ReferralId)> ApplyAsync(StatusRow row, CancellationToken cancellationToken)
    {
        if (row.Status is not { } status || row.Referrals.Count == 0 || await FindReferralAsync(row.Referrals, row.Npi, cancellationToken) is not { } referralId)
        {
            return (null, null);
        }

        var report = new StatusReport(status, row.Reason, row.Npi, row.Date, "rtf",
            status == ReferralStatus.Accepted ? (await directory.FindAsync(row.Npi, cancellationToken))?.Name : null);
        return (await ReferralStatusApplier.ApplyAsync(runtime, referralId, report, cancellationToken), referralId);
    }

    /// <summary>The member's referral this provider was offered last (open first; then the most recent one).</summary>
    private async Task<string?> FindReferralAsync(IReadOnlyList<string> referrals, string? npi, CancellationToken cancellationToken)
    {
        (string Id, bool Open, DateTimeOffset At)? best = null;
        foreach (var id in referrals)
        {
            if (await runtime.GetAsync(id, cancellationToken) is not { Type: ReferralWorkflow.TypeName } instance
                || runtime.Registry.Find(ReferralWorkflow.TypeName)?.ReadState(instance.State, instance.Version) is not ReferralState state
                || state.Attempts.LastOrDefault(a => npi is null || a.Npi == npi) is not { } attempt)
            {
                continue;
            }

            var candidate = (id, !state.Closed, attempt.OfferedAt);
            if (best is null || (candidate.Item2, candidate.OfferedAt).CompareTo((best.Value.Open, best.Value.At)) > 0)
            {
                best = candidate;
            }
        }

        return best?.Id;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain events {MessageId}: {Done} handled, {Continued} sent on in a continuation message")]
    private static partial void LogContinued(ILogger logger, string? messageId, int done, int continued);

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain events {MessageId}: RTF referral statuses {Applied} applied, {Duplicate} duplicate, {Unmatched} unmatched, {Other} other")]
    private static partial void LogBatch(ILogger logger, string? messageId, int applied, int duplicate, int unmatched, int other);
}
