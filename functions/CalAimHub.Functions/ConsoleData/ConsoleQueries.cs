using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Referrals;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.ConsoleData;

public sealed record TypeDeadlines(string WorkflowType, long DueNext24h, long DueNext5WorkingDays, long Breached);

public sealed record TodayView(DateTimeOffset AsOf, IReadOnlyList<TypeDeadlines> ByType, IReadOnlyList<DeadlineItem> DueNext24h, IReadOnlyList<DeadlineItem> Breached);

public sealed record DeadlinePage(
    IReadOnlyList<DeadlineItem> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation) : IContinuedPage<DeadlinePage>
{
    public DeadlinePage WithContinuation(string? continuation) => this with { Continuation = continuation };
}

public sealed record WeeklyBreaches(DateOnly WeekStart, string WorkflowType, long Breaches);

public sealed record BreachWeeks(IReadOnlyList<WeeklyBreaches> Weeks);

public sealed record ReferralFunnel(DateOnly From, DateOnly To, long Pending, long Accepted, long OutreachInitiated, long LoopClosed, long Declined, long Escalated, long Total);

/// <param name="MedianHoursToAccept">Whole hours (offers are counted per hour to accept, a week or more as 168); null without acceptances.</param>
public sealed record ProviderFigures(string ProviderNpi, string? ProviderName, long Offers, long Accepted, double AcceptanceRate, int? MedianHoursToAccept, long NoResponse, double NoResponseRate);

public sealed record ProviderPage(
    IReadOnlyList<ProviderFigures> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation) : IContinuedPage<ProviderPage>
{
    public ProviderPage WithContinuation(string? continuation) => this with { Continuation = continuation };
}

public sealed record ClosureReasonCount(string Reason, long Count);

public sealed record ReferringEntityFigures(string ReferringEntity, long Referrals, IReadOnlyList<ClosureReasonCount> ClosureReasons);

public sealed record ReferringEntityPage(
    IReadOnlyList<ReferringEntityFigures> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation) : IContinuedPage<ReferringEntityPage>
{
    public ReferringEntityPage WithContinuation(string? continuation) => this with { Continuation = continuation };
}

public sealed record OpenReferralItem(string ReferralId, string Status, string? ProviderNpi, DateTimeOffset OpenedAt, int AgeDays, string Link);

public sealed record OpenReferralPage(
    IReadOnlyList<OpenReferralItem> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation) : IContinuedPage<OpenReferralPage>
{
    public OpenReferralPage WithContinuation(string? continuation) => this with { Continuation = continuation };
}

/// <summary>Which deadlines <c>GET /api/console/deadlines</c> lists.</summary>
public enum DeadlineWindow
{
    Next24h,
    Next5WorkingDays,
    Breached,
}

/// <summary>
/// The console's questions, each answered from the read models with a bounded number of point reads and range
/// queries (never a scan of the Workflows or Referrals tables).
/// </summary>
public sealed class ConsoleQueries(ReadModelStore readModels, CaliforniaWorkingDays calendar, ReferralDirectory directory)
{
    public static readonly IReadOnlyList<string> WorkflowTypes = [AuthorizationWorkflow.TypeName, ReferralWorkflow.TypeName];

    public const int ListCap = 50;

    /// <summary>
    /// The end of a window that starts now: 24 hours on, to the minute (the same minute tomorrow: the minute counters
    /// then give its last partial hour exactly), or the end of the 5th working day.
    /// </summary>
    public DateTimeOffset WindowEnd(DeadlineWindow window, DateTimeOffset now) =>
        window == DeadlineWindow.Next24h ? Floor(now, Minute).AddHours(24) : calendar.EndOfBusinessDays(now, 5);

    public async Task<TodayView> TodayAsync(DateTimeOffset now, CancellationToken ct)
    {
        var end24 = WindowEnd(DeadlineWindow.Next24h, now);
        var end5 = WindowEnd(DeadlineWindow.Next5WorkingDays, now);
        var hours = HourCountsAsync(now, end5, ct);
        var breached = BreachedCountsAsync(ct);
        var soon = ListDueAsync(null, now, end24, ListCap, null, ct);
        var late = ListBreachedAsync(null, ListCap, null, ct);

        // The partial hours at the windows' ends (both windows start now, so they share the first: counted once): their
        // whole minutes from the minute counters, a partial minute from its rows. The one starting now is the head of
        // the list of what is due next, which usually holds it whole.
        var (edges24, edges5) = (EdgeRanges(now, end24, Hour), EdgeRanges(now, end5, Hour));
        var edges = edges24.Union(edges5).ToList();
        var minuteRows = edges.SelectMany(e => WholeMinutes(e.From, e.To)).Select(m => Floor(m, Hour)).Distinct()
            .ToDictionary(h => h, h => readModels.CountsAsync(ConsoleTables.Deadlines, ConsoleTables.DuePartition(h), ct, ConsoleTables.MinuteRow(h)));
        var partials = edges.SelectMany(e => EdgeRanges(e.From, e.To, Minute)).Distinct()
            .ToDictionary(p => p, p => p.From == now ? CountFromListAsync(soon, p.From, p.To, ct) : CountDueAsync(p.From, p.To, ct));
        var (hourCounts, breachedCounts) = (await hours, await breached);
        await Task.WhenAll(minuteRows.Values);
        await Task.WhenAll(partials.Values);
        long Edge(List<(DateTimeOffset From, DateTimeOffset To)> ranges, string type) => ranges.Sum(r =>
            WholeMinutes(r.From, r.To).Sum(m => minuteRows[Floor(m, Hour)].Result.GetValueOrDefault(ConsoleTables.MinuteCount(type, m)))
            + EdgeRanges(r.From, r.To, Minute).Sum(p => partials[p].Result.GetValueOrDefault(type)));

        var byType = WorkflowTypes.Select(t => new TypeDeadlines(
            t,
            Sum(hourCounts, t, now, end24) + Edge(edges24, t),
            Sum(hourCounts, t, now, end5) + Edge(edges5, t),
            breachedCounts.GetValueOrDefault(t))).ToList();
        return new TodayView(now, byType, (await soon).Items, (await late).Items);
    }

    /// <summary>
    /// Deadlines due in [<paramref name="from"/>, <paramref name="to"/>) by type, counted from the list of what is due
    /// next (which starts at <paramref name="from"/>) when it holds them all: it is complete, or its last item is due at
    /// or after <paramref name="to"/> (the list is in due order); else by their rows.
    /// </summary>
    private async Task<Dictionary<string, long>> CountFromListAsync(Task<DeadlinePage> list, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var soon = await list;
        return soon.Continuation is null || soon.Items is [.., var last] && last.DueAt >= to
            ? soon.Items.Where(i => i.DueAt < to).GroupBy(i => i.WorkflowType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal)
            : await CountDueAsync(from, to, ct);
    }

    public async Task<DeadlinePage> DeadlinesAsync(string? type, DeadlineWindow window, DateTimeOffset now, int top, string? continuation, CancellationToken ct) =>
        window == DeadlineWindow.Breached
            ? await ListBreachedAsync(type, top, continuation, ct)
            : await ListDueAsync(type, now, WindowEnd(window, now), top, continuation, ct);

    public async Task<BreachWeeks> WeeklyBreachesAsync(DateTimeOffset now, int weeks, CancellationToken ct)
    {
        var current = ConsoleTables.WeekStart(calendar.DateOf(now));
        var starts = Enumerable.Range(0, weeks).Select(i => current.AddDays(-7 * (weeks - 1 - i))).ToList();
        var counts = await Task.WhenAll(starts.Select(w => readModels.CountsAsync(ConsoleTables.Breaches, ConsoleTables.WeekPartition(w), ct)));
        return new BreachWeeks([.. starts.SelectMany((w, i) => WorkflowTypes.Select(t => new WeeklyBreaches(w, t, counts[i].GetValueOrDefault(t))))]);
    }

    public async Task<ReferralFunnel> FunnelAsync(DateOnly from, DateOnly to, CancellationToken ct)
    {
        var days = Days(from, to);
        var counts = await Task.WhenAll(days.Select(d => readModels.CountsAsync(ConsoleTables.Referrals, ConsoleTables.DayPartition("funnel", d), ct)));
        long Total(string name) => counts.Sum(c => c.GetValueOrDefault(name));
        return new ReferralFunnel(from, to, Total("pending"), Total("accepted"), Total("outreachInitiated"), Total("loopClosed"), Total("declined"), Total("escalated"), Total("total"));
    }

    public async Task<ProviderPage> ProvidersAsync(DateOnly from, DateOnly to, int top, string? continuation, CancellationToken ct)
    {
        var rows = await ProviderCounterRowsAsync(from, to, ct);
        var (page, next) = Page(Sum(rows), top, continuation);
        var names = await Task.WhenAll(page.Select(p => directory.FindAsync(p.Key, ct)));
        return new ProviderPage([.. page.Select((p, i) => Figures(p.Key, names[i]?.Name, p.Value))], next);
    }

    public async Task<ReferringEntityPage> ReferringEntitiesAsync(DateOnly from, DateOnly to, int top, string? continuation, CancellationToken ct)
    {
        var rows = await readModels.CounterRowsAsync(ConsoleTables.EntityCounters, ConsoleTables.DayPartition("entities", from), ConsoleTables.DayPartition("entities", to), ct);
        var (page, next) = Page(Sum(rows), top, continuation);
        return new ReferringEntityPage(
            [.. page.Select(p => new ReferringEntityFigures(p.Key, p.Value.GetValueOrDefault("referrals"),
                [.. p.Value.Where(c => ConsoleTables.ReasonOf(c.Key) is not null && c.Value != 0).Select(c => new ClosureReasonCount(ConsoleTables.ReasonOf(c.Key)!, c.Value))
                    .OrderByDescending(c => c.Count).ThenBy(c => c.Reason, StringComparer.Ordinal)]))],
            next);
    }

    public async Task<OpenReferralPage> OpenReferralsAsync(DateTimeOffset now, int olderThanDays, int top, string? continuation, CancellationToken ct)
    {
        var (items, next) = await readModels.PageAsync(ConsoleTables.OpenReferrals, ConsoleTables.OpenPartition, "", ReadModelStore.TimeKey(now.AddDays(-olderThanDays)) + "|", null, top, continuation, ct);
        return new OpenReferralPage(
            [.. items.Select(i => i.Deserialize<OpenReferral>(WorkflowJson.Options)!).Select(o => new OpenReferralItem(o.ReferralId, o.Status, o.ProviderNpi, o.OpenedAt, (int)Math.Floor((now - o.OpenedAt).TotalDays), o.Link))],
            next);
    }

    /// <summary>
    /// The offers' counter rows of a period: its whole weeks (Monday to Sunday) from the weekly roll-ups, the days before
    /// the first and after the last whole week from the day rows; up to three queries at once.
    /// </summary>
    private async Task<List<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)>> ProviderCounterRowsAsync(DateOnly from, DateOnly to, CancellationToken ct)
    {
        // Day numbers, not dates: a period that ends on 9999-12-31 has no "next Monday" (a 500 found by probing).
        var firstMonday = from.DayNumber + (7 - from.DayNumber % 7) % 7; // day number 0 (0001-01-01) is a Monday
        var lastSunday = to.DayNumber - (to.DayNumber + 1) % 7;
        Task<IReadOnlyList<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)>> Days(int first, int last) =>
            readModels.CounterRowsAsync(ConsoleTables.ProviderCounters, ConsoleTables.DayPartition("providers", DateOnly.FromDayNumber(first)), ConsoleTables.DayPartition("providers", DateOnly.FromDayNumber(last)), ct);
        if (firstMonday + 6 > lastSunday)
        {
            return [.. await Days(from.DayNumber, to.DayNumber)];
        }

        var parts = new List<Task<IReadOnlyList<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)>>>
        {
            readModels.CounterRowsAsync(ConsoleTables.ProviderCounters, ConsoleTables.ProviderWeekPartition(DateOnly.FromDayNumber(firstMonday)),
                ConsoleTables.ProviderWeekPartition(DateOnly.FromDayNumber(lastSunday)), ct, rollUps: true),
        };
        if (from.DayNumber < firstMonday)
        {
            parts.Add(Days(from.DayNumber, firstMonday - 1));
        }

        if (lastSunday < to.DayNumber)
        {
            parts.Add(Days(lastSunday + 1, to.DayNumber));
        }

        return [.. (await Task.WhenAll(parts)).SelectMany(p => p)];
    }

    /// <summary>Days of a period, first to last.</summary>
    public static List<DateOnly> Days(DateOnly from, DateOnly to) => [.. Enumerable.Range(0, to.DayNumber - from.DayNumber + 1).Select(from.AddDays)];

    private static ProviderFigures Figures(string npi, string? name, IReadOnlyDictionary<string, long> c)
    {
        var offers = c.GetValueOrDefault("offers");
        var accepted = c.GetValueOrDefault("accepted");
        var noResponse = c.GetValueOrDefault("noResponse");
        return new ProviderFigures(npi, name, offers, accepted, Rate(accepted, offers), Median(c, accepted), noResponse, Rate(noResponse, offers));
    }

    private static double Rate(long part, long whole) => whole == 0 ? 0 : Math.Round((double)part / whole, 4);

    /// <summary>The lower median of the accept-hour histogram (<c>h0</c>…<c>h168</c>).</summary>
    private static int? Median(IReadOnlyDictionary<string, long> counts, long accepted)
    {
        if (accepted == 0)
        {
            return null;
        }

        var seen = 0L;
        for (var hour = 0; hour <= ConsoleTables.MaxAcceptHours; hour++)
        {
            seen += counts.GetValueOrDefault("h" + hour.ToString(CultureInfo.InvariantCulture));
            if (seen * 2 >= accepted)
            {
                return hour;
            }
        }

        return ConsoleTables.MaxAcceptHours;
    }

    private static SortedDictionary<string, Dictionary<string, long>> Sum(IReadOnlyList<(string Partition, string? Row, IReadOnlyDictionary<string, long> Counts)> rows)
    {
        var sums = new SortedDictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var (_, row, counts) in rows)
        {
            if (row is null)
            {
                continue;
            }

            var sum = sums.TryGetValue(row, out var found) ? found : sums[row] = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (name, count) in counts)
            {
                sum[name] = sum.GetValueOrDefault(name) + count;
            }
        }

        // A provider or entity whose counts all went back to zero (its only referral moved to another day) is not listed.
        foreach (var key in sums.Where(s => s.Value.Values.All(v => v == 0)).Select(s => s.Key).ToList())
        {
            sums.Remove(key);
        }

        return sums;
    }

    /// <summary>A page of an ordered set by key; the continuation is the last key given (signed at the HTTP edge).</summary>
    private static (List<KeyValuePair<string, Dictionary<string, long>>> Page, string? Next) Page(SortedDictionary<string, Dictionary<string, long>> all, int top, string? continuation)
    {
        var after = continuation;
        var page = all.Where(a => after is null || string.CompareOrdinal(a.Key, after) > 0).Take(top + 1).ToList();
        return page.Count > top ? (page[..top], page[top - 1].Key) : (page, null);
    }

    private static long Sum(Dictionary<(string Partition, string? Type), IReadOnlyDictionary<string, long>> hourCounts, string type, DateTimeOffset from, DateTimeOffset to)
    {
        // Whole hours inside [from, to): the partial hours at either end are counted apart (EdgeRanges).
        var first = Ceil(from, Hour);
        var last = Floor(to, Hour);
        long sum = 0;
        for (var hour = first; hour < last; hour = hour.AddHours(1))
        {
            if (hourCounts.TryGetValue((ConsoleTables.DuePartition(hour), type), out var counts))
            {
                sum += counts.GetValueOrDefault(ConsoleTables.HourCount(hour));
            }
        }

        return sum;
    }

    /// <summary>
    /// The per-hour counter rows (one per due day and type; not the minute rows) of every due day from <paramref name="from"/>
    /// to <paramref name="to"/>: one range query per shard over the days' counter rows. Point reads per day, type and shard
    /// were 2 × 8 × 8 = 128 requests a call for a week's window; Today is read by every supervisor at every visit.
    /// </summary>
    private async Task<Dictionary<(string Partition, string? Type), IReadOnlyDictionary<string, long>>> HourCountsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var rows = await readModels.CounterRowsAsync(ConsoleTables.Deadlines, ConsoleTables.DuePartition(from), ConsoleTables.DuePartition(to), ct, namesBelow: ConsoleTables.HourRowsBelow);
        return rows.ToDictionary(r => (r.Partition, r.Row), r => r.Counts);
    }

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>The partial <paramref name="unit"/>s (hours, minutes) at the ends of [from, to), or [from, to) itself when it holds no whole one.</summary>
    private static List<(DateTimeOffset From, DateTimeOffset To)> EdgeRanges(DateTimeOffset from, DateTimeOffset to, TimeSpan unit)
    {
        if (from >= to)
        {
            return [];
        }

        if (Ceil(from, unit) >= Floor(to, unit))
        {
            return [(from, to)]; // no whole unit inside
        }

        var ranges = new List<(DateTimeOffset From, DateTimeOffset To)>();
        if (from != Ceil(from, unit))
        {
            ranges.Add((from, Ceil(from, unit)));
        }

        if (to != Floor(to, unit))
        {
            ranges.Add((Floor(to, unit), to));
        }

        return ranges;
    }

    /// <summary>The whole minutes inside [from, to).</summary>
    private static IEnumerable<DateTimeOffset> WholeMinutes(DateTimeOffset from, DateTimeOffset to)
    {
        for (var minute = Ceil(from, Minute); minute.Add(Minute) <= to; minute = minute.Add(Minute))
        {
            yield return minute;
        }
    }

    /// <summary>Deadlines due in [from, to) (inside one hour, so one due day), counted by type from their rows.</summary>
    private async Task<Dictionary<string, long>> CountDueAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        string? token = null;
        do
        {
            var (items, next) = await readModels.PageAsync(ConsoleTables.Deadlines, ConsoleTables.DuePartition(from), ReadModelStore.TimeKey(from), ReadModelStore.TimeKey(to), null, 1000, token, ct);
            foreach (var item in items)
            {
                var type = item.GetProperty("workflowType").GetString()!;
                counts[type] = counts.GetValueOrDefault(type) + 1;
            }

            token = next;
        }
        while (token is not null);

        return counts;
    }

    private async Task<DeadlinePage> ListDueAsync(string? type, DateTimeOffset from, DateTimeOffset to, int top, string? continuation, CancellationToken ct)
    {
        // The continuation names the due day the last page stopped in and the table's token within it.
        var (day, token) = continuation is null ? (DateOnly.FromDateTime(from.UtcDateTime), null) : DueToken.Decode(continuation);
        var lastDay = DateOnly.FromDateTime(to.UtcDateTime);
        var items = new List<DeadlineItem>();
        var filter = type is null ? null : TableClient.CreateQueryFilter($"Type eq {type}");
        while (day <= lastDay)
        {
            var (page, next) = await readModels.PageAsync(
                ConsoleTables.Deadlines, ConsoleTables.DuePartition(new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)),
                ReadModelStore.TimeKey(from), ReadModelStore.TimeKey(to), filter, top - items.Count, token, ct);
            items.AddRange(page.Select(p => p.Deserialize<DeadlineItem>(WorkflowJson.Options)!));
            if (next is not null)
            {
                return new DeadlinePage(items, DueToken.Encode(day, next));
            }

            day = day.AddDays(1);
            token = null;
            if (items.Count == top)
            {
                return new DeadlinePage(items, day <= lastDay ? DueToken.Encode(day, null) : null);
            }
        }

        return new DeadlinePage(items, null);
    }

    private async Task<DeadlinePage> ListBreachedAsync(string? type, int top, string? continuation, CancellationToken ct)
    {
        await readModels.RequireLayoutAsync(ConsoleTables.Deadlines, ct); // the breaches moved out of it in its revision 2
        var (items, next) = await readModels.PageAsync(
            ConsoleTables.BreachedDeadlines, ConsoleTables.BreachedPartition, "", "~", type is null ? null : TableClient.CreateQueryFilter($"Type eq {type}"), top, continuation, ct);
        return new DeadlinePage([.. items.Select(i => i.Deserialize<DeadlineItem>(WorkflowJson.Options)!)], next);
    }

    private async Task<IReadOnlyDictionary<string, long>> BreachedCountsAsync(CancellationToken ct)
    {
        await readModels.RequireLayoutAsync(ConsoleTables.Deadlines, ct);
        return await readModels.CountsAsync(ConsoleTables.BreachedDeadlines, ConsoleTables.BreachedPartition, ct);
    }

    private static DateTimeOffset Floor(DateTimeOffset t, TimeSpan unit) => new(t.UtcTicks - t.UtcTicks % unit.Ticks, TimeSpan.Zero);

    private static DateTimeOffset Ceil(DateTimeOffset t, TimeSpan unit) => Floor(t, unit) == t ? t : Floor(t, unit).Add(unit);

    private static class DueToken
    {
        public static string Encode(DateOnly day, string? token) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "\n" + token;

        public static (DateOnly Day, string? Token) Decode(string continuation)
        {
            var text = continuation;
            var newline = text.IndexOf('\n', StringComparison.Ordinal);
            if (newline != 10 || !DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                throw new FormatException("not a deadline continuation");
            }

            return (day, newline + 1 == text.Length ? null : text[(newline + 1)..]);
        }
    }
}

/// <summary>
/// A page of a console list. Its <see cref="Continuation"/> is the query's own position (a table token, a key, a day);
/// the HTTP edge signs it with <see cref="CalAimHub.Hosting.Storage.ListContinuation"/> on the way out and checks the
/// signature on the way in, so a token the hub did not issue is a 400, never an empty or foreign page.
/// </summary>
public interface IContinuedPage<TPage>
{
    string? Continuation { get; }

    TPage WithContinuation(string? continuation);
}
