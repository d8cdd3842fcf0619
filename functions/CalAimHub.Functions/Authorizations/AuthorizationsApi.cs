using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Http;
using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Workflows;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// The authorization API. Every bad input is an RFC 9457 problem+json naming the field, and nothing is started or
/// changed. A request for a member and service that already has an open or active authorization is answered with
/// that authorization and who holds it (409), and no second workflow is started. No member data is logged.
/// </summary>
public static partial class AuthorizationsApi
{
    private const string Base = "/api/authorizations";

    private static readonly JsonSerializerOptions Json = WorkflowJson.Options;

    public static void MapAuthorizationsApi(this WebApplication app)
    {
        var api = app.MapGroup(Base).WithTags("Authorizations").RequireAuthorization(StaffRoles.Viewer);
        api.MapPost("", RequestAsync).WithName("RequestAuthorization").RequireAuthorization(StaffRoles.Decider)
            .WithSummary("Request an ECM or Community Supports authorization; starts its deadline clocks")
            .AcceptsBody<AuthorizationRequestBody>("application/json")
            .Produces<AuthorizationView>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapGet("", AuthorizationListApi.ListAsync).WithName("ListAuthorizations")
            .WithSummary("Authorizations by status, service, population of focus (pof), next deadline (dueBefore) and breached, soonest deadline first, paged")
            .Produces<AuthorizationList>().ProducesValidationProblem().ReadsShardedReadModel();
        api.MapGet("/{id}", GetAsync).WithName("GetAuthorization")
            .WithSummary("An authorization with every clock (due, remaining, breached) and its history")
            .Produces<AuthorizationView>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/{id}/decision", DecisionAsync).WithName("DecideAuthorization")
            .WithSummary("Approve, deny or pend")
            .AcceptsBody<DecisionBody>("application/json").AuthorizationCommand();
        api.MapPost("/{id}/extension", ExtensionAsync).WithName("ExtendAuthorizationReview")
            .WithSummary("Extend a routine review once, to 14 calendar days")
            .AcceptsBody<ExtensionBody>("application/json").AuthorizationCommand();
        api.MapPost("/{id}/notices-sent", NoticesSentAsync).WithName("RecordAuthorizationNoticesSent")
            .WithSummary("Record that the written decision notices were sent")
            .AcceptsBody<NoticesSentBody>("application/json").AuthorizationCommand();
        api.MapPost("/{id}/reauthorization", ReauthorizationAsync).WithName("RequestReauthorization")
            .WithSummary("Ask for the next authorized period")
            .AcceptsBody<ReauthorizationBody>("application/json").AuthorizationCommand();

        var members = app.MapGroup("/api/members").WithTags("Members").RequireAuthorization(StaffRoles.Viewer);
        members.MapGet("/{cin}/authorizations", MemberAsync).WithName("GetMemberAuthorizations")
            .WithSummary("A member's authorizations by CIN in the URL (prefer the POST lookup: URLs reach access logs)")
            .Produces<MemberAuthorizations>().ProducesValidationProblem();
        // Same answer with the CIN in the body: URLs end up in request telemetry and proxy logs, bodies do not.
        members.MapPost("/authorizations/lookup", MemberLookupAsync).WithName("LookUpMemberAuthorizations")
            .WithSummary("A member's authorizations, CIN in the body")
            .AcceptsBody<MemberLookupBody>("application/json")
            .Produces<MemberAuthorizations>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        app.MapTimerFunction<AuthorizationClaimSweeper>("AuthorizationClaimSweeper");
    }

    /// <summary>The answers every authorization command (decision, extension, notices, reauthorization) can give.</summary>
    private static RouteHandlerBuilder AuthorizationCommand(this RouteHandlerBuilder route) => route
        .RequireAuthorization(StaffRoles.Decider)
        .Produces<AuthorizationView>().ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    private static async Task<IResult> RequestAsync(
        HttpRequest http, WorkflowRuntime runtime, MemberAuthorizationIndex index, AuthorizationPolicy policy, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time,
        ILogger<AuthorizationWorkflow> logger, CancellationToken ct)
    {
        var (body, bodyProblem) = await ReadBodyAsync(http, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var id = "auth-" + Guid.NewGuid().ToString("N");
        var reading = AuthorizationRequestReader.Read(body, id, time.GetUtcNow(), policy);
        if (reading.Request is not { } request)
        {
            return Invalid(reading.Errors);
        }

        string? marker = null;
        var unstarted = false; // claimed and not started yet: the marker must stay for the sweeper
        try
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var rows = (await index.ForMemberAsync(request.MemberCin, ct)).ToDictionary(r => r.RowKey, StringComparer.Ordinal);
                var replaceable = new Dictionary<string, MemberAuthorizationRow>(StringComparer.Ordinal);
                foreach (var key in request.Service.ServiceKeys)
                {
                    if (!rows.TryGetValue(key, out var row))
                    {
                        continue;
                    }

                    var existing = await StateOrStartFromClaimAsync(runtime, row, ct);
                    if (existing is { OpenOrActive: true })
                    {
                        LogDuplicate(logger, row.AuthorizationId, key);
                        return Duplicate(key, row, existing);
                    }

                    replaceable[key] = row;
                }

                // The marker first (another partition, so not in the claim's transaction): a claim this request leaves
                // unstarted by dying is then found by AuthorizationClaimSweeper.
                marker ??= await index.MarkUnstartedAsync(request, ct);
                if (await index.TryClaimAsync(request, replaceable, time.GetUtcNow(), ct))
                {
                    unstarted = true;
                    await runtime.StartAsync(AuthorizationWorkflow.TypeName, id, WorkflowJson.ToElement(request), ct, WorkflowActors.Of(http.HttpContext.User));
                    unstarted = false;
                    LogReceived(logger, id, request.Urgency);
                    var started = await runtime.GetAsync(id, ct);
                    var state = (AuthorizationState)runtime.Registry.Find(AuthorizationWorkflow.TypeName)!.ReadState(started!.State, started.Version);
                    return new Created(Results.Json(View(started, state, null, time.GetUtcNow()), Json, statusCode: StatusCodes.Status201Created), $"{Base}/{id}");
                }
            }

            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Busy",
                detail: "other requests for this member kept changing the member's authorizations; retry the request");
        }
        finally
        {
            if (marker is not null && !unstarted)
            {
                // Started, or never claimed: nothing to repair. A failed delete (or none: the request died) leaves the
                // marker to the sweeper, which finds nothing to start and deletes it.
                try
                {
                    await index.ForgetUnstartedAsync(marker, CancellationToken.None);
                }
                catch (Azure.RequestFailedException e)
                {
                    LogMarkerLeft(logger, id, $"{e.Status} {e.ErrorCode}");
                }
            }
        }
    }

    private static async Task<IResult> GetAsync(string id, WorkflowRuntime runtime, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var (instance, state) = await LoadAsync(runtime, id, ct);
        if (state is null)
        {
            return NotFound(id);
        }

        var history = await runtime.Store.HistoryAsync(id, ct);
        return Results.Json(View(instance!, state, history, time.GetUtcNow()), Json);
    }

    private static async Task<IResult> DecisionAsync(string id, HttpRequest http, WorkflowRuntime runtime, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, ILogger<AuthorizationWorkflow> logger, CancellationToken ct)
    {
        var (body, bodyProblem) = await ReadBodyAsync(http, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var errors = new List<FieldError>();
        var outcomeText = OptionalText(body, "outcome", errors);
        DecisionOutcome? outcome = outcomeText switch
        {
            "approve" => DecisionOutcome.Approve,
            "deny" => DecisionOutcome.Deny,
            "pend" => DecisionOutcome.Pend,
            _ => null,
        };
        if (outcome is null && !errors.Any(e => e.Field == "outcome"))
        {
            errors.Add(new("outcome", "must be 'approve', 'deny' or 'pend'"));
        }

        var reason = OptionalText(body, "reason", errors);
        var decidedBy = OptionalText(body, "decidedBy", errors);
        var consent = OptionalText(body, "consentReference", errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var decision = new DecisionData(outcome!.Value, reason, decidedBy ?? "", consent);
        return await RaiseAsync(runtime, id, AuthorizationEvents.Decision, decision, time, logger, http, state => AuthorizationWorkflow.DecisionProblem(state, decision), ct);
    }

    private static async Task<IResult> ExtensionAsync(string id, HttpRequest http, WorkflowRuntime runtime, AuthorizationWorkflow workflow, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, ILogger<AuthorizationWorkflow> logger, CancellationToken ct)
    {
        var (body, bodyProblem) = await ReadBodyAsync(http, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var errors = new List<FieldError>();
        var extension = new ExtensionData(OptionalText(body, "reason", errors) ?? "", OptionalText(body, "extendedBy", errors) ?? "");
        return errors.Count > 0
            ? Invalid(errors)
            : await RaiseAsync(runtime, id, AuthorizationEvents.Extension, extension, time, logger, http, state => workflow.ExtensionProblem(state, extension, time.GetUtcNow()), ct);
    }

    private static async Task<IResult> NoticesSentAsync(string id, HttpRequest http, WorkflowRuntime runtime, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, ILogger<AuthorizationWorkflow> logger, CancellationToken ct)
    {
        var (body, bodyProblem) = await ReadBodyAsync(http, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var errors = new List<FieldError>();
        var sentBy = OptionalText(body, "sentBy", errors);
        if (sentBy is null && errors.Count == 0)
        {
            errors.Add(new("sentBy", "is required: who sent the written notices"));
        }

        return errors.Count > 0
            ? Invalid(errors)
            : await RaiseAsync(runtime, id, AuthorizationEvents.NoticesSent, new NoticesSentData(sentBy!), time, logger, http, AuthorizationWorkflow.NoticesProblem, ct);
    }

    private static async Task<IResult> ReauthorizationAsync(string id, HttpRequest http, WorkflowRuntime runtime, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, ILogger<AuthorizationWorkflow> logger, CancellationToken ct)
    {
        var (body, bodyProblem) = await ReadBodyAsync(http, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var errors = new List<FieldError>();
        var requestedBy = OptionalText(body, "requestedBy", errors);
        if (requestedBy is null && errors.Count == 0)
        {
            errors.Add(new("requestedBy", "is required: the provider or staff id asking for reauthorization"));
        }

        return errors.Count > 0
            ? Invalid(errors)
            : await RaiseAsync(runtime, id, AuthorizationEvents.ReauthorizationRequested, new ReauthorizationRequestData(requestedBy!), time, logger, http, AuthorizationWorkflow.ReauthorizationProblem, ct);
    }

    private static async Task<IResult> MemberLookupAsync(HttpRequest http, WorkflowRuntime runtime, MemberAuthorizationIndex index, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var (body, bodyProblem) = await ReadBodyAsync(http, ct);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var errors = new List<FieldError>();
        var cin = OptionalText(body, "memberCin", errors);
        return cin is null
            ? Invalid(errors.Count > 0 ? errors : [new FieldError("memberCin", "is required")])
            : await MemberAsync(cin, runtime, index, time, ct);
    }

    private static async Task<IResult> MemberAsync(string cin, WorkflowRuntime runtime, MemberAuthorizationIndex index, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var member = cin.Trim().ToUpperInvariant();
        if (!AuthorizationRequestReader.IsCin(member))
        {
            return Invalid([new FieldError("cin", "must be a Medi-Cal CIN: 8 digits followed by a letter")]);
        }

        var now = time.GetUtcNow();
        var authorizations = new List<MemberAuthorization>();
        foreach (var row in await index.ForMemberAsync(member, ct))
        {
            // A read never starts anything: a claim whose workflow has not started yet (its request in flight, or dead
            // and left to AuthorizationClaimSweeper) shows with no status, open, as it blocks a new request for the service.
            var state = await runtime.GetStateAsync<AuthorizationState>(row.AuthorizationId, ct);
            authorizations.Add(new MemberAuthorization(
                row.RowKey, row.AuthorizationId, state?.Status, state?.OpenOrActive ?? row.Request.Length > 0, new HeldBy(row.RequestingProviderNpi, row.ReferringEntity),
                state?.Period is { } p && state.Status == AuthorizationStatus.Authorized ? p.EndsAt : null));
        }

        return Results.Json(new MemberAuthorizations(
            authorizations.Any(a => a.Status == AuthorizationStatus.Authorized),
            authorizations.Any(a => a.OpenOrActive),
            authorizations,
            now), Json);
    }

    /// <summary>
    /// For a new request only (a write, by a decider): the authorization a member-index row names. A row claimed but never
    /// started (the request is in flight, or its handler died between the claim and the start) is started from the
    /// request the claim stored, since the new request must be answered with it (409) or replace it: same instance id,
    /// so the claimant's own start and this one make one workflow. Reads never do this; AuthorizationClaimSweeper does.
    /// </summary>
    private static async Task<AuthorizationState?> StateOrStartFromClaimAsync(WorkflowRuntime runtime, MemberAuthorizationRow row, CancellationToken ct)
    {
        var state = await runtime.GetStateAsync<AuthorizationState>(row.AuthorizationId, ct);
        if (state is null && row.Request.Length > 0)
        {
            await runtime.StartAsync(AuthorizationWorkflow.TypeName, row.AuthorizationId, JsonDocument.Parse(row.Request).RootElement.Clone(), ct);
            state = await runtime.GetStateAsync<AuthorizationState>(row.AuthorizationId, ct);
        }

        return state;
    }

    private static async Task<IResult> RaiseAsync(
        WorkflowRuntime runtime, string id, string eventName, object data, TimeProvider time, ILogger<AuthorizationWorkflow> logger, HttpRequest http,
        Func<AuthorizationState, AuthorizationCommandProblem?> check, CancellationToken ct)
    {
        var (_, state) = await LoadAsync(runtime, id, ct);
        if (state is null)
        {
            return NotFound(id);
        }

        if (check(state) is { } problem)
        {
            return problem.IsConflict
                ? Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible now", detail: problem.Detail, extensions: new Dictionary<string, object?> { ["authorizationId"] = id, ["authorizationStatus"] = Kebab(state.Status) })
                : Invalid([new FieldError(problem.Field!, problem.Detail)]);
        }

        // An Idempotency-Key makes a retried POST the same event: the runtime dedupes on the event id.
        var eventId = http.Headers["Idempotency-Key"].FirstOrDefault() is { Length: > 0 and <= 100 } key ? $"{eventName}:{key}" : null;
        var result = await runtime.RaiseEventAsync(id, eventName, WorkflowJson.ToElement(data), eventId, ct, WorkflowActors.Of(http.HttpContext.User));
        if (result.Outcome == ApplyOutcome.Gone)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible now", detail: $"authorization {id} is closed");
        }

        LogEvent(logger, id, eventName, result.Outcome);
        var (instance, after) = await LoadAsync(runtime, id, ct);
        return Results.Json(View(instance!, after!, null, time.GetUtcNow()), Json);
    }

    private static async Task<(WorkflowInstance? Instance, AuthorizationState? State)> LoadAsync(WorkflowRuntime runtime, string id, CancellationToken ct)
    {
        if (!WorkflowsApi.IsValidInstanceId(id))
        {
            return (null, null);
        }

        var instance = await runtime.GetAsync(id, ct);
        if (instance is null || instance.Type != AuthorizationWorkflow.TypeName)
        {
            return (null, null);
        }

        return (instance, (AuthorizationState)runtime.Registry.Find(instance.Type)!.ReadState(instance.State, instance.Version));
    }

    private static AuthorizationView View(WorkflowInstance instance, AuthorizationState state, IReadOnlyList<WorkflowHistoryEntry>? history, DateTimeOffset now) => new(
        instance.InstanceId,
        state.Status,
        instance.Status,
        state.Reauthorization,
        state.Escalated,
        state.PresumptiveBasis,
        state.PendReason,
        state.Request,
        state.Eligibility,
        state.Period,
        [.. state.Clocks.Select(c => new ClockView(
            c.Id, c.Kind, c.StartedAt, c.DueAt, c.Open ? "running" : "stopped", (long)c.RemainingAt(now).TotalSeconds, c.BreachedAt is not null || (c.Open && now > c.DueAt && c.Kind != ClockKind.Period),
            c.BreachedAt, c.SatisfiedAt, c.Extended, c.ReminderAt, c.Reminded))],
        state.Decisions,
        history?.Select(h => new HistoryView(h.Seq, h.Name, h.RecordedAt, h.Name == WorkflowEvent.Started ? null : h.Data, h.By)).ToList(),
        now,
        TimelineView.Of(state, history));

    private static IResult Duplicate(string serviceKey, MemberAuthorizationRow row, AuthorizationState existing) => Results.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "Already authorized or in review",
        detail: $"this member already has an open or active authorization ({Kebab(existing.Status)}) for '{serviceKey}' ({row.AuthorizationId}), held by NPI {row.RequestingProviderNpi} ({row.ReferringEntity}); no new request was started",
        type: "https://calaimhub/problems/duplicate-authorization",
        extensions: new Dictionary<string, object?>
        {
            ["existingAuthorizationId"] = row.AuthorizationId,
            ["service"] = serviceKey,
            ["authorizationStatus"] = Kebab(existing.Status),
            ["heldBy"] = new HeldBy(row.RequestingProviderNpi, row.ReferringEntity),
        });

    private static IResult Invalid(IReadOnlyList<FieldError> errors) =>
        FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid authorization request");

    private static IResult NotFound(string id) => Results.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "No such authorization",
        detail: WorkflowsApi.IsValidInstanceId(id) ? $"no authorization '{id}'" : "no authorization with that id");

    private static async Task<(JsonElement Body, IResult? Problem)> ReadBodyAsync(HttpRequest http, CancellationToken ct)
    {
        if (!(http.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return (default, Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON expected", detail: "send the body as application/json"));
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(http.Body, cancellationToken: ct);
            var body = document.RootElement.Clone();
            return body.ValueKind == JsonValueKind.Object
                ? (body, null)
                : (default, Invalid([new FieldError("$", "the body must be a JSON object")]));
        }
        catch (JsonException e)
        {
            return (default, Invalid([new FieldError("$", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})")]));
        }
    }

    private static string? OptionalText(JsonElement body, string name, List<FieldError> errors)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(name, "must be a string"));
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length > AuthorizationRequestReader.MaxTextLength)
        {
            errors.Add(new(name, $"must be at most {AuthorizationRequestReader.MaxTextLength} characters"));
            return null;
        }

        return text.Length == 0 ? null : text;
    }

    private static string Kebab<T>(T value) where T : struct, Enum => JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());

    [LoggerMessage(Level = LogLevel.Information, Message = "Authorization {AuthorizationId} received ({Urgency})")]
    private static partial void LogReceived(ILogger logger, string authorizationId, Urgency urgency);

    [LoggerMessage(Level = LogLevel.Information, Message = "Duplicate authorization request answered with {AuthorizationId} for service {Service}")]
    private static partial void LogDuplicate(ILogger logger, string authorizationId, string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Authorization {AuthorizationId}: unstarted-claim marker not deleted ({Reason}); the claim sweeper deletes it")]
    private static partial void LogMarkerLeft(ILogger logger, string authorizationId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Authorization {AuthorizationId}: event {EventName} {Outcome}")]
    private static partial void LogEvent(ILogger logger, string authorizationId, string eventName, ApplyOutcome outcome);

    /// <summary>201 with a Location header.</summary>
    private sealed class Created(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}

public sealed record HeldBy(string RequestingProviderNpi, string ReferringEntity);

/// <param name="Status">Absent while the authorization is claimed for the member but its workflow has not started yet
/// (its request is in flight, or stopped and is started by the claim sweeper within minutes); it is open meanwhile.</param>
public sealed record MemberAuthorization(string Service, string AuthorizationId, AuthorizationStatus? Status, bool OpenOrActive, HeldBy HeldBy, DateTimeOffset? AuthorizedThrough);

/// <param name="Authorized">The member holds an active authorization for at least one service.</param>
/// <param name="OpenOrActive">Some authorization is in review, pending or active: a new request for that service would be a duplicate.</param>
public sealed record MemberAuthorizations(bool Authorized, bool OpenOrActive, IReadOnlyList<MemberAuthorization> Authorizations, DateTimeOffset AsOf);

/// <param name="RemainingSeconds">Due minus now (or minus the time it was satisfied); negative once late, because the clock keeps running.</param>
public sealed record ClockView(
    string Id, ClockKind Kind, DateTimeOffset StartedAt, DateTimeOffset DueAt, string State, long RemainingSeconds, bool Breached,
    DateTimeOffset? BreachedAt, DateTimeOffset? SatisfiedAt, bool Extended, DateTimeOffset? ReminderAt, bool Reminded);

/// <param name="By">The signed-in staff member who caused the event (decisions, extensions, reauthorizations); absent for partners and timers.</param>
public sealed record HistoryView(long Seq, string Name, DateTimeOffset RecordedAt, JsonElement? Data, WorkflowActor? By = null);

public sealed record AuthorizationView(
    string AuthorizationId,
    AuthorizationStatus Status,
    WorkflowRuntimeStatus RuntimeStatus,
    ReviewStatus? Reauthorization,
    bool Escalated,
    string? PresumptiveBasis,
    string? PendReason,
    AuthorizationRequest? Request,
    EligibilityResult? Eligibility,
    AuthorizedPeriod? Period,
    IReadOnlyList<ClockView> Clocks,
    IReadOnlyList<AuthorizationDecision> Decisions,
    IReadOnlyList<HistoryView>? History,
    DateTimeOffset AsOf,
    IReadOnlyList<TimelineView>? Timeline = null);

/// <summary>
/// One point of the console's timeline of an authorization (received, each decision clock's due time and extension,
/// each decision, each notice clock's due time and when notices were sent), in time order.
/// </summary>
/// <param name="Name">The clock or review it belongs to (<c>decision</c>, <c>reauthorization-1-decision</c>, <c>notices</c>, <c>initial</c>…).</param>
/// <param name="Kind"><c>received</c>, <c>due</c>, <c>extended</c>, <c>decided</c>, <c>noticeDue</c> or <c>noticeSent</c>.</param>
public sealed record TimelineView(string Name, DateTimeOffset At, string Kind)
{
    public static IReadOnlyList<TimelineView> Of(AuthorizationState state, IReadOnlyList<WorkflowHistoryEntry>? history)
    {
        var points = new List<TimelineView>();
        if (state.Request is { } request)
        {
            points.Add(new("received", request.ReceivedAt, "received"));
        }

        // An extension's time is in the history (the clock keeps only its new due time); without history it is left out.
        var extensions = history?.Where(h => h.Name == AuthorizationEvents.Extension).Select(h => h.RecordedAt).ToList() ?? [];
        foreach (var clock in state.Clocks)
        {
            switch (clock.Kind)
            {
                case ClockKind.Decision:
                    points.Add(new(clock.Id, clock.DueAt, "due"));
                    if (clock.Extended && extensions.FirstOrDefault(at => at >= clock.StartedAt && (clock.SatisfiedAt is null || at <= clock.SatisfiedAt)) is var extendedAt && extendedAt != default)
                    {
                        points.Add(new(clock.Id, extendedAt, "extended"));
                    }

                    break;
                case ClockKind.Notices:
                    points.Add(new(clock.Id, clock.DueAt, "noticeDue"));
                    if (clock.SatisfiedAt is { } sent)
                    {
                        points.Add(new(clock.Id, sent, "noticeSent"));
                    }

                    break;
            }
        }

        points.AddRange(state.Decisions.Select(d => new TimelineView(d.Review, d.DecidedAt, "decided")));
        return [.. points.OrderBy(p => p.At)];
    }
}
