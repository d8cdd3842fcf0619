using System.Text.Json.Serialization;
using CalAimHub.Domain.Authorizations;

namespace CalAimHub.Domain.Referrals;

/// <summary>Names and payloads of the external events a referral instance accepts (besides started and timer-fired).</summary>
public static class ReferralWorkflowEvents
{
    /// <summary>A referral status reported by a platform (webhook) or a provider's RTF: <see cref="StatusReport"/>.</summary>
    public const string StatusReported = "status-reported";

    /// <summary>The child <c>authorization</c> workflow decided: <see cref="AuthorizationDecidedData"/> (raised by it).</summary>
    public const string AuthorizationDecided = AuthorizationEvents.DecidedForParent;

    /// <summary>
    /// The event id of a status report: the same (referral, status, status date) from a webhook and from an RTF file
    /// gives the same id, so the runtime's dedupe applies it once.
    /// </summary>
    public static string StatusEventId(string referralId, ReferralStatus status, DateOnly statusDate)
    {
        var text = $"{referralId}\u001f{status.DhcsName()}\u001f{statusDate:yyyy-MM-dd}";
        return "status-" + StableHash.Hex(text, 16);
    }
}

/// <summary>Start input of a <c>referral</c> instance: the referral as created and the directory candidates to route it to.</summary>
/// <param name="ReferralId">The hub referral id (<c>{platform}:{platformReferralId}</c>); also the instance id.</param>
/// <param name="MemberCin">PHI: stored (the authorization child needs it), never in a notice, status or log.</param>
/// <param name="County">The member's county when known; routing then only offers providers serving it.</param>
/// <param name="Directory">Directory entries offering the service (the wiring reads them; the ranking is pure, <see cref="ReferralRouting"/>).</param>
/// <param name="SupportingFacts">Eligibility criterion codes the referrer attests to, for the authorization the referral starts.</param>
public sealed record ReferralStart(
    string ReferralId,
    string Platform,
    ReferralService Service,
    string? MemberCin,
    ReferringEntity? ReferringEntity,
    string? ReceivingProviderNpi,
    ReferralUrgency Urgency,
    string? County,
    DateTimeOffset ReferredAt,
    IReadOnlyList<ProviderDirectoryEntry> Directory,
    IReadOnlyList<string>? SupportingFacts = null);

/// <summary>A DHCS referral status for the referral, from any channel.</summary>
/// <param name="ProviderNpi">Who reported it, when known: an answer from a provider no longer offered the referral is ignored.</param>
/// <param name="Source"><c>webhook</c> or <c>rtf</c>.</param>
/// <param name="ProviderName">The reporting provider's directory name, when the directory lists it (the wiring looks it up).</param>
public sealed record StatusReport(ReferralStatus Status, string? Reason, string? ProviderNpi, DateOnly StatusDate, string Source, string? ProviderName = null);

public sealed record AuthorizationDecidedData(string AuthorizationId, DecisionOutcome Outcome, string? Reason);

[JsonConverter(typeof(KebabCaseEnumConverter<ReferralPhase>))]
public enum ReferralPhase
{
    New,
    AwaitingAuthorization,
    AwaitingAcknowledgement,
    Accepted,
    OutreachInitiated,
    Escalated,
    Closed,
}

[JsonConverter(typeof(KebabCaseEnumConverter<AttemptOutcome>))]
public enum AttemptOutcome
{
    Accepted,
    Declined,
    TimedOut,
    Withdrawn,
}

/// <summary>One offer of the referral to a provider: the acknowledgement clock and how it ended.</summary>
/// <param name="Name">The provider's directory name; null when the directory does not list it (never the NPI in its place).</param>
public sealed record RoutingAttempt(int Number, string Npi, string? Name, DateTimeOffset OfferedAt, DateTimeOffset DueAt, AttemptOutcome? Outcome, string? Reason, DateTimeOffset? AnsweredAt)
{
    [JsonIgnore]
    public bool Open => Outcome is null;

    [JsonIgnore]
    public string TimerId => $"ack:{Number}";
}

/// <summary>One DHCS status entry with its own date (DHCS tracks each status separately).</summary>
public sealed record StatusEntry(ReferralStatus Status, DateOnly StatusDate, string Source, string? Reason, DateTimeOffset RecordedAt);

/// <summary>The stored state of a referral instance.</summary>
public sealed record ReferralState(
    ReferralPhase Phase,
    ReferralStatus Status,
    string? ReferralId,
    string? Platform,
    ReferralService? Service,
    string? MemberCin,
    ReferringEntity? ReferringEntity,
    ReferralUrgency Urgency,
    DateTimeOffset? ReferredAt,
    IReadOnlyList<RoutingCandidate> Candidates,
    IReadOnlyList<RoutingAttempt> Attempts,
    string? AuthorizationId,
    DecisionOutcome? AuthorizationOutcome,
    string? AuthorizationReason,
    DateTimeOffset? EscalatedAt,
    string? ClosureReason,
    DateTimeOffset? ClosedAt,
    bool ExemptFromTracking,
    IReadOnlyList<StatusEntry> History,
    IReadOnlyList<string>? SupportingFacts = null)
{
    public static ReferralState Initial { get; } = new(
        ReferralPhase.New, ReferralStatus.Pending, null, null, null, null, null, ReferralUrgency.Routine, null, [], [], null, null, null, null, null, null, false, []);

    [JsonIgnore]
    public bool Closed => Phase == ReferralPhase.Closed;

    [JsonIgnore]
    public RoutingAttempt? OpenAttempt => Attempts.Count > 0 && Attempts[^1].Open ? Attempts[^1] : null;

    /// <summary>The provider that accepted (or, while one is open, is being offered) the referral.</summary>
    [JsonIgnore]
    public RoutingAttempt? CurrentAttempt => Attempts.Count > 0 && Attempts[^1].Outcome is null or AttemptOutcome.Accepted ? Attempts[^1] : null;

    public ReferralState WithAttempt(RoutingAttempt attempt) =>
        this with { Attempts = [.. Attempts.Where(a => a.Number != attempt.Number), attempt] };
}

/// <summary>Custom status shown by listings and the management API: ids and statuses, no PHI.</summary>
public sealed record ReferralCustomStatus(
    ReferralStatus Status, ReferralPhase Phase, string? ProviderNpi, int Attempt, DateTimeOffset? AcknowledgementDue, bool Escalated, string? ClosureReason);

/// <summary>The CloudEvent data of every referral notice: ids, statuses, the provider (an organization) and reasons; no member data.</summary>
public sealed record ReferralNotice(
    string ReferralId,
    ReferralStatus Status,
    ReferralPhase Phase,
    string? ProviderNpi,
    string? ProviderName,
    string? Reason,
    string? ClosureReason,
    string? AuthorizationId,
    DecisionOutcome? AuthorizationOutcome,
    bool? Rerouted,
    bool? Escalated);
