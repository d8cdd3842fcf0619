using System.Text.Json.Nodes;

namespace CalAimHub.Infrastructure.Tests.Support;

public static class ModuleScope
{
    /// <summary>
    /// A scope for a module of main.bicep: literal values main passes are used as they are, expressions (which need
    /// Azure: uniqueString, reference) are replaced by the given stand-ins; anything else falls back to the module's defaults.
    /// </summary>
    public static ArmScope For(JsonObject main, string deploymentName, IReadOnlyDictionary<string, JsonNode?> standIns)
    {
        var values = new Dictionary<string, JsonNode?>();
        foreach (var (name, parameter) in ArmTemplate.Module(main, deploymentName)["properties"]!["parameters"]!.AsObject())
        {
            var value = parameter?["value"];
            if (standIns.TryGetValue(name, out var standIn))
            {
                values[name] = standIn?.DeepClone();
            }
            else if (value is JsonValue v && v.TryGetValue<string>(out var s) && !ArmExpression.IsExpression(s))
            {
                values[name] = JsonValue.Create(s);
            }
            else if (value is not null && !(value is JsonValue sv && sv.TryGetValue<string>(out _)))
            {
                values[name] = value.DeepClone();
            }
        }

        return new ArmScope(ArmTemplate.ModuleTemplate(main, deploymentName), values);
    }

    public static string RoleId(JsonObject roleAssignment, ArmScope scope) =>
        ArmTemplate.Evaluate(roleAssignment, scope, "properties.roleDefinitionId")!.GetValue<string>().Split('/')[^1];

    /// <summary>The resource a role assignment is scoped to, as 'type/name/...' after '/providers/'.</summary>
    public static string Target(JsonObject roleAssignment, ArmScope scope) =>
        ArmTemplate.Evaluate(roleAssignment, scope, "scope")!.GetValue<string>().Split("/providers/")[1];
}
