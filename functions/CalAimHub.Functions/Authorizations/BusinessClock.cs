using CalAimHub.Workflows;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// The clock regulatory deadlines run on: the workflow runtime stamps events and fires timers with it, and the
/// authorization API judges "now" by it (keyed service <see cref="Key"/>). It is the app's clock, except when the
/// test-only <c>Authorizations:AcceleratedClock</c> is on: then only this clock runs fast.
/// </summary>
/// <remarks>
/// Why not the whole app: transport time must stay real. Notify stamps <c>webhook-timestamp</c> and receivers reject a
/// stamp more than minutes off their own clock; the webhook replay window, delivery records and dead letters are about
/// when things really happened.
/// </remarks>
public static class BusinessClock
{
    public const string Key = WorkflowClock.Key;
}
