using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Operations;

/// <summary>
/// Timer: reports the depth of every poison queue as a metric and a warning, so failed messages are noticed long
/// before a queue's time-to-live could drop them. Replay with <c>hub replay &lt;queue&gt;</c> (locally) or the console (<c>POST /api/console/poison/{queue}/{messageId}/replay</c>).
/// </summary>
public sealed partial class PoisonQueueMonitor(PoisonQueues poisonQueues, FunctionAppDefinition app, ILogger<PoisonQueueMonitor> logger) : ITimerFunction
{
    public async Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken)
    {
        var report = new List<string>();
        foreach (var queue in app.Storage.Queues)
        {
            var poison = StorageLayout.PoisonQueue(queue);
            var depth = (await poisonQueues.DepthAsync(queue, cancellationToken)).PoisonDepth;
            HubTelemetry.PoisonQueueDepth.Record(depth, new KeyValuePair<string, object?>("queue", poison));
            if (depth > 0)
            {
                LogPoisonMessages(poison, depth);
                report.Add($"{poison}: {depth}");
            }
        }

        return report.Count == 0 ? "No poison messages." : "Poison messages waiting: " + string.Join(", ", report);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{PoisonQueue} holds {Depth} message(s) that failed every attempt; inspect and replay them")]
    private partial void LogPoisonMessages(string poisonQueue, int depth);
}
