using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Invocations;

/// <summary>
/// The invocation side of the custom handler protocol, in one place: every queue and timer function is a
/// <c>POST /{FunctionName}</c> that reads the host's envelope and answers with <see cref="InvocationResponse"/>.
/// </summary>
public sealed class FunctionEndpoints(FunctionAppDefinition app)
{
    private readonly HashSet<string> handled = new(StringComparer.Ordinal);

    public FunctionDefinition Claim(string functionName, string triggerType)
    {
        var function = app.Functions.SingleOrDefault(f => f.Name == functionName)
            ?? throw new FunctionAppDefinitionException($"No function folder '{functionName}' with function.json in {app.Directory}.");
        if (function.Trigger.Type != triggerType)
        {
            throw new FunctionAppDefinitionException($"{functionName}/function.json has a {function.Trigger.Type}, but its handler expects a {triggerType}.");
        }

        handled.Add(functionName);
        return function;
    }

    /// <summary>Function folders whose trigger reaches the handler as an invocation but that no endpoint serves.</summary>
    public IReadOnlyList<string> Unhandled() => app.Functions
        .Where(f => f.Trigger.Type != BindingDefinition.HttpTrigger && !handled.Contains(f.Name))
        .Select(f => f.Name)
        .ToArray();
}

public static partial class FunctionEndpointExtensions
{
    public static void MapQueueFunction<TFunction>(this WebApplication app, string functionName)
        where TFunction : class, IQueueFunction
    {
        var definition = app.Services.GetRequiredService<FunctionEndpoints>().Claim(functionName, BindingDefinition.QueueTrigger);
        var trigger = definition.Trigger;
        app.MapPost("/" + functionName, async (HttpRequest request, IServiceProvider services, CancellationToken cancellationToken) =>
        {
            var (invocation, problem) = await ReadAsync(request, functionName, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            var (body, handedBackFrom) = HandedBackMessage.Read(invocation!.GetText(trigger.Name));
            var queueInvocation = new QueueInvocation(functionName, trigger.QueueName!, body, invocation.Metadata);
            // When the first copy of this message was queued: a fresh copy handed back keeps it (HandBackAsync).
            var firstQueued = handedBackFrom ?? invocation.Metadata.InsertionTime ?? DateTimeOffset.UtcNow;
            var function = ActivatorUtilities.GetServiceOrCreateInstance<TFunction>(services);
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("CalAimHub.Functions." + functionName);
            var maxDequeueCount = services.GetRequiredService<FunctionAppDefinition>().Host.Queues.MaxDequeueCount;
            if (await services.GetRequiredService<DeliveryAttemptLedger>().TakeFreshCopyAsync(queueInvocation, maxDequeueCount, cancellationToken) is { } unanswered)
            {
                // The last delivery the queue allows, and some before it ended without an answer (the worker stopped): those
                // were not the message's failures, so it gets its deliveries back as a fresh copy rather than this last try.
                await HandBackAsync(services, queueInvocation, firstQueued, TimeSpan.Zero, cancellationToken);
                LogFreshCopy(logger, functionName, queueInvocation.Metadata.MessageId, unanswered, maxDequeueCount - 1);
                return Results.Json(InvocationResponse.Completed(
                    $"Message {queueInvocation.Metadata.MessageId} handed back as a fresh copy: {unanswered} of its {maxDequeueCount - 1} earlier deliveries ended without an answer (the worker stopped)."));
            }

            try
            {
                using (services.GetService<WorkflowRuntime>()?.Admission.ForQueuedWork(firstQueued))
                {
                    return Results.Json(InvocationResponse.Completed(await function.HandleAsync(queueInvocation, cancellationToken)));
                }
            }
            catch (WorkflowStartsSaturatedException e)
            {
                // Not a failure: admission refused a workflow start before it stored anything. Failing would spend one of
                // the message's maxDequeueCount deliveries, and so would waiting with the message leased: every worker
                // death while it is leased counts as a delivery. So the message goes back as a fresh copy (its own
                // deliveries), visible after Retry-After, and this one completes. A death between the two leaves both;
                // queue functions are idempotent, so the second run finds the work done.
                await HandBackAsync(services, queueInvocation, firstQueued, e.RetryAfter, cancellationToken);
                LogStartsSaturated(logger, functionName, queueInvocation.Metadata.MessageId, e.RetryAfter.TotalSeconds);
                return Results.Json(InvocationResponse.Completed(
                    $"Workflow starts are saturated: message {queueInvocation.Metadata.MessageId} handed back as a fresh copy, visible again in {e.RetryAfter.TotalSeconds:0} s."));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var reason = FailureReason(e);
                return await FailAsync(services, queueInvocation, reason, e is FunctionFailure { Permanent: true }, logger, cancellationToken);
            }
        }).ExcludeFromDescription().AllowAnonymous(); // the Functions host's invocation: reachable only on 127.0.0.1, no staff principal
    }

    public static void MapTimerFunction<TFunction>(this WebApplication app, string functionName)
        where TFunction : class, ITimerFunction
    {
        app.Services.GetRequiredService<FunctionEndpoints>().Claim(functionName, BindingDefinition.TimerTrigger);
        app.MapPost("/" + functionName, async (HttpRequest request, IServiceProvider services, CancellationToken cancellationToken) =>
        {
            var (invocation, problem) = await ReadAsync(request, functionName, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            var function = ActivatorUtilities.GetServiceOrCreateInstance<TFunction>(services);
            try
            {
                return Results.Json(InvocationResponse.Completed(await function.RunAsync(invocation!.Metadata, cancellationToken)));
            }
            catch (FunctionFailure e)
            {
                return Results.Problem(title: $"{functionName} failed", detail: e.Message, statusCode: StatusCodes.Status500InternalServerError);
            }
        }).ExcludeFromDescription().AllowAnonymous();
    }

    /// <summary>
    /// The message again as a new one (its own deliveries), visible after <paramref name="delay"/>, carrying when its first
    /// copy was queued (<see cref="HandedBackMessage"/>); the caller then completes this one.
    /// </summary>
    private static Task HandBackAsync(IServiceProvider services, QueueInvocation invocation, DateTimeOffset firstQueued, TimeSpan delay, CancellationToken cancellationToken) =>
        services.GetRequiredService<StorageAccount>().Queues.GetQueueClient(invocation.Queue)
            .SendMessageAsync(HandedBackMessage.Wrap(invocation.Message, firstQueued), visibilityTimeout: delay, cancellationToken: cancellationToken);

    /// <summary>
    /// The reason recorded for a failed attempt; it is logged and kept in the poison queue, so it must not echo member
    /// data: a JSON parser's message can quote the offending text, so only its position is kept.
    /// </summary>
    internal static string FailureReason(Exception e) => e switch
    {
        FunctionFailure => e.Message,
        System.Text.Json.JsonException json => $"invalid JSON at {json.Path ?? "$"} (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1})",
        Azure.RequestFailedException storage => $"storage answered {storage.Status} {storage.ErrorCode}",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    /// <summary>Fails fast at startup when a function folder has no handler: the host would invoke a 404.</summary>
    public static void EnsureEveryFunctionIsHandled(this WebApplication app)
    {
        var unhandled = app.Services.GetRequiredService<FunctionEndpoints>().Unhandled();
        if (unhandled.Count > 0)
        {
            throw new FunctionAppDefinitionException($"No handler is mapped for function(s): {string.Join(", ", unhandled)}.");
        }
    }

    private static async Task<(InvocationRequest? Invocation, IResult? Problem)> ReadAsync(HttpRequest request, string functionName, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        try
        {
            return (InvocationRequest.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)), null);
        }
        catch (InvocationFormatException e)
        {
            // Non-2xx fails the invocation; the host retries and finally moves the message to the poison queue.
            return (null, Results.Problem(title: $"{functionName}: malformed invocation", detail: e.Message, statusCode: StatusCodes.Status400BadRequest));
        }
    }

    /// <summary>
    /// A failed attempt is retried by the host (non-2xx answer). On the last allowed attempt — or at once when the
    /// failure is permanent — the handler writes the message with its failure reason to the poison queue itself and
    /// completes, so the reason is not lost.
    /// </summary>
    private static async Task<IResult> FailAsync(IServiceProvider services, QueueInvocation invocation, string reason, bool permanent, ILogger logger, CancellationToken cancellationToken)
    {
        var app = services.GetRequiredService<FunctionAppDefinition>();
        var attempt = invocation.Metadata.DequeueCount ?? 1;
        var maxAttempts = app.Host.Queues.MaxDequeueCount;
        if (attempt < maxAttempts && !permanent)
        {
            await services.GetRequiredService<DeliveryAttemptLedger>().RecordThrowAsync(invocation, cancellationToken);
            logger.LogWarning("{Function} attempt {Attempt}/{MaxAttempts} of message {MessageId} failed: {Reason}", invocation.Function, attempt, maxAttempts, invocation.Metadata.MessageId, reason);
            return Results.Problem(title: $"{invocation.Function} attempt {attempt} of {maxAttempts} failed", detail: reason, statusCode: StatusCodes.Status500InternalServerError);
        }

        var deadLetter = new DeadLetter(
            invocation.Function,
            invocation.Queue,
            invocation.Metadata.MessageId,
            attempt,
            reason,
            services.GetRequiredService<TimeProvider>().GetUtcNow(),
            invocation.Message);
        var storage = services.GetRequiredService<StorageAccount>();
        await storage.Queues.GetQueueClient(StorageLayout.PoisonQueue(invocation.Queue))
            .SendMessageAsync(deadLetter.ToJson(), timeToLive: TimeSpan.FromSeconds(-1), cancellationToken: cancellationToken);
        Extensions.HubTelemetry.MessagesDeadLettered.Add(1, new KeyValuePair<string, object?>("function", invocation.Function));
        logger.LogError("{Function} gave up on message {MessageId} after {Attempts} attempts, moved to {PoisonQueue}: {Reason}",
            invocation.Function, invocation.Metadata.MessageId, attempt, StorageLayout.PoisonQueue(invocation.Queue), reason);
        return Results.Json(InvocationResponse.Completed($"Dead-lettered after {attempt} attempts: {reason}"));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Function} message {MessageId}: {Unanswered} of its {Earlier} earlier deliveries ended without an answer (the worker stopped); handed back as a fresh copy instead of its last delivery")]
    private static partial void LogFreshCopy(ILogger logger, string function, string? messageId, int unanswered, int earlier);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Function} message {MessageId}: workflow starts are saturated; handed back as a fresh copy, visible again in {RetryAfterSeconds} s (not a failed attempt)")]
    private static partial void LogStartsSaturated(ILogger logger, string function, string? messageId, double retryAfterSeconds);
}
