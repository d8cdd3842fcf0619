using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Notifications;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Workflows;

// Thin adapters: the runtime (CalAimHub.Workflows) knows nothing of the Functions app; these map its triggers and
// notices onto the app's queue/timer functions and its one notification path.

/// <summary>
/// The runtime's unusable-message error (its text names fields, never values) becomes the function's failure reason, so the
/// dead letter says what is wrong with the message.
/// </summary>
internal static class WorkflowMessage
{
    public static async Task<string> Run(Func<Task<string>> handle)
    {
        try
        {
            return await handle();
        }
        catch (WorkflowMessageException e)
        {
            throw new FunctionFailure(e.Message, e.Permanent);
        }
    }
}

/// <summary><c>WorkflowWork</c> (queue <c>workflow-work</c>): applies one event to one instance.</summary>
public sealed class WorkflowWorkFunction(WorkflowTriggers triggers) : IQueueFunction
{
    public Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken) =>
        WorkflowMessage.Run(() => triggers.ApplyWorkAsync(invocation.Message, cancellationToken));
}

/// <summary><c>WorkflowTimers</c> (queue <c>workflow-timers</c>, delayed messages): fires or re-arms one durable timer.</summary>
public sealed class WorkflowTimersFunction(WorkflowTriggers triggers) : IQueueFunction
{
    public Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken) =>
        WorkflowMessage.Run(() => triggers.FireTimerAsync(invocation.Message, cancellationToken));
}

/// <summary><c>WorkflowSweeper</c> (timer): outbox leftovers, overdue timers, retention purge.</summary>
public sealed class WorkflowSweeperFunction(WorkflowTriggers triggers) : ITimerFunction
{
    public async Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken) =>
        (await triggers.SweepAsync(cancellationToken)).ToString();
}

/// <summary>Workflow notices go out like every other partner notice: onto the <c>notifications</c> queue for Notify.</summary>
public sealed class NotificationQueueNotifier(NotificationQueue queue, IConfiguration configuration) : IWorkflowNotifier
{
    public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken)
    {
        // A decider may leave the URL to configuration, so endpoints change without touching workflow state.
        var url = notice.Url ?? configuration[$"Notifications:Subscribers:{notice.Subscriber}:Url"]
            ?? throw new FunctionFailure($"workflow notice '{notice.Type}' names subscriber '{notice.Subscriber}' without a URL, and Notifications__Subscribers__{notice.Subscriber}__Url is not set");
        return queue.EnqueueAsync(
            new NotificationMessage(deliveryId, notice.Subscriber, url, notice.Type, NotificationMessage.DefaultSource, notice.Subject, time, notice.Data),
            cancellationToken);
    }
}

/// <summary>
/// A start refused by admission inside a domain route (<c>POST /api/authorizations</c>) is a 429 with <c>Retry-After</c>,
/// not a 500: the caller retries, and the route's own duplicate check finds anything the first attempt left behind.
/// </summary>
public sealed class WorkflowStartsSaturatedHandler : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not WorkflowStartsSaturatedException saturated)
        {
            return false;
        }

        httpContext.Response.Headers.RetryAfter = ((int)saturated.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Results.Problem(title: WorkflowsApi.StartsSaturatedTitle, detail: saturated.Message, statusCode: StatusCodes.Status429TooManyRequests, type: WorkflowsApi.StartsSaturatedType)
            .ExecuteAsync(httpContext);
        return true;
    }
}

/// <summary>
/// A read of a sharded read model whose table is still in the unsharded layout (after an upgrade, before the rebuild) is
/// a 503 naming the table and the fix, not a 500 and never a wrong count.
/// </summary>
public sealed class ReadModelLayoutHandler : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    public const string Type = "https://calaimhub/problems/read-model-rebuild-required";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not ReadModelLayoutException layout)
        {
            return false;
        }

        await Results.Problem(title: "Read model needs a rebuild", detail: layout.Message, statusCode: StatusCodes.Status503ServiceUnavailable, type: Type)
            .ExecuteAsync(httpContext);
        return true;
    }
}

public static class WorkflowFunctionsExtensions
{
    /// <summary>The route reads a sharded read model, so it answers 503 until the rebuild after an upgrade (<see cref="ReadModelLayoutHandler"/>).</summary>
    public static RouteHandlerBuilder ReadsShardedReadModel(this RouteHandlerBuilder route) =>
        route.ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <summary>The workflow runtime and its notifier. Deciders are added with <c>builder.Services.AddWorkflowDecider(...)</c>.</summary>
    public static void AddWorkflows(this WebApplicationBuilder builder)
    {
        if (builder.Configuration.GetSection("Workflows:FaultInjection").Exists())
        {
            // A fault point kills the process on purpose: only ever outside Azure (see FaultInjectionOptions).
            builder.Configuration.RefuseInAzure("Workflows:FaultInjection");
        }

        builder.Services.AddWorkflowRuntime();
        builder.Services.AddExceptionHandler<WorkflowStartsSaturatedHandler>();
        builder.Services.AddExceptionHandler<ReadModelLayoutHandler>();
        // Notices to a subscriber without a URL are left out here (one start-up warning says so), not failed per notice.
        builder.Services.AddSingleton<IWorkflowNotifier>(sp => ActivatorUtilities.CreateInstance<Notifications.ConfiguredSubscribersNotifier>(
            sp, ActivatorUtilities.CreateInstance<NotificationQueueNotifier>(sp)));
    }

    /// <summary>The three workflow functions (the management API is <c>app.MapWorkflowsApi()</c>).</summary>
    public static void MapWorkflowFunctions(this WebApplication app)
    {
        app.MapQueueFunction<WorkflowWorkFunction>("WorkflowWork");
        app.MapQueueFunction<WorkflowTimersFunction>("WorkflowTimers");
        app.MapTimerFunction<WorkflowSweeperFunction>("WorkflowSweeper");
    }
}
