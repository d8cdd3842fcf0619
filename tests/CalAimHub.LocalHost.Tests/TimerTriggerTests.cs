using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using CalAimHub.Testing;

namespace CalAimHub.LocalHost.Tests;

public sealed class TimerTriggerTests
{
    [Fact]
    public async Task A_schedule_every_second_invokes_the_function_with_the_timer_envelope()
    {
        using var app = TestApp.Create(new() { ["Tick"] = TestApp.Timer("* * * * * *") });
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler));

        await Eventually.TrueAsync(() => handler.Invocations("Tick").Count >= 2, TimeSpan.FromSeconds(15), "two timer invocations");

        var invocations = handler.Invocations("Tick");
        using var first = JsonDocument.Parse(invocations[0].Body);
        var timer = first.RootElement.GetProperty("Data").GetProperty("timer");
        Assert.False(timer.GetProperty("IsPastDue").GetBoolean());
        Assert.Equal(JsonValueKind.Null, timer.GetProperty("ScheduleStatus").GetProperty("Last").ValueKind);
        var next = timer.GetProperty("ScheduleStatus").GetProperty("Next").GetDateTimeOffset();
        Assert.Equal(0, next.Millisecond);
        Assert.InRange(next - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(-15), TimeSpan.FromSeconds(1.1));
        Assert.Equal("timer", first.RootElement.GetProperty("Metadata").GetProperty("sys").GetProperty("MethodName").GetString());
        using var second = JsonDocument.Parse(invocations[1].Body);
        Assert.Equal(JsonValueKind.String, second.RootElement.GetProperty("Data").GetProperty("timer").GetProperty("ScheduleStatus").GetProperty("Last").ValueKind);
    }

    [Fact]
    public async Task RunOnStartup_invokes_once_at_start_even_when_the_schedule_is_far_away()
    {
        using var app = TestApp.Create(new() { ["Yearly"] = TestApp.Timer("0 0 0 1 1 *", runOnStartup: true) });
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler));

        await Eventually.TrueAsync(() => handler.Invocations("Yearly").Count == 1, TimeSpan.FromSeconds(15), "the startup invocation");
        await Task.Delay(1000);

        Assert.Single(handler.Invocations("Yearly"));
    }

    [Fact]
    public async Task The_schedule_follows_the_TimeProvider_and_a_late_firing_is_past_due()
    {
        var start = new DateTimeOffset(2026, 3, 1, 10, 0, 30, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        using var app = TestApp.Create(new() { ["Sweep"] = TestApp.Timer("0 */5 * * * *") });
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with { TimeProvider = time });
        await Task.Delay(500);
        Assert.Empty(handler.Invocations("Sweep"));

        time.Advance(TimeSpan.FromMinutes(4.5)); // 10:05:00
        await Eventually.TrueAsync(() => handler.Invocations("Sweep").Count == 1, TimeSpan.FromSeconds(10), "the 10:05 invocation");
        using (var first = JsonDocument.Parse(handler.Invocations("Sweep")[0].Body))
        {
            var timer = first.RootElement.GetProperty("Data").GetProperty("timer");
            Assert.False(timer.GetProperty("IsPastDue").GetBoolean());
            Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 10, 0, TimeSpan.Zero), timer.GetProperty("ScheduleStatus").GetProperty("Next").GetDateTimeOffset());
        }

        await Task.Delay(300); // let the trigger wait for 10:10 on the old clock, then jump far past it
        time.Advance(TimeSpan.FromMinutes(12)); // 10:17:00: the 10:10 occurrence fires 7 minutes late (> the 5-minute interval)
        await Eventually.TrueAsync(() => handler.Invocations("Sweep").Count == 2, TimeSpan.FromSeconds(10), "the late invocation");
        using var second = JsonDocument.Parse(handler.Invocations("Sweep")[1].Body);
        var late = second.RootElement.GetProperty("Data").GetProperty("timer");
        Assert.True(late.GetProperty("IsPastDue").GetBoolean());
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 20, 0, TimeSpan.Zero), late.GetProperty("ScheduleStatus").GetProperty("Next").GetDateTimeOffset());
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 5, 0, TimeSpan.Zero), late.GetProperty("ScheduleStatus").GetProperty("Last").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_schedule_that_is_not_six_field_NCRONTAB_is_refused_at_start()
    {
        using var app = TestApp.Create(new() { ["Bad"] = TestApp.Timer("*/5 * * * *") });
        await using var handler = await StandInHandler.StartAsync();

        var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(Hubs.For(app, handler)));

        Assert.StartsWith(
            "Bad/function.json: schedule '*/5 * * * *' is not a 6-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week}): ",
            error.Message);
    }

    [Fact]
    public async Task A_schedule_override_replaces_the_function_json_schedule()
    {
        using var app = TestApp.Create(new() { ["Yearly"] = TestApp.Timer("0 0 0 1 1 *") });
        await using var handler = await StandInHandler.StartAsync();
        await using var hub = await LocalHub.StartAsync(Hubs.For(app, handler) with { TimerSchedules = new Dictionary<string, string> { ["Yearly"] = "* * * * * *" } });

        await Eventually.TrueAsync(() => handler.Invocations("Yearly").Count >= 2, TimeSpan.FromSeconds(15), "two invocations on the overriding schedule");
    }

    [Theory]
    [InlineData("Yearly", "*/5 * * * *", "TimerSchedules[Yearly]: schedule '*/5 * * * *' is not a 6-field NCRONTAB expression")]
    [InlineData("Nightly", "* * * * * *", "TimerSchedules[Nightly]: the app has no timer function 'Nightly'.")]
    public async Task A_schedule_override_that_cannot_apply_is_refused_at_start_naming_it(string function, string schedule, string expected)
    {
        using var app = TestApp.Create(new() { ["Yearly"] = TestApp.Timer("0 0 0 1 1 *") });
        await using var handler = await StandInHandler.StartAsync();

        var error = await Assert.ThrowsAsync<LocalHubException>(() => LocalHub.StartAsync(Hubs.For(app, handler) with { TimerSchedules = new Dictionary<string, string> { [function] = schedule } }));

        Assert.StartsWith(expected, error.Message);
    }
}
