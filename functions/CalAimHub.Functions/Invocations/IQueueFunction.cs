using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Functions.Invocations;

/// <summary>A function triggered by a storage queue message.</summary>
public interface IQueueFunction
{
    /// <summary>Processes one message; returns a log line for the host. Throws <see cref="FunctionFailure"/> to fail the attempt.</summary>
    Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>A function triggered on a schedule.</summary>
public interface ITimerFunction
{
    Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken);
}

/// <param name="Function">The function (folder) name.</param>
/// <param name="Queue">The queue the message came from.</param>
/// <param name="Message">The message text, decoded from the host's envelope.</param>
/// <param name="Metadata">Trigger metadata: dequeue count, message id, insertion time.</param>
public sealed record QueueInvocation(string Function, string Queue, string Message, InvocationMetadata Metadata);
