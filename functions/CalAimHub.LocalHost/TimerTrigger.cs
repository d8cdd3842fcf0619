using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Invocations;
using Cronos;

namespace CalAimHub.LocalHost;

/// <summary>
/// One timerTrigger function: an NCRONTAB schedule with seconds (<c>{second} {minute} {hour} {day} {month} {day-of-week}</c>)
/// in UTC, optional runOnStartup. Invocations of one function never overlap (the host awaits each); occurrences missed
/// while an invocation ran are skipped, and the next invocation is marked IsPastDue when it starts later than one
/// schedule interval after its planned time.
/// </summary>
internal sealed class TimerTrigger
{
    private readonly FunctionDefinition _function;
    private readonly CronExpression _schedule;
    private readonly FunctionInvoker _invoker;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;

    public TimerTrigger(FunctionDefinition function, FunctionInvoker invoker, TimeProvider time, Action<string> log)
    {
        _function = function;
        _schedule = ParseSchedule(function);
        _invoker = invoker;
        _time = time;
        _log = log;
    }

    internal static CronExpression ParseSchedule(FunctionDefinition function, string? source = null)
    {
        var schedule = function.Trigger.Schedule!;
        try
        {
            return CronExpression.Parse(schedule, CronFormat.IncludeSeconds);
        }
        catch (CronFormatException e)
        {
            throw new LocalHubException(
                $"{source ?? function.Name + "/function.json"}: schedule '{schedule}' is not a 6-field NCRONTAB expression ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}): {e.Message}");
        }
    }

    public async Task RunAsync(CancellationToken stopping, CancellationToken aborting)
    {
        DateTimeOffset? last = null;
        try
        {
            if (_function.Trigger.RunOnStartup)
            {
                var now = _time.GetUtcNow();
                await InvokeAsync(isPastDue: false, last, Next(now), now, aborting);
                last = now;
            }

            while (!stopping.IsCancellationRequested)
            {
                var planned = Next(_time.GetUtcNow());
                // Timers can wake a little early; never fire before the planned time (or twice for one occurrence).
                for (var wait = planned - _time.GetUtcNow(); wait > TimeSpan.Zero; wait = planned - _time.GetUtcNow())
                {
                    await Task.Delay(wait, _time, stopping);
                }

                var now = _time.GetUtcNow();
                var following = Next(planned);
                var isPastDue = now - planned > following - planned;
                await InvokeAsync(isPastDue, last, Next(now), now, aborting);
                last = planned;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested || aborting.IsCancellationRequested)
        {
        }
    }

    private DateTimeOffset Next(DateTimeOffset from) =>
        _schedule.GetNextOccurrence(from, TimeZoneInfo.Utc)
        ?? throw new LocalHubException($"{_function.Name}: schedule '{_function.Trigger.Schedule}' has no future occurrence.");

    private async Task InvokeAsync(bool isPastDue, DateTimeOffset? last, DateTimeOffset next, DateTimeOffset now, CancellationToken aborting)
    {
        var envelope = InvocationEnvelope.ForTimer(_function.Trigger.Name, isPastDue, last, next, now);
        var result = await _invoker.InvokeAsync(_function.Name, envelope, aborting);
        _log($"{_function.Name} timer{(isPastDue ? " (past due)" : "")}: {(result.Succeeded ? "succeeded" : "failed")} ({result.Status}) in {result.Duration.TotalMilliseconds:0} ms [{result.InvocationId}]");
    }
}
