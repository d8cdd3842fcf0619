using System.Globalization;
using System.Text.Json;

namespace CalAimHub.Hosting.Invocations;

/// <summary>
/// The body the Functions host POSTs to <c>/{FunctionName}</c> for non-HTTP triggers: <c>{"Data":{…},"Metadata":{…}}</c>.
/// Parsed defensively: the real host JSON-encodes strings a second time and sends numbers as strings.
/// </summary>
public sealed class InvocationRequest
{
    private InvocationRequest(IReadOnlyDictionary<string, JsonElement> data, InvocationMetadata metadata)
    {
        Data = data;
        Metadata = metadata;
    }

    public IReadOnlyDictionary<string, JsonElement> Data { get; }
    public InvocationMetadata Metadata { get; }

    public static InvocationRequest Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(utf8Json.ToArray());
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvocationFormatException($"Invocation body is not valid JSON: {e.Message}");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvocationFormatException($"Invocation body must be a JSON object with 'Data' and 'Metadata', not {root.ValueKind}.");
        }

        if (!TryGetProperty(root, "Data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            throw new InvocationFormatException("Invocation body has no 'Data' object; the host always sends the trigger value in Data.");
        }

        var metadata = TryGetProperty(root, "Metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        return new InvocationRequest(
            data.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.OrdinalIgnoreCase),
            new InvocationMetadata(metadata));
    }

    /// <summary>The trigger value as text: a double-encoded string is decoded once; an object or array is its JSON text.</summary>
    public string GetText(string bindingName)
    {
        if (!Data.TryGetValue(bindingName, out var value))
        {
            throw new InvocationFormatException($"Invocation Data has no '{bindingName}' entry (keys: {string.Join(", ", Data.Keys)}).");
        }

        return JsonValues.AsText(value) ?? throw new InvocationFormatException($"Invocation Data '{bindingName}' is null.");
    }

    internal static bool TryGetProperty(JsonElement element, string name, out JsonElement value)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }
}

/// <summary>Trigger metadata (queue: DequeueCount, Id, InsertionTime…; all: <c>sys</c>).</summary>
public sealed class InvocationMetadata(JsonElement metadata)
{
    public string? GetText(string key) =>
        metadata.ValueKind == JsonValueKind.Object && InvocationRequest.TryGetProperty(metadata, key, out var value)
            ? JsonValues.AsText(value)
            : null;

    /// <summary>Queue trigger: how many times this message has been dequeued, this attempt included.</summary>
    public int? DequeueCount => GetText("DequeueCount") is { } text && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    public string? MessageId => GetText("Id");

    public DateTimeOffset? InsertionTime =>
        GetText("InsertionTime") is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    public string? MethodName =>
        metadata.ValueKind == JsonValueKind.Object && InvocationRequest.TryGetProperty(metadata, "sys", out var sys) && sys.ValueKind == JsonValueKind.Object
            && InvocationRequest.TryGetProperty(sys, "MethodName", out var name)
            ? JsonValues.AsText(name)
            : null;
}

internal static class JsonValues
{
    /// <summary>String → its value, decoded once more if it is itself a JSON string literal; number/bool → text; object/array → raw JSON.</summary>
    public static string? AsText(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
                {
                    try
                    {
                        return JsonSerializer.Deserialize<string>(text) ?? text;
                    }
                    catch (JsonException)
                    {
                        return text;
                    }
                }

                return text;
            default:
                return value.GetRawText();
        }
    }
}
