using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace CalAimHub.LocalHost;

/// <summary>
/// Keeps a received queue message invisible while its invocation runs: every half lease the visibility is extended by
/// one lease, as the Functions host does, so an invocation longer than the lease (a large partner file) is not handed to
/// a second, concurrent invocation. Each renewal changes the pop receipt; <see cref="ReleaseAsync"/> stops renewing and
/// answers the message with the current one, for the delete or the retry that follows.
/// </summary>
internal sealed class MessageLease : IAsyncDisposable
{
    private readonly QueueClient _queue;
    private readonly TimeSpan _lease;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _aborting;
    private readonly Task _renewing;
    private QueueMessage _message;

    private MessageLease(QueueClient queue, QueueMessage message, TimeSpan lease, Action<string> log, CancellationToken aborting)
    {
        _queue = queue;
        _message = message;
        _lease = lease;
        _log = log;
        _aborting = aborting;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(aborting);
        _renewing = RenewAsync(_stop.Token);
    }

    public static MessageLease Hold(QueueClient queue, QueueMessage message, TimeSpan lease, Action<string> log, CancellationToken aborting) =>
        new(queue, message, lease, log, aborting);

    /// <summary>Stops renewing; the message with its latest pop receipt.</summary>
    public async Task<QueueMessage> ReleaseAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        return _message;
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        _stop.Dispose();
    }

    private async Task RenewAsync(CancellationToken stop)
    {
        while (true)
        {
            try
            {
                await Task.Delay(_lease / 2, stop);
                // Not cancelled by the release: a renewal the service applied must also be seen here, or the pop receipt
                // kept would be stale and the delete that follows would fail.
                var receipt = await _queue.UpdateMessageAsync(_message.MessageId, _message.PopReceipt, visibilityTimeout: _lease, cancellationToken: _aborting);
                _message = _message.Update(receipt.Value);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested || _aborting.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException)
            {
                // Lost the message (deleted or its receipt superseded): nothing more to hold; the outcome decides later.
                _log($"Queue {_queue.Name}: message {_message.MessageId} lease renewal failed ({e.GetType().Name}); no longer renewed.");
                return;
            }
        }
    }
}
