namespace CalAimHub.Domain.Authorizations;

/// <summary>Names and payloads of the external events an authorization instance accepts (besides started and timer-fired).</summary>
public static class AuthorizationEvents
{
    /// <summary>Plan staff decide the open review: <see cref="DecisionData"/>.</summary>
    public const string Decision = "decision";

    /// <summary>The plan takes the one permitted extension, with a notice: <see cref="ExtensionData"/>.</summary>
    public const string Extension = "extension";

    /// <summary>Written decision notices went to member and provider: <see cref="NoticesSentData"/>.</summary>
    public const string NoticesSent = "notices-sent";

    /// <summary>The provider asks to reauthorize an active authorization: <see cref="ReauthorizationRequestData"/>.</summary>
    public const string ReauthorizationRequested = "reauthorization-requested";

    /// <summary>Raised on the parent instance (<see cref="AuthorizationRequest.ParentInstanceId"/>) for each decision: <see cref="ParentDecisionData"/>.</summary>
    public const string DecidedForParent = "authorization-decided";
}

/// <summary>What a parent workflow is told of a decision: ids, outcome and the reason (no member data).</summary>
public sealed record ParentDecisionData(string AuthorizationId, DecisionOutcome Outcome, string? Reason);

/// <param name="DecidedBy">Plan staff id (not a member identifier).</param>
/// <param name="ConsentReference">Consent received while pended for consent.</param>
public sealed record DecisionData(DecisionOutcome Outcome, string? Reason, string DecidedBy, string? ConsentReference = null);

public sealed record ExtensionData(string Reason, string ExtendedBy);

public sealed record NoticesSentData(string SentBy);

public sealed record ReauthorizationRequestData(string RequestedBy);

/// <summary>Why a command cannot be applied. <paramref name="Field"/> set: bad input (400); else a conflict with the state (409).</summary>
public sealed record AuthorizationCommandProblem(string? Field, string Detail)
{
    public bool IsConflict => Field is null;
}
