using System.Text.Json.Serialization;

namespace CalAimHub.Ingestion.Formats;

/// <summary>
/// A versioned file layout, loaded from <c>Schemas/{name}.schema.json</c>: one <see cref="ColumnDefinition"/> per column,
/// the key that identifies a row, cross-field rules and the domain events an accepted row raises.
/// </summary>
public sealed record FileSchema
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("title")] public string Title { get; init; } = "";
    [JsonPropertyName("effectiveDate")] public string EffectiveDate { get; init; } = "";
    [JsonPropertyName("source")] public string Source { get; init; } = "";

    /// <summary>The worksheet that holds this layout in an XLSX workbook (RTF, OTF); CSV files have one table.</summary>
    [JsonPropertyName("sheet")] public string? Sheet { get; init; }

    /// <summary>Headers that tell this layout apart from the other layouts of the same kind.</summary>
    [JsonPropertyName("detect")] public IReadOnlyList<string> Detect { get; init; } = [];

    /// <summary>Columns whose values identify a row: duplicates within a file, and the stored row's key.</summary>
    [JsonPropertyName("key")] public required IReadOnlyList<string> Key { get; init; }

    [JsonPropertyName("rules")] public IReadOnlyList<CrossFieldRule> Rules { get; init; } = [];
    [JsonPropertyName("events")] public IReadOnlyList<EventDefinition> Events { get; init; } = [];
    [JsonPropertyName("columns")] public required IReadOnlyList<ColumnDefinition> Columns { get; init; }

    public string Id => $"{Name}@{Version}";
}

public sealed record ColumnDefinition
{
    /// <summary>Header text in the file (baseline; a partner profile may rename it).</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }

    /// <summary>Property name of the stored row.</summary>
    [JsonPropertyName("field")] public required string Field { get; init; }

    /// <summary>text, date, month, cin, npi, tin, integer, decimal, phone, zip, email, state, code, hcpcs, modifier.</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = ColumnType.Text;
    [JsonPropertyName("required")] public bool Required { get; init; }
    [JsonPropertyName("requiredWhen")] public ColumnCondition? RequiredWhen { get; init; }

    /// <summary>Required unless this other column has a value (either/or pairs such as NPI or atypical id).</summary>
    [JsonPropertyName("requiredUnless")] public string? RequiredUnless { get; init; }

    /// <summary>Code set name (<c>CodeSets/{codes}.codes.json</c>) for type <c>code</c>.</summary>
    [JsonPropertyName("codes")] public string? Codes { get; init; }

    /// <summary>Member PHI: masked in reports, never logged.</summary>
    [JsonPropertyName("phi")] public bool Phi { get; init; }
    [JsonPropertyName("maxLength")] public int? MaxLength { get; init; }
    [JsonPropertyName("min")] public decimal? Min { get; init; }
    [JsonPropertyName("max")] public decimal? Max { get; init; }

    /// <summary>A date that cannot lie after the day the file is processed (service, encounter, status dates).</summary>
    [JsonPropertyName("notFuture")] public bool NotFuture { get; init; }

    /// <summary>An extra column a partner profile adds: kept and stored, not validated beyond its type.</summary>
    [JsonIgnore] public bool Extra { get; init; }
}

public sealed record ColumnCondition
{
    [JsonPropertyName("column")] public required string Column { get; init; }

    /// <summary>True: the condition holds when the other column has any value.</summary>
    [JsonPropertyName("present")] public bool Present { get; init; }

    /// <summary>The condition holds when the other column has one of these values (case-insensitive).</summary>
    [JsonPropertyName("in")] public IReadOnlyList<string> In { get; init; } = [];
}

public sealed record CrossFieldRule
{
    /// <summary><c>date-order</c> (end ≥ start) or <c>service-code</c> (HCPCS code + modifiers in the DHCS table).</summary>
    [JsonPropertyName("rule")] public required string Rule { get; init; }
    [JsonPropertyName("start")] public string? Start { get; init; }
    [JsonPropertyName("end")] public string? End { get; init; }
    [JsonPropertyName("code")] public string? Code { get; init; }
    [JsonPropertyName("modifiers")] public IReadOnlyList<string> Modifiers { get; init; } = [];
    [JsonPropertyName("codes")] public string? Codes { get; init; }
}

/// <summary>A domain event raised per accepted row (when <see cref="When"/> holds), carrying the listed non-PHI columns.</summary>
public sealed record EventDefinition
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("when")] public ColumnCondition? When { get; init; }
    [JsonPropertyName("data")] public IReadOnlyList<string> Data { get; init; } = [];
}

public static class ColumnType
{
    public const string Text = "text";
    public const string Date = "date";
    public const string Month = "month";
    public const string Cin = "cin";
    public const string Npi = "npi";
    public const string Tin = "tin";
    public const string Integer = "integer";
    public const string Decimal = "decimal";
    public const string Phone = "phone";
    public const string Zip = "zip";
    public const string Email = "email";
    public const string State = "state";
    public const string Code = "code";
    public const string Hcpcs = "hcpcs";
    public const string Modifier = "modifier";

    public static IReadOnlyList<string> All { get; } = [Text, Date, Month, Cin, Npi, Tin, Integer, Decimal, Phone, Zip, Email, State, Code, Hcpcs, Modifier];
}
