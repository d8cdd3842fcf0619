using System.Globalization;
using Azure;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Timer <c>ReferralDispatchSweeper</c> (every minute): queues referral events that were recorded but never marked
/// dispatched on their webhook-id claim (table <c>WebhookEvents</c>), once the claim is older than
/// <see cref="WebhookIntakeOptions.SweepGrace"/>: the handler stopped between the commit and the send and the platform
/// gave up redelivering, or the (batched) mark after the answer was lost. Each is sent to <c>referral-events</c> and then
/// its claim is marked, so a second run finds nothing; a copy already on the queue is dropped by the consumer (it dedupes
/// on the event id). A claim whose event was never recorded (stopped between the claim and the commit) is released.
/// At most <see cref="WebhookIntakeOptions.SweepBatchSize"/> claims per run.
/// </summary>
public sealed partial class ReferralDispatchSweeper(TableReferralLedger ledger, WebhookIntakeOptions options, ILogger<ReferralDispatchSweeper> logger) : ITimerFunction
{
    public async Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken)
    {
        // Wall-clock time on purpose: rows are compared with the storage's own Timestamp, never a test's business clock.
        var cutoff = TimeProvider.System.GetUtcNow() - options.SweepGrace;
        var found = await ledger.UndispatchedAsync(cutoff, options.SweepBatchSize, cancellationToken);
        if (found.Count == 0)
        {
            return "No undispatched referral events.";
        }

        int queued = 0, released = 0;
        foreach (var claim in found)
        {
            try
            {
                if (await ledger.RedispatchAsync(claim, cancellationToken) is null)
                {
                    released++;
                    LogReleased(logger, claim.Platform, claim.EventId);
                    continue;
                }

                queued++;
                LogRequeued(logger, claim.ReferralId, claim.EventId);
            }
            catch (RequestFailedException e)
            {
                // The next run tries again: the claim is still unmarked.
                LogFailed(logger, claim.ReferralId, claim.EventId, $"{e.Status} {e.ErrorCode}");
            }
        }

        var freed = released > 0 ? $"; released {released} webhook-id claim(s) whose event was never recorded" : "";
        var more = found.Count == options.SweepBatchSize ? "; more may be waiting for the next run" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Re-queued {queued} of {found.Count} undispatched referral event(s) older than {options.SweepGrace.TotalSeconds:0.#} s{freed}{more}.");
    }

    // Ids only (platform:referral id, webhook-id): never member data.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: event {EventId} was recorded but not queued; queued it now")]
    private static partial void LogRequeued(ILogger logger, string referralId, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventId} from {Platform} was claimed but its event never recorded; claim released")]
    private static partial void LogReleased(ILogger logger, string platform, string eventId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Referral {ReferralId}: event {EventId} is still not queued ({Reason}); the next sweep retries")]
    private static partial void LogFailed(ILogger logger, string referralId, string eventId, string reason);
}
