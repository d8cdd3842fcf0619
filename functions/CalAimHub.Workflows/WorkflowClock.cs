namespace CalAimHub.Workflows;

/// <summary>
/// The clock workflows run on: the runtime stamps events and arms and fires timers with the <see cref="TimeProvider"/>
/// registered under this key. By default it is the app's own clock; a host may register another under the key (the
/// test-only accelerated clock does) without touching the clock everything else uses (transport timestamps, replay
/// windows, delivery records stay real).
/// </summary>
public static class WorkflowClock
{
    public const string Key = "workflow-clock";
}
