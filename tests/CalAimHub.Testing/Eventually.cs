using System.Text.Json;

namespace CalAimHub.Testing;

/// <summary>Polls until a condition holds (end-to-end tests wait on queues, tables and receivers this way).</summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>The first value of <paramref name="probe"/> that is <paramref name="done"/>; a <see cref="TimeoutException"/>
    /// naming <paramref name="what"/> and the last value seen after <paramref name="timeout"/>.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}; last value: {JsonSerializer.Serialize(value)}");
            }

            await Task.Delay(Interval);
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        ValueAsync(() => Task.FromResult(condition()), v => v, timeout, what);
}
