using System.Globalization;
using Azure;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Timer <c>ReferralDispatchSweeper</c> (every minute): queues referral events that were recorded but never marked
/// dispatched, once older than <see cref="WebhookIntakeOptions.SweepGrace"/>: the handler stopped between the commit
/// and the send and the platform gave up redelivering, or the mark after the answer was lost. Each is sent to
/// <c>referral-events</c> and then marked, so a second run finds nothing; a copy already on the queue is dropped by
/// the consumer (it dedupes on the event id). At most <see cref="WebhookIntakeOptions.SweepBatchSize"/> per run.
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

        var queued = 0;
        foreach (var referralEvent in found)
        {
            try
            {
                if (!await ledger.OwnsClaimAsync(referralEvent, cancellationToken))
                {
                    // Recorded by a request that lost its webhook-id to another body and stopped before undoing it.
                    LogRemoved(logger, referralEvent.ReferralId, referralEvent.EventId);
                    continue;
                }

                await ledger.RedispatchAsync(referralEvent, cancellationToken);
                queued++;
                LogRequeued(logger, referralEvent.ReferralId, referralEvent.EventId);
            }
            catch (RequestFailedException e)
            {
                // The next run tries again: the row is still undispatched.
                LogFailed(logger, referralEvent.ReferralId, referralEvent.EventId, $"{e.Status} {e.ErrorCode}");
            }
        }

        var more = found.Count == options.SweepBatchSize ? "; more may be waiting for the next run" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Re-queued {queued} of {found.Count} undispatched referral event(s) older than {options.SweepGrace.TotalSeconds:0.#} s{more}.");
    }

    // Ids only (platform:referral id, webhook-id): never member data.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: event {EventId} was recorded but not queued; queued it now")]
    private static partial void LogRequeued(ILogger logger, string referralId, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: event {EventId} was recorded under a webhook-id another body owns; removed, not queued")]
    private static partial void LogRemoved(ILogger logger, string referralId, string eventId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Referral {ReferralId}: event {EventId} is still not queued ({Reason}); the next sweep retries")]
    private static partial void LogFailed(ILogger logger, string referralId, string eventId, string reason);
}
