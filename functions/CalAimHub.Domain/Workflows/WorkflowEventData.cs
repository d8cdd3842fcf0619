using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Workflows;

/// <summary>
/// Checks an external event's data against the record its decider reads it as, before anything is recorded: the
/// deciders tolerate malformed data (the instance must not break), so without this check a malformed event raised
/// through the generic route would be stored and silently change nothing.
/// </summary>
public static class WorkflowEventData
{
    // Stricter than reading: no null where the record says non-null, no stray fields (required ones: Missing).
    private static readonly JsonSerializerOptions Strict = new(WorkflowJson.Options)
    {
        RespectNullableAnnotations = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Why <paramref name="data"/> is not a <paramref name="contract"/> (never quoting a value), or null.</summary>
    public static WorkflowInputProblem? Problem(Type contract, JsonElement? data)
    {
        if (data is not { ValueKind: JsonValueKind.Object } json)
        {
            return new("$", $"must be a JSON object ({Describe(contract)})");
        }

        if (Missing(contract, json) is { } missing)
        {
            return new(missing, "is required");
        }

        try
        {
            return json.Deserialize(contract, Strict) is null ? new("$", $"must be a JSON object ({Describe(contract)})") : null;
        }
        catch (JsonException e)
        {
            // System.Text.Json names the path and the expected type, not the value; the line/byte position is noise here.
            var message = e.Message.Split(" Path:", 2)[0].TrimEnd('.');
            return new(e.Path is { Length: > 2 } path ? path[2..] : "$", message);
        }
    }

    /// <summary>
    /// The first constructor parameter the record cannot do without (not nullable, no default) that the object lacks.
    /// A nullable parameter without a default (<c>string? Reason</c>) is optional, as the decider reads it.
    /// </summary>
    private static string? Missing(Type contract, JsonElement json)
    {
        var nullability = new System.Reflection.NullabilityInfoContext();
        var present = json.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return Constructor(contract).GetParameters()
            .Where(p => !p.HasDefaultValue && nullability.Create(p).WriteState == System.Reflection.NullabilityState.NotNull && Nullable.GetUnderlyingType(p.ParameterType) is null)
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name!))
            .FirstOrDefault(name => !present.Contains(name));
    }

    private static System.Reflection.ConstructorInfo Constructor(Type contract) =>
        contract.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();

    private static string Describe(Type contract) =>
        string.Join(", ", Constructor(contract).GetParameters()
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name!)));
}
