namespace CalAimHub.Hosting.Invocations;

/// <summary>An invocation envelope from the host that cannot be understood; the invocation fails and is retried.</summary>
public sealed class InvocationFormatException(string message) : Exception(message);
