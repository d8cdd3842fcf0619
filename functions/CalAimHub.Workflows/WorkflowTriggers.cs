using System.Text.Json;
using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CalAimHub.Workflows;

/// <summary>A queue message the runtime cannot use; the reason names the problem (never member data).</summary>
/// <param name="Permanent">Retrying cannot help (the instance failed, the type takes no such event): dead-letter it now.</param>
public sealed class WorkflowMessageException(string reason, bool permanent = false) : Exception(reason)
{
    public bool Permanent { get; } = permanent;
}

/// <summary>The work behind the <c>WorkflowWork</c>, <c>WorkflowTimers</c> and <c>WorkflowSweeper</c> functions.</summary>
/// <param name="time">The workflow clock (<see cref="WorkflowClock"/>): timers and the ages of workflow state.</param>
/// <param name="wallClock">The app's real clock: an outbox row's age is measured from its table <c>Timestamp</c>, which the
/// storage service stamps in real time. Measured by an accelerated workflow clock that starts months before today, every row
/// looked written in the future and was never swept (issue 11, the chaos trial's lost notices).</param>
public sealed class WorkflowTriggers(
    WorkflowRuntime runtime, WorkflowQueues queues, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, IOptions<WorkflowOptions> options, ILogger<WorkflowTriggers> logger,
    TimeProvider wallClock)
{
    /// <summary>
    /// Up to this before due, a timer message waits in process instead of re-arming (a re-armed message would come
    /// back a whole second later at best): the lead it was sent with, plus a second for clock skew.
    /// </summary>
    private TimeSpan InProcessWait => options.Value.TimerLead + TimeSpan.FromSeconds(1);

    /// <summary><c>WorkflowWork</c>: applies one event to one instance.</summary>
    public async Task<string> ApplyWorkAsync(string message, CancellationToken cancellationToken)
    {
        var work = Parse<WorkflowWorkMessage>(message, "workflow-work", "instanceId, eventId, name and data");
        if (string.IsNullOrEmpty(work.InstanceId) || string.IsNullOrEmpty(work.EventId) || string.IsNullOrEmpty(work.Name))
        {
            throw new WorkflowMessageException("workflow-work message needs instanceId, eventId and name");
        }

        if (work.Name.StartsWith('$') || work.Name is WorkflowEvent.Started or WorkflowEvent.TimerFired)
        {
            throw new WorkflowMessageException($"workflow-work message names reserved event '{work.Name}'; raise an application event name");
        }

        var result = await runtime.ApplyAsync(work.InstanceId, new WorkflowEvent(work.EventId, work.Name, work.Data, time.GetUtcNow()), cancellationToken);
        return result.Outcome switch
        {
            // Retried (it may be a child whose start is still on its way), then dead-lettered with this reason.
            ApplyOutcome.NotFound => throw new WorkflowMessageException($"workflow instance '{work.InstanceId}' does not exist"),
            // Never dropped quietly: a Failed instance takes no more events, so the event goes to the poison queue with why.
            ApplyOutcome.Gone when result.Instance?.Status == WorkflowRuntimeStatus.Failed => throw new WorkflowMessageException(
                $"workflow instance '{work.InstanceId}' is Failed and takes no more events; event '{work.Name}' ({work.EventId}) was not applied", permanent: true),
            ApplyOutcome.UnknownEvent => throw new WorkflowMessageException(
                $"workflow instance '{work.InstanceId}' is a '{result.Instance?.Type}' workflow, which takes no event '{work.Name}'; event {work.EventId} was not applied", permanent: true),
            // Retried by the queue (and dead-lettered with this reason) until someone resumes the instance.
            ApplyOutcome.SuspendedFull => throw new WorkflowMessageException($"workflow instance '{work.InstanceId}' is suspended and holds {InstanceTransition.MaxHeldEvents} events; resume it"),
            _ => $"event '{work.Name}' on {work.InstanceId}: {result.Outcome}",
        };
    }

    /// <summary>
    /// <c>WorkflowTimers</c>: fires a due timer, re-arms one that is not due yet (long timers, early delivery), drops
    /// stale ones. Never fires before the due time.
    /// </summary>
    public async Task<string> FireTimerAsync(string message, CancellationToken cancellationToken) =>
        (await HandleTimerAsync(message, cancellationToken)).Log;

    /// <summary><see cref="FireTimerAsync"/> with the apply result (its commit time measures timer lateness).</summary>
    public async Task<TimerHandling> HandleTimerAsync(string message, CancellationToken cancellationToken)
    {
        var timer = Parse<WorkflowTimerMessage>(message, "workflow-timers", "instanceId, timerId and dueAt");
        if (string.IsNullOrEmpty(timer.InstanceId) || string.IsNullOrEmpty(timer.TimerId))
        {
            throw new WorkflowMessageException("workflow-timers message needs instanceId, timerId and dueAt");
        }

        var remaining = timer.DueAt - time.GetUtcNow();
        if (remaining > InProcessWait)
        {
            var instance = await runtime.GetAsync(timer.InstanceId, cancellationToken);
            if (instance is null || !instance.Timers.TryGetValue(timer.TimerId, out var due) || due != timer.DueAt)
            {
                return new TimerHandling(timer, $"timer '{timer.TimerId}' on {timer.InstanceId}: stale, not re-armed", null);
            }

            await queues.ArmTimerAsync(timer, time.GetUtcNow(), options.Value, cancellationToken);
            return new TimerHandling(timer, $"timer '{timer.TimerId}' on {timer.InstanceId}: re-armed, {remaining.TotalSeconds:0} s to go", null);
        }

        // Timers may wake a millisecond or so early (clock granularity): wait until the clock really says due.
        while ((remaining = timer.DueAt - time.GetUtcNow()) > TimeSpan.Zero)
        {
            await Task.Delay(remaining < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : remaining, time, cancellationToken);
        }

        var fired = WorkflowEvent.ForTimer(InstanceTransition.TimerEventId(timer.TimerId, timer.DueAt), timer.TimerId, timer.DueAt, time.GetUtcNow());
        var result = await runtime.ApplyAsync(timer.InstanceId, fired, cancellationToken);
        // A purged instance's timer (it was finished, so nothing waits for it) is dropped quietly, like a stale one.
        return new TimerHandling(timer, result.Outcome == ApplyOutcome.NotFound
            ? $"timer '{timer.TimerId}' on {timer.InstanceId}: no such instance (purged), dropped"
            : $"timer '{timer.TimerId}' on {timer.InstanceId}: {result.Outcome}", result);
    }

    /// <summary>
    /// <c>WorkflowSweeper</c>: re-dispatches outbox rows a crash left behind (timer messages included, so a crash
    /// cannot lose a timer), reconciles recently written index rows, purges finished instances past retention, and
    /// queues the parked timers that are now within <see cref="WorkflowOptions.TimerQueueHorizon"/> of due.
    /// </summary>
    public async Task<SweepReport> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var realNow = wallClock.GetUtcNow();
        var settings = options.Value;
        int redispatched = 0, reconciled = 0, purged = 0, failed = 0;

        await foreach (var row in runtime.Store.OutboxRowsAsync(cancellationToken))
        {
            if (row.Timestamp is { } written && realNow - written < settings.SweepGrace)
            {
                continue;
            }

            try
            {
                await runtime.DispatchAsync(row, cancellationToken);
                redispatched++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed++;
                logger.LogWarning(e, "Sweeper could not dispatch outbox row {RowKey} of workflow instance {InstanceId}", row.RowKey, row.InstanceId);
            }
        }

        await foreach (var entry in runtime.Store.SweepCandidatesAsync(now - settings.CompletedRetention, now - settings.ReconcileWindow, now - settings.SweepGrace, cancellationToken))
        {
            var age = now - entry.LastUpdatedTime;
            if (entry.IsTerminal && age > settings.CompletedRetention)
            {
                // The index may be ahead of the instance after a crash: purge only what the state row says is finished.
                var instance = await runtime.GetAsync(entry.InstanceId, cancellationToken);
                if (instance is null || instance.IsTerminal)
                {
                    purged += (await runtime.Store.PurgeAsync(entry.InstanceId, cancellationToken)).Outcome == PurgeOutcome.Purged ? 1 : 0;
                    if (instance is null)
                    {
                        await runtime.Store.DeleteIndexAsync(entry, cancellationToken);
                    }
                }
            }
            else if (age > settings.SweepGrace && age < settings.ReconcileWindow)
            {
                reconciled += await ReconcileAsync(entry, cancellationToken) ? 1 : 0;
            }
        }

        var timersQueued = await queues.QueueParkedTimersAsync(now, settings, cancellationToken);
        return new SweepReport(redispatched, reconciled, purged, failed, timersQueued);
    }

    /// <summary>
    /// Index rows are written just before their commit; a crash in between leaves a row ahead of its instance (or
    /// naming one that was never created). Recently written rows are checked against the state row and repaired.
    /// </summary>
    /// <remarks>
    /// A row outside its instance's current partition (the layout before shards, or a start of another type that lost) is
    /// moved: the instance's row is written where it belongs and the one met is deleted, so listings show it once.
    /// </remarks>
    private async Task<bool> ReconcileAsync(WorkflowIndexEntry entry, CancellationToken cancellationToken)
    {
        var (stored, _) = await runtime.Store.LoadAsync(entry.InstanceId, null, cancellationToken);
        if (stored is null)
        {
            await runtime.Store.DeleteIndexAsync(entry, cancellationToken);
            return true;
        }

        var actual = WorkflowIndexEntry.Of(stored.Instance);
        var current = WorkflowStore.IndexPartition(actual.Type, actual.InstanceId);
        var met = entry.Partition ?? WorkflowStore.IndexPartition(entry.Type, entry.InstanceId);
        if (met == current && stored.IndexElsewhere is null && actual.Lists(entry))
        {
            return false;
        }

        await runtime.Store.UpsertIndexAsync(actual, cancellationToken, stored.IndexElsewhere);
        if (met != current && met != stored.IndexElsewhere)
        {
            await runtime.Store.DeleteIndexAsync(entry, cancellationToken);
        }

        return true;
    }

    private static T Parse<T>(string message, string queue, string fields)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(message, WorkflowJson.Options)
                ?? throw new WorkflowMessageException($"{queue} message is JSON null; send an object with {fields}");
        }
        catch (JsonException e)
        {
            // Position only: a JSON exception's text can quote the message, and that reason ends up in dead letters and logs.
            throw new WorkflowMessageException($"{queue} message is not valid JSON at {e.Path ?? "$"} (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}); send an object with {fields}");
        }
    }
}

/// <summary>What one timer message did: fired (with the apply result), re-armed, or dropped.</summary>
public sealed record TimerHandling(WorkflowTimerMessage Timer, string Log, ApplyResult? Result);

public sealed record SweepReport(int Redispatched, int IndexRowsReconciled, int Purged, int Failed, int ParkedTimersQueued = 0)
{
    public override string ToString() => $"outbox rows re-dispatched: {Redispatched}, index rows reconciled: {IndexRowsReconciled}, instances purged: {Purged}, dispatch failures: {Failed}, parked timers queued: {ParkedTimersQueued}";
}
