namespace CalAimHub.Functions.Invocations;

/// <summary>
/// An expected reason for an invocation to fail (bad message, subscriber down…). Its message is the failure reason
/// shown to operators, so it must never contain member data.
/// </summary>
public sealed class FunctionFailure(string reason) : Exception(reason);
