using CalAimHub.Hosting.Http;
using System.Security.Claims;
using CalAimHub.Hosting.Staff;
using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace CalAimHub.Workflows;

/// <summary>
/// The management API, shaped like Durable Functions' HTTP API (anchors C) so operators who know it feel at home:
/// check-status payload on start, status with <c>runtimeStatus</c>/<c>customStatus</c>/<c>input</c>/<c>output</c>,
/// 202 while running and 200 when finished, 410 for events on finished instances, purge answering
/// <c>instancesDeleted</c>, list continuation in <c>x-ms-continuation-token</c>. Bad input is a 400 problem+json
/// and changes nothing. Where it is stricter than Durable Functions, on purpose (no silent loss):
/// <list type="bullet">
/// <item>a type started by its domain API (<see cref="WorkflowStart.DomainApi"/>) is refused here with 403 naming that
/// route, so nobody can pre-create an instance id its real events would later find Failed;</item>
/// <item>another type's start input is read by the type's own reader first (400 naming the field, nothing stored);</item>
/// <item>an event name the type does not declare is 400 listing the declared names;</item>
/// <item>only a finished instance is purged: a live one is 409 "terminate first", so no timer or event is orphaned;</item>
/// <item>continuation tokens are signed (<see cref="ListContinuation"/>): one the hub did not issue is 400.</item>
/// </list>
/// </summary>
public static partial class WorkflowsApi
{
    public const string ContinuationHeader = "x-ms-continuation-token";
    private const string Base = "/api/workflows";

    /// <summary>Status JSON keeps nulls (<c>"output": null</c>), as Durable Functions does.</summary>
    private static readonly JsonSerializerOptions StatusJson = new(JsonSerializerDefaults.Web);

    public static void MapWorkflowsApi(this IEndpointRouteBuilder app)
    {
        // Reading needs any staff role; every change (start, events, repairs, purge) needs operator.
        var api = app.MapGroup(Base).WithTags("Workflows").RequireAuthorization(StaffRoles.Viewer);
        api.MapPost("/{type}", StartAsync).WithName("StartWorkflow")
            .WithSummary("Start an instance (idempotent with instanceId); the input is the type's own JSON")
            .AcceptsBody<JsonElement>("application/json")
            .Produces<CheckStatusPayload>(StatusCodes.Status202Accepted).Produces<CheckStatusPayload>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireAuthorization(StaffRoles.Operator);
        api.MapGet("/{instanceId}", StatusAsync).WithName("GetWorkflowStatus")
            .WithSummary("Status (202 while running, 200 once finished), history with showHistory=true")
            .Produces<WorkflowStatus>().Produces<WorkflowStatus>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("", ListAsync).WithName("ListWorkflows")
            .WithSummary("Instances by type, runtimeStatus, created range, deadlineBefore; paged by x-ms-continuation-token")
            .Produces<WorkflowSummary[]>().ProducesProblem(StatusCodes.Status400BadRequest)
            .TakesQuery(
                new("type", "Only instances of this workflow type"),
                new("runtimeStatus", "Only instances in these statuses (comma-separated or repeated), e.g. Running,Failed"),
                new("createdFrom", "Created at or after this ISO 8601 date-time (alias createdTimeFrom)"),
                new("createdTimeFrom", "Durable Functions' name for createdFrom"),
                new("createdTo", "Created at or before this ISO 8601 date-time (alias createdTimeTo)"),
                new("createdTimeTo", "Durable Functions' name for createdTo"),
                new("deadlineBefore", "Only instances with a deadline before this ISO 8601 date-time"),
                new("top", "Page size, 1 to 1000 (default 100)"),
                new("continuationToken", "The next page's token (also accepted as the x-ms-continuation-token header)"));
        api.MapPost("/{instanceId}/events/{eventName}", RaiseEventAsync).WithName("RaiseWorkflowEvent")
            .WithSummary("Raise an event, committed inside the request (Idempotency-Key dedupes retries)")
            .AcceptsBody<JsonElement>("application/json").WorkflowCommand();
        api.MapPost("/{instanceId}/terminate", (string instanceId, string? reason, ClaimsPrincipal user, WorkflowRuntime runtime, CancellationToken ct) =>
            ControlAsync(instanceId, () => runtime.TerminateAsync(instanceId, reason, ct, WorkflowActors.Of(user)))).WithName("TerminateWorkflow").WithSummary("Terminate").WorkflowCommand();
        api.MapPost("/{instanceId}/suspend", (string instanceId, string? reason, ClaimsPrincipal user, WorkflowRuntime runtime, CancellationToken ct) =>
            ControlAsync(instanceId, () => runtime.SuspendAsync(instanceId, reason, ct, WorkflowActors.Of(user)))).WithName("SuspendWorkflow").WithSummary("Suspend (events are held)").WorkflowCommand();
        api.MapPost("/{instanceId}/resume", (string instanceId, string? reason, ClaimsPrincipal user, WorkflowRuntime runtime, CancellationToken ct) =>
            ControlAsync(instanceId, () => runtime.ResumeAsync(instanceId, reason, ct, WorkflowActors.Of(user)))).WithName("ResumeWorkflow").WithSummary("Resume, applying held events").WorkflowCommand();
        api.MapDelete("/{instanceId}", PurgeAsync).WithName("PurgeWorkflow").WithSummary("Purge a finished instance and its history")
            .Produces<InstancesPurged>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(StaffRoles.Operator);
    }

    private static RouteHandlerBuilder WorkflowCommand(this RouteHandlerBuilder route) => route
        .RequireAuthorization(StaffRoles.Operator)
        .Produces<EventAccepted>(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status410Gone);

    /// <summary>Instance ids are table partition keys and URL segments: a safe, bounded alphabet.</summary>
    public static bool IsValidInstanceId(string id) => InstanceIdPattern().IsMatch(id);

    private static async Task<IResult> StartAsync(string type, string? instanceId, HttpRequest request, ClaimsPrincipal user, WorkflowRuntime runtime, CancellationToken ct)
    {
        if (runtime.Registry.Find(type) is not { } definition)
        {
            return Problem(StatusCodes.Status404NotFound, "Unknown workflow type", $"no workflow type '{Shorten(type)}'; known types: {string.Join(", ", runtime.Registry.Types.Order(StringComparer.Ordinal))}");
        }

        if (instanceId is not null && !IsValidInstanceId(instanceId))
        {
            return InvalidInstanceId();
        }

        if (definition.StartedBy is WorkflowStart.DomainApi domain)
        {
            // 403, not 409: no state of the instance would make this start acceptable; only the domain route is.
            return Problem(StatusCodes.Status403Forbidden, "Started by its domain API only", $"workflow type '{type}' is started only by {domain.Route}, which checks what this generic route cannot; nothing was stored");
        }

        var (input, problem) = await ReadJsonAsync(request, ct);
        if (problem is not null)
        {
            return problem;
        }

        if (definition.StartedBy is WorkflowStart.GenericRoute generic && generic.ReadInput(input) is { } invalid)
        {
            return Results.Problem(
                title: "Invalid workflow input",
                detail: $"{invalid.Field}: {invalid.Detail}; nothing was stored",
                statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["field"] = invalid.Field });
        }

        try
        {
            var started = await runtime.StartAsync(type, instanceId, input, ct, WorkflowActors.Of(user));
            var payload = CheckStatus(request, started.Instance.InstanceId);
            // 202 for a new instance, 200 when the id already named one (idempotent start): same payload either way.
            return new WithLocation(Results.Json(payload, statusCode: started.Created ? StatusCodes.Status202Accepted : StatusCodes.Status200OK), payload.StatusQueryGetUri);
        }
        catch (WorkflowInstanceConflictException e)
        {
            return Problem(StatusCodes.Status409Conflict, "Instance id in use", $"instance '{instanceId}' already exists as a '{e.ExistingType}' workflow; choose another id");
        }
        catch (WorkflowStartsSaturatedException e)
        {
            return StartsSaturated(e);
        }
    }

    public const string StartsSaturatedTitle = "Too many workflow starts";

    /// <summary>ASP.NET Core has no default problem type for 429; RFC 6585 defines the status.</summary>
    public const string StartsSaturatedType = "https://tools.ietf.org/html/rfc6585#section-4";

    /// <summary>429 with <c>Retry-After</c> for a start refused by <see cref="WorkflowAdmission"/> (it touched no storage).</summary>
    public static IResult StartsSaturated(WorkflowStartsSaturatedException e) => new WithRetryAfter(
        Results.Problem(
            title: StartsSaturatedTitle,
            detail: $"the hub is starting as many workflow instances as it can right now; nothing was stored; start it again after {e.RetryAfter.TotalSeconds:0} s",
            statusCode: StatusCodes.Status429TooManyRequests,
            type: StartsSaturatedType),
        (int)e.RetryAfter.TotalSeconds);

    private static async Task<IResult> StatusAsync(string instanceId, bool? showHistory, HttpRequest request, WorkflowRuntime runtime, CancellationToken ct)
    {
        if (!IsValidInstanceId(instanceId))
        {
            return InvalidInstanceId();
        }

        var instance = await runtime.GetAsync(instanceId, ct);
        if (instance is null)
        {
            return NotFound(instanceId);
        }

        var history = showHistory == true ? await runtime.Store.HistoryAsync(instanceId, ct) : null;
        var status = new WorkflowStatus(
            instance.Type, instance.InstanceId, instance.Status, instance.Input, instance.CustomStatus, instance.Output,
            DurableTime(instance.CreatedTime), DurableTime(instance.LastUpdatedTime), instance.Version, instance.NextDeadline, instance.Reason,
            instance.Timers.Count == 0 ? null : instance.Timers, history);
        // Like Durable Functions: 202 (poll again) while the instance runs, 200 once it has finished.
        return instance.IsTerminal
            ? Results.Json(status, StatusJson)
            : new WithLocation(Results.Json(status, StatusJson, statusCode: StatusCodes.Status202Accepted), CheckStatus(request, instanceId).StatusQueryGetUri, retryAfterSeconds: 5);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, WorkflowRuntime runtime, ListContinuation tokens, CancellationToken ct)
    {
        var query = request.Query;
        var statuses = new HashSet<WorkflowRuntimeStatus>();
        foreach (var text in query["runtimeStatus"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!Enum.TryParse<WorkflowRuntimeStatus>(text, ignoreCase: true, out var status) || int.TryParse(text, out _))
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid runtimeStatus", $"runtimeStatus '{Shorten(text)}' is not one of {string.Join(", ", Enum.GetNames<WorkflowRuntimeStatus>())}");
            }

            statuses.Add(status);
        }

        DateTimeOffset? Time(string name, string? alias, out IResult? problem)
        {
            problem = null;
            var text = query[name].FirstOrDefault() ?? (alias is null ? null : query[alias].FirstOrDefault());
            if (text is null)
            {
                return null;
            }

            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
            {
                return value;
            }

            problem = Problem(StatusCodes.Status400BadRequest, $"Invalid {name}", $"{name} '{Shorten(text)}' is not an ISO 8601 date-time such as 2026-01-31T00:00:00Z");
            return null;
        }

        var createdFrom = Time("createdFrom", "createdTimeFrom", out var p1);
        var createdTo = Time("createdTo", "createdTimeTo", out var p2);
        var deadlineBefore = Time("deadlineBefore", null, out var p3);
        if ((p1 ?? p2 ?? p3) is { } timeProblem)
        {
            return timeProblem;
        }

        var top = 100;
        if (query["top"].FirstOrDefault() is { } topText && (!int.TryParse(topText, CultureInfo.InvariantCulture, out top) || top is < 1 or > 1000))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid top", "top must be a whole number from 1 to 1000");
        }

        var type = query["type"].FirstOrDefault();
        var listing = "workflows:" + (type ?? "*");
        string? continuation = null;
        if ((request.Headers[ContinuationHeader].FirstOrDefault() ?? query["continuationToken"].FirstOrDefault()) is { } token
            && !tokens.TryRead(listing, token, out continuation))
        {
            return InvalidContinuation();
        }

        IReadOnlyList<WorkflowIndexEntry> entries;
        string? next;
        try
        {
            (entries, next) = await runtime.Store.IndexPageAsync(type, continuation, top, ct);
        }
        catch (Azure.RequestFailedException) when (continuation is not null)
        {
            return InvalidContinuation();
        }

        // Filters beyond the type are applied to each page here: Azurite supports only simple table filters, and a
        // page that filters down to nothing still carries the token to the next one (as Durable Functions' list does).
        var matches = entries
            .Where(e => statuses.Count == 0 || statuses.Contains(e.Status))
            .Where(e => createdFrom is null || e.CreatedTime >= createdFrom)
            .Where(e => createdTo is null || e.CreatedTime <= createdTo)
            .Where(e => deadlineBefore is null || (e.NextDeadline is { } d && d < deadlineBefore))
            .Select(e => new WorkflowSummary(e.Type, e.InstanceId, e.Status, DurableTime(e.CreatedTime), DurableTime(e.LastUpdatedTime), e.NextDeadline))
            .ToArray();
        return new WithContinuation(Results.Json(matches, WorkflowJson.Options), tokens.Issue(listing, next));
    }

    private static async Task<IResult> RaiseEventAsync(string instanceId, string eventName, string? eventId, HttpRequest request, ClaimsPrincipal user, WorkflowRuntime runtime, CancellationToken ct)
    {
        if (!IsValidInstanceId(instanceId))
        {
            return InvalidInstanceId();
        }

        if (eventName.StartsWith('$') || eventName is WorkflowEvent.Started or WorkflowEvent.TimerFired || eventName.Length > 100)
        {
            return Problem(StatusCodes.Status400BadRequest, "Reserved event name", $"event name '{Shorten(eventName)}' is reserved or too long; use your own name (up to 100 characters, not starting with '$')");
        }

        var id = request.Headers["Idempotency-Key"].FirstOrDefault() ?? eventId;
        if (id is not null && (id.Length is 0 or > 200))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid event id", "the Idempotency-Key header (or eventId) must be 1-200 characters");
        }

        var (data, problem) = await ReadJsonAsync(request, ct);
        if (problem is not null)
        {
            return problem;
        }

        // Committed to the instance inside this request (one transaction, no queue poller in the path). Data the type's
        // decider would read as something else (and so ignore) is refused in the same load, before anything is recorded.
        var result = await runtime.RaiseEventAsync(instanceId, eventName, data, id, ct, WorkflowActors.Of(user), checkData: true);
        if (result is { Outcome: ApplyOutcome.InvalidEventData, InvalidData: { } invalid })
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid event data",
                $"event '{eventName}' of workflow type '{result.Instance!.Type}': '{invalid.Field}' {invalid.Detail}; nothing was recorded");
        }

        if (result.Outcome == ApplyOutcome.UnknownEvent && runtime.Registry.Find(result.Instance!.Type) is { } definition)
        {
            return Problem(StatusCodes.Status400BadRequest, "Unknown event name",
                $"workflow type '{definition.Type}' takes no event '{Shorten(eventName)}'; its events: {string.Join(", ", definition.EventNames.Order(StringComparer.Ordinal))}; nothing was recorded");
        }

        return Answer(instanceId, result);
    }

    private static async Task<IResult> ControlAsync(string instanceId, Func<Task<ApplyResult>> control)
    {
        if (!IsValidInstanceId(instanceId))
        {
            return InvalidInstanceId();
        }

        return Answer(instanceId, await control());
    }

    private static async Task<IResult> PurgeAsync(string instanceId, ClaimsPrincipal user, WorkflowRuntime runtime, ILoggerFactory loggers, CancellationToken ct)
    {
        if (!IsValidInstanceId(instanceId))
        {
            return InvalidInstanceId();
        }

        var purge = await runtime.Store.PurgeAsync(instanceId, ct);
        if (purge.Outcome == PurgeOutcome.Purged && WorkflowActors.Of(user) is { } by)
        {
            // The history goes with the purge, so who purged it is kept in the audit log (staff identity, no member data).
            LogPurged(loggers.CreateLogger(typeof(WorkflowsApi)), instanceId, by.Name, by.ObjectId);
        }

        return purge.Outcome switch
        {
            PurgeOutcome.Purged => Results.Json(new InstancesPurged(1)),
            // Purging a live instance would drop its timers and the events on their way to it without a trace.
            PurgeOutcome.NotFinished => Problem(StatusCodes.Status409Conflict, "Instance not finished",
                $"instance '{instanceId}' is {purge.Status}; terminate it first (POST {Base}/{instanceId}/terminate), then purge"),
            _ => NotFound(instanceId),
        };
    }

    private static IResult Answer(string instanceId, ApplyResult result) => result.Outcome switch
    {
        ApplyOutcome.NotFound => NotFound(instanceId),
        ApplyOutcome.SuspendedFull => Problem(StatusCodes.Status409Conflict, "Instance is suspended", $"instance '{instanceId}' is suspended and already holds {InstanceTransition.MaxHeldEvents} events; resume it first"),
        ApplyOutcome.Gone => Problem(StatusCodes.Status410Gone, "Instance has finished", $"instance '{instanceId}' is {result.Instance!.Status} and takes no more events"),
        _ => Results.Json(new EventAccepted(instanceId, result.Outcome.ToString(), result.Instance?.Status.ToString()), statusCode: StatusCodes.Status202Accepted),
    };

    private static async Task<(JsonElement? Value, IResult? Problem)> ReadJsonAsync(HttpRequest request, CancellationToken ct)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, ct);
        if (body.Length == 0)
        {
            return (null, null);
        }

        if (body.Length > 32 * 1024)
        {
            return (null, Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", "workflow input and event data are limited to 32 KiB; store larger content elsewhere and pass its id"));
        }

        try
        {
            return (JsonDocument.Parse(body.ToArray()).RootElement.Clone(), null);
        }
        catch (JsonException)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "Body is not JSON", "send a JSON value (object, array, string, number) or no body at all"));
        }
    }

    private static CheckStatusPayload CheckStatus(HttpRequest request, string instanceId)
    {
        var root = $"{request.Scheme}://{request.Host}{request.PathBase}{Base}/{Uri.EscapeDataString(instanceId)}";
        return new CheckStatusPayload(instanceId, root, root + "/events/{eventName}", root + "/terminate?reason={text}", root, root + "/suspend?reason={text}", root + "/resume?reason={text}");
    }

    private static IResult InvalidInstanceId() =>
        Problem(StatusCodes.Status400BadRequest, "Invalid instance id", "instanceId must be 1-100 characters of letters, digits, '-', '_', '.', ':' or '@'");

    private static IResult InvalidContinuation() =>
        Problem(StatusCodes.Status400BadRequest, "Invalid continuation token", $"pass back the {ContinuationHeader} of the previous page of the same listing unchanged");

    private static IResult NotFound(string instanceId) =>
        Problem(StatusCodes.Status404NotFound, "No such instance", $"workflow instance '{instanceId}' does not exist (or was purged)");

    private static IResult Problem(int status, string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: status);

    /// <summary>Durable Functions formats instance times to the second, in UTC.</summary>
    private static string DurableTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Workflow instance {InstanceId} purged by {StaffName} ({StaffObjectId})")]
    private static partial void LogPurged(ILogger logger, string instanceId, string staffName, string? staffObjectId);

    // \z, not $: in .NET '$' also matches before a final "\n", which would let "id%0A" through to storage.
    [GeneratedRegex(@"^[A-Za-z0-9_.:@-]{1,100}\z")]
    private static partial Regex InstanceIdPattern();

    private sealed class WithLocation(IResult inner, string location, int? retryAfterSeconds = null) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            if (retryAfterSeconds is { } seconds)
            {
                httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            return inner.ExecuteAsync(httpContext);
        }
    }

    private sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }

    private sealed class WithContinuation(IResult inner, string? continuation) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (continuation is not null)
            {
                httpContext.Response.Headers[ContinuationHeader] = continuation;
            }

            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>Durable Functions' check-status payload (every property a string).</summary>
public sealed record CheckStatusPayload(
    [property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id,
    [property: System.Text.Json.Serialization.JsonPropertyName("statusQueryGetUri")] string StatusQueryGetUri,
    [property: System.Text.Json.Serialization.JsonPropertyName("sendEventPostUri")] string SendEventPostUri,
    [property: System.Text.Json.Serialization.JsonPropertyName("terminatePostUri")] string TerminatePostUri,
    [property: System.Text.Json.Serialization.JsonPropertyName("purgeHistoryDeleteUri")] string PurgeHistoryDeleteUri,
    [property: System.Text.Json.Serialization.JsonPropertyName("suspendPostUri")] string SuspendPostUri,
    [property: System.Text.Json.Serialization.JsonPropertyName("resumePostUri")] string ResumePostUri);

/// <summary>Durable Functions' status payload, plus what a stuck instance needs to be understood: version, deadline, reason, timers.</summary>
public sealed record WorkflowStatus(
    string Name,
    string InstanceId,
    WorkflowRuntimeStatus RuntimeStatus,
    JsonElement? Input,
    JsonElement? CustomStatus,
    JsonElement? Output,
    string CreatedTime,
    string LastUpdatedTime,
    int DefinitionVersion,
    DateTimeOffset? NextDeadline,
    string? Reason,
    IReadOnlyDictionary<string, DateTimeOffset>? Timers,
    IReadOnlyList<WorkflowHistoryEntry>? HistoryEvents);

/// <summary>One instance in a listing (from the index: no input or output).</summary>
public sealed record WorkflowSummary(
    string Name,
    string InstanceId,
    WorkflowRuntimeStatus RuntimeStatus,
    string CreatedTime,
    string LastUpdatedTime,
    DateTimeOffset? NextDeadline);

/// <summary>Durable Functions' purge answer.</summary>
public sealed record InstancesPurged(int InstancesDeleted);

/// <param name="Outcome">Applied, Duplicate (the event id was applied before) or Held (the instance is suspended).</param>
public sealed record EventAccepted(string InstanceId, string Outcome, string? RuntimeStatus);
