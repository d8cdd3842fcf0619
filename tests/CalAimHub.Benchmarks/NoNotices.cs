using CalAimHub.Domain.Workflows;
using CalAimHub.Workflows;

namespace CalAimHub.Benchmarks;

/// <summary>A notifier that sends nothing: the benchmarks measure the workflow runtime, not the notice channel.</summary>
internal sealed class NoNotices : IWorkflowNotifier
{
    public Task SendAsync(string deliveryId, SendNotification notice, DateTimeOffset time, CancellationToken cancellationToken) => Task.CompletedTask;
}
