using System.Globalization;
using System.Security.Cryptography;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Workflows;

namespace CalAimHub.Benchmarks;

/// <summary>What the console benchmark's upkeep rounds run (<c>--upkeep authorizations,authorizations-console-only,referrals</c> (any of them, in order)).</summary>
public enum UpkeepWork
{
    /// <summary>Authorizations with every projection the hub registers for them.</summary>
    Authorizations,

    /// <summary>Authorizations with the listing and console projections only (how rounds ran before stop 31).</summary>
    AuthorizationsConsoleOnly,

    Referrals,

    /// <summary>
    /// Authorizations as <see cref="AuthorizationsConsoleOnly"/>, but the arm "with" registers no projection: after each event it
    /// upserts one row of a listing item's size into a table of its own (<see cref="UpkeepWorkload.FloorRows"/>). No exact
    /// read model can write less (no version row, no counter, no deadline row), so its ratio is the most the target could reach.
    /// </summary>
    AuthorizationsFloor,

    /// <summary>Referrals as <see cref="Referrals"/>, with the arm "with" writing only the floor row per event (<see cref="AuthorizationsFloor"/>).</summary>
    ReferralsFloor,

    /// <summary>As <see cref="AuthorizationsFloor"/>, the floor rows coalesced: the event does not wait, one writer sends up to 100 rows per transaction.</summary>
    AuthorizationsFloorCoalesced,

    /// <summary>As <see cref="ReferralsFloor"/>, the floor rows coalesced (<see cref="AuthorizationsFloorCoalesced"/>).</summary>
    ReferralsFloorCoalesced,

    /// <summary>Authorizations with one of their projections only, to tell what each costs: the listing (<c>AuthorizationListing</c>).</summary>
    AuthorizationsListingOnly,

    /// <summary>Authorizations with the console projection only (<c>ConsoleDeadlines</c>, <c>ConsoleBreachedDeadlines</c>).</summary>
    AuthorizationsDeadlinesOnly,

    /// <summary>Authorizations with the monitoring extract's projection only (<c>MonitoringAuthorizations</c>).</summary>
    AuthorizationsMonitoringOnly,
}

/// <summary>
/// One kind of workflow the upkeep rounds drive: its definitions, the projections the hub registers for it (the arm "with
/// projections"), and what one instance of a round does.
/// </summary>
/// <param name="RunInstance">
/// One instance of a round, start to its last event: (runtime, instance id, its number in the round, what to do after each
/// event: the floor row in a floor workload's arm "with", nothing otherwise).
/// </param>
/// <param name="FloorRows">
/// The floor workloads: the arm "with" registers no projection and writes one row per event instead (<see cref="Benchmarks.FloorRows"/>),
/// awaited (false) or coalesced (true); null for the others.
/// </param>
internal sealed record UpkeepWorkload(
    string Describes, WorkflowDefinition[] Definitions, WorkflowProjection[] Projections, Func<WorkflowRuntime, string, int, Func<string, CancellationToken, Task>, CancellationToken, Task> RunInstance,
    bool? FloorRows = null)
{
    /// <summary>After an event, in every arm but a floor workload's "with".</summary>
    public static readonly Func<string, CancellationToken, Task> NothingAfterEvent = (_, _) => Task.CompletedTask;

    private static readonly CaliforniaWorkingDays Calendar = CaliforniaWorkingDays.Current;

    public static UpkeepWorkload Of(UpkeepWork work) => work switch
    {
        UpkeepWork.Authorizations => Authorizations(),
        UpkeepWork.AuthorizationsConsoleOnly => Authorizations(monitoring: false),
        UpkeepWork.Referrals => Referrals(),
        UpkeepWork.AuthorizationsFloor => Floor(Authorizations(monitoring: false), "start + approval", coalesced: false),
        UpkeepWork.ReferralsFloor => Floor(Referrals(), "start + accepted", coalesced: false),
        UpkeepWork.AuthorizationsFloorCoalesced => Floor(Authorizations(monitoring: false), "start + approval", coalesced: true),
        UpkeepWork.ReferralsFloorCoalesced => Floor(Referrals(), "start + accepted", coalesced: true),
        UpkeepWork.AuthorizationsListingOnly => Only(Authorizations(), 0, "start + approval; listing projection only"),
        UpkeepWork.AuthorizationsDeadlinesOnly => Only(Authorizations(), 1, "start + approval; console (deadlines) projection only"),
        UpkeepWork.AuthorizationsMonitoringOnly => Only(Authorizations(), 2, "start + approval; monitoring-extract projection only"),
        _ => throw new ArgumentOutOfRangeException(nameof(work), work, "not an upkeep workload"),
    };

    private static UpkeepWorkload Only(UpkeepWorkload workload, int projection, string describes) =>
        workload with { Describes = describes, Projections = [workload.Projections[projection]] };

    private static UpkeepWorkload Floor(UpkeepWorkload workload, string events, bool coalesced) => workload with
    {
        Describes = $"{events}; arm \"with\": no projection, one listing-sized row per event{(coalesced ? ", coalesced" : ", upserted and awaited")}",
        Projections = [],
        FloorRows = coalesced,
    };

    /// <summary>
    /// ECM authorizations: started, then approved. With <paramref name="monitoring"/> every projection the hub registers for
    /// them (listing, console, the monitoring extract's); without, the listing and console ones (the figures before stop 31).
    /// </summary>
    public static UpkeepWorkload Authorizations(bool monitoring = true) => new(
        monitoring ? "start + approval; listing, console and monitoring-extract projections" : "start + approval; listing and console projections",
        [WorkflowDefinition.From(new AuthorizationWorkflow(new AuthorizationOptions().ToPolicy()))],
        [
            WorkflowProjection.From(AuthorizationWorkflow.TypeName, new AuthorizationListingProjection()),
            WorkflowProjection.From(AuthorizationWorkflow.TypeName, new AuthorizationConsoleProjection(Calendar)),
            .. monitoring ? [WorkflowProjection.From(AuthorizationWorkflow.TypeName, new MonitoringAuthorizationsProjection(new MemberCountingKey(RandomNumberGenerator.GetBytes(32))))] : Array.Empty<WorkflowProjection>(),
        ],
        async (runtime, id, _, afterEvent, ct) =>
        {
            var request = new AuthorizationRequest(id, "90000000A", RequestedService.Ecm("experiencing-homelessness-adults"), "1245319599", "county-hospital", Urgency.Routine,
                ["experiencing-homelessness"], "ascmi-1", DateTimeOffset.UtcNow);
            await runtime.StartAsync(AuthorizationWorkflow.TypeName, id, WorkflowJson.ToElement(request), ct);
            await afterEvent(id, ct);
            await runtime.RaiseEventAsync(id, AuthorizationEvents.Decision, WorkflowJson.ToElement(new DecisionData(DecisionOutcome.Approve, null, "staff-1")), null, ct);
            await afterEvent(id, ct);
        });

    /// <summary>
    /// ECM referrals offered to one of 200 providers from one of 50 referring entities (as the loaded items are spread), then
    /// accepted by it: the console projection (funnel, open referrals, the acknowledgement deadline, the providers' and
    /// referring entities' day counters and weekly roll-ups). The policy names no service as needing authorization, so no
    /// child authorization is started: the round measures the referral's own projection.
    /// </summary>
    public static UpkeepWorkload Referrals()
    {
        var policy = ReferralPolicy.Default(new HashSet<string>(StringComparer.Ordinal));
        return new(
            "start + accepted, no child authorization; console projection with counters and roll-ups",
            [WorkflowDefinition.From(new ReferralWorkflow(policy))],
            [WorkflowProjection.From(ReferralWorkflow.TypeName, new ReferralConsoleProjection(Calendar))],
            async (runtime, id, i, afterEvent, ct) =>
            {
                var npi = "1" + (i % 200).ToString("D9", CultureInfo.InvariantCulture);
                var provider = new ProviderDirectoryEntry(npi, $"Bench provider {i % 200}", [ReferralService.Ecm], ["Los Angeles"], ["justice-involved"], new ProviderCapacity(0, 1000), "api");
                var start = new ReferralStart(id, "bench", new ReferralService(ReferralService.Ecm, ["justice-involved"]), "90000000A",
                    new ReferringEntity($"Referring entity {i % 50}", null), npi, ReferralUrgency.Routine, null, DateTimeOffset.UtcNow, [provider]);
                await runtime.StartAsync(ReferralWorkflow.TypeName, id, WorkflowJson.ToElement(start), ct);
                await afterEvent(id, ct);
                var accepted = new StatusReport(ReferralStatus.Accepted, null, npi, Calendar.DateOf(DateTimeOffset.UtcNow), "webhook");
                await runtime.RaiseEventAsync(id, ReferralWorkflowEvents.StatusReported, WorkflowJson.ToElement(accepted), null, ct);
                await afterEvent(id, ct);
            });
    }
}
