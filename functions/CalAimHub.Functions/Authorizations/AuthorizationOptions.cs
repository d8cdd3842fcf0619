using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// Configuration section <c>Authorizations</c>: what a plan may set. Regulatory clocks and eligibility criteria are
/// not here on purpose — they are DHCS data (<see cref="AuthorizationDeadline"/>, <c>PopulationsOfFocus</c>,
/// <c>CommunitySupports</c>), and a plan may not add criteria beyond DHCS.
/// </summary>
public sealed class AuthorizationOptions
{
    /// <summary>NPIs whose eligible requests are authorized presumptively.</summary>
    public List<string> TrustedProviderNpis { get; set; } = [];

    /// <summary>Notification subscribers (<c>Notifications:Subscribers:{id}</c>) that receive every authorization CloudEvent; none set = "authorizations".</summary>
    /// <remarks>No default items in the list: the configuration binder appends to a list, it does not replace it.</remarks>
    public List<string> Subscribers { get; set; } = [];

    public TimeSpan? RoutineReminderLead { get; set; }

    public TimeSpan? ExpeditedReminderLead { get; set; }

    public TimeSpan? NoticeReminderLead { get; set; }

    public TimeSpan? ReauthorizationReminderLead { get; set; }

    /// <summary>Authorized periods per Community Supports service id, overriding <see cref="AuthorizationPeriods.Current"/>.</summary>
    public Dictionary<string, ServicePeriod> CommunitySupportsPeriods { get; set; } = [];

    /// <summary>
    /// How old an unstarted claim must be before <see cref="AuthorizationClaimSweeper"/> starts its workflow: far longer
    /// than a request takes between its claim and its start, so it never races a request in flight (and if it does, the
    /// start is idempotent by the instance id).
    /// </summary>
    public TimeSpan ClaimSweepGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Most unstarted claims one sweep handles; the rest wait for the next run.</summary>
    public int ClaimSweepBatchSize { get; set; } = 100;

    /// <summary>Test-only fast clock; see <see cref="AcceleratedTimeProvider"/>.</summary>
    public AcceleratedClockOptions? AcceleratedClock { get; set; }

    /// <summary>The policy the decider runs with; a bad setting stops the app at start, naming the setting.</summary>
    public AuthorizationPolicy ToPolicy()
    {
        if (ClaimSweepGrace < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Authorizations:ClaimSweepGrace is {ClaimSweepGrace}; it must not be negative");
        }

        if (ClaimSweepBatchSize < 1)
        {
            throw new InvalidOperationException($"Authorizations:ClaimSweepBatchSize is {ClaimSweepBatchSize}; it must be at least 1");
        }

        foreach (var npi in TrustedProviderNpis)
        {
            if (NationalProviderIdentifier.Problem(npi) is { } problem)
            {
                throw new InvalidOperationException($"Authorizations:TrustedProviderNpis has an entry that {problem}");
            }
        }

        var deadlines = AuthorizationDeadline.Current with
        {
            RoutineReminderLead = RoutineReminderLead ?? AuthorizationDeadline.Current.RoutineReminderLead,
            ExpeditedReminderLead = ExpeditedReminderLead ?? AuthorizationDeadline.Current.ExpeditedReminderLead,
            NoticeReminderLead = NoticeReminderLead ?? AuthorizationDeadline.Current.NoticeReminderLead,
        };
        var periods = AuthorizationPeriods.Current;
        var csPeriods = new Dictionary<string, ServicePeriod>(periods.CommunitySupports);
        foreach (var (service, period) in CommunitySupportsPeriods)
        {
            if (Domain.CodeSets.CommunitySupports.Current.Find(service) is null)
            {
                throw new InvalidOperationException($"Authorizations:CommunitySupportsPeriods:{service} is not a Community Supports service id");
            }

            csPeriods[service] = period;
        }

        periods = periods with
        {
            CommunitySupports = csPeriods,
            ReauthorizationReminderLead = ReauthorizationReminderLead ?? periods.ReauthorizationReminderLead,
        };
        IReadOnlyList<string> subscribers = Subscribers.Count > 0 ? [.. Subscribers.Distinct(StringComparer.Ordinal)] : ["authorizations"];
        return AuthorizationPolicy.Default(TrustedProviderNpis.ToHashSet(StringComparer.Ordinal), subscribers) with
        {
            Deadlines = deadlines,
            Periods = periods,
            Calendar = CaliforniaWorkingDays.Current,
        };
    }
}

public sealed class AcceleratedClockOptions
{
    public DateTimeOffset Start { get; set; }

    public double Speed { get; set; } = 1;

    /// <summary>
    /// The real instant at which the clock reads <see cref="Start"/>, shared by every process of one hub so they agree on
    /// business time; unset = each process's own start (one process only).
    /// </summary>
    public DateTimeOffset? Epoch { get; set; }
}
