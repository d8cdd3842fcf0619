using CalAimHub.Workflows;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// A clock that starts at a chosen instant and runs <see cref="Speed"/> times faster than real time, for end-to-end
/// tests of day-long regulatory clocks in seconds (configuration <c>Authorizations:AcceleratedClock:Start</c> and
/// <c>:Speed</c>; refused in Azure). It replaces the <see cref="WorkflowClock"/> only, never the app's clock.
/// </summary>
/// <remarks>
/// Why a fast clock and not shorter deadlines: the point of the test is that a breach lands on the exact
/// California working-day deadline (weekends, holidays, Pacific midnight). Shrinking the rules would test different
/// rules; speeding the clock tests the real ones. Timers still work: the runtime arms queue delays of at most
/// <c>Workflows:MaxTimerDelay</c> (set to a second in the test) and re-checks this clock on each delivery, and
/// timer waits inside the process go through <see cref="CreateTimer"/>, which scales them down.
/// <para>
/// Why an epoch: a clock that starts over with its process gives every process its own business time. Two handler
/// instances, or one restarted by the host, then disagree by (the gap between their starts) × <see cref="Speed"/> — hours
/// at 60× — so a timer armed by one is not due for the other, and re-arms until a process whose clock is far enough ahead
/// gets it (the chaos trial's late and lost reminders). With <c>:Epoch</c> (a real instant; the local host sets one for all
/// its instances) every process reads Start + (real now − Epoch) × Speed, the same business time.
/// </para>
/// </remarks>
public sealed class AcceleratedTimeProvider : TimeProvider
{
    private readonly DateTimeOffset start;
    private readonly long startTimestamp;
    private readonly DateTimeOffset? epoch;
    private readonly TimeProvider real;

    /// <param name="epoch">The real instant at which this clock reads <paramref name="start"/>; null = when it is made.</param>
    /// <param name="real">The real clock the epoch is read against (the system clock unless a test says otherwise).</param>
    public AcceleratedTimeProvider(DateTimeOffset start, double speed, DateTimeOffset? epoch = null, TimeProvider? real = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(speed, 1.0);
        this.start = start;
        Speed = speed;
        this.epoch = epoch;
        this.real = real ?? System;
        startTimestamp = System.GetTimestamp();
    }

    public double Speed { get; }

    public override DateTimeOffset GetUtcNow() => epoch is { } anchor
        ? start + TimeSpan.FromTicks((long)((real.GetUtcNow() - anchor).Ticks * Speed))
        : start + TimeSpan.FromTicks((long)(System.GetElapsedTime(startTimestamp).Ticks * Speed));

    public override long GetTimestamp() => startTimestamp + (long)((System.GetTimestamp() - startTimestamp) * Speed);

    public override long TimestampFrequency => System.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

    private TimeSpan Scale(TimeSpan span) => span == Timeout.InfiniteTimeSpan ? span : TimeSpan.FromTicks((long)(span.Ticks / Speed));
}
