using System.Text.Json.Serialization;

namespace CalAimHub.Hosting.Invocations;

/// <summary>
/// The handler's answer to an invocation: <c>{"Outputs":{…},"Logs":[…],"ReturnValue":…}</c>. Functions here declare
/// no output bindings (storage I/O goes through SDK clients), so Outputs stays empty; Logs reach the host's invocation log.
/// </summary>
public sealed record InvocationResponse(
    [property: JsonPropertyName("Outputs")] IReadOnlyDictionary<string, object?> Outputs,
    [property: JsonPropertyName("Logs")] IReadOnlyList<string> Logs,
    [property: JsonPropertyName("ReturnValue")] object? ReturnValue)
{
    public static InvocationResponse Completed(params string[] logs) => new(new Dictionary<string, object?>(), logs, null);
}
