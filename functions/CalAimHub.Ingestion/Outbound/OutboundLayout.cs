using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion.Outbound;

/// <summary>
/// A versioned outbound file layout (MIF, CS MIF, CS authorization status file), loaded from
/// <c>Outbound/Layouts/{name}.layout.json</c>: the columns in order, and for each where its value comes from — an
/// assignment field, a fact the hub joins (<see cref="OutboundFacts"/>), or nothing (a column the hub has no value for).
/// </summary>
public sealed record OutboundLayout
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("title")] public string Title { get; init; } = "";
    [JsonPropertyName("source")] public string Source { get; init; } = "";

    /// <summary>The worksheet name of the XLSX form of the file.</summary>
    [JsonPropertyName("sheet")] public string Sheet { get; init; } = "Sheet1";
    [JsonPropertyName("columns")] public required IReadOnlyList<OutboundColumn> Columns { get; init; }

    public string Id => $"{Name}@{Version}";

    /// <summary>One file row for a member: each column's value from <paramref name="values"/> (keyed by <see cref="OutboundColumn.From"/>), formatted; a withheld column is empty.</summary>
    public string[] Row(IReadOnlyDictionary<string, string> values, Func<int, bool>? withheld = null)
    {
        var row = new string[Columns.Count];
        for (var i = 0; i < row.Length; i++)
        {
            var column = Columns[i];
            row[i] = column.From is null || (withheld?.Invoke(i) ?? false) || !values.TryGetValue(column.From, out var value) ? "" : column.Format(value);
        }

        return row;
    }
}

public sealed record OutboundColumn
{
    /// <summary>The header written in the file; its disclosure category is looked up by this name.</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }

    /// <summary>An assignment field (<c>MemberCin</c>), a joined fact (<c>authorization.start</c>), or null: always empty.</summary>
    [JsonPropertyName("from")] public string? From { get; init; }

    /// <summary><c>text</c> (default), <c>date</c> (ISO in, MM/DD/YYYY out) or <c>month</c> (yyyy-MM in, MM/YYYY out).</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = "text";

    public string Format(string value) => Type switch
    {
        "date" when DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) => date.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture),
        "month" when value.Length == 7 && value[4] == '-' => $"{value[5..]}/{value[..4]}",
        _ => value,
    };
}

/// <summary>The facts the hub joins to an assignment row, by the names outbound layouts use in <c>from</c>.</summary>
public static class OutboundFacts
{
    public const string AuthorizationNumber = "authorization.number";
    public const string AuthorizationStart = "authorization.start";
    public const string AuthorizationEnd = "authorization.end";
    public const string AuthorizationStatus = "authorization.status";
    public const string AuthorizationRequestedOn = "authorization.requestedOn";
    public const string AuthorizationDecidedOn = "authorization.decidedOn";
    public const string ReferringOrganization = "referral.referringOrganization";
    public const string ReferralRequestedOn = "referral.requestedOn";
    public const string ReferralDecidedOn = "referral.decidedOn";
    public const string Period = "file.period";
    public const string ProductionDate = "file.productionDate";

    public static IReadOnlyList<string> All { get; } =
    [
        AuthorizationNumber, AuthorizationStart, AuthorizationEnd, AuthorizationStatus, AuthorizationRequestedOn, AuthorizationDecidedOn,
        ReferringOrganization, ReferralRequestedOn, ReferralDecidedOn, Period, ProductionDate,
    ];
}

/// <summary>Every outbound layout, embedded in this assembly and checked once at load against the assignment schema.</summary>
public sealed class OutboundLayouts
{
    private static readonly Lazy<OutboundLayouts> Embedded = new(() => Load(typeof(OutboundLayouts).Assembly, FormatCatalog.Default));

    private OutboundLayouts(IReadOnlyList<OutboundLayout> layouts) => All = layouts;

    public static OutboundLayouts Default => Embedded.Value;

    public IReadOnlyList<OutboundLayout> All { get; }

    public OutboundLayout this[string name] => All.SingleOrDefault(l => l.Name == name)
        ?? throw new KeyNotFoundException($"No outbound layout '{name}'; known: {string.Join(", ", All.Select(l => l.Name))}.");

    private static OutboundLayouts Load(Assembly assembly, FormatCatalog catalog)
    {
        var fields = catalog.Schema(FileKind.Assignment).Columns.Select(c => c.Field).Concat(OutboundFacts.All).ToHashSet(StringComparer.Ordinal);
        var options = new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip };
        var layouts = new List<OutboundLayout>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("outbound/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            var layout = JsonSerializer.Deserialize<OutboundLayout>(stream, options) ?? throw new InvalidDataException($"{resource} is empty.");
            foreach (var column in layout.Columns)
            {
                if (column.From is { } from && !fields.Contains(from))
                {
                    throw new InvalidDataException($"layout {layout.Id}: column '{column.Name}' takes '{from}', which is neither an assignment field nor a joined fact.");
                }

                if (column.Type is not ("text" or "date" or "month"))
                {
                    throw new InvalidDataException($"layout {layout.Id}: column '{column.Name}' has unknown type '{column.Type}'.");
                }
            }

            if (layout.Columns.Select(c => c.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != layout.Columns.Count)
            {
                throw new InvalidDataException($"layout {layout.Id}: two columns share a header.");
            }

            layouts.Add(layout);
        }

        return new OutboundLayouts(layouts);
    }
}
