namespace CalAimHub.Workflows;

/// <summary>
/// The clock workflows run on: the runtime stamps events and arms and fires timers with the <see cref="TimeProvider"/>
/// registered under this key. By default it is the app's own clock; a host may register another under the key (the
/// test-only accelerated clock does) without touching the clock everything else uses (transport timestamps, replay
/// windows, delivery records stay real).
/// </summary>
/// <remarks>
/// Why not the whole app's clock: Notify stamps <c>webhook-timestamp</c> and receivers reject a stamp minutes off their
/// own clock; the webhook replay window, delivery records and dead letters are about when things really happened. The
/// authorizations API judges "now" by this clock too, since its deadlines are the workflows'.
/// </remarks>
public static class WorkflowClock
{
    public const string Key = "workflow-clock";
}
