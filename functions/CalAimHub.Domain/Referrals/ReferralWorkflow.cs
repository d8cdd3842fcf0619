using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;

namespace CalAimHub.Domain.Referrals;

/// <summary>
/// The <c>referral</c> workflow, the DHCS closed loop: created → (authorization child workflow, when the service needs
/// one; status updates begin after its decision) → routed to the first provider of a prioritized list → acknowledgement
/// deadline (2 California working days, 24 hours for a discharge) → accepted / declined with a reason / no answer → on a
/// decline or at the deadline the next provider, until the list ends → escalated to plan staff → outreach initiated →
/// loop closed with a closure reason. Sobering-center referrals are exempt from tracking: recorded and completed at once.
/// Notices (DHCS CLR "supporting"): referrer and member on assignment, authorization, decline and closure; the referrer
/// alone when an offer goes unanswered (<see cref="NoResponse"/>); plan staff on escalation.
/// </summary>
/// <remarks>
/// As in <see cref="AuthorizationWorkflow"/>, Decide is derived from Evolve: the state is evolved and the difference
/// (new offers, answered offers, authorization, escalation, closure) becomes actions, so timers and notices can never
/// disagree with the state. Reports that have no legal transition now are ignored (the intake answers 409 for them).
/// </remarks>
public sealed class ReferralWorkflow(ReferralPolicy policy) : IWorkflowDecider<ReferralState>
{
    public const string TypeName = "referral";

    public const string Assigned = "calaim.referral.assigned";
    public const string Authorization = "calaim.referral.authorization-decided";
    public const string Declined = "calaim.referral.declined";
    public const string NoResponse = "calaim.referral.no-response";
    public const string Escalated = "calaim.referral.escalated";
    public const string Closed = "calaim.referral.closed";

    public const string ExemptClosureReason = "Exempt from closed-loop tracking (sobering center)";

    public string Type => TypeName;

    public int Version => 1;

    public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { ReferralWorkflowEvents.StatusReported, ReferralWorkflowEvents.AuthorizationDecided };

    public IReadOnlyDictionary<string, Type> EventData { get; } = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [ReferralWorkflowEvents.StatusReported] = typeof(StatusReport),
        [ReferralWorkflowEvents.AuthorizationDecided] = typeof(AuthorizationDecidedData),
    };

    /// <summary>A referral starts from a platform's signed <c>referral.created</c> webhook (the intake keeps its ledger and member index).</summary>
    public WorkflowStart StartedBy { get; } = WorkflowStart.ByDomainApi("POST /api/webhooks/{platform}");

    public ReferralState InitialState => ReferralState.Initial;

    public ReferralPolicy Policy => policy;

    /// <summary>The child authorization instance id: derived from the referral id (never from member data).</summary>
    public static string AuthorizationInstanceId(string referralId) =>
        "referral-auth-" + StableHash.Hex(referralId, 16);

    public IReadOnlyList<WorkflowAction> Decide(ReferralState state, WorkflowEvent @event, DateTimeOffset now)
    {
        var next = Evolve(state, @event);
        if (ReferenceEquals(next, state))
        {
            return [];
        }

        var actions = new List<WorkflowAction>();
        var id = next.ReferralId!;
        if (next.AuthorizationId is { } authorizationId && state.AuthorizationId is null)
        {
            actions.Add(new StartChildWorkflow(authorizationId, AuthorizationWorkflow.TypeName, WorkflowJson.ToElement(AuthorizationRequestFor(next, authorizationId))));
        }

        if (next.AuthorizationOutcome is DecisionOutcome.Approve or DecisionOutcome.Deny && state.AuthorizationOutcome != next.AuthorizationOutcome)
        {
            actions.AddRange(NotifyBoth("authorization", Authorization, next, null, next.AuthorizationOutcome == DecisionOutcome.Deny ? next.AuthorizationReason : null));
        }

        foreach (var attempt in next.Attempts)
        {
            var before = state.Attempts.FirstOrDefault(a => a.Number == attempt.Number);
            if (before is null && attempt.Open)
            {
                actions.Add(new ScheduleTimer(attempt.TimerId, attempt.DueAt));
            }

            if (before is { Open: true } && !attempt.Open && attempt.Outcome != AttemptOutcome.TimedOut)
            {
                actions.Add(new CancelTimer(attempt.TimerId));
            }

            if (before?.Outcome != attempt.Outcome && attempt.Outcome == AttemptOutcome.Accepted)
            {
                actions.AddRange(NotifyBoth("assigned", Assigned, next, attempt, null));
            }

            if (before?.Outcome != attempt.Outcome && attempt.Outcome == AttemptOutcome.Declined)
            {
                actions.AddRange(NotifyBoth($"declined:{attempt.Number}", Declined, next, attempt, attempt.Reason));
            }

            if (before?.Outcome != attempt.Outcome && attempt.Outcome == AttemptOutcome.TimedOut)
            {
                // DHCS "supporting": the referring entity learns the referral moved on (or went to plan staff) and why. The
                // member is told of the assignment, not of each silent provider. One notice per offer: keyed by its number.
                actions.Add(Notice($"no-response:{attempt.Number}:referrer", NoResponse, policy.ReferrerSubscriber(next.Platform!), next, attempt, NoAnswerBy(attempt.DueAt)));
            }
        }

        if (next.EscalatedAt is not null && state.EscalatedAt is null)
        {
            actions.Add(Notice("escalated", Escalated, policy.PlanStaffSubscriber, next, null, null));
        }

        actions.Add(new SetCustomStatus(WorkflowJson.ToElement(CustomStatus(next))));
        actions.Add(new SetNextDeadline(next.OpenAttempt?.DueAt));
        if (next.Closed && !state.Closed)
        {
            if (!next.ExemptFromTracking)
            {
                actions.AddRange(NotifyBoth("closed", Closed, next, next.CurrentAttempt, null));
            }

            actions.Add(new CompleteWorkflow(WorkflowJson.ToElement(new { referralId = id, status = next.Status, closureReason = next.ClosureReason })));
        }

        return actions;
    }

    public ReferralState Evolve(ReferralState state, WorkflowEvent @event)
    {
        if (state.Closed || (state.Phase == ReferralPhase.New) != (@event.Name == WorkflowEvent.Started))
        {
            return state;
        }

        try
        {
            return @event.Name switch
            {
                WorkflowEvent.Started when @event.DataAs<ReferralStart>() is { } start => Start(start, @event.RecordedAt),
                WorkflowEvent.TimerFired when @event.DataAs<TimerFiredData>() is { } timer => TimerFired(state, timer),
                ReferralWorkflowEvents.StatusReported when @event.DataAs<StatusReport>() is { } report => StatusReported(state, report, @event.RecordedAt),
                ReferralWorkflowEvents.AuthorizationDecided when @event.DataAs<AuthorizationDecidedData>() is { } decided => AuthorizationDecided(state, decided, @event.RecordedAt),
                _ => state,
            };
        }
        catch (System.Text.Json.JsonException)
        {
            // A malformed external event must not break the instance.
            return state;
        }
    }

    private ReferralState Start(ReferralStart start, DateTimeOffset at)
    {
        var candidates = ReferralRouting.Rank(start.Directory, start.Service, start.County, start.ReceivingProviderNpi, policy.MaxCandidates);
        if (start.ReceivingProviderNpi is { } preferred && candidates.All(c => c.Npi != preferred))
        {
            // The platform already sent it to this provider: it is offered first even when the directory does not list it
            // as a candidate (full, another county). Its name is the directory's, or none: an NPI is not a name.
            var name = start.Directory.FirstOrDefault(p => p.Npi == preferred)?.Name;
            candidates = [new RoutingCandidate(preferred, name), .. candidates.Take(policy.MaxCandidates - 1)];
        }

        var state = ReferralState.Initial with
        {
            Phase = ReferralPhase.AwaitingAcknowledgement,
            ReferralId = start.ReferralId,
            Platform = start.Platform,
            Service = start.Service,
            MemberCin = start.MemberCin,
            ReferringEntity = start.ReferringEntity,
            Urgency = start.Urgency,
            ReferredAt = start.ReferredAt,
            SupportingFacts = start.SupportingFacts,
            Candidates = candidates,
            History = [new StatusEntry(ReferralStatus.Pending, policy.Calendar.DateOf(start.ReferredAt), "referral", null, at)],
        };

        if (start.Service.ExemptFromTracking)
        {
            return state with { Phase = ReferralPhase.Closed, ExemptFromTracking = true, ClosureReason = ExemptClosureReason, ClosedAt = at, Candidates = [] };
        }

        if (policy.NeedsAuthorization(start.Service))
        {
            // DHCS: for services that need MCP authorization, status updates begin after the authorization decision.
            return state with { Phase = ReferralPhase.AwaitingAuthorization, AuthorizationId = AuthorizationInstanceId(start.ReferralId) };
        }

        return Route(state, at);
    }

    /// <summary>Offers the referral to the next candidate, or escalates to plan staff when the list is used up.</summary>
    private ReferralState Route(ReferralState state, DateTimeOffset at)
    {
        var offered = state.Attempts.Select(a => a.Npi).ToHashSet(StringComparer.Ordinal);
        var next = state.Candidates.FirstOrDefault(c => !offered.Contains(c.Npi));

        // Declined → Pending: the referral is re-referred, to the next provider or by plan staff.
        var pending = state.Status == ReferralStatus.Pending
            ? state
            : state with { Status = ReferralStatus.Pending, History = [.. state.History, new StatusEntry(ReferralStatus.Pending, policy.Calendar.DateOf(at), next is null ? "escalation" : "re-route", null, at)] };
        if (next is null)
        {
            return pending with { Phase = ReferralPhase.Escalated, EscalatedAt = state.EscalatedAt ?? at };
        }

        var attempt = new RoutingAttempt(state.Attempts.Count + 1, next.Npi, next.Name, at, policy.AcknowledgementDue(at, state.Urgency), null, null, null);
        return pending.WithAttempt(attempt) with { Phase = ReferralPhase.AwaitingAcknowledgement };
    }

    private ReferralState TimerFired(ReferralState state, TimerFiredData timer)
    {
        // Only the current offer's timer, for its current due time, counts: delivery is at-least-once.
        if (state.OpenAttempt is not { } attempt || attempt.TimerId != timer.TimerId || attempt.DueAt != timer.DueAt)
        {
            return state;
        }

        return Route(state.WithAttempt(attempt with { Outcome = AttemptOutcome.TimedOut, AnsweredAt = attempt.DueAt }), attempt.DueAt);
    }

    private ReferralState StatusReported(ReferralState state, StatusReport report, DateTimeOffset at)
    {
        var reason = string.IsNullOrWhiteSpace(report.Reason) ? null : report.Reason.Trim();
        if (report.Status.ReasonRequired() && reason is null)
        {
            return state;
        }

        var entry = new StatusEntry(report.Status, report.StatusDate, report.Source, reason, at);
        bool FromCurrent(RoutingAttempt attempt) => report.ProviderNpi is null || report.ProviderNpi == attempt.Npi;
        switch (report.Status)
        {
            case ReferralStatus.Accepted when state.OpenAttempt is { } open && FromCurrent(open):
                return state.WithAttempt(open with { Outcome = AttemptOutcome.Accepted, AnsweredAt = at }) with
                {
                    Phase = ReferralPhase.Accepted, Status = ReferralStatus.Accepted, History = [.. state.History, entry],
                };
            case ReferralStatus.Accepted when state.Phase == ReferralPhase.Escalated && report.ProviderNpi is { } npi:
                // Plan staff found a provider after the list ran out; it reports its acceptance itself.
                var name = state.Candidates.FirstOrDefault(c => c.Npi == npi)?.Name ?? report.ProviderName;
                return state.WithAttempt(new RoutingAttempt(state.Attempts.Count + 1, npi, name, at, at, AttemptOutcome.Accepted, null, at)) with
                {
                    Phase = ReferralPhase.Accepted, Status = ReferralStatus.Accepted, History = [.. state.History, entry],
                };
            case ReferralStatus.Declined when state.OpenAttempt is { } open && FromCurrent(open):
                var declined = state.WithAttempt(open with { Outcome = AttemptOutcome.Declined, Reason = reason, AnsweredAt = at }) with
                {
                    Status = ReferralStatus.Declined, History = [.. state.History, entry],
                };
                return Route(declined, at);
            case ReferralStatus.OutreachInitiated when state.Phase == ReferralPhase.Accepted && state.CurrentAttempt is { } accepted && FromCurrent(accepted):
                return state with { Phase = ReferralPhase.OutreachInitiated, Status = ReferralStatus.OutreachInitiated, History = [.. state.History, entry] };
            case ReferralStatus.ReferralLoopClosed when state.CurrentAttempt is null || FromCurrent(state.CurrentAttempt):
                var closing = state.OpenAttempt is { } withdrawn ? state.WithAttempt(withdrawn with { Outcome = AttemptOutcome.Withdrawn, AnsweredAt = at }) : state;
                return Close(closing with { History = [.. state.History, entry] }, reason!, at);
            default:
                return state;
        }
    }

    private ReferralState AuthorizationDecided(ReferralState state, AuthorizationDecidedData decided, DateTimeOffset at)
    {
        if (state.Phase != ReferralPhase.AwaitingAuthorization || decided.AuthorizationId != state.AuthorizationId || state.AuthorizationOutcome == decided.Outcome)
        {
            return state;
        }

        var recorded = state with { AuthorizationOutcome = decided.Outcome, AuthorizationReason = decided.Reason };
        return decided.Outcome switch
        {
            DecisionOutcome.Approve => Route(recorded, at),
            DecisionOutcome.Deny => Close(
                recorded with { History = [.. state.History, new StatusEntry(ReferralStatus.ReferralLoopClosed, policy.Calendar.DateOf(at), "authorization", NotAuthorized(decided.Reason), at)] },
                NotAuthorized(decided.Reason), at),
            _ => recorded,
        };
    }

    /// <summary>The reason of a no-response notice, with the deadline in California time (the calendar the deadline follows).</summary>
    private string NoAnswerBy(DateTimeOffset due) =>
        "no answer by " + TimeZoneInfo.ConvertTime(due, policy.Calendar.TimeZone).ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);

    private static string NotAuthorized(string? reason) => string.IsNullOrWhiteSpace(reason) ? "Not authorized" : $"Not authorized: {reason}";

    private static ReferralState Close(ReferralState state, string reason, DateTimeOffset at) =>
        state with { Phase = ReferralPhase.Closed, Status = ReferralStatus.ReferralLoopClosed, ClosureReason = reason, ClosedAt = at };

    private static AuthorizationRequest AuthorizationRequestFor(ReferralState state, string authorizationId)
    {
        var service = state.Service!.IsEcm
            ? RequestedService.Ecm([.. state.Service.PopulationsOfFocus])
            : RequestedService.CommunitySupports(state.Service.Code);
        return new AuthorizationRequest(
            authorizationId, state.MemberCin ?? "", service, state.ReferringEntity?.Npi ?? "", state.ReferringEntity?.Name ?? state.Platform!,
            state.Urgency == ReferralUrgency.Routine ? Urgency.Routine : Urgency.Expedited, state.SupportingFacts ?? [], null, state.ReferredAt ?? default,
            ParentInstanceId: state.ReferralId);
    }

    public static ReferralCustomStatus CustomStatus(ReferralState state) => new(
        state.Status, state.Phase, state.CurrentAttempt?.Npi, state.Attempts.Count, state.OpenAttempt?.DueAt, state.EscalatedAt is not null, state.ClosureReason);

    private IEnumerable<WorkflowAction> NotifyBoth(string key, string type, ReferralState state, RoutingAttempt? attempt, string? reason)
    {
        yield return Notice(key + ":referrer", type, policy.ReferrerSubscriber(state.Platform!), state, attempt, reason);
        yield return Notice(key + ":member", type, policy.MemberSubscriber, state, attempt, reason);
    }

    private static SendNotification Notice(string key, string type, string subscriber, ReferralState state, RoutingAttempt? attempt, string? reason)
    {
        // Ids, statuses, the provider organization and reasons only: never the CIN or anything else about the member.
        var data = WorkflowJson.ToElement(new ReferralNotice(
            state.ReferralId!, state.Status, state.Phase, attempt?.Npi, attempt?.Name, reason, state.ClosureReason, state.AuthorizationId, state.AuthorizationOutcome,
            type is Declined or NoResponse ? state.OpenAttempt is not null : null, state.EscalatedAt is not null ? true : null));
        return new SendNotification(key, type, subscriber, null, state.ReferralId, data);
    }
}
