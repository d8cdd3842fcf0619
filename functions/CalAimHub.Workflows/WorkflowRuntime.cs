using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using CalAimHub.Domain;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CalAimHub.Workflows;

/// <param name="CommittedAt">When the commit returned (before dispatch); null when nothing was committed.</param>
/// <param name="InvalidData">With <see cref="ApplyOutcome.InvalidEventData"/>: which field of the event's data is wrong, and why.</param>
public sealed record ApplyResult(ApplyOutcome Outcome, WorkflowInstance? Instance, DateTimeOffset? CommittedAt = null, WorkflowInputProblem? InvalidData = null);

public sealed record StartResult(WorkflowInstance Instance, bool Created);

/// <summary>A start asked for an instance id that already belongs to another workflow type.</summary>
public sealed class WorkflowInstanceConflictException(string instanceId, string existingType)
    : Exception($"instance '{instanceId}' already exists as a '{existingType}' workflow")
{
    public string ExistingType { get; } = existingType;
}

/// <summary>
/// Runs deciders against storage: load (one query: state row + dedupe row), decide (pure), commit (one
/// entity-group transaction guarded by the state ETag), dispatch the outbox. Every path into an instance —
/// HTTP, <c>workflow-work</c>, <c>workflow-timers</c>, the sweeper — goes through <see cref="ApplyAsync"/>.
/// </summary>
public sealed class WorkflowRuntime(
    WorkflowStore store,
    WorkflowRegistry registry,
    WorkflowQueues queues,
    IWorkflowNotifier notifier,
    [FromKeyedServices(WorkflowClock.Key)] TimeProvider time,
    IOptions<WorkflowOptions> options,
    ILogger<WorkflowRuntime> logger,
    ReadModelStore? readModels = null)
{
    /// <summary>The clock this runtime stamps events and fires timers with (<see cref="WorkflowClock"/>).</summary>
    public TimeProvider Clock => time;

    /// <summary>Event id of the start event: one start per instance id, so a repeated start is idempotent.</summary>
    public const string StartEventId = "start";

    private const int MaxCachedInstances = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StoredInstance> cache = new(StringComparer.Ordinal);
    private int commitsWithOutbox;

    public WorkflowStore Store => store;
    public WorkflowRegistry Registry => registry;

    /// <summary>Admission control on new starts (<see cref="WorkflowAdmission"/>).</summary>
    public WorkflowAdmission Admission { get; } = new(options.Value);

    /// <summary>
    /// Starts an instance; with an existing <paramref name="instanceId"/> of the same type, answers that instance
    /// (idempotent). Waits for a start permit first (<see cref="WorkflowAdmission"/>), so a backlog of starts waits
    /// here, in process, rather than in storage ahead of due timers and events.
    /// </summary>
    /// <exception cref="WorkflowTypeNotRegisteredException">Unknown type.</exception>
    /// <exception cref="WorkflowInstanceConflictException">The id belongs to another type.</exception>
    /// <exception cref="WorkflowStartsSaturatedException">Too many starts waiting; nothing was stored.</exception>
    public async Task<StartResult> StartAsync(string type, string? instanceId, JsonElement? input, CancellationToken cancellationToken, WorkflowActor? by = null)
    {
        var definition = registry.Find(type) ?? throw new WorkflowTypeNotRegisteredException(type);
        using var permit = await Admission.EnterStartAsync(cancellationToken);
        return await StartAdmittedAsync(definition, instanceId, input, by, cancellationToken);
    }

    /// <summary>A start that needs no permit: the child start of work already committed (it is that work's continuation).</summary>
    private async Task<StartResult> StartAdmittedAsync(WorkflowDefinition definition, string? instanceId, JsonElement? input, WorkflowActor? by, CancellationToken cancellationToken)
    {
        var type = definition.Type;
        var id = instanceId ?? Guid.NewGuid().ToString("N");
        var commit = StartCommit(definition, id, input, by, time.GetUtcNow());
        await IndexBeforeCommitAsync(commit, cancellationToken);
        try
        {
            var (outbox, etag) = await store.CommitAsync(commit, null, cancellationToken);
            Remember(commit.After, etag);
            await DispatchAfterCommitAsync(outbox, cancellationToken);
            return new StartResult(commit.After, true);
        }
        catch (WorkflowConcurrencyException)
        {
            var (existing, _) = await store.LoadAsync(id, null, cancellationToken);
            if (existing is null)
            {
                throw;
            }

            // The index was written for a start that did not happen: put back what the existing instance shows.
            await RestoreIndexAsync(existing, type, cancellationToken);
            return existing.Instance.Type == type
                ? new StartResult(existing.Instance, false)
                : throw new WorkflowInstanceConflictException(id, existing.Instance.Type);
        }
    }

    /// <summary>The commit that creates an instance: its start event, first decision and read-model updates.</summary>
    private WorkflowCommit StartCommit(WorkflowDefinition definition, string instanceId, JsonElement? input, WorkflowActor? by, DateTimeOffset now)
    {
        var started = new WorkflowEvent(StartEventId, WorkflowEvent.Started, input, now) { By = by };
        return InstanceTransition.WithProjections(definition, registry.ProjectionsOf(definition.Type), InstanceTransition.Start(definition, instanceId, started, now), started);
    }

    /// <summary>Instances one <see cref="StartManyAsync"/> starts at most (their ids fit the batch row).</summary>
    public const int MaxBatchStarts = 100;

    /// <summary>Test-only fault point: called after a batch start's commits and before their dispatch.</summary>
    public Func<Task>? BeforeBatchDispatch { get; set; }

    /// <summary>
    /// Starts new instances of one type together (the invoices of a file), each as <see cref="StartAsync"/> would: an id
    /// that exists as <paramref name="type"/> is answered, not restarted; one of another type is a conflict. Each instance
    /// still commits in its own partition, but what surrounds the commits is written once for the batch: the index rows
    /// in one transaction, the read-model updates of all instances handed to their partitions' writers at once, and in
    /// place of an outbox row per commit (and its delete) one batch row (<see cref="StartBatch"/>), written before the
    /// commits and removed after the dispatch. Each commit keeps its start work on its start dedupe row, so after a crash
    /// the sweeper, or the caller running the same batch again, dispatches it again (every item dedupes at its receiver).
    /// </summary>
    /// <returns>One result per start, in the order given.</returns>
    /// <exception cref="WorkflowInstanceConflictException">An id belongs to another type (thrown after the others are dispatched).</exception>
    /// <exception cref="WorkflowStartsSaturatedException">Admission refused a start; the ones committed before it are dispatched.</exception>
    public async Task<IReadOnlyList<StartResult>> StartManyAsync(string type, IReadOnlyList<(string InstanceId, JsonElement? Input)> starts, CancellationToken cancellationToken)
    {
        var definition = registry.Find(type) ?? throw new WorkflowTypeNotRegisteredException(type);
        if (starts.Count > MaxBatchStarts)
        {
            throw new ArgumentOutOfRangeException(nameof(starts), $"a batch start takes at most {MaxBatchStarts} instances, not {starts.Count}");
        }

        if (starts.Select(s => s.InstanceId).Distinct(StringComparer.Ordinal).Count() != starts.Count)
        {
            throw new ArgumentException("a batch start names an instance id twice", nameof(starts));
        }

        if (starts.Count == 0)
        {
            return [];
        }

        var now = time.GetUtcNow();
        var commits = starts.Select(s => StartCommit(definition, s.InstanceId, s.Input, null, now)).ToArray();

        // The batch row before anything else, as the index row is before a commit: no commit exists that it does not cover.
        var (batchRow, unfinished) = await store.ClaimStartBatchAsync(new StartBatch(type, [.. starts.Select(s => s.InstanceId)]), cancellationToken);
        await store.UpsertIndexAsync(commits.Select(c => WorkflowIndexEntry.Of(c.After)), cancellationToken);

        var results = new StartResult?[starts.Count];
        var dispatch = new (string InstanceId, IReadOnlyList<OutboundWork> Work)?[starts.Count];
        var found = new StoredInstance?[starts.Count];
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, starts.Count), new ParallelOptions { MaxDegreeOfParallelism = StartLanes, CancellationToken = cancellationToken }, async (i, token) =>
            {
                var commit = commits[i];
                var id = commit.After.InstanceId;
                using (await Admission.EnterStartAsync(token))
                {
                    try
                    {
                        var (_, etag) = await store.CommitAsync(commit, null, token, startWorkOnDedupeRow: true);
                        Remember(commit.After, etag);
                        results[i] = new StartResult(commit.After, true);
                        dispatch[i] = (id, commit.Outbound);
                        return;
                    }
                    catch (WorkflowConcurrencyException)
                    {
                    }
                }

                var (existing, _) = await store.LoadAsync(id, null, token);
                found[i] = existing ?? throw new InvalidOperationException($"the start of workflow instance '{id}' lost to another writer, and no instance was found");
                if (existing.Instance.Type == type)
                {
                    results[i] = new StartResult(existing.Instance, false);
                    // An earlier run of this batch may have committed it and stopped before dispatching: dispatch its start again.
                    if (unfinished && await store.StartWorkAsync(id, token) is { Count: > 0 } work)
                    {
                        dispatch[i] = (id, work);
                    }
                }
            });
        }
        catch (Exception e)
        {
            // What was committed is still dispatched below; the batch row stays for the sweeper and the caller's retry.
            failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
        }

        // The index was written for starts that did not happen: put back what the existing instances show.
        var lost = found.OfType<StoredInstance>().ToList();
        if (lost.Count > 0)
        {
            // Rows of the layout before shards move as they would on a commit; the rest (the usual case) in shard transactions.
            await store.UpsertIndexAsync(lost.Where(e => e.IndexElsewhere is null && e.Instance.Type == type).Select(e => WorkflowIndexEntry.Of(e.Instance)), cancellationToken);
            foreach (var other in lost.Where(e => e.IndexElsewhere is not null || e.Instance.Type != type))
            {
                await RestoreIndexAsync(other, type, cancellationToken);
            }
        }

        var work = dispatch.OfType<(string InstanceId, IReadOnlyList<OutboundWork> Work)>().Where(d => d.Work.Count > 0).ToList();
        if (options.Value.FaultInjection.ExitAfterCommit is > 0 and var exitAt)
        {
            var created = results.Count(r => r?.Created == true);
            var after = Interlocked.Add(ref commitsWithOutbox, created);
            if (after >= exitAt && after - created < exitAt)
            {
                Environment.FailFast($"Workflows:FaultInjection:ExitAfterCommit: killed after commit {exitAt} (a batch start), before its dispatch");
            }
        }

        if (BeforeBatchDispatch is { } fault)
        {
            await fault();
        }

        await DispatchStartsAsync(work, cancellationToken);
        failure?.Throw();
        await store.DeleteStartBatchAsync(batchRow, cancellationToken);
        return found.FirstOrDefault(f => f is not null && f.Instance.Type != type)?.Instance is { } conflict
            ? throw new WorkflowInstanceConflictException(conflict.InstanceId, conflict.Type)
            : [.. results.Select(r => r!)];
    }

    /// <summary>Commits of one batch start in flight at once (each also holds a start permit).</summary>
    private const int StartLanes = 8;

    /// <summary>
    /// The start work of many instances: their read-model updates handed to the partitions' writers together (each writes
    /// its partition in as few transactions as the updates fit), their timers armed together (parked ones a partition at a
    /// time), the rest per instance. Throws when any of it failed.
    /// </summary>
    private async Task DispatchStartsAsync(IReadOnlyList<(string InstanceId, IReadOnlyList<OutboundWork> Work)> starts, CancellationToken cancellationToken)
    {
        var updates = starts.SelectMany(s => s.Work.OfType<ProjectReadModels>()).SelectMany(p => p.Updates).ToList();
        var projected = updates.Count == 0 ? Task.CompletedTask
            : (readModels ?? throw new InvalidOperationException("a projection is registered but the runtime has no ReadModelStore")).ApplyAsync(updates, cancellationToken);
        var timers = queues.ArmTimersAsync(
            [.. starts.SelectMany(s => s.Work.OfType<ArmTimer>().Select(t => new WorkflowTimerMessage(s.InstanceId, t.TimerId, t.DueAt)))], time.GetUtcNow(), options.Value, cancellationToken);
        var others = Parallel.ForEachAsync(
            starts.Select(s => (s.InstanceId, Work: s.Work.Where(w => w is not (ProjectReadModels or ArmTimer)).ToList())).Where(s => s.Work.Count > 0),
            new ParallelOptions { MaxDegreeOfParallelism = StartLanes, CancellationToken = cancellationToken },
            async (s, token) => await DispatchOthersAsync(new OutboxRow(s.InstanceId, "", s.Work, null), token));
        await Task.WhenAll(projected, timers, others);
    }

    /// <summary>
    /// A batch row left by a crash (the sweeper): the start work of the batch's instances dispatched again, then the row
    /// removed. While some instance of it is not committed and the row is younger than
    /// <see cref="WorkflowOptions.ReconcileWindow"/>, its run may still be going: the row stays (a later sweep looks again).
    /// </summary>
    private async Task DispatchStartBatchAsync(OutboxRow row, StartBatch batch, CancellationToken cancellationToken)
    {
        var work = new List<(string InstanceId, IReadOnlyList<OutboundWork> Work)>();
        var missing = 0;
        foreach (var chunk in batch.InstanceIds.Chunk(StartLanes * 2))
        {
            var read = await Task.WhenAll(chunk.Select(id => store.StartWorkAsync(id, cancellationToken)));
            missing += read.Count(r => r is null);
            work.AddRange(chunk.Zip(read).Where(r => r.Second is { Count: > 0 }).Select(r => (r.First, (IReadOnlyList<OutboundWork>)r.Second!)));
        }

        await DispatchStartsAsync(work, cancellationToken);
        // The table's Timestamp is the storage service's real time, so the age is measured by the real clock too.
        if (missing == 0 || row.Timestamp is not { } written || DateTimeOffset.UtcNow - written > options.Value.ReconcileWindow)
        {
            await store.DeleteStartBatchAsync(row, cancellationToken);
        }
    }

    /// <summary>Raises a named event on an instance and commits it before returning; <paramref name="by"/> goes into its history entry.</summary>
    /// <param name="checkData">
    /// For events from outside the hub (the generic events route): data the type's decider would read as something else
    /// (and so ignore) is refused with <see cref="ApplyOutcome.InvalidEventData"/> before anything is recorded. The hub's
    /// own callers build the data from the decider's records and skip the check.
    /// </param>
    public Task<ApplyResult> RaiseEventAsync(string instanceId, string name, JsonElement? data, string? eventId, CancellationToken cancellationToken, WorkflowActor? by = null, bool checkData = false) =>
        ApplyAsync(instanceId, new WorkflowEvent(eventId ?? Guid.NewGuid().ToString("N"), name, data, time.GetUtcNow()) { By = by }, cancellationToken, checkData);

    public Task<ApplyResult> TerminateAsync(string instanceId, string? reason, CancellationToken cancellationToken, WorkflowActor? by = null) =>
        Control(instanceId, InstanceTransition.Terminate, reason, by, cancellationToken);

    public Task<ApplyResult> SuspendAsync(string instanceId, string? reason, CancellationToken cancellationToken, WorkflowActor? by = null) =>
        Control(instanceId, InstanceTransition.Suspend, reason, by, cancellationToken);

    public Task<ApplyResult> ResumeAsync(string instanceId, string? reason, CancellationToken cancellationToken, WorkflowActor? by = null) =>
        Control(instanceId, InstanceTransition.Resume, reason, by, cancellationToken);

    /// <summary>Queues an event for <c>WorkflowWork</c> (webhooks, ingestion: callers that must not wait for the instance).</summary>
    public Task EnqueueEventAsync(WorkflowWorkMessage message, CancellationToken cancellationToken) =>
        queues.Work.SendMessageAsync(JsonSerializer.Serialize(message, WorkflowJson.Options), cancellationToken);

    public async Task<WorkflowInstance?> GetAsync(string instanceId, CancellationToken cancellationToken) =>
        (await store.LoadAsync(instanceId, null, cancellationToken)).Instance?.Instance;

    /// <summary>The instance state as its decider's current state type (migrated in memory if stored by an older version).</summary>
    public async Task<TState?> GetStateAsync<TState>(string instanceId, CancellationToken cancellationToken)
        where TState : class
    {
        var instance = await GetAsync(instanceId, cancellationToken);
        if (instance is null)
        {
            return null;
        }

        var definition = registry.Find(instance.Type) ?? throw new WorkflowTypeNotRegisteredException(instance.Type);
        return (TState)definition.ReadState(instance.State, instance.Version);
    }

    /// <summary>
    /// Applies one event: load, decide, commit, dispatch. Losing the ETag race reloads and decides again (the other
    /// writer's change is kept); an event id seen before changes nothing.
    /// </summary>
    public async Task<ApplyResult> ApplyAsync(string instanceId, WorkflowEvent @event, CancellationToken cancellationToken, bool checkData = false)
    {
        // Never waits: it only tells admission that due work is in progress, so new starts take a smaller share of storage.
        using var due = Admission.EnterDueWork();
        var attempts = options.Value.MaxCommitAttempts;
        var indexAhead = false;
        for (var attempt = 1; ; attempt++)
        {
            // The state this process committed last saves the load round trip. It is only a guess: a stale guess
            // fails the ETag (412) and a duplicate fails the dedupe insert (409); both reload below.
            StoredInstance? stored = null;
            var fromCache = attempt == 1 && cache.TryGetValue(instanceId, out stored);
            if (!fromCache)
            {
                (stored, var duplicate) = await store.LoadAsync(instanceId, @event.EventId, cancellationToken);
                if (indexAhead && stored is not null)
                {
                    // A lost attempt wrote the index for a change that did not happen; show the stored state again.
                    await store.UpsertIndexAsync(WorkflowIndexEntry.Of(stored.Instance), cancellationToken, stored.IndexElsewhere);
                    indexAhead = false;
                }

                if (duplicate)
                {
                    return new ApplyResult(ApplyOutcome.AlreadyApplied, stored?.Instance);
                }

                if (stored is null)
                {
                    return new ApplyResult(ApplyOutcome.NotFound, null);
                }
            }

            var now = time.GetUtcNow();
            var definition = registry.Find(stored!.Instance.Type);
            if (checkData && definition is not null && definition.Takes(@event.Name) && definition.ReadEvent(@event.Name, @event.Data) is { } invalid)
            {
                return new ApplyResult(ApplyOutcome.InvalidEventData, stored.Instance, InvalidData: invalid);
            }

            var recorded = @event with { RecordedAt = now };
            var (outcome, commit) = InstanceTransition.Apply(definition, stored.Instance, recorded, now);
            if (commit is not null)
            {
                commit = InstanceTransition.WithProjections(definition, registry.ProjectionsOf(stored.Instance.Type), commit, recorded);
            }

            if (commit is null)
            {
                if (fromCache)
                {
                    // "Nothing to do" (stale timer, finished instance) must come from the stored state, not a guess.
                    continue;
                }

                return new ApplyResult(outcome, stored.Instance);
            }

            indexAhead |= await IndexBeforeCommitAsync(commit, cancellationToken, stored.IndexElsewhere);
            try
            {
                var (outbox, etag) = await store.CommitAsync(commit, stored.ETag, cancellationToken);
                Remember(commit.After, etag);
                var committedAt = time.GetUtcNow();
                await DispatchAfterCommitAsync(outbox, cancellationToken);
                return new ApplyResult(outcome, commit.After, committedAt);
            }
            catch (WorkflowConcurrencyException) when (attempt < attempts)
            {
                cache.TryRemove(instanceId, out _);
                if (attempt > 1 || !fromCache)
                {
                    // Another writer committed first; exponential jitter so contenders do not collide again in lockstep.
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, Math.Min(5 << Math.Min(attempt, 6), 250))), time, cancellationToken);
                }
            }
        }
    }

    private void Remember(WorkflowInstance instance, ETag etag)
    {
        if (instance.IsTerminal || etag == default)
        {
            cache.TryRemove(instance.InstanceId, out _);
            return;
        }

        // Bounded without bookkeeping: a full cache starts over (a miss costs one load, nothing else).
        if (cache.Count >= MaxCachedInstances)
        {
            cache.Clear();
        }

        cache[instance.InstanceId] = new StoredInstance(instance, etag);
    }

    /// <summary>
    /// Carries out one outbox row, then removes it. Every item has a deterministic id, so running this twice (crash,
    /// sweeper) is safe: timer events dedupe on (timer, due), notices on their delivery id, child starts on the
    /// instance id, raised events on their event id, read-model updates on their version.
    /// </summary>
    public async Task DispatchAsync(OutboxRow row, CancellationToken cancellationToken)
    {
        if (row.Work is [StartBatch batch])
        {
            await DispatchStartBatchAsync(row, batch, cancellationToken);
            return;
        }

        // Read-model updates go to their partitions' writers first and are written while the rest is carried out (they
        // depend on nothing else in the row); the row is removed only when both are done.
        var projected = Task.WhenAll(row.Work.OfType<ProjectReadModels>().Select(p =>
            (readModels ?? throw new InvalidOperationException("a projection is registered but the runtime has no ReadModelStore")).ApplyAsync(p.Updates, cancellationToken)));
        try
        {
            await DispatchOthersAsync(row, cancellationToken);
        }
        catch
        {
            // The row stays for the sweeper; the writes under way finish first (their own failure adds nothing to tell).
            await projected.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        await projected;
        await store.DeleteOutboxAsync(row, cancellationToken);
    }

    private async Task DispatchOthersAsync(OutboxRow row, CancellationToken cancellationToken)
    {
        foreach (var work in row.Work)
        {
            switch (work)
            {
                case ArmTimer timer:
                    await queues.ArmTimerAsync(new WorkflowTimerMessage(row.InstanceId, timer.TimerId, timer.DueAt), time.GetUtcNow(), options.Value, cancellationToken);
                    break;
                case DeliverNotice notice:
                    await notifier.SendAsync(notice.DeliveryId, notice.Notice, notice.Time, cancellationToken);
                    break;
                case StartChild child:
                    await StartAdmittedAsync(registry.Find(child.Start.Type) ?? throw new WorkflowTypeNotRegisteredException(child.Start.Type), child.Start.InstanceId, child.Start.Input, null, cancellationToken);
                    break;
                case SendEvent send:
                    await EnqueueEventAsync(new WorkflowWorkMessage(send.Event.InstanceId, send.EventId, send.Event.EventName, send.Event.Data), cancellationToken);
                    break;
                case ProjectReadModels:
                    break; // under way (above)
                case StartBatch:
                    throw new InvalidOperationException("a start batch is its own outbox row, never part of a commit's");
                default:
                    throw new NotSupportedException($"outbound work {work.GetType().Name} is not supported");
            }
        }
    }

    /// <summary>
    /// Writes the index row before a commit that changes what a listing shows, so no committed change is ever
    /// missing from listings (the index cannot join the partition's transaction). Returns whether it wrote.
    /// </summary>
    /// <param name="elsewhere">
    /// The partition the state row records the instance's index row in when that is not its current one (an instance
    /// indexed before the index was sharded): the row moves now, whatever the commit changes, because the commit records
    /// the current partition. Once per such instance; new instances and moved ones cost nothing more.
    /// </param>
    private async Task<bool> IndexBeforeCommitAsync(WorkflowCommit commit, CancellationToken cancellationToken, string? elsewhere = null)
    {
        var after = WorkflowIndexEntry.Of(commit.After);
        if (commit.Before is not null && elsewhere is null && WorkflowIndexEntry.Of(commit.Before).Lists(after))
        {
            return false;
        }

        await store.UpsertIndexAsync(after, cancellationToken, elsewhere);
        return true;
    }

    /// <summary>
    /// After a start of <paramref name="startedType"/> lost to an existing instance: the index row written for it goes, unless
    /// it is the existing instance's own, which shows the instance again (moved out of the layout before shards if it is there).
    /// </summary>
    private async Task RestoreIndexAsync(StoredInstance existing, string startedType, CancellationToken cancellationToken)
    {
        var entry = WorkflowIndexEntry.Of(existing.Instance);
        await store.UpsertIndexAsync(entry, cancellationToken, existing.IndexElsewhere);
        if (existing.Instance.Type != startedType)
        {
            await store.DeleteIndexAsync(entry with { Type = startedType }, cancellationToken);
        }
    }

    /// <summary>Dispatch right after a commit. A failure here loses nothing: the row stays for the sweeper.</summary>
    private async Task DispatchAfterCommitAsync(OutboxRow? outbox, CancellationToken cancellationToken)
    {
        if (outbox is null)
        {
            return;
        }

        if (options.Value.FaultInjection.ExitAfterCommit is > 0 and var exitAt && Interlocked.Increment(ref commitsWithOutbox) == exitAt)
        {
            Environment.FailFast($"Workflows:FaultInjection:ExitAfterCommit: killed after commit {exitAt} with an outbox, before its dispatch");
        }

        try
        {
            await DispatchAsync(outbox, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Dispatch of outbox row {RowKey} of workflow instance {InstanceId} failed; the sweeper retries it", outbox.RowKey, outbox.InstanceId);
        }
    }

    private Task<ApplyResult> Control(string instanceId, string name, string? reason, WorkflowActor? by, CancellationToken cancellationToken) =>
        ApplyAsync(instanceId, new WorkflowEvent(Guid.NewGuid().ToString("N"), name, WorkflowJson.ToElement(new ControlData(reason)), time.GetUtcNow()) { By = by }, cancellationToken);
}

/// <summary>
/// The runtime's two queues, and the table where timers wait that are due too far ahead to wait on the timer queue
/// (<see cref="WorkflowOptions.TimerQueueHorizon"/>; none given: every timer goes to the queue).
/// </summary>
public sealed class WorkflowQueues(QueueClient work, QueueClient timers, TableClient? parkedTimers = null)
{
    public QueueClient Work => work;
    public QueueClient Timers => timers;
    public TableClient? ParkedTimers => parkedTimers;

    /// <summary>
    /// Sends a timer message that becomes visible shortly before its due time (see <see cref="TimerDelay"/>); a timer
    /// beyond <see cref="WorkflowOptions.MaxTimerDelay"/> is re-armed on delivery. Messages never expire (TTL −1):
    /// a months-long deadline must not vanish with the 7-day default. A timer whose delay would be longer than
    /// <see cref="WorkflowOptions.TimerQueueHorizon"/> is parked instead, and queued by the sweeper once it is that close
    /// to due (<see cref="QueueParkedTimersAsync"/>). Parking the same timer again rewrites the same row.
    /// </summary>
    public Task ArmTimerAsync(WorkflowTimerMessage message, DateTimeOffset now, WorkflowOptions options, CancellationToken cancellationToken) =>
        ArmTimersAsync([message], now, options, cancellationToken);

    /// <summary>
    /// <see cref="ArmTimerAsync"/> for the timers of many instances (a batch start): the parked ones written a partition's
    /// rows at a time (up to 100 per transaction), not one request each.
    /// </summary>
    public async Task ArmTimersAsync(IReadOnlyList<WorkflowTimerMessage> messages, DateTimeOffset now, WorkflowOptions options, CancellationToken cancellationToken)
    {
        var parked = messages.Where(m => Parks(m, now, options)).ToList();
        // Of every timer in the call, parked or not, so a later re-run that parks fewer rewrites the same rows; hashed only when one parks.
        var group = parked.Count == 0 ? "" : ParkedTimer.GroupOf(messages);
        var transactions = parked.Select(m => ParkedTimer.Row(m, options.TimerQueueHorizon, group)).DistinctBy(r => (r.PartitionKey, r.RowKey))
            .GroupBy(r => r.PartitionKey).SelectMany(partition => partition.Chunk(100));
        var lanes = new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken };
        await Task.WhenAll(
            Parallel.ForEachAsync(transactions, lanes, async (rows, ct) =>
                await NewRows.SubmitAsync(parkedTimers!, rows, ct)),
            Parallel.ForEachAsync(messages.Except(parked), lanes, async (message, ct) => await SendAsync(message, now, options, ct)));
    }

    private bool Parks(WorkflowTimerMessage message, DateTimeOffset now, WorkflowOptions options) =>
        parkedTimers is not null && options.TimerQueueHorizon > TimeSpan.Zero
        && TimerDelay(message.DueAt, now, options.MaxTimerDelay, options.TimerLead) > options.TimerQueueHorizon;

    private Task SendAsync(WorkflowTimerMessage message, DateTimeOffset now, WorkflowOptions options, CancellationToken cancellationToken) =>
        timers.SendMessageAsync(JsonSerializer.Serialize(message, WorkflowJson.Options), TimerDelay(message.DueAt, now, options.MaxTimerDelay, options.TimerLead), TimeSpan.FromSeconds(-1), cancellationToken);

    /// <summary>
    /// Puts every parked timer whose time to queue has come (its due time less the horizon, by the hour) on the timer
    /// queue, then removes its row; how many. A crash between the two queues it again on the next sweep: the timer
    /// handler fires a timer once whatever the number of its messages, and drops a stale one.
    /// </summary>
    public async Task<int> QueueParkedTimersAsync(DateTimeOffset now, WorkflowOptions options, CancellationToken cancellationToken)
    {
        if (parkedTimers is null)
        {
            return 0;
        }

        var queued = 0;
        var due = parkedTimers.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey le {ParkedTimer.LastPartitionOfHour(now)}"), cancellationToken: cancellationToken);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (row, ct) =>
        {
            await SendAsync(JsonSerializer.Deserialize<WorkflowTimerMessage>(row.GetString(ParkedTimer.MessageColumn), WorkflowJson.Options)!, now, options, ct);
            try
            {
                await parkedTimers.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, ct);
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
                // Queued by another sweeper, or parked again meanwhile: either way it is queued once more at worst.
            }

            Interlocked.Increment(ref queued);
        });
        return queued;
    }

    /// <summary>
    /// A parked timer's row: partition <c>q|{yyyyMMddHH}|{group}</c>, the UTC hour it is to be queued in and the instances
    /// armed together (16 hex digits of a hash of their ids: one instance's timers, or a batch start's; below <c>~</c>, so
    /// <see cref="LastPartitionOfHour"/> bounds them), row = the timer. So a partition
    /// holds at most one call's timers of an hour, however many timers fall due at one instant (a day's deadlines, every
    /// invoice of a file): on Azurite each row written walks its partition (stop 28 measured upkeep falling round by round,
    /// 150 → 60 events/s, with one partition per due hour; 16 shards an hour still grew with every file, 2,500 rows each after
    /// two 10,000-invoice files), and a batch's timers of an hour are one transaction. The sweeper reads every partition of
    /// an hour in one range query, whatever follows the hour (rows of the earlier 16-shard layout too).
    /// </summary>
    internal static class ParkedTimer
    {
        public const string MessageColumn = "Message";

        /// <summary>The last partition of the hour of <paramref name="queueAt"/>: every group of that hour sorts at or before it.</summary>
        public static string LastPartitionOfHour(DateTimeOffset queueAt) => Hour(queueAt) + "|~";

        /// <summary>
        /// The group of timers armed together: the same instances give the same group, so parking the same timers again
        /// rewrites the same rows. Parked again with other instances (a batch re-dispatched in part), a timer gets a second
        /// row: it is queued twice and fires once.
        /// </summary>
        public static string GroupOf(IEnumerable<WorkflowTimerMessage> messages) =>
            StableHash.Hex(string.Join('\n', messages.Select(m => m.InstanceId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)), 8);

        public static TableEntity Row(WorkflowTimerMessage message, TimeSpan horizon, string group) =>
            new(Hour(message.DueAt - horizon) + "|" + group, ReadModelStore.Key($"{message.InstanceId}|{message.TimerId}|{message.DueAt.UtcTicks}"))
            {
                // The message as the queue would carry it: its due time must come back to the tick (a timer is matched by it).
                [MessageColumn] = JsonSerializer.Serialize(message, WorkflowJson.Options),
            };

        private static string Hour(DateTimeOffset at) => "q|" + at.UtcDateTime.ToString("yyyyMMddHH", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The queue takes whole seconds and rounds down, so the time to due is rounded UP (never early by rounding),
    /// then <paramref name="lead"/> whole seconds are taken off so the message is already in hand at the due time:
    /// the handler waits the rest in process and fires on time instead of one poll and one receive late. Firing
    /// before due is impossible either way: the handler checks the due time itself.
    /// </summary>
    public static TimeSpan TimerDelay(DateTimeOffset dueAt, DateTimeOffset now, TimeSpan maxDelay, TimeSpan lead)
    {
        var remaining = dueAt - now;
        if (remaining <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var seconds = Math.Ceiling(remaining.TotalSeconds) - Math.Floor(lead.TotalSeconds);
        var delay = TimeSpan.FromSeconds(Math.Max(seconds, 0));
        var max = TimeSpan.FromSeconds(Math.Floor(maxDelay.TotalSeconds));
        return delay < max ? delay : max;
    }
}
