namespace CalAimHub.Domain.Calendar;

/// <summary>
/// The California state holidays that close state offices, as versioned data. Working-day clocks (authorization
/// decisions, decision notices, claim payment) skip these and weekends; <see cref="CaliforniaWorkingDays"/> is the
/// only place that counts them.
/// </summary>
/// <remarks>
/// Why this list and not all of Government Code §6700: §6700 also names days on which state offices stay open
/// (Lincoln Day Feb 12, Admission Day Sep 9, Native American Day, Columbus Day, Good Friday noon–3 p.m., and in later
/// amendments Lunar New Year, Genocide Remembrance Day and Juneteenth). A "working day" is a day the offices that
/// receive and decide requests work, so the calendar uses the holidays state employees actually take
/// (Gov. Code §19853, published yearly by CalHR). Those extra §6700 days are kept below with <c>ClosesOffices =
/// false</c> so a plan that closes on them can switch one flag, and so nobody re-adds them by mistake.
/// Observance (Gov. Code §6701, CalHR notes): a holiday on Sunday is observed the following Monday; a holiday on
/// Saturday earns state staff holiday credit and closes nothing, except Veterans Day, observed the preceding Friday.
/// </remarks>
public static class CaliforniaStateHolidays
{
    public const string Source =
        "California Government Code §6700 (holidays in this state), §6701 (Sunday/Saturday observance), §19853 and the " +
        "CalHR state holiday schedule (holidays observed by state offices): https://www.calhr.ca.gov/employees/Pages/holidays.aspx";

    /// <summary>The holiday set in force since Native American Day was added to §6700 (AB 1973, effective 1 Jan 2015).</summary>
    public static readonly HolidayCalendar V2015 = new(
        Name: "california-state-holidays",
        Version: "2015-01-01",
        EffectiveFrom: new DateOnly(2015, 1, 1),
        Source: Source,
        TimeZoneId: "America/Los_Angeles",
        Holidays:
        [
            new("new-years-day", "New Year's Day", HolidayDate.Fixed(1, 1), SaturdayRule.NotObserved, ClosesOffices: true),
            new("martin-luther-king-jr-day", "Martin Luther King Jr. Day", HolidayDate.NthWeekday(1, DayOfWeek.Monday, 3), SaturdayRule.NotObserved, ClosesOffices: true),
            new("lincoln-day", "Lincoln Day", HolidayDate.Fixed(2, 12), SaturdayRule.NotObserved, ClosesOffices: false),
            new("presidents-day", "Presidents' Day", HolidayDate.NthWeekday(2, DayOfWeek.Monday, 3), SaturdayRule.NotObserved, ClosesOffices: true),
            new("cesar-chavez-day", "Cesar Chavez Day", HolidayDate.Fixed(3, 31), SaturdayRule.NotObserved, ClosesOffices: true),
            new("memorial-day", "Memorial Day", HolidayDate.LastWeekday(5, DayOfWeek.Monday), SaturdayRule.NotObserved, ClosesOffices: true),
            new("juneteenth", "Juneteenth", HolidayDate.Fixed(6, 19), SaturdayRule.NotObserved, ClosesOffices: false),
            new("independence-day", "Independence Day", HolidayDate.Fixed(7, 4), SaturdayRule.NotObserved, ClosesOffices: true),
            new("labor-day", "Labor Day", HolidayDate.NthWeekday(9, DayOfWeek.Monday, 1), SaturdayRule.NotObserved, ClosesOffices: true),
            new("admission-day", "Admission Day", HolidayDate.Fixed(9, 9), SaturdayRule.NotObserved, ClosesOffices: false),
            new("native-american-day", "Native American Day", HolidayDate.NthWeekday(9, DayOfWeek.Friday, 4), SaturdayRule.NotObserved, ClosesOffices: false),
            new("columbus-day", "Columbus Day", HolidayDate.NthWeekday(10, DayOfWeek.Monday, 2), SaturdayRule.NotObserved, ClosesOffices: false),
            new("veterans-day", "Veterans Day", HolidayDate.Fixed(11, 11), SaturdayRule.PrecedingFriday, ClosesOffices: true),
            new("thanksgiving-day", "Thanksgiving Day", HolidayDate.NthWeekday(11, DayOfWeek.Thursday, 4), SaturdayRule.NotObserved, ClosesOffices: true),
            new("day-after-thanksgiving", "Day after Thanksgiving", HolidayDate.DayAfterNthWeekday(11, DayOfWeek.Thursday, 4), SaturdayRule.NotObserved, ClosesOffices: true),
            new("christmas-day", "Christmas Day", HolidayDate.Fixed(12, 25), SaturdayRule.NotObserved, ClosesOffices: true),
        ]);

    public static HolidayCalendar Current => V2015;
}

/// <summary>A versioned holiday calendar: which days are holidays, in which time zone days begin and end.</summary>
public sealed record HolidayCalendar(
    string Name, string Version, DateOnly EffectiveFrom, string Source, string TimeZoneId, IReadOnlyList<Holiday> Holidays);

/// <param name="ClosesOffices">False for §6700 days on which state offices work; those never stop a working-day clock.</param>
public sealed record Holiday(string Id, string Name, HolidayDate Date, SaturdayRule OnSaturday, bool ClosesOffices);

/// <summary>What happens when a holiday falls on a Saturday. A Sunday holiday is always observed the next Monday (§6701).</summary>
public enum SaturdayRule
{
    /// <summary>State staff get holiday credit; Friday is a normal working day.</summary>
    NotObserved,

    /// <summary>Observed the Friday before (Veterans Day, §6701).</summary>
    PrecedingFriday,
}

/// <summary>How a holiday's date is found in a given year.</summary>
public abstract record HolidayDate
{
    public abstract DateOnly In(int year);

    public static HolidayDate Fixed(int month, int day) => new FixedDate(month, day);

    public static HolidayDate NthWeekday(int month, DayOfWeek weekday, int n) => new NthWeekdayDate(month, weekday, n, 0);

    public static HolidayDate DayAfterNthWeekday(int month, DayOfWeek weekday, int n) => new NthWeekdayDate(month, weekday, n, 1);

    public static HolidayDate LastWeekday(int month, DayOfWeek weekday) => new LastWeekdayDate(month, weekday);

    private sealed record FixedDate(int Month, int Day) : HolidayDate
    {
        public override DateOnly In(int year) => new(year, Month, Day);
    }

    private sealed record NthWeekdayDate(int Month, DayOfWeek Weekday, int N, int DaysAfter) : HolidayDate
    {
        public override DateOnly In(int year)
        {
            var first = new DateOnly(year, Month, 1);
            var offset = ((int)Weekday - (int)first.DayOfWeek + 7) % 7;
            return first.AddDays(offset + (7 * (N - 1)) + DaysAfter);
        }
    }

    private sealed record LastWeekdayDate(int Month, DayOfWeek Weekday) : HolidayDate
    {
        public override DateOnly In(int year)
        {
            var last = new DateOnly(year, Month, DateTime.DaysInMonth(year, Month));
            return last.AddDays(-(((int)last.DayOfWeek - (int)Weekday + 7) % 7));
        }
    }
}
