using CalAimHub.Domain.Authorizations;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Functions.Workflows;
using CalAimHub.Workflows;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CalAimHub.Domain.Tests;

public class AuthorizationOptionsTests
{
    private static AuthorizationOptions Bind(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build()
            .GetSection("Authorizations").Get<AuthorizationOptions>() ?? new AuthorizationOptions();

    [Fact]
    public void Plan_settings_reach_the_policy_and_leave_the_regulatory_clocks_alone()
    {
        var policy = Bind(
            ("Authorizations:TrustedProviderNpis:0", "1003000126"),
            ("Authorizations:Subscribers:0", "plan-ops"),
            ("Authorizations:RoutineReminderLead", "04:00:00"),
            ("Authorizations:ReauthorizationReminderLead", "45.00:00:00"),
            ("Authorizations:CommunitySupportsPeriods:recuperative-care:InitialMonths", "3"),
            ("Authorizations:CommunitySupportsPeriods:recuperative-care:ReauthorizationMonths", "3")).ToPolicy();

        Assert.Contains("1003000126", policy.TrustedProviderNpis);
        Assert.Equal(["plan-ops"], policy.Subscribers);
        Assert.Equal(TimeSpan.FromHours(4), policy.Deadlines.RoutineReminderLead);
        Assert.Equal(TimeSpan.FromDays(45), policy.Periods.ReauthorizationReminderLead);
        Assert.Equal(new ServicePeriod(3, 3), policy.Periods.CommunitySupports["recuperative-care"]);
        Assert.Equal(new ServicePeriod(6, 6), policy.Periods.CommunitySupports["transitional-rent"]);
        Assert.Equal((5, 14, TimeSpan.FromHours(72), 2), (policy.Deadlines.RoutineDecisionWorkingDays, policy.Deadlines.ExtendedDecisionCalendarDays, policy.Deadlines.ExpeditedDecision, policy.Deadlines.DecisionNoticeBusinessDays));
    }

    [Fact]
    public void A_trusted_NPI_that_fails_its_check_digit_stops_the_app()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Bind(("Authorizations:TrustedProviderNpis:0", "1003000127")).ToPolicy());
        Assert.Equal("Authorizations:TrustedProviderNpis has an entry that fails the NPI check digit (Luhn with prefix 80840); check for a mistyped digit", e.Message);
    }

    [Theory]
    [InlineData("Authorizations:ClaimSweepGrace", "-00:00:01", "Authorizations:ClaimSweepGrace is -00:00:01; it must not be negative")]
    [InlineData("Authorizations:ClaimSweepBatchSize", "0", "Authorizations:ClaimSweepBatchSize is 0; it must be at least 1")]
    public void A_claim_sweep_setting_out_of_range_stops_the_app(string key, string value, string message)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Bind((key, value)).ToPolicy());
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void The_claim_sweep_waits_two_minutes_by_default()
    {
        Assert.Equal(TimeSpan.FromMinutes(2), Bind().ClaimSweepGrace);
    }

    [Fact]
    public void A_period_for_an_unknown_service_stops_the_app()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Bind(("Authorizations:CommunitySupportsPeriods:rent-help:InitialMonths", "3"), ("Authorizations:CommunitySupportsPeriods:rent-help:ReauthorizationMonths", "3")).ToPolicy());
        Assert.Equal("Authorizations:CommunitySupportsPeriods:rent-help is not a Community Supports service id", e.Message);
    }

    [Fact]
    public async Task The_accelerated_clock_starts_where_told_and_runs_and_waits_at_its_speed()
    {
        var start = new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.FromHours(-7));
        var clock = new AcceleratedTimeProvider(start, 3600);
        Assert.InRange(clock.GetUtcNow(), start, start.AddMinutes(1));

        // One virtual hour is one real second: the wait must end well before the 5 s real guard.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromHours(1), clock).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4));
        // A system timer may fire a millisecond or two before the stopwatch says its time is up: at 3600× that is a few
        // virtual seconds, so allow one virtual minute (17 ms real).
        Assert.InRange(clock.GetUtcNow(), start.AddHours(1).AddMinutes(-1), start.AddHours(1).AddSeconds(4 * 3600));

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AcceleratedTimeProvider(start, 0.5));
        Assert.Equal("speed", e.ParamName);
    }

    [Fact]
    public void Two_processes_given_one_epoch_read_the_same_business_time_whenever_they_started()
    {
        // Each handler instance (and each restart) builds its own clock. Without a shared epoch the one built later ran
        // behind by the gap × the speed (a restart 40 real minutes in: 40 business hours at 60×), so a timer armed by one
        // instance was not due for the other. The gap here is 1 s real = 1 business minute at 60×.
        (string, string)[] settings =
        [
            ("Authorizations:AcceleratedClock:Start", "2026-05-04T09:00:00-07:00"),
            ("Authorizations:AcceleratedClock:Speed", "60"),
            ("Authorizations:AcceleratedClock:Epoch", TimeProvider.System.GetUtcNow().AddMinutes(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
        ];
        TimeProvider BusinessClock()
        {
            var builder = Builder(settings);
            builder.AddWorkflows();
            builder.AddAuthorizations();
            return builder.Services.BuildServiceProvider().GetRequiredKeyedService<TimeProvider>(WorkflowClock.Key);
        }

        var first = BusinessClock();
        Thread.Sleep(TimeSpan.FromSeconds(1));
        var restarted = BusinessClock();

        var (a, b) = (first.GetUtcNow(), restarted.GetUtcNow());
        // 10 business seconds is 167 ms real: room for a descheduled thread between the two reads, far below the 60 s gap.
        Assert.InRange((a - b).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(10));
        // The epoch was one real minute ago: one business hour since Start (and the 1 s sleep: one more minute).
        var start = DateTimeOffset.Parse("2026-05-04T09:00:00-07:00", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(b, start.AddMinutes(60), start.AddMinutes(70));
    }

    [Fact]
    public void With_an_epoch_the_accelerated_clock_is_start_plus_the_real_time_since_the_epoch_times_the_speed()
    {
        var real = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));
        var start = new DateTimeOffset(2026, 5, 4, 9, 0, 0, TimeSpan.FromHours(-7));
        var epoch = real.GetUtcNow().AddSeconds(-30);

        var early = new AcceleratedTimeProvider(start, 60, epoch, real);
        real.Advance(TimeSpan.FromMinutes(5));
        var late = new AcceleratedTimeProvider(start, 60, epoch, real);

        Assert.Equal(start.AddMinutes(30).AddHours(5), early.GetUtcNow());
        Assert.Equal(early.GetUtcNow(), late.GetUtcNow());
    }

    private static WebApplicationBuilder Builder(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    private static readonly (string, string)[] FastClock = [("Authorizations:AcceleratedClock:Start", "2026-05-04T09:00:00-07:00"), ("Authorizations:AcceleratedClock:Speed", "3600")];

    [Fact]
    public void The_accelerated_clock_drives_the_business_clock_and_leaves_the_app_clock_real()
    {
        var builder = Builder(FastClock);
        builder.AddWorkflows();
        builder.AddAuthorizations();
        using var services = builder.Services.BuildServiceProvider();

        var business = services.GetRequiredKeyedService<TimeProvider>(WorkflowClock.Key);
        Assert.IsType<AcceleratedTimeProvider>(business);
        Assert.InRange(business.GetUtcNow(), DateTimeOffset.Parse("2026-05-04T09:00:00-07:00"), DateTimeOffset.Parse("2026-05-04T10:00:00-07:00"));
        Assert.Same(TimeProvider.System, services.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public void Without_the_accelerated_clock_the_business_clock_is_the_app_clock()
    {
        var builder = Builder();
        builder.AddWorkflows();
        builder.AddAuthorizations();
        using var services = builder.Services.BuildServiceProvider();

        Assert.Same(TimeProvider.System, services.GetRequiredKeyedService<TimeProvider>(WorkflowClock.Key));
    }

    [Fact]
    public void The_accelerated_clock_is_refused_in_Azure()
    {
        var builder = Builder([.. FastClock, ("WEBSITE_SITE_NAME", "calaimhub-prod")]);
        builder.AddWorkflows();

        var e = Assert.Throws<InvalidOperationException>(builder.AddAuthorizations);
        Assert.Equal("Authorizations:AcceleratedClock is a test setting and is refused in Azure; remove it", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_workflow_runtime_runs_on_the_accelerated_clock_whichever_is_added_first(bool workflowsFirst)
    {
        var builder = Builder(FastClock);
        // Clients only (never called here): the runtime needs them to be built.
        builder.Services.AddSingleton(StorageAccount.FromConnectionString("UseDevelopmentStorage=true", Azure.Storage.Queues.QueueMessageEncoding.Base64));
        builder.Services.AddSingleton<CalAimHub.Functions.Notifications.NotificationQueue>();
        if (workflowsFirst)
        {
            builder.AddWorkflows();
            builder.AddAuthorizations();
        }
        else
        {
            builder.AddAuthorizations();
            builder.AddWorkflows();
        }

        using var services = builder.Services.BuildServiceProvider();

        var business = services.GetRequiredKeyedService<TimeProvider>(WorkflowClock.Key);
        Assert.IsType<AcceleratedTimeProvider>(business);
        Assert.Same(business, services.GetRequiredService<WorkflowRuntime>().Clock);
        Assert.Same(TimeProvider.System, services.GetRequiredService<TimeProvider>());
    }
}
