using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// The stored state of one authorization workflow instance. Holds the request (the CIN is PHI at rest, never in a
/// notice or a log), every clock that ever ran, and every decision, so GET /api/authorizations/{id} can show them.
/// </summary>
public sealed record AuthorizationState(
    AuthorizationStatus Status,
    AuthorizationRequest? Request,
    EligibilityResult? Eligibility,
    string? PresumptiveBasis,
    ReviewStatus? Reauthorization,
    int Reauthorizations,
    bool Escalated,
    string? PendReason,
    IReadOnlyList<AuthorizationClock> Clocks,
    IReadOnlyList<AuthorizationDecision> Decisions,
    AuthorizedPeriod? Period)
{
    public static readonly AuthorizationState Initial = new(AuthorizationStatus.New, null, null, null, null, 0, false, null, [], [], null);

    /// <summary>The clock a review decision answers: the open decision clock, if any.</summary>
    [JsonIgnore]
    public AuthorizationClock? OpenDecisionClock => Clocks.LastOrDefault(c => c.Kind == ClockKind.Decision && c.SatisfiedAt is null);

    [JsonIgnore]
    public bool Closed => Status is AuthorizationStatus.Expired || (Status == AuthorizationStatus.Denied && Clocks.All(c => c.SatisfiedAt is not null));

    /// <summary>An open or active authorization blocks a second one for the same member and service.</summary>
    [JsonIgnore]
    public bool OpenOrActive => Status is AuthorizationStatus.InReview or AuthorizationStatus.PendingInformation or AuthorizationStatus.Authorized;

    public AuthorizationClock? Clock(string id) => Clocks.FirstOrDefault(c => c.Id == id);

    internal AuthorizationState WithClock(AuthorizationClock clock) =>
        this with { Clocks = Clocks.Any(c => c.Id == clock.Id) ? Clocks.Select(c => c.Id == clock.Id ? clock : c).ToList() : [.. Clocks, clock] };
}

[JsonConverter(typeof(KebabCaseEnumConverter<AuthorizationStatus>))]
public enum AuthorizationStatus
{
    New,
    InReview,
    PendingInformation,
    Authorized,
    Denied,
    Expired,
}

[JsonConverter(typeof(KebabCaseEnumConverter<ReviewStatus>))]
public enum ReviewStatus
{
    InReview,
    PendingInformation,
    Approved,
    Denied,
}

[JsonConverter(typeof(KebabCaseEnumConverter<ClockKind>))]
public enum ClockKind
{
    /// <summary>Plan decision on a request or reauthorization request.</summary>
    Decision,

    /// <summary>Written decision notices to member and provider.</summary>
    Notices,

    /// <summary>The authorized period; its reminder is the reauthorization reminder, its due time the expiry.</summary>
    Period,
}

/// <summary>
/// One regulatory clock. Once started, its due time only moves by the one permitted extension; a breach is recorded
/// at the due instant and stays recorded after the clock is satisfied, so lateness is never hidden.
/// </summary>
/// <param name="Id">Unique within the instance ("decision", "notices", "period-1", "reauthorization-1-decision" …); timer ids derive from it.</param>
public sealed record AuthorizationClock(
    string Id,
    ClockKind Kind,
    DateTimeOffset StartedAt,
    DateTimeOffset DueAt,
    DateTimeOffset? ReminderAt,
    bool Reminded,
    bool Extended,
    DateTimeOffset? SatisfiedAt,
    DateTimeOffset? BreachedAt)
{
    [JsonIgnore]
    public string ReminderTimerId => Id + ":reminder";

    [JsonIgnore]
    public string DueTimerId => Id + ":due";

    [JsonIgnore]
    public bool Open => SatisfiedAt is null;

    /// <summary>Time left at <paramref name="now"/>; negative once past due, because the clock keeps running.</summary>
    public TimeSpan RemainingAt(DateTimeOffset now) => DueAt - (SatisfiedAt ?? now);
}

[JsonConverter(typeof(KebabCaseEnumConverter<DecisionOutcome>))]
public enum DecisionOutcome
{
    Approve,
    Deny,
    Pend,
}

/// <param name="Review">"initial" or "reauthorization-N".</param>
/// <param name="DecidedBy">Plan staff id, or "presumptive".</param>
public sealed record AuthorizationDecision(int Number, string Review, DecisionOutcome Outcome, string? Reason, string DecidedBy, DateTimeOffset DecidedAt);

/// <summary>The authorization in force: from approval to the end of the current (initial or reauthorized) period.</summary>
public sealed record AuthorizedPeriod(DateTimeOffset StartsAt, DateTimeOffset EndsAt, int Number);
