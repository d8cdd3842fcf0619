namespace CalAimHub.Functions.Invocations;

/// <summary>
/// An expected reason for an invocation to fail (bad message, subscriber down…). Its message is the failure reason
/// shown to operators, so it must never contain member data.
/// </summary>
/// <param name="permanent">Retrying cannot help (the target failed for good): the message is dead-lettered at once with the reason.</param>
public sealed class FunctionFailure(string reason, bool permanent = false) : Exception(reason)
{
    public bool Permanent { get; } = permanent;
}
