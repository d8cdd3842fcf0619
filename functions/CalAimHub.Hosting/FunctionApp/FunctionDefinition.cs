using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Hosting.FunctionApp;

/// <summary>One function folder: its name (the folder) and the bindings of its function.json.</summary>
public sealed record FunctionDefinition(string Name, IReadOnlyList<BindingDefinition> Bindings)
{
    public const string FileName = "function.json";

    public BindingDefinition Trigger => Bindings.Single(b => b.IsTrigger);

    public static FunctionDefinition Load(string functionDirectory)
    {
        var name = Path.GetFileName(functionDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(functionDirectory, FileName);
        FunctionJson? json;
        try
        {
            json = JsonSerializer.Deserialize<FunctionJson>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new FunctionAppDefinitionException($"{path}: not valid JSON ({e.Message}).");
        }

        var bindings = json?.Bindings ?? [];
        var definition = new FunctionDefinition(name, bindings);
        definition.Validate(path);
        return definition;
    }

    private void Validate(string path)
    {
        if (Bindings.Count(b => b.IsTrigger) != 1)
        {
            throw new FunctionAppDefinitionException($"{path}: a function needs exactly one trigger binding, found {Bindings.Count(b => b.IsTrigger)}.");
        }

        foreach (var binding in Bindings)
        {
            if (!BindingDefinition.KnownTypes.Contains(binding.Type))
            {
                throw new FunctionAppDefinitionException(
                    $"{path}: binding '{binding.Name}' has type '{binding.Type}', which the hub does not support (known: {string.Join(", ", BindingDefinition.KnownTypes)}).");
            }

            if (string.IsNullOrWhiteSpace(binding.Name))
            {
                throw new FunctionAppDefinitionException($"{path}: every binding needs a name.");
            }

            var missing = binding.Type switch
            {
                BindingDefinition.QueueTrigger when string.IsNullOrWhiteSpace(binding.QueueName) => "queueName",
                BindingDefinition.TimerTrigger when string.IsNullOrWhiteSpace(binding.Schedule) => "schedule",
                _ => null,
            };
            if (missing is not null)
            {
                throw new FunctionAppDefinitionException($"{path}: {binding.Type} binding '{binding.Name}' needs '{missing}'.");
            }
        }

        if (Trigger.Type == BindingDefinition.HttpTrigger && !Bindings.Any(b => b.Type == BindingDefinition.HttpOutput))
        {
            throw new FunctionAppDefinitionException($"{path}: an httpTrigger function needs an 'http' output binding for request forwarding.");
        }
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private sealed record FunctionJson([property: JsonPropertyName("bindings")] List<BindingDefinition>? Bindings);
}

/// <summary>A function.json binding. Only triggers (and the http output of HTTP functions) are declared: storage I/O goes through SDK clients.</summary>
public sealed record BindingDefinition
{
    public const string HttpTrigger = "httpTrigger";
    public const string HttpOutput = "http";
    public const string QueueTrigger = "queueTrigger";
    public const string TimerTrigger = "timerTrigger";

    public static IReadOnlySet<string> KnownTypes { get; } = new HashSet<string>(StringComparer.Ordinal) { HttpTrigger, HttpOutput, QueueTrigger, TimerTrigger };

    public string Type { get; init; } = "";
    public string Direction { get; init; } = "";
    public string Name { get; init; } = "";
    public string? QueueName { get; init; }
    public string? Connection { get; init; }
    public string? Schedule { get; init; }
    public bool RunOnStartup { get; init; }
    public string? Route { get; init; }
    public string? AuthLevel { get; init; }
    public IReadOnlyList<string>? Methods { get; init; }

    [JsonIgnore]
    public bool IsTrigger => Type.EndsWith("Trigger", StringComparison.Ordinal);
}
