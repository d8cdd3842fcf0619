using System.Reflection;
using System.Text.Json;

namespace CalAimHub.Ingestion.Formats;

/// <summary>
/// Every file schema and code set, loaded from the data files embedded in this assembly (<c>Schemas/*.schema.json</c>,
/// <c>CodeSets/*.codes.json</c>) and checked once at load: a schema that names an unknown type, code set or column fails here,
/// not on a partner's file.
/// </summary>
public sealed class FormatCatalog
{
    public const string ServiceCodeTableName = "dhcs-ecm-cs-hcpcs";

    private static readonly Lazy<FormatCatalog> Embedded = new(() => Load(typeof(FormatCatalog).Assembly));

    private FormatCatalog(IReadOnlyList<FileSchema> schemas, IReadOnlyDictionary<string, CodeSet> codeSets, ServiceCodeTable serviceCodes)
    {
        Schemas = schemas;
        CodeSets = codeSets;
        ServiceCodes = serviceCodes;
    }

    public static FormatCatalog Default => Embedded.Value;

    public IReadOnlyList<FileSchema> Schemas { get; }
    public IReadOnlyDictionary<string, CodeSet> CodeSets { get; }
    public ServiceCodeTable ServiceCodes { get; }

    public IReadOnlyList<FileSchema> ForKind(string kind) => Schemas.Where(s => s.Kind == kind).ToArray();

    public FileSchema Schema(string name) => Schemas.SingleOrDefault(s => s.Name == name)
        ?? throw new KeyNotFoundException($"No schema '{name}'; known: {string.Join(", ", Schemas.Select(s => s.Name))}.");

    private static FormatCatalog Load(Assembly assembly)
    {
        var options = new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip };
        T Read<T>(string resource)
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            return JsonSerializer.Deserialize<T>(stream, options) ?? throw new InvalidDataException($"{resource} is empty.");
        }

        var names = assembly.GetManifestResourceNames();
        var schemas = names.Where(n => n.StartsWith("schemas/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(Read<FileSchema>).ToArray();
        var codeSets = names.Where(n => n.StartsWith("codesets/", StringComparison.Ordinal) && !n.Contains(ServiceCodeTableName, StringComparison.Ordinal))
            .Select(Read<CodeSet>).ToDictionary(c => c.Name, StringComparer.Ordinal);
        var serviceCodes = Read<ServiceCodeTable>($"codesets/{ServiceCodeTableName}.codes.json");
        foreach (var schema in schemas)
        {
            Check(schema, codeSets);
        }

        return new FormatCatalog(schemas, codeSets, serviceCodes);
    }

    private static void Check(FileSchema schema, IReadOnlyDictionary<string, CodeSet> codeSets)
    {
        var columns = schema.Columns.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        void Known(string? column, string where)
        {
            if (column is not null && !columns.Contains(column))
            {
                throw new InvalidDataException($"schema {schema.Id}: {where} names column '{column}', which the schema does not have.");
            }
        }

        foreach (var column in schema.Columns)
        {
            if (!ColumnType.All.Contains(column.Type))
            {
                throw new InvalidDataException($"schema {schema.Id}: column '{column.Name}' has unknown type '{column.Type}'.");
            }

            if (column.Type == ColumnType.Code && (column.Codes is null || !codeSets.ContainsKey(column.Codes)))
            {
                throw new InvalidDataException($"schema {schema.Id}: column '{column.Name}' names code set '{column.Codes}', which does not exist.");
            }

            Known(column.RequiredWhen?.Column, $"column '{column.Name}' requiredWhen");
            Known(column.RequiredUnless, $"column '{column.Name}' requiredUnless");
        }

        foreach (var key in schema.Key)
        {
            Known(key, "key");
        }

        foreach (var rule in schema.Rules)
        {
            Known(rule.Start, rule.Rule);
            Known(rule.End, rule.Rule);
            Known(rule.Code, rule.Rule);
            foreach (var modifier in rule.Modifiers)
            {
                Known(modifier, rule.Rule);
            }
        }

        foreach (var e in schema.Events)
        {
            Known(e.When?.Column, $"event {e.Type}");
            foreach (var data in e.Data)
            {
                Known(data, $"event {e.Type}");
            }
        }

        if (schema.Columns.Select(c => c.Field).Distinct(StringComparer.Ordinal).Count() != schema.Columns.Count)
        {
            throw new InvalidDataException($"schema {schema.Id}: two columns share a storage field.");
        }
    }
}
