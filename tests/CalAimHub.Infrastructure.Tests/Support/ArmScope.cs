using System.Text.Json.Nodes;

namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>What an expression sees: the template's parameters (given values or defaults), its variables, the copy index and lambda variables.</summary>
public sealed class ArmScope
{
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000000";
    public const string ResourceGroup = "rg-test";

    private readonly JsonObject template;
    private readonly IReadOnlyDictionary<string, JsonNode?> parameterValues;
    private readonly IReadOnlyDictionary<string, JsonNode?> lambdaVariables;
    private readonly int? copyIndex;

    public ArmScope(JsonObject template, IReadOnlyDictionary<string, JsonNode?>? parameterValues = null)
        : this(template, parameterValues ?? new Dictionary<string, JsonNode?>(), new Dictionary<string, JsonNode?>(), null)
    {
    }

    private ArmScope(JsonObject template, IReadOnlyDictionary<string, JsonNode?> parameterValues, IReadOnlyDictionary<string, JsonNode?> lambdaVariables, int? copyIndex)
    {
        this.template = template;
        this.parameterValues = parameterValues;
        this.lambdaVariables = lambdaVariables;
        this.copyIndex = copyIndex;
    }

    public int CopyIndex => copyIndex ?? throw new InvalidOperationException("copyIndex() outside a copy loop");

    public ArmScope WithCopyIndex(int index) => new(template, parameterValues, lambdaVariables, index);

    public ArmScope WithLambdaVariables(IReadOnlyDictionary<string, JsonNode?> bound)
    {
        var merged = new Dictionary<string, JsonNode?>(lambdaVariables);
        foreach (var (name, value) in bound)
        {
            merged[name] = value;
        }

        return new(template, parameterValues, merged, copyIndex);
    }

    public JsonNode? LambdaVariable(string name) => lambdaVariables.TryGetValue(name, out var value)
        ? value?.DeepClone()
        : throw new InvalidOperationException($"lambda variable '{name}' is not bound");

    public JsonNode? Parameter(string name)
    {
        if (parameterValues.TryGetValue(name, out var given))
        {
            return given?.DeepClone();
        }

        if (template["parameters"]?[name] is not JsonObject declaration)
        {
            throw new KeyNotFoundException($"parameter '{name}' is not declared");
        }

        return declaration.TryGetPropertyValue("defaultValue", out var defaultValue)
            ? ArmExpression.EvaluateDeep(defaultValue, this)
            : throw new InvalidOperationException($"parameter '{name}' has no value and no default");
    }

    public JsonNode? Variable(string name) => template["variables"] is JsonObject variables && variables.TryGetPropertyValue(name, out var value)
        ? ArmExpression.EvaluateDeep(value, this)
        : throw new KeyNotFoundException($"variable '{name}' is not declared");
}
