using System.ComponentModel;
using System.Security.Claims;
using CalAimHub.Functions.Staff;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CalAimHub.Functions.Operations;

/// <summary>
/// The console's operations routes: the overview (queues, poison, failed and overdue instances), a poison queue's
/// messages with the failure each recorded, replay of one message (operator), and who is signed in. Repairs of
/// instances use the workflows API (<c>/api/workflows/{id}/events|terminate|resume</c>, operator).
/// </summary>
public static partial class OperationsApi
{
    public static void MapOperationsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/console").WithTags("Operations").RequireAuthorization(StaffRoles.Viewer);
        api.MapGet("/operations", ReadAsync).WithName("GetOperations")
            .WithSummary("Queue and poison depths, Failed workflow instances with their reason, instances past their next deadline")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        api.MapGet("/poison/{queue}", PoisonAsync).WithName("ListPoisonMessages")
            .WithSummary("The oldest messages of a queue's poison queue (at most 32, the queue service's peek limit): the failure each recorded, never its content")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapPost("/poison/{queue}/{messageId}/replay", ReplayAsync).WithName("ReplayPoisonMessage")
            .WithSummary("Put one poison message back on its queue (operator)")
            .RequireAuthorization(StaffRoles.Operator);
        api.MapGet("/me", Me).WithName("GetSignedInStaff")
            .WithSummary("The signed-in staff member and the hub roles of the sign-in")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
    }

    private static async Task<Ok<OperationsView>> ReadAsync(OperationsOverview overview, CancellationToken ct) =>
        TypedResults.Ok(await overview.ReadAsync(ct));

    private static async Task<Results<Ok<PoisonMessageList>, ProblemHttpResult>> PoisonAsync(
        [Description("A queue of the hub (storage-layout.json), e.g. notifications; its poison queue is read.")] string queue,
        [Description("How many messages, 1 to 200 (default 50); at most 32 come back, the queue service's peek limit.")] int? top,
        FunctionAppDefinition app, PoisonQueues poisonQueues, CancellationToken ct)
    {
        if (UnknownQueue(app, queue) is { } unknown)
        {
            return unknown;
        }

        if (top is < 1 or > 200)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid top", "'top' must be a whole number from 1 to 200");
        }

        var messages = await poisonQueues.PeekAsync(queue, top ?? 50, ct);
        return TypedResults.Ok(new PoisonMessageList(queue, [.. messages.Select(m => new PoisonMessageView(m.MessageId, m.InsertedAt, m.DequeueCount, m.Reason, m.Summary))]));
    }

    private static async Task<Results<Accepted<PoisonReplayAccepted>, ProblemHttpResult>> ReplayAsync(
        string queue, string messageId, FunctionAppDefinition app, PoisonQueues poisonQueues, ClaimsPrincipal user, ILoggerFactory loggers, CancellationToken ct)
    {
        if (UnknownQueue(app, queue) is { } unknown)
        {
            return unknown;
        }

        if (messageId.Length is 0 or > 100)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid messageId", "'messageId' must be 1-100 characters, as listed by GET /api/console/poison/{queue}");
        }

        if (!await poisonQueues.ReplayAsync(queue, messageId, ct))
        {
            return Problem(StatusCodes.Status404NotFound, "No such poison message",
                $"{StorageLayout.PoisonQueue(queue)} holds no message '{messageId}' (already replayed, or expired); list them with GET /api/console/poison/{queue}");
        }

        LogReplayed(loggers.CreateLogger(typeof(OperationsApi)), messageId, queue, user.Identity?.Name);
        return TypedResults.Accepted((string?)null, new PoisonReplayAccepted(queue, messageId, queue));
    }

    private static Ok<StaffMember> Me(ClaimsPrincipal user) =>
        TypedResults.Ok(new StaffMember(user.Identity?.Name ?? "", StaffAccess.Roles(user)));

    private static ProblemHttpResult? UnknownQueue(FunctionAppDefinition app, string queue) =>
        app.Storage.Queues.Contains(queue, StringComparer.Ordinal)
            ? null
            : Problem(StatusCodes.Status404NotFound, "No such queue",
                $"'{(queue.Length <= 60 ? queue : queue[..60] + "…")}' is not a queue of this hub; the queues are {string.Join(", ", app.Storage.Queues)}");

    [LoggerMessage(Level = LogLevel.Information, Message = "Poison message {MessageId} of {Queue} replayed by {StaffName}")]
    private static partial void LogReplayed(ILogger logger, string messageId, string queue, string? staffName);

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status);
}
