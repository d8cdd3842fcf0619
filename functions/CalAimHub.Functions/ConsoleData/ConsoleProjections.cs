using System.Globalization;
using System.Text;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.ConsoleData;

/// <summary>One deadline of the console: a clock of an authorization or the acknowledgement deadline of a referral offer.</summary>
/// <param name="Deadline"><c>decision</c>, <c>notice</c> (authorizations) or <c>accept</c> (referrals).</param>
/// <param name="ItemId">The clock or offer within the instance (<c>decision</c>, <c>reauthorization-1-decision</c>, <c>ack:2</c>…).</param>
/// <param name="Link">The console route of the item.</param>
public sealed record DeadlineItem(string WorkflowType, string InstanceId, string ItemId, string Deadline, DateTimeOffset DueAt, bool Breached, string Link);

/// <summary>Table names and keys of the console read models, shared by the projections and the queries.</summary>
public static class ConsoleTables
{
    /// <summary>
    /// Open deadlines not yet breached: partition <c>due|{yyyyMMdd}</c> (UTC due date) with counter rows per workflow type
    /// holding a count per due hour (<c>h00</c>…<c>h23</c>) and, per due hour, a counter row of its minutes
    /// (<see cref="MinuteCount"/>); rows <c>{dueAt}|{type}|{instance}|{item}</c> sort by due time.
    /// </summary>
    public const string Deadlines = "ConsoleDeadlines";

    /// <summary>
    /// Open deadlines already breached: partition <c>breached</c> (a count per type), rows as in <see cref="Deadlines"/>.
    /// A table of its own (until layout revision 2 of <see cref="Deadlines"/>, its partition <c>breached</c>): on Azurite
    /// every query walks its whole table, so Today's walks of the due days' rows no longer pass every breached deadline, nor
    /// the breached list every due one. Its readers first check <see cref="Deadlines"/>' layout: before the rebuild the
    /// breaches are still there, and this table empty.
    /// </summary>
    public const string BreachedDeadlines = "ConsoleBreachedDeadlines";

    /// <summary>Breaches: partition <c>week|{Monday, California date}</c>, a count per workflow type.</summary>
    public const string Breaches = "ConsoleBreaches";

    /// <summary>Referrals: <c>funnel|{date}</c>, stage counts by opened date (California dates).</summary>
    public const string Referrals = "ConsoleReferrals";

    /// <summary>
    /// Open referrals: partition <c>open</c>, a row per open referral, oldest first. A table of its own, sharded
    /// (<see cref="Workflows.ReadModelShards"/>): every open referral is in this one partition, while the funnel's counts
    /// are read by a point read per day and would cost one per shard.
    /// </summary>
    public const string OpenReferrals = "ConsoleOpenReferrals";

    /// <summary>Receiving providers: partition <c>providers|{offer date}</c>, a version row per offer (its counts).</summary>
    public const string Providers = "ConsoleProviders";

    /// <summary>
    /// The offers' counts: partition <c>providers|{offer date}</c>, a counter row per provider NPI, and their weekly
    /// roll-ups in <c>providers-week|{Monday}</c> (<see cref="ProviderWeekPartition"/>). A table of its own so that the
    /// providers page's query (Azurite filters every row of the table) meets counter rows only, not a version row per
    /// offer; the price is a second transaction per change (the counter journal, see <see cref="ReadModelStore"/>), and a
    /// third for the week's row. The page reads whole weeks from the roll-ups: 30 days were 30 × the providers' rows
    /// (6,000 at 200 providers, in six pages of 1,000), now at most 4 weeks' and 6 days'.
    /// </summary>
    public const string ProviderCounters = "ConsoleProviderCounters";

    /// <summary>Referring entities: partition <c>entities|{opened date}</c>, a version row per referral (its counts).</summary>
    public const string Entities = "ConsoleEntities";

    /// <summary>The referrals' counts per referring entity: partition <c>entities|{opened date}</c>, a counter row per entity (as <see cref="ProviderCounters"/>).</summary>
    public const string EntityCounters = "ConsoleEntityCounters";

    public const string BreachedPartition = "breached";
    public const string OpenPartition = "open";

    public static string DuePartition(DateTimeOffset due) => "due|" + due.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    public static string HourCount(DateTimeOffset due) => "h" + due.UtcDateTime.Hour.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>
    /// The counter row of a due hour's minutes: <c>~m{HH}</c>, a count per type and minute (<c>{type}_{mm}</c>). Today
    /// counts the partial hours at the ends of its windows from them (a point read per shard) instead of walking their
    /// deadlines' rows (on Azurite a query walks the whole table: these were 16 of Today's 40 walks). Named to sort after
    /// the type rows, so the hour counters' range query leaves them out (<see cref="HourRowsBelow"/>).
    /// </summary>
    public static string MinuteRow(DateTimeOffset due) => "~m" + due.UtcDateTime.Hour.ToString("D2", CultureInfo.InvariantCulture);

    public static string MinuteCount(string workflowType, DateTimeOffset due) => workflowType + "_" + due.UtcDateTime.Minute.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>The hour counter rows' names sort below this (the minute rows' do not).</summary>
    public const string HourRowsBelow = "~";

    public static string WeekPartition(DateOnly weekStart) => "week|" + weekStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateOnly WeekStart(DateOnly date) => date.AddDays(-(((int)date.DayOfWeek + 6) % 7));

    public static string DayPartition(string prefix, DateOnly date) => prefix + "|" + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The roll-up of the offers' counts of the week (Monday to Sunday, California dates) that holds <paramref name="date"/>.</summary>
    public static string ProviderWeekPartition(DateOnly date) => DayPartition("providers-week", WeekStart(date));

    public static string DeadlineRow(DeadlineItem item) => $"{ReadModelStore.TimeKey(item.DueAt)}|{item.WorkflowType}|{item.InstanceId}|{item.ItemId}";

    /// <summary>Hours to accept are counted per whole hour up to a week (<c>h168</c> = a week or more): the median is read from them.</summary>
    public const int MaxAcceptHours = 168;

    /// <summary>A closure reason as a count name: hex of its first 60 characters (names must be plain identifiers).</summary>
    public static string ReasonCount(string reason) => "r_" + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(reason.Length > 60 ? reason[..60] : reason));

    public static string? ReasonOf(string countName) =>
        countName.StartsWith("r_", StringComparison.Ordinal) ? Encoding.UTF8.GetString(Convert.FromHexString(countName[2..])) : null;

    internal static bool Active(WorkflowRuntimeStatus status) => status is WorkflowRuntimeStatus.Pending or WorkflowRuntimeStatus.Running or WorkflowRuntimeStatus.Suspended;
}

/// <summary>Console read models of the <c>authorization</c> workflow: its open decision and notice clocks, and its breaches.</summary>
public sealed class AuthorizationConsoleProjection(CaliforniaWorkingDays calendar) : IWorkflowProjection<AuthorizationState>
{
    public string Name => "authorization-console";

    public IReadOnlyList<string> Tables { get; } = [ConsoleTables.Deadlines, ConsoleTables.BreachedDeadlines, ConsoleTables.Breaches];

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<AuthorizationState> instance)
    {
        if (instance.State.Request is null)
        {
            yield break;
        }

        foreach (var clock in instance.State.Clocks.Where(c => c.Kind is ClockKind.Decision or ClockKind.Notices))
        {
            var item = $"{instance.InstanceId}|{clock.Id}";
            if (clock.BreachedAt is { } breachedAt)
            {
                yield return ReadModelEntry.Of(ConsoleTables.Breaches, ConsoleTables.WeekPartition(ConsoleTables.WeekStart(calendar.DateOf(breachedAt))), item,
                    counts: new Dictionary<string, long> { [AuthorizationWorkflow.TypeName] = 1 });
            }

            if (clock.Open && ConsoleTables.Active(instance.Status))
            {
                var deadline = new DeadlineItem(AuthorizationWorkflow.TypeName, instance.InstanceId, clock.Id, clock.Kind == ClockKind.Decision ? "decision" : "notice",
                    clock.DueAt, clock.BreachedAt is not null, $"#/authorizations/{instance.InstanceId}");
                yield return DeadlineEntries.Of(deadline, item);
            }
        }
    }
}

/// <summary>
/// Console read models of the <c>referral</c> workflow: the open offer's acknowledgement deadline, unanswered offers as
/// breaches, the funnel, per-provider and per-referring-entity counts, and open referrals. Referrals exempt from
/// closed-loop tracking (sobering centers) are left out.
/// </summary>
public sealed class ReferralConsoleProjection(CaliforniaWorkingDays calendar) : IWorkflowProjection<ReferralState>
{
    public string Name => "referral-console";

    public IReadOnlyList<string> Tables { get; } = [ConsoleTables.Deadlines, ConsoleTables.BreachedDeadlines, ConsoleTables.Breaches, ConsoleTables.Referrals, ConsoleTables.OpenReferrals, ConsoleTables.Providers, ConsoleTables.ProviderCounters, ConsoleTables.Entities, ConsoleTables.EntityCounters];

    public IEnumerable<ReadModelEntry> Entries(ProjectedInstance<ReferralState> instance)
    {
        var state = instance.State;
        if (state.ReferralId is null || state.ReferredAt is not { } referredAt || state.ExemptFromTracking)
        {
            yield break;
        }

        var id = instance.InstanceId;
        var opened = calendar.DateOf(referredAt);
        if (state.OpenAttempt is { } open && ConsoleTables.Active(instance.Status))
        {
            yield return DeadlineEntries.Of(new DeadlineItem(ReferralWorkflow.TypeName, id, open.TimerId, "accept", open.DueAt, false, $"#/referrals/{id}"), $"{id}|{open.TimerId}");
        }

        foreach (var attempt in state.Attempts)
        {
            if (attempt.Outcome == AttemptOutcome.TimedOut)
            {
                yield return ReadModelEntry.Of(ConsoleTables.Breaches, ConsoleTables.WeekPartition(ConsoleTables.WeekStart(calendar.DateOf(attempt.DueAt))), $"{id}|{attempt.TimerId}",
                    counts: new Dictionary<string, long> { [ReferralWorkflow.TypeName] = 1 });
            }

            var counts = new Dictionary<string, long> { [$"{attempt.Npi}/offers"] = 1 };
            if (attempt.Outcome == AttemptOutcome.Accepted && attempt.AnsweredAt is { } acceptedAt)
            {
                counts[$"{attempt.Npi}/accepted"] = 1;
                counts[$"{attempt.Npi}/h{Math.Clamp((int)Math.Floor((acceptedAt - attempt.OfferedAt).TotalHours), 0, ConsoleTables.MaxAcceptHours)}"] = 1;
            }

            if (attempt.Outcome == AttemptOutcome.TimedOut)
            {
                counts[$"{attempt.Npi}/noResponse"] = 1;
            }

            var offered = calendar.DateOf(attempt.OfferedAt);
            yield return ReadModelEntry.Of(ConsoleTables.Providers, ConsoleTables.DayPartition("providers", offered), $"{id}|{attempt.Number}", counts: counts,
                counterTable: ConsoleTables.ProviderCounters, counterRollUp: ConsoleTables.ProviderWeekPartition(offered));
        }

        yield return ReadModelEntry.Of(ConsoleTables.Referrals, ConsoleTables.DayPartition("funnel", opened), id, counts: Funnel(state));

        var entity = state.ReferringEntity?.Name ?? state.Platform!;
        var entityCounts = new Dictionary<string, long> { [$"{entity}/referrals"] = 1 };
        if (state.Closed && state.ClosureReason is { } reason)
        {
            entityCounts[$"{entity}/{ConsoleTables.ReasonCount(reason)}"] = 1;
        }

        yield return ReadModelEntry.Of(ConsoleTables.Entities, ConsoleTables.DayPartition("entities", opened), id, counts: entityCounts, counterTable: ConsoleTables.EntityCounters);

        if (!state.Closed)
        {
            var row = new OpenReferral(id, state.Status.DhcsName(), state.CurrentAttempt?.Npi, referredAt, $"#/referrals/{id}");
            yield return ReadModelEntry.Of(ConsoleTables.OpenReferrals, ConsoleTables.OpenPartition, id,
                [ReadModelRow.Of($"{ReadModelStore.TimeKey(referredAt)}|{id}", row)]);
        }
    }

    /// <summary>
    /// The funnel stages a referral has reached: accepted, outreach initiated and loop closed count every referral that got
    /// there (a closed loop was accepted first, unless closed by an authorization denial); declined counts referrals with a
    /// declined offer, escalated those handed to plan staff; pending those still waiting for a provider's answer.
    /// </summary>
    public static Dictionary<string, long> Funnel(ReferralState state)
    {
        var reachedOutreach = state.History.Any(h => h.Status == ReferralStatus.OutreachInitiated);
        var accepted = state.Attempts.Any(a => a.Outcome == AttemptOutcome.Accepted);
        var counts = new Dictionary<string, long> { ["total"] = 1 };
        if (!state.Closed && state.Phase is ReferralPhase.AwaitingAcknowledgement or ReferralPhase.AwaitingAuthorization)
        {
            counts["pending"] = 1;
        }

        if (accepted)
        {
            counts["accepted"] = 1;
        }

        if (reachedOutreach)
        {
            counts["outreachInitiated"] = 1;
        }

        if (state.Closed)
        {
            counts["loopClosed"] = 1;
        }

        if (state.Attempts.Any(a => a.Outcome == AttemptOutcome.Declined))
        {
            counts["declined"] = 1;
        }

        if (state.EscalatedAt is not null)
        {
            counts["escalated"] = 1;
        }

        return counts;
    }
}

/// <summary>An open referral as <c>GET /api/console/referrals/open</c> lists it (ids and statuses, no member data).</summary>
public sealed record OpenReferral(string ReferralId, string Status, string? ProviderNpi, DateTimeOffset OpenedAt, string Link);

internal static class DeadlineEntries
{
    /// <summary>A breached deadline sits in the <c>breached</c> partition of its own table; any other in the partition of its due date, counted per due hour.</summary>
    public static ReadModelEntry Of(DeadlineItem deadline, string item) => deadline.Breached
        ? ReadModelEntry.Of(ConsoleTables.BreachedDeadlines, ConsoleTables.BreachedPartition, item,
            [ReadModelRow.Of(ConsoleTables.DeadlineRow(deadline), deadline, ("Type", deadline.WorkflowType))],
            new Dictionary<string, long> { [deadline.WorkflowType] = 1 })
        : ReadModelEntry.Of(ConsoleTables.Deadlines, ConsoleTables.DuePartition(deadline.DueAt), item,
            [ReadModelRow.Of(ConsoleTables.DeadlineRow(deadline), deadline, ("Type", deadline.WorkflowType))],
            new Dictionary<string, long>
            {
                [$"{deadline.WorkflowType}/{ConsoleTables.HourCount(deadline.DueAt)}"] = 1,
                [$"{ConsoleTables.MinuteRow(deadline.DueAt)}/{ConsoleTables.MinuteCount(deadline.WorkflowType, deadline.DueAt)}"] = 1,
            });
}
