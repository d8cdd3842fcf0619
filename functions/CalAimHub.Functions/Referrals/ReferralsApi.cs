using CalAimHub.Hosting.Staff;
using System.Text.Json;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;
using CalAimHub.Referrals;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Referral queries. <c>GET /api/referrals/{id}</c>: the referral as the intake accepted it, with the <c>referral</c>
/// workflow as the source of truth for status, history and clocks (the offers to providers and their acknowledgement
/// deadlines); <c>GET /api/referrals?status=…</c>: referrals by DHCS status (<c>Accepted</c>, <c>Referral Loop Closed</c>…)
/// or workflow phase (<c>escalated</c>, <c>awaiting-acknowledgement</c>…), from the workflow index;
/// <c>GET /api/referrals/{id}/fhir</c>: the current SDOHCC Task. The id is the hub's <c>{platform}:{platformReferralId}</c>.
/// </summary>
public static class ReferralsApi
{
    private const int MaxScannedPerRequest = 1000;

    public static void MapReferralsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/referrals").WithTags("Referrals").RequireAuthorization(StaffRoles.Viewer);
        api.MapGet("", ListAsync).WithName("ListReferrals")
            .WithSummary("Referrals by DHCS status or workflow phase, paged")
            .Produces<ReferralList>().ProducesValidationProblem();
        api.MapGet("/{id}", GetAsync).WithName("GetReferral")
            .WithSummary("A referral: status, history, offers and acknowledgement clocks; id is {platform}:{platformReferralId}")
            .Produces<ReferralView>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{id}/fhir", GetTaskAsync).WithName("GetReferralTask")
            .WithSummary("The referral's current SDOHCC FHIR Task")
            .Produces<object>(StatusCodes.Status200OK, "application/fhir+json").ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> GetAsync(string id, IReferralLedger ledger, WorkflowRuntime runtime, CancellationToken ct)
    {
        var history = await FindAsync(id, ledger, ct);
        var workflow = await WorkflowAsync(id, runtime, ct);
        if (history is null)
        {
            return NotFound(id);
        }

        var r = Current(history.Referral, workflow?.State);
        return Results.Json(new ReferralView(
            r.ReferralId, r.Platform, r.PlatformReferralId, r.Status, r.TaskStatus, r.Reason, r.Service, r.Member, r.ReferringEntity,
            r.ReceivingProviderNpi, r.Urgency, r.CreatedAt, r.UpdatedAt,
            [.. history.Events.Select(e => new ReferralEventView(e.EventId, e.Kind, e.Status, e.TaskStatus, e.Reason, e.OccurredAt, e.ReceivedAt))],
            workflow is { } w ? WorkflowView.Of(w.Instance, w.State) : null),
            ReferralJson.Options);
    }

    private static async Task<IResult> ListAsync(string? status, string? continuation, int? top, WorkflowRuntime runtime, ListContinuation tokens, CancellationToken ct)
    {
        const string listing = "referrals";
        if (continuation is not null && !tokens.TryRead(listing, continuation, out continuation))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid continuation token",
                detail: "pass back the continuation of the previous page of GET /api/referrals unchanged");
        }

        ReferralStatus? dhcs = null;
        ReferralPhase? phase = null;
        if (status is not null)
        {
            dhcs = ReferralStatuses.Parse(status);
            phase = Enum.GetValues<ReferralPhase>().Cast<ReferralPhase?>().FirstOrDefault(p => JsonNamingPolicy.KebabCaseLower.ConvertName(p!.Value.ToString()) == status.Trim().ToLowerInvariant());
            if (dhcs is null && phase is null)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["status"] = [$"'{status}' is neither a DHCS referral status ({ReferralStatuses.AllNames}) nor a workflow phase ({string.Join(", ", Enum.GetValues<ReferralPhase>().Select(p => $"'{JsonNamingPolicy.KebabCaseLower.ConvertName(p.ToString())}'"))})"],
                }, title: "Invalid referral query");
            }
        }

        var wanted = Math.Clamp(top ?? 50, 1, 500);
        var items = new List<ReferralListItem>();
        var scanned = 0;
        do
        {
            var (entries, next) = await runtime.Store.IndexPageAsync(ReferralWorkflow.TypeName, continuation, 100, ct);
            continuation = next;
            foreach (var entry in entries)
            {
                scanned++;
                if (await runtime.GetAsync(entry.InstanceId, ct) is not { } instance
                    || instance.CustomStatus?.Deserialize<ReferralCustomStatus>(WorkflowJson.Options) is not { } custom
                    || (dhcs is not null && custom.Status != dhcs) || (phase is not null && custom.Phase != phase))
                {
                    continue;
                }

                items.Add(new ReferralListItem(instance.InstanceId, custom.Status, custom.Phase, custom.ProviderNpi, custom.AcknowledgementDue, custom.Escalated,
                    custom.ClosureReason, instance.Status, instance.CreatedTime, instance.LastUpdatedTime));
            }
        }
        while (continuation is not null && items.Count < wanted && scanned < MaxScannedPerRequest);

        return Results.Json(new ReferralList(items, tokens.Issue(listing, continuation)), ReferralJson.Options);
    }

    private static async Task<IResult> GetTaskAsync(string id, IReferralLedger ledger, WorkflowRuntime runtime, CancellationToken ct) =>
        await FindAsync(id, ledger, ct) is { } history
            ? Results.Text(ReferralTaskWriter.ToJson(Current(history.Referral, (await WorkflowAsync(id, runtime, ct))?.State)), "application/fhir+json")
            : NotFound(id);

    /// <summary>The intake's snapshot with the workflow's status, reason and provider (the workflow re-routes and times out; the intake does not).</summary>
    private static ReferralSnapshot Current(ReferralSnapshot snapshot, ReferralState? state)
    {
        if (state is null || state.Phase == ReferralPhase.New)
        {
            return snapshot;
        }

        var reason = state.Closed ? state.ClosureReason : state.Attempts.LastOrDefault()?.Reason is { } r && state.Status == ReferralStatus.Declined ? r : null;
        return snapshot with
        {
            Status = state.Status,
            TaskStatus = ReferralStatusMap.ToTaskStatus(state.Status, reason),
            Reason = reason,
            ReceivingProviderNpi = state.CurrentAttempt?.Npi ?? snapshot.ReceivingProviderNpi,
        };
    }

    private static async Task<(WorkflowInstance Instance, ReferralState State)?> WorkflowAsync(string id, WorkflowRuntime runtime, CancellationToken ct) =>
        ReferralIdentifiers.Split(id) is not null
        && await runtime.GetAsync(id, ct) is { Type: ReferralWorkflow.TypeName } instance
        && runtime.Registry.Find(ReferralWorkflow.TypeName)?.ReadState(instance.State, instance.Version) is ReferralState state
            ? (instance, state)
            : null;

    private static async Task<ReferralHistory?> FindAsync(string id, IReferralLedger ledger, CancellationToken ct) =>
        ReferralIdentifiers.Split(id) is null ? null : await ledger.GetAsync(id, ct);

    private static IResult NotFound(string id) => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such referral",
        detail: ReferralIdentifiers.Split(id) is null
            ? "a referral id is '{platform}:{platformReferralId}', as answered by the webhook"
            : $"no referral '{id}' has been accepted");
}

/// <param name="Events">Accepted events in order, without member data (the referral carries the member once).</param>
/// <param name="Workflow">The closed-loop workflow: null until the <c>ReferralEvents</c> function has started it.</param>
public sealed record ReferralView(
    string ReferralId, string Platform, string PlatformReferralId, ReferralStatus Status, string TaskStatus, string? Reason, ReferralService? Service,
    MemberReference? Member, ReferringEntity? ReferringEntity, string? ReceivingProviderNpi, ReferralUrgency Urgency, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, IReadOnlyList<ReferralEventView> Events, WorkflowView? Workflow = null);

public sealed record ReferralEventView(string EventId, ReferralEventKind Kind, ReferralStatus Status, string TaskStatus, string? Reason, DateTimeOffset OccurredAt, DateTimeOffset ReceivedAt);

/// <summary>The workflow's view: phase, DHCS status history (each status with its own date), offers and their clocks, authorization, closure.</summary>
public sealed record WorkflowView(
    string InstanceId,
    string RuntimeStatus,
    ReferralPhase Phase,
    ReferralStatus Status,
    DateTimeOffset? NextDeadline,
    IReadOnlyList<RoutingAttempt> Offers,
    IReadOnlyList<StatusEntry> History,
    string? AuthorizationId,
    string? AuthorizationOutcome,
    DateTimeOffset? EscalatedAt,
    string? ClosureReason,
    DateTimeOffset? ClosedAt,
    bool ExemptFromTracking)
{
    public static WorkflowView Of(WorkflowInstance instance, ReferralState state) => new(
        instance.InstanceId, instance.Status.ToString(), state.Phase, state.Status, instance.NextDeadline, state.Attempts, state.History, state.AuthorizationId,
        state.AuthorizationOutcome is { } o ? JsonNamingPolicy.KebabCaseLower.ConvertName(o.ToString()) : null, state.EscalatedAt, state.ClosureReason, state.ClosedAt,
        state.ExemptFromTracking);
}

public sealed record ReferralListItem(
    string ReferralId, ReferralStatus Status, ReferralPhase Phase, string? ProviderNpi, DateTimeOffset? AcknowledgementDue, bool Escalated, string? ClosureReason,
    WorkflowRuntimeStatus RuntimeStatus, DateTimeOffset CreatedTime, DateTimeOffset LastUpdatedTime);

public sealed record ReferralList(IReadOnlyList<ReferralListItem> Items, string? Continuation);
