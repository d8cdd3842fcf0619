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
/// </remarks>
public sealed class AcceleratedTimeProvider : TimeProvider
{
    private readonly DateTimeOffset start;
    private readonly long startTimestamp;

    public AcceleratedTimeProvider(DateTimeOffset start, double speed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(speed, 1.0);
        this.start = start;
        Speed = speed;
        startTimestamp = System.GetTimestamp();
    }

    public double Speed { get; }

    public override DateTimeOffset GetUtcNow() =>
        start + TimeSpan.FromTicks((long)(System.GetElapsedTime(startTimestamp).Ticks * Speed));

    public override long GetTimestamp() => startTimestamp + (long)((System.GetTimestamp() - startTimestamp) * Speed);

    public override long TimestampFrequency => System.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

    private TimeSpan Scale(TimeSpan span) => span == Timeout.InfiniteTimeSpan ? span : TimeSpan.FromTicks((long)(span.Ticks / Speed));
}
