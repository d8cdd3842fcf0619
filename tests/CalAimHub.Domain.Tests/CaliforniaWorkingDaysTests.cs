using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;

namespace CalAimHub.Domain.Tests;

public class CaliforniaWorkingDaysTests
{
    private static readonly CaliforniaWorkingDays Calendar = CaliforniaWorkingDays.Current;

    private static DateTimeOffset Pacific(string local) => DateTimeOffset.Parse(local, System.Globalization.CultureInfo.InvariantCulture);

    public static TheoryData<int, string[]> PublishedCalHrSchedules => new()
    {
        // CalHR's published state holiday lists (observed dates), copied from the schedule pages for those years.
        { 2014, ["2014-01-01", "2014-01-20", "2014-02-17", "2014-03-31", "2014-05-26", "2014-07-04", "2014-09-01", "2014-11-11", "2014-11-27", "2014-11-28", "2014-12-25"] },
        { 2017, ["2017-01-02", "2017-01-16", "2017-02-20", "2017-03-31", "2017-05-29", "2017-07-04", "2017-09-04", "2017-11-10", "2017-11-23", "2017-11-24", "2017-12-25"] },
        { 2024, ["2024-01-01", "2024-01-15", "2024-02-19", "2024-04-01", "2024-05-27", "2024-07-04", "2024-09-02", "2024-11-11", "2024-11-28", "2024-11-29", "2024-12-25"] },
    };

    [Theory]
    [MemberData(nameof(PublishedCalHrSchedules))]
    public void Weekday_holidays_of_a_year_match_the_published_CalHR_schedule(int year, string[] expected)
    {
        var holidays = Enumerable.Range(0, DateTime.IsLeapYear(year) ? 366 : 365)
            .Select(d => new DateOnly(year, 1, 1).AddDays(d))
            .Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && Calendar.HolidayOn(d) is not null)
            .Select(d => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(expected, holidays);
    }

    [Fact]
    public void A_Sunday_holiday_is_observed_the_next_Monday()
    {
        // Cesar Chavez Day 2024 fell on Sunday 31 March.
        Assert.Equal("cesar-chavez-day", Calendar.HolidayOn(new DateOnly(2024, 4, 1))?.Id);
        Assert.False(Calendar.IsWorkingDay(new DateOnly(2024, 4, 1)));
    }

    [Fact]
    public void A_Saturday_holiday_leaves_Friday_a_working_day_except_Veterans_Day()
    {
        // 4 July 2026 is a Saturday: state staff get holiday credit, Friday 3 July stays a working day.
        Assert.True(Calendar.IsWorkingDay(new DateOnly(2026, 7, 3)));
        // 11 November 2023 was a Saturday: Veterans Day observed Friday 10 November (Gov. Code §6701).
        Assert.Equal("veterans-day", Calendar.HolidayOn(new DateOnly(2023, 11, 10))?.Id);
        Assert.False(Calendar.IsWorkingDay(new DateOnly(2023, 11, 10)));
    }

    [Fact]
    public void Section_6700_days_on_which_offices_open_are_working_days()
    {
        Assert.True(Calendar.IsWorkingDay(new DateOnly(2026, 2, 12))); // Lincoln Day, a Thursday
        Assert.True(Calendar.IsWorkingDay(new DateOnly(2026, 6, 19))); // Juneteenth, a Friday
        Assert.True(Calendar.IsWorkingDay(new DateOnly(2026, 9, 25))); // Native American Day
        Assert.True(Calendar.IsWorkingDay(new DateOnly(2026, 10, 12))); // Columbus Day
    }

    [Fact]
    public void Five_working_days_skip_the_weekend_and_end_at_Pacific_midnight_across_the_DST_change()
    {
        // Friday 6 March 2026; DST starts Sunday 8 March; the 5th working day is Friday 13 March.
        var due = Calendar.EndOfWorkingDays(Pacific("2026-03-06T15:30:00-08:00"), 5);
        Assert.Equal(Pacific("2026-03-14T00:00:00-07:00"), due);
    }

    [Fact]
    public void Five_working_days_skip_Thanksgiving_and_the_day_after()
    {
        var due = Calendar.EndOfWorkingDays(Pacific("2026-11-19T10:00:00-08:00"), 5);
        Assert.Equal(Pacific("2026-12-01T00:00:00-08:00"), due);
    }

    [Fact]
    public void Five_working_days_skip_Cesar_Chavez_Day()
    {
        var due = Calendar.EndOfWorkingDays(Pacific("2026-03-27T09:00:00-07:00"), 5);
        Assert.Equal(Pacific("2026-04-07T00:00:00-07:00"), due);
    }

    [Fact]
    public void A_request_received_on_Saturday_starts_counting_on_Monday()
    {
        var due = Calendar.EndOfWorkingDays(Pacific("2026-05-02T11:00:00-07:00"), 5);
        Assert.Equal(Pacific("2026-05-09T00:00:00-07:00"), due);
    }

    [Fact]
    public void The_day_is_the_Pacific_day_even_when_UTC_has_moved_on()
    {
        // 23:30 Pacific on Monday is Tuesday in UTC; the count still starts from Monday.
        var due = Calendar.EndOfWorkingDays(Pacific("2026-05-05T06:30:00Z"), 1);
        Assert.Equal(Pacific("2026-05-06T00:00:00-07:00"), due);
    }

    [Fact]
    public void Business_days_count_the_same_as_working_days_and_skip_Christmas()
    {
        var due = Calendar.EndOfBusinessDays(Pacific("2026-12-23T14:00:00-08:00"), 2);
        Assert.Equal(Pacific("2026-12-29T00:00:00-08:00"), due);
        Assert.Equal(2, Calendar.WorkingDaysBetween(Pacific("2026-12-23T14:00:00-08:00"), Pacific("2026-12-28T09:00:00-08:00")));
    }

    [Fact]
    public void The_built_in_Pacific_rules_match_the_time_zone_database_hour_by_hour()
    {
        var system = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
        for (var t = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero); t.Year < 2029; t = t.AddHours(1))
        {
            Assert.Equal(system.GetUtcOffset(t), CaliforniaWorkingDays.UsPacificSince2007.GetUtcOffset(t));
        }
    }

    [Fact]
    public void Negative_counts_are_refused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Calendar.WorkingDayAfter(DateTimeOffset.UnixEpoch, -1));
        Assert.Equal("n", e.ParamName);
    }

    [Fact]
    public void The_calendar_names_its_source_and_effective_date()
    {
        Assert.Contains("Government Code §6700", CaliforniaStateHolidays.Current.Source, StringComparison.Ordinal);
        Assert.Equal(new DateOnly(2015, 1, 1), CaliforniaStateHolidays.Current.EffectiveFrom);
        Assert.Equal(11, CaliforniaStateHolidays.Current.Holidays.Count(h => h.ClosesOffices));
    }
}

public class AuthorizationDeadlineTests
{
    private static readonly CaliforniaWorkingDays Calendar = CaliforniaWorkingDays.Current;
    private static readonly AuthorizationDeadline Rules = AuthorizationDeadline.Current;

    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Expedited_is_72_clock_hours_straight_across_a_weekend()
    {
        Assert.Equal(At("2026-05-11T16:00:00-07:00"), Rules.DecisionDue(At("2026-05-08T16:00:00-07:00"), Urgency.Expedited, Calendar));
    }

    [Fact]
    public void Routine_is_the_end_of_the_fifth_working_day()
    {
        Assert.Equal(At("2026-05-09T00:00:00-07:00"), Rules.DecisionDue(At("2026-05-01T16:00:00-07:00"), Urgency.Routine, Calendar));
    }

    [Fact]
    public void The_extension_runs_14_calendar_days_from_receipt_not_from_the_extension()
    {
        Assert.Equal(At("2026-06-16T00:00:00-07:00"), Rules.ExtendedDecisionDue(At("2026-06-01T09:00:00-07:00"), Calendar));
    }

    [Fact]
    public void Notices_are_due_two_business_days_after_the_decision()
    {
        Assert.Equal(At("2026-12-29T00:00:00-08:00"), Rules.NoticeDue(At("2026-12-23T14:00:00-08:00"), At("2026-12-21T09:00:00-08:00"), Urgency.Routine, Calendar));
    }

    [Fact]
    public void Notices_never_pass_the_14_day_cap()
    {
        // Received 10 Dec: the cap is the end of 24 Dec, before the 2 business days after a 23 Dec decision.
        Assert.Equal(At("2026-12-25T00:00:00-08:00"), Rules.NoticeDue(At("2026-12-23T14:00:00-08:00"), At("2026-12-10T09:00:00-08:00"), Urgency.Routine, Calendar));
    }

    [Fact]
    public void Expedited_notices_never_pass_the_72_hour_cap()
    {
        Assert.Equal(At("2026-05-11T16:00:00-07:00"), Rules.NoticeDue(At("2026-05-11T10:00:00-07:00"), At("2026-05-08T16:00:00-07:00"), Urgency.Expedited, Calendar));
    }

    [Fact]
    public void After_a_late_decision_the_notices_get_their_own_two_business_days()
    {
        Assert.Equal(At("2026-05-14T00:00:00-07:00"), Rules.NoticeDue(At("2026-05-11T17:00:00-07:00"), At("2026-05-08T16:00:00-07:00"), Urgency.Expedited, Calendar));
    }

    [Fact]
    public void ECM_periods_are_12_months_then_6_months_per_reauthorization()
    {
        var ecm = AuthorizationPeriods.Current.For(RequestedService.Ecm("justice-involved"));
        Assert.Equal((12, 6), (ecm.InitialMonths, ecm.ReauthorizationMonths));
        Assert.Equal(TimeSpan.FromDays(30), AuthorizationPeriods.Current.ReauthorizationReminderLead);
        Assert.Equal(At("2027-03-10T00:00:00-08:00"), AuthorizationPeriods.EndOf(At("2026-03-10T10:00:00-07:00"), 12, Calendar));
    }

    [Fact]
    public void CS_periods_are_configuration_per_service()
    {
        Assert.Equal(6, AuthorizationPeriods.Current.For(RequestedService.CommunitySupports("transitional-rent")).InitialMonths);
        var custom = AuthorizationPeriods.Current with
        {
            CommunitySupports = new Dictionary<string, ServicePeriod> { ["recuperative-care"] = new(3, 3) },
        };
        Assert.Equal(3, custom.For(RequestedService.CommunitySupports("recuperative-care")).InitialMonths);
        Assert.Equal(6, custom.For(RequestedService.CommunitySupports("respite-services")).InitialMonths);
    }
}
