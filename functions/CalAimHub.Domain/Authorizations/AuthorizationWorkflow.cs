using CalAimHub.Domain.Workflows;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// The <c>authorization</c> workflow for ECM, each Community Supports service and the joint housing-trio request:
/// received → validated (API) → duplicate check (API, index table: it needs I/O) → consent check → eligibility →
/// presumptive authorization or plan review (approve / deny with reason / pend) → decision notices → authorized period
/// → reauthorization reminder → reauthorization or expiry.
/// </summary>
/// <remarks>
/// Decide is derived from Evolve: it evolves the state and turns the difference (new clocks, moved due times,
/// satisfied clocks, reminders, breaches, decisions) into actions. One source of truth for every transition, so
/// the timers the runtime arms can never disagree with the clocks the state shows.
/// </remarks>
public sealed class AuthorizationWorkflow(AuthorizationPolicy policy) : IWorkflowDecider<AuthorizationState>
{
    public const string TypeName = "authorization";

    public const string Received = "calaim.authorization.received";
    public const string Decided = "calaim.authorization.decided";
    public const string Extended = "calaim.authorization.extended";
    public const string DeadlineApproaching = "calaim.authorization.deadline-approaching";
    public const string DeadlineBreached = "calaim.authorization.deadline-breached";
    public const string Expiring = "calaim.authorization.expiring";

    public string Type => TypeName;

    public int Version => 1;

    public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        AuthorizationEvents.Decision, AuthorizationEvents.Extension, AuthorizationEvents.NoticesSent, AuthorizationEvents.ReauthorizationRequested,
    };

    public IReadOnlyDictionary<string, Type> EventData { get; } = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [AuthorizationEvents.Decision] = typeof(DecisionData),
        [AuthorizationEvents.Extension] = typeof(ExtensionData),
        [AuthorizationEvents.NoticesSent] = typeof(NoticesSentData),
        [AuthorizationEvents.ReauthorizationRequested] = typeof(ReauthorizationRequestData),
    };

    /// <summary>An authorization starts from its API (validation, duplicate check, member index) or as a referral's child.</summary>
    public WorkflowStart StartedBy { get; } = WorkflowStart.ByDomainApi("POST /api/authorizations");

    public AuthorizationState InitialState => AuthorizationState.Initial;

    public AuthorizationPolicy Policy => policy;

    public IReadOnlyList<WorkflowAction> Decide(AuthorizationState state, WorkflowEvent @event, DateTimeOffset now)
    {
        var next = Evolve(state, @event);
        if (ReferenceEquals(next, state))
        {
            return [];
        }

        var actions = new List<WorkflowAction>();
        var id = next.Request!.AuthorizationId;
        if (state.Status == AuthorizationStatus.New)
        {
            actions.AddRange(Notify("received", Received, id, next, null));
        }

        foreach (var clock in next.Clocks)
        {
            var before = state.Clock(clock.Id);
            if (clock.Open && (before is null || before.DueAt != clock.DueAt))
            {
                // Same timer ids on an extension: the runtime supersedes the old timers, the decider ignores stale ones.
                if (clock.ReminderAt is { } reminderAt && !clock.Reminded)
                {
                    actions.Add(new ScheduleTimer(clock.ReminderTimerId, reminderAt));
                }

                actions.Add(new ScheduleTimer(clock.DueTimerId, clock.DueAt));
                if (before is not null)
                {
                    actions.AddRange(Notify($"extended:{clock.Id}", Extended, id, next, clock));
                }
            }

            if (before is { Open: true } && !clock.Open)
            {
                actions.Add(new CancelTimer(clock.ReminderTimerId));
                actions.Add(new CancelTimer(clock.DueTimerId));
            }

            if (clock.Reminded && before is { Reminded: false })
            {
                actions.AddRange(clock.Kind == ClockKind.Period
                    ? Notify($"expiring:{clock.Id}", Expiring, id, next, clock)
                    : Notify($"deadline-approaching:{clock.Id}", DeadlineApproaching, id, next, clock));
            }

            if (clock.BreachedAt is not null && before?.BreachedAt is null)
            {
                actions.AddRange(Notify($"deadline-breached:{clock.Id}", DeadlineBreached, id, next, clock));
            }
        }

        foreach (var decision in next.Decisions.Skip(state.Decisions.Count))
        {
            actions.AddRange(Notify($"decided:{decision.Number}", Decided, id, next, null, decision.Outcome));
            if (next.Request.ParentInstanceId is { } parent)
            {
                actions.Add(new RaiseWorkflowEvent($"parent-decided:{decision.Number}", parent, AuthorizationEvents.DecidedForParent,
                    WorkflowJson.ToElement(new ParentDecisionData(id, decision.Outcome, decision.Reason))));
            }
        }

        actions.Add(new SetCustomStatus(WorkflowJson.ToElement(CustomStatus(next))));
        actions.Add(new SetNextDeadline(NextDeadline(next)));
        if (next.Closed && !state.Closed)
        {
            actions.Add(new CompleteWorkflow(WorkflowJson.ToElement(new { authorizationId = id, status = next.Status })));
        }

        return actions;
    }

    public AuthorizationState Evolve(AuthorizationState state, WorkflowEvent @event)
    {
        if (state.Closed || (state.Status == AuthorizationStatus.New) != (@event.Name == WorkflowEvent.Started))
        {
            return state;
        }

        try
        {
            return @event.Name switch
            {
                WorkflowEvent.Started when @event.DataAs<AuthorizationRequest>() is { } request => Start(request),
                WorkflowEvent.TimerFired when @event.DataAs<TimerFiredData>() is { } timer => TimerFired(state, timer),
                AuthorizationEvents.Decision when @event.DataAs<DecisionData>() is { } decision => Decision(state, decision, @event.RecordedAt),
                AuthorizationEvents.Extension when @event.DataAs<ExtensionData>() is { } extension => Extension(state, extension, @event.RecordedAt),
                AuthorizationEvents.NoticesSent when @event.DataAs<NoticesSentData>() is not null => NoticesSent(state, @event.RecordedAt),
                AuthorizationEvents.ReauthorizationRequested when @event.DataAs<ReauthorizationRequestData>() is { } reauthorization => Reauthorize(state, reauthorization, @event.RecordedAt),
                _ => state,
            };
        }
        catch (System.Text.Json.JsonException)
        {
            // A malformed external event must not break the instance; the API validates before raising.
            return state;
        }
    }

    /// <summary>Why a decision cannot be recorded now, or null. The API asks first so staff get a precise answer.</summary>
    public static AuthorizationCommandProblem? DecisionProblem(AuthorizationState state, DecisionData decision)
    {
        if (state.OpenDecisionClock is null)
        {
            return new(null, $"authorization is {Kebab(state.Status)} and has no open request to decide");
        }

        if (string.IsNullOrWhiteSpace(decision.DecidedBy))
        {
            return new("decidedBy", "is required: the plan staff id recording the decision");
        }

        if (decision.Outcome != DecisionOutcome.Approve && string.IsNullOrWhiteSpace(decision.Reason))
        {
            return new("reason", decision.Outcome == DecisionOutcome.Deny
                ? "is required to deny: state the DHCS criterion not met"
                : "is required to pend: state the information needed");
        }

        if (decision.Outcome == DecisionOutcome.Approve && state.Request is { SharesPart2Information: true, ConsentReference: null } && string.IsNullOrWhiteSpace(decision.ConsentReference))
        {
            return new("consentReference", "is required to approve: the request shares 42 CFR Part 2 information and no consent is on file");
        }

        return null;
    }

    /// <summary>Why the extension cannot be taken at <paramref name="at"/>, or null.</summary>
    public AuthorizationCommandProblem? ExtensionProblem(AuthorizationState state, ExtensionData extension, DateTimeOffset at)
    {
        var clock = state.OpenDecisionClock;
        if (clock is null)
        {
            return new(null, $"authorization is {Kebab(state.Status)} and has no open decision clock to extend");
        }

        if (state.Request!.Urgency == Urgency.Expedited && clock.Id == "decision")
        {
            return new(null, "an expedited request cannot be extended: it must be decided within 72 hours of receipt");
        }

        if (clock.Extended)
        {
            return new(null, $"the decision clock was already extended once, to {clock.DueAt:O}; only one extension is allowed");
        }

        if (at >= clock.DueAt)
        {
            return new(null, $"the decision deadline {clock.DueAt:O} has passed; an extension must be taken before it");
        }

        if (string.IsNullOrWhiteSpace(extension.Reason) || string.IsNullOrWhiteSpace(extension.ExtendedBy))
        {
            return new(string.IsNullOrWhiteSpace(extension.Reason) ? "reason" : "extendedBy",
                "is required: the extension notice tells member and provider why");
        }

        return null;
    }

    public static AuthorizationCommandProblem? ReauthorizationProblem(AuthorizationState state) =>
        state.Status != AuthorizationStatus.Authorized
            ? new(null, $"authorization is {Kebab(state.Status)}; only an authorized authorization can be reauthorized")
            : state.Reauthorization is ReviewStatus.InReview or ReviewStatus.PendingInformation
                ? new(null, "a reauthorization request is already in review")
                : null;

    public static AuthorizationCommandProblem? NoticesProblem(AuthorizationState state) =>
        state.Clocks.Any(c => c.Kind == ClockKind.Notices && c.Open)
            ? null
            : new(null, "no decision notices are due");

    private AuthorizationState Start(AuthorizationRequest request)
    {
        var received = request.ReceivedAt;
        var eligibility = Eligibility.Evaluate(request, policy.PopulationsOfFocus, policy.CommunitySupports);
        var decisionClock = DecisionClock("decision", received, request.Urgency);
        var state = AuthorizationState.Initial with
        {
            Status = AuthorizationStatus.InReview,
            Request = request,
            Eligibility = eligibility,
            Clocks = [decisionClock],
        };

        // Consent first: without it nothing about the member's SUD treatment may be shared, presumptively or not.
        if (request.SharesPart2Information && string.IsNullOrWhiteSpace(request.ConsentReference))
        {
            return state with { Status = AuthorizationStatus.PendingInformation, PendReason = "consent-required: the request shares 42 CFR Part 2 information and no consent reference was given" };
        }

        if (policy.PresumptiveBasis(request, eligibility) is { } basis)
        {
            return Approve(state with { PresumptiveBasis = basis }, decisionClock, "initial", "presumptive", basis, received);
        }

        return state;
    }

    private AuthorizationState Decision(AuthorizationState state, DecisionData decision, DateTimeOffset at)
    {
        if (DecisionProblem(state, decision) is not null)
        {
            return state;
        }

        var clock = state.OpenDecisionClock!;
        var review = clock.Id == "decision" ? "initial" : clock.Id[..^"-decision".Length];
        if (decision.ConsentReference is { Length: > 0 } consent && state.Request!.ConsentReference is null)
        {
            state = state with { Request = state.Request with { ConsentReference = consent } };
        }

        switch (decision.Outcome)
        {
            case DecisionOutcome.Approve:
                return Approve(state, clock, review, decision.DecidedBy, decision.Reason, at);
            case DecisionOutcome.Deny:
                state = Record(state, review, DecisionOutcome.Deny, decision.Reason, decision.DecidedBy, at);
                state = state.WithClock(Satisfy(clock, at)).WithClock(NoticesClock(NoticesId(review), at, state.Request!));
                return review == "initial"
                    ? state with { Status = AuthorizationStatus.Denied, PendReason = null }
                    : state with { Reauthorization = ReviewStatus.Denied, PendReason = null };
            default:
                // Pending for information never stops or resets the clock: the plan still owes a decision by the due time.
                state = Record(state, review, DecisionOutcome.Pend, decision.Reason, decision.DecidedBy, at);
                return review == "initial"
                    ? state with { Status = AuthorizationStatus.PendingInformation, PendReason = decision.Reason }
                    : state with { Reauthorization = ReviewStatus.PendingInformation, PendReason = decision.Reason };
        }
    }

    private AuthorizationState Approve(AuthorizationState state, AuthorizationClock clock, string review, string decidedBy, string? reason, DateTimeOffset at)
    {
        state = Record(state, review, DecisionOutcome.Approve, reason, decidedBy, at);
        state = state.WithClock(Satisfy(clock, at)).WithClock(NoticesClock(NoticesId(review), at, state.Request!));
        var periods = policy.Periods.For(state.Request!.Service);
        if (state.Period is not { } current)
        {
            var period = new AuthorizedPeriod(at, Authorizations.AuthorizationPeriods.EndOf(at, periods.InitialMonths, policy.Calendar), 1);
            return state.WithClock(PeriodClock(period)) with { Status = AuthorizationStatus.Authorized, Period = period, PendReason = null };
        }

        // A reauthorization continues from the end of the period in force, so approving early never shortens it.
        var renewed = new AuthorizedPeriod(current.EndsAt, Authorizations.AuthorizationPeriods.EndOf(current.EndsAt, periods.ReauthorizationMonths, policy.Calendar), current.Number + 1);
        var currentClock = state.Clock(PeriodId(current.Number))!;
        return state.WithClock(currentClock with { SatisfiedAt = at }).WithClock(PeriodClock(renewed)) with
        {
            Period = renewed,
            Reauthorization = ReviewStatus.Approved,
            PendReason = null,
        };
    }

    private AuthorizationState Extension(AuthorizationState state, ExtensionData extension, DateTimeOffset at)
    {
        if (ExtensionProblem(state, extension, at) is not null)
        {
            return state;
        }

        var clock = state.OpenDecisionClock!;
        var due = policy.Deadlines.ExtendedDecisionDue(clock.StartedAt, policy.Calendar);
        return state.WithClock(clock with
        {
            DueAt = due,
            Extended = true,
            ReminderAt = Reminder(clock.StartedAt, due, policy.Deadlines.RoutineReminderLead),
            Reminded = false,
        });
    }

    private static AuthorizationState NoticesSent(AuthorizationState state, DateTimeOffset at) =>
        state.Clocks.LastOrDefault(c => c.Kind == ClockKind.Notices && c.Open) is { } clock
            ? state.WithClock(Satisfy(clock, at))
            : state;

    private AuthorizationState Reauthorize(AuthorizationState state, ReauthorizationRequestData request, DateTimeOffset at)
    {
        if (ReauthorizationProblem(state) is not null || string.IsNullOrWhiteSpace(request.RequestedBy))
        {
            return state;
        }

        var number = state.Reauthorizations + 1;
        return state.WithClock(DecisionClock($"reauthorization-{number}-decision", at, Urgency.Routine)) with
        {
            Reauthorizations = number,
            Reauthorization = ReviewStatus.InReview,
        };
    }

    private AuthorizationState TimerFired(AuthorizationState state, TimerFiredData timer)
    {
        var clock = state.Clocks.FirstOrDefault(c => c.Open && (c.ReminderTimerId == timer.TimerId || c.DueTimerId == timer.TimerId));
        if (clock is null)
        {
            return state;
        }

        if (timer.TimerId == clock.ReminderTimerId)
        {
            // A reminder armed for a due time that has since moved is stale: only the current one counts.
            return clock.Reminded || clock.ReminderAt != timer.DueAt ? state : state.WithClock(clock with { Reminded = true });
        }

        if (clock.DueAt != timer.DueAt)
        {
            return state;
        }

        if (clock.Kind == ClockKind.Period)
        {
            // End of the period with no reauthorization approved: the authorization closes. A reauthorization review
            // still open stays on the record as it was (undecided), rather than being relabelled as a denial.
            return state.WithClock(clock with { SatisfiedAt = clock.DueAt }) with { Status = AuthorizationStatus.Expired };
        }

        // Breach: recorded at the due instant (not when the timer happened to arrive), escalated, and the clock stays
        // open and keeps counting until the decision or notice finally comes.
        return clock.BreachedAt is not null ? state : state.WithClock(clock with { BreachedAt = clock.DueAt }) with { Escalated = true };
    }

    private static AuthorizationState Record(AuthorizationState state, string review, DecisionOutcome outcome, string? reason, string decidedBy, DateTimeOffset at) =>
        state with { Decisions = [.. state.Decisions, new AuthorizationDecision(state.Decisions.Count + 1, review, outcome, reason, decidedBy, at)] };

    /// <summary>A late satisfaction is a breach even when the due timer has not arrived yet.</summary>
    private static AuthorizationClock Satisfy(AuthorizationClock clock, DateTimeOffset at) =>
        clock with { SatisfiedAt = at, BreachedAt = clock.BreachedAt ?? (at > clock.DueAt ? clock.DueAt : null) };

    private AuthorizationClock DecisionClock(string id, DateTimeOffset start, Urgency urgency)
    {
        var due = policy.Deadlines.DecisionDue(start, urgency, policy.Calendar);
        return new(id, ClockKind.Decision, start, due, Reminder(start, due, policy.Deadlines.DecisionReminderLead(urgency)), false, false, null, null);
    }

    private AuthorizationClock NoticesClock(string id, DateTimeOffset decidedAt, AuthorizationRequest request)
    {
        var due = policy.Deadlines.NoticeDue(decidedAt, request.ReceivedAt, request.Urgency, policy.Calendar);
        return new(id, ClockKind.Notices, decidedAt, due, Reminder(decidedAt, due, policy.Deadlines.NoticeReminderLead), false, false, null, null);
    }

    private AuthorizationClock PeriodClock(AuthorizedPeriod period) =>
        new(PeriodId(period.Number), ClockKind.Period, period.StartsAt, period.EndsAt, Reminder(period.StartsAt, period.EndsAt, policy.Periods.ReauthorizationReminderLead), false, false, null, null);

    private static DateTimeOffset? Reminder(DateTimeOffset start, DateTimeOffset due, TimeSpan lead) => due - lead > start ? due - lead : null;

    private static string NoticesId(string review) => review == "initial" ? "notices" : review + "-notices";

    private static string PeriodId(int number) => $"period-{number}";

    private static string Kebab(AuthorizationStatus status) => System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());

    private IEnumerable<WorkflowAction> Notify(string key, string type, string id, AuthorizationState state, AuthorizationClock? clock, DecisionOutcome? outcome = null)
    {
        // Ids, statuses and due times only: never the CIN, names or anything else about the member.
        var data = WorkflowJson.ToElement(new NoticeData(id, state.Status, state.Reauthorization, clock?.Id, clock?.DueAt, outcome, state.Escalated ? true : null));
        return policy.Subscribers.Select(subscriber => new SendNotification(policy.Subscribers.Count == 1 ? key : $"{key}:{subscriber}", type, subscriber, null, id, data));
    }

    public static AuthorizationCustomStatus CustomStatus(AuthorizationState state) =>
        new(state.Status, state.Reauthorization, state.Escalated, state.PresumptiveBasis, NextDeadline(state), state.Period?.EndsAt);

    public static DateTimeOffset? NextDeadline(AuthorizationState state) =>
        state.Clocks.Where(c => c.Open).Select(c => (DateTimeOffset?)c.DueAt).Min();

}

/// <summary>The CloudEvent data of every authorization notice: no PHI.</summary>
public sealed record NoticeData(string AuthorizationId, AuthorizationStatus Status, ReviewStatus? Reauthorization, string? Clock, DateTimeOffset? DueAt, DecisionOutcome? Outcome, bool? Escalated);

/// <summary>The workflow custom status shown by the management API and listings: no PHI.</summary>
public sealed record AuthorizationCustomStatus(AuthorizationStatus Status, ReviewStatus? Reauthorization, bool Escalated, string? PresumptiveBasis, DateTimeOffset? NextDeadline, DateTimeOffset? AuthorizedThrough);
