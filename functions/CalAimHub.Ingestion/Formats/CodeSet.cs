using System.Text.Json.Serialization;

namespace CalAimHub.Ingestion.Formats;

/// <summary>A versioned code list from <c>CodeSets/{name}.codes.json</c>, with its source and effective date.</summary>
public sealed record CodeSet
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("effectiveDate")] public required string EffectiveDate { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
    [JsonPropertyName("codes")] public IReadOnlyList<CodeEntry> Codes { get; init; } = [];

    private Lookup? _lookup;

    /// <summary>Built once, published by one reference write (code sets are shared by concurrent runs).</summary>
    private sealed class Lookup(Dictionary<string, string> codes)
    {
        public readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Spans = codes.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The canonical code for a value (code, label or alias, case-insensitive), or null when it is not in the set.</summary>
    public string? Canonical(string value) => Canonical(value.AsSpan());

    /// <inheritdoc cref="Canonical(string)"/>
    public string? Canonical(ReadOnlySpan<char> value)
    {
        _lookup ??= new Lookup(Build());
        return _lookup.Spans.TryGetValue(value.Trim(), out var code) ? code : null;
    }

    private Dictionary<string, string> Build()
    {
        var lookup = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in Codes)
        {
            lookup.TryAdd(entry.Code, entry.Code);
            if (entry.Label is { Length: > 0 } label)
            {
                lookup.TryAdd(label, entry.Code);
            }

            foreach (var alias in entry.Aliases)
            {
                lookup.TryAdd(alias, entry.Code);
            }
        }

        return lookup;
    }

    /// <summary>A short list of valid codes for fix hints.</summary>
    public string Hint(int max = 8) =>
        string.Join(", ", Codes.Take(max).Select(c => c.Label is { Length: > 0 } l && l != c.Code ? $"{c.Code} ({l})" : c.Code)) + (Codes.Count > max ? ", …" : "");
}

public sealed record CodeEntry
{
    [JsonPropertyName("code")] public required string Code { get; init; }
    [JsonPropertyName("label")] public string? Label { get; init; }
    [JsonPropertyName("aliases")] public IReadOnlyList<string> Aliases { get; init; } = [];
}

/// <summary>
/// The DHCS ECM/Community Supports HCPCS table (<c>CodeSets/dhcs-ecm-cs-hcpcs.codes.json</c>): each entry is a code with the
/// modifier(s) that define the service and the optional modifiers it may carry (GQ for telephonic).
/// </summary>
public sealed record ServiceCodeTable
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("effectiveDate")] public required string EffectiveDate { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
    [JsonPropertyName("services")] public IReadOnlyList<ServiceCode> Services { get; init; } = [];

    public bool HasCode(string code) => Services.Any(s => string.Equals(s.Code, code, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<ServiceCode> ForCode(string code) => Services.Where(s => string.Equals(s.Code, code, StringComparison.OrdinalIgnoreCase));

    /// <summary>The entry matched by a code and the modifiers in its slots: every required modifier present, nothing else but optional ones.</summary>
    public ServiceCode? Match(string code, IReadOnlyCollection<string> modifiers) => ForCode(code).FirstOrDefault(s =>
        s.Modifiers.All(m => modifiers.Contains(m, StringComparer.OrdinalIgnoreCase)) &&
        modifiers.All(m => s.Modifiers.Contains(m, StringComparer.OrdinalIgnoreCase) || s.Optional.Contains(m, StringComparer.OrdinalIgnoreCase)));
}

public sealed record ServiceCode
{
    [JsonPropertyName("code")] public required string Code { get; init; }
    [JsonPropertyName("modifiers")] public IReadOnlyList<string> Modifiers { get; init; } = [];
    [JsonPropertyName("optional")] public IReadOnlyList<string> Optional { get; init; } = [];
    [JsonPropertyName("service")] public required string Service { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }

    public string Describe() => Code + "-" + string.Join("+", Modifiers) + (Optional.Count > 0 ? $" (optional {string.Join("/", Optional)})" : "");
}
