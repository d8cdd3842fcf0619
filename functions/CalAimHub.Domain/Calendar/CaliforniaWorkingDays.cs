namespace CalAimHub.Domain.Calendar;

/// <summary>
/// The one California working-day calendar: Monday to Friday, minus the state holidays that close offices
/// (<see cref="CaliforniaStateHolidays"/>), with days counted in Pacific time. "Working days" (Health Net, DMHC) and
/// "business days" (NEMS notice table) mean the same thing in the Medi-Cal rules this hub implements, so both
/// clocks use this class.
/// </summary>
public sealed class CaliforniaWorkingDays
{
    private readonly Dictionary<int, IReadOnlyDictionary<DateOnly, Holiday>> observedByYear = [];
    private readonly Lock yearsLock = new();

    public CaliforniaWorkingDays(HolidayCalendar calendar)
    {
        Calendar = calendar;
        TimeZone = FindTimeZone(calendar.TimeZoneId);
    }

    /// <summary>
    /// US Pacific time under the rules in force since 2007 (Energy Policy Act of 2005: DST from the second Sunday in
    /// March to the first Sunday in November, 02:00 local). Used only when the host has no time zone database, so a
    /// slim container image cannot stop every working-day clock from being computed.
    /// </summary>
    public static TimeZoneInfo UsPacificSince2007 { get; } = TimeZoneInfo.CreateCustomTimeZone(
        "America/Los_Angeles", TimeSpan.FromHours(-8), "Pacific Time", "Pacific Standard Time", "Pacific Daylight Time",
        [
            TimeZoneInfo.AdjustmentRule.CreateAdjustmentRule(
                new DateTime(2007, 1, 1), DateTime.MaxValue.Date, TimeSpan.FromHours(1),
                TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 2, 0, 0), 3, 2, DayOfWeek.Sunday),
                TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 2, 0, 0), 11, 1, DayOfWeek.Sunday)),
        ]);

    private static TimeZoneInfo FindTimeZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException && id == UsPacificSince2007.Id)
        {
            return UsPacificSince2007;
        }
    }

    /// <summary>The calendar in force (<see cref="CaliforniaStateHolidays.Current"/>).</summary>
    public static CaliforniaWorkingDays Current { get; } = new(CaliforniaStateHolidays.Current);

    public HolidayCalendar Calendar { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>The holiday observed on this date (after Sunday/Saturday observance), or null.</summary>
    public Holiday? HolidayOn(DateOnly date) => ObservedIn(date.Year).GetValueOrDefault(date);

    public bool IsWorkingDay(DateOnly date) =>
        date.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && HolidayOn(date) is null;

    /// <summary>The Pacific calendar date an instant falls on.</summary>
    public DateOnly DateOf(DateTimeOffset instant) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, TimeZone).DateTime);

    /// <summary>The instant a Pacific calendar day begins (DST-aware).</summary>
    public DateTimeOffset StartOf(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, TimeZone.GetUtcOffset(local));
    }

    /// <summary>The <paramref name="n"/>-th working day after the date of <paramref name="instant"/>; the day of receipt never counts.</summary>
    public DateOnly WorkingDayAfter(DateTimeOffset instant, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var date = DateOf(instant);
        for (var counted = 0; counted < n;)
        {
            date = date.AddDays(1);
            if (IsWorkingDay(date))
            {
                counted++;
            }
        }

        return date;
    }

    /// <summary>
    /// "Within N working days of t": the end of the N-th working day after t's date (midnight Pacific that starts the
    /// next day). Ending at the close of the day, not at t + N days' time of day, is the reading that never cuts a
    /// requester's time short; a request received on Saturday starts counting Monday.
    /// </summary>
    public DateTimeOffset EndOfWorkingDays(DateTimeOffset instant, int n) => StartOf(WorkingDayAfter(instant, n).AddDays(1));

    /// <summary>Same count as <see cref="EndOfWorkingDays"/>; the name the notice rules use.</summary>
    public DateTimeOffset EndOfBusinessDays(DateTimeOffset instant, int n) => EndOfWorkingDays(instant, n);

    /// <summary>Working days strictly after <paramref name="from"/>'s date up to and including <paramref name="to"/>'s date.</summary>
    public int WorkingDaysBetween(DateTimeOffset from, DateTimeOffset to)
    {
        var start = DateOf(from);
        var end = DateOf(to);
        var count = 0;
        for (var date = start.AddDays(1); date <= end; date = date.AddDays(1))
        {
            if (IsWorkingDay(date))
            {
                count++;
            }
        }

        return count;
    }

    private IReadOnlyDictionary<DateOnly, Holiday> ObservedIn(int year)
    {
        lock (yearsLock)
        {
            if (!observedByYear.TryGetValue(year, out var observed))
            {
                // Observed dates of a year can come from the neighbouring year (New Year's Day on a Saturday is not
                // observed, but a Sunday Jan 1 moves to Monday Jan 2 of the same year); build from three years.
                var days = new Dictionary<DateOnly, Holiday>();
                for (var y = year - 1; y <= year + 1; y++)
                {
                    foreach (var holiday in Calendar.Holidays.Where(h => h.ClosesOffices))
                    {
                        var date = Observe(holiday, holiday.Date.In(y));
                        if (date.Year == year)
                        {
                            days.TryAdd(date, holiday);
                        }
                    }
                }

                observed = days;
                observedByYear[year] = observed;
            }

            return observed;
        }
    }

    private static DateOnly Observe(Holiday holiday, DateOnly date) => date.DayOfWeek switch
    {
        DayOfWeek.Sunday => date.AddDays(1),
        DayOfWeek.Saturday when holiday.OnSaturday == SaturdayRule.PrecedingFriday => date.AddDays(-1),
        _ => date,
    };
}
