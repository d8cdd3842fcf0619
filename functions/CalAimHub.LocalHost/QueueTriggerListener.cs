using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Invocations;

namespace CalAimHub.LocalHost;

/// <summary>
/// One queueTrigger function, with the Storage extension's semantics (host.json <c>extensions.queues</c>):
/// receive up to batchSize messages invisible for 10 minutes (the lease, renewed at half-time while the invocation runs, so
/// a long file is never handed to a second invocation), invoke in parallel, and fetch the next batch as soon as
/// no more than newBatchThreshold are still running (so at most batchSize + newBatchThreshold run at once, and a slow
/// message never holds back the ones behind it); success deletes; failure releases the message after
/// visibilityTimeout, or, at maxDequeueCount, copies the body to <c>&lt;queue&gt;-poison</c> and deletes it.
/// Idle polling backs off from 100 ms, doubling, up to maxPollingInterval.
/// </summary>
internal sealed class QueueTriggerListener
{
    private static readonly TimeSpan MinimumPollingInterval = TimeSpan.FromMilliseconds(100);

    private readonly FunctionDefinition _function;
    private readonly QueueTriggerSettings _settings;
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly FunctionInvoker _invoker;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly TimeSpan _lease;

    public QueueTriggerListener(
        FunctionDefinition function, QueueTriggerSettings settings, QueueServiceClient queues, FunctionInvoker invoker, TimeProvider time, Action<string> log,
        TimeSpan lease)
    {
        _lease = lease;
        _function = function;
        _settings = settings;
        var queueName = function.Trigger.QueueName!;
        _queue = queues.GetQueueClient(queueName);
        _poison = queues.GetQueueClient(settings.PoisonQueueName(queueName));
        _invoker = invoker;
        _time = time;
        _log = log;
    }

    /// <summary>Polls until <paramref name="stopping"/>; the messages in flight then complete (unless <paramref name="aborting"/>).</summary>
    public async Task RunAsync(CancellationToken stopping, CancellationToken aborting)
    {
        var delay = MinimumPollingInterval;
        var batchSize = Math.Clamp(_settings.BatchSize, 1, 32);
        var newBatchThreshold = Math.Max(0, _settings.NewBatchThreshold);
        var inFlight = new HashSet<Task>();
        while (!stopping.IsCancellationRequested)
        {
            inFlight.RemoveWhere(t => t.IsCompleted);
            if (inFlight.Count > newBatchThreshold)
            {
                inFlight.Remove(await Task.WhenAny(inFlight));
                continue;
            }

            QueueMessage[] batch;
            try
            {
                // While this instance's handler restarts, leave the messages to the other instances (or for later).
                await _invoker.ReadyAsync(stopping);
                batch = (await _queue.ReceiveMessagesAsync(batchSize, _lease, stopping)).Value;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException or AggregateException)
            {
                _log($"Queue {_queue.Name}: receive failed ({e.GetType().Name}: {FirstLine(e.Message)}); retrying.");
                batch = [];
            }

            if (batch.Length > 0)
            {
                delay = MinimumPollingInterval;
                inFlight.UnionWith(batch.Select(m => ProcessAsync(m, aborting)));
                continue;
            }

            try
            {
                await Task.Delay(delay, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var max = _settings.MaxPollingInterval < MinimumPollingInterval ? MinimumPollingInterval : _settings.MaxPollingInterval;
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, max.Ticks));
        }

        await Task.WhenAll(inFlight);
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken aborting)
    {
        try
        {
            if (message.DequeueCount > _settings.MaxDequeueCount)
            {
                await MoveToPoisonAsync(message, aborting);
                _log($"{_function.Name} message {message.MessageId}: dequeue count {message.DequeueCount} is over maxDequeueCount {_settings.MaxDequeueCount}; moved to {_poison.Name} without running.");
                return;
            }

            var facts = new QueueMessageFacts(
                message.Body.ToString(),
                message.MessageId,
                message.PopReceipt,
                message.DequeueCount,
                message.InsertedOn,
                message.ExpiresOn,
                message.NextVisibleOn);
            var envelope = InvocationEnvelope.ForQueueMessage(_function.Trigger.Name, facts, _time.GetUtcNow());
            InvocationResult result;
            await using (var lease = MessageLease.Hold(_queue, message, _lease, _log, aborting))
            {
                result = await _invoker.InvokeAsync(_function.Name, envelope, aborting);
                message = await lease.ReleaseAsync();
            }

            var line = $"{_function.Name} message {message.MessageId} attempt {message.DequeueCount}: {(result.Succeeded ? "succeeded" : "failed")} ({result.Status}) in {result.Duration.TotalMilliseconds:0} ms [{result.InvocationId}]";
            if (result.Succeeded)
            {
                await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, aborting);
                _log(line);
            }
            else if (message.DequeueCount >= _settings.MaxDequeueCount)
            {
                await MoveToPoisonAsync(message, aborting);
                _log($"{line}; message has reached MaxDequeueCount of {_settings.MaxDequeueCount}, moved to queue '{_poison.Name}'.");
            }
            else
            {
                await _queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: _settings.VisibilityTimeout, cancellationToken: aborting);
                _log($"{line}; retry after {_settings.VisibilityTimeout}.");
            }
        }
        catch (OperationCanceledException) when (aborting.IsCancellationRequested)
        {
            // Shutting down mid-invocation: the message stays invisible for the rest of its lease, as when a host dies.
            _log($"{_function.Name} message {message.MessageId}: abandoned at shutdown.");
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException)
        {
            // Lost the pop receipt (e.g. the message was deleted by someone else): the Functions host logs and moves on too.
            _log($"{_function.Name} message {message.MessageId}: queue operation failed ({e.GetType().Name}: {FirstLine(e.Message)}).");
        }
    }

    /// <summary>The host's poison copy: a new message with only the body (same text), then the original is deleted.</summary>
    private async Task MoveToPoisonAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        await _poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await _poison.SendMessageAsync(message.Body, cancellationToken: cancellationToken);
        await _queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
