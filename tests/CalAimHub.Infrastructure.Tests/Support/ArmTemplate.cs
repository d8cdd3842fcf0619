using System.Text.Json.Nodes;

namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>Navigation over a compiled ARM template: resources (array or symbolic-name object), nested module deployments, copy loops.</summary>
public static class ArmTemplate
{
    public static IEnumerable<JsonObject> Resources(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.Cast<JsonObject>(),
        JsonObject symbolic => symbolic.Select(p => (JsonObject)p.Value!),
        _ => [],
    };

    public static IEnumerable<JsonObject> ResourcesOfType(JsonObject template, string type) =>
        Resources(template).Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    /// <summary>The Microsoft.Resources/deployments resource a Bicep module compiles to, by its deployment name.</summary>
    public static JsonObject Module(JsonObject template, string deploymentName) =>
        ResourcesOfType(template, "Microsoft.Resources/deployments").SingleOrDefault(d => (string?)d["name"] == deploymentName)
        ?? throw new KeyNotFoundException($"module deployment '{deploymentName}' not found");

    public static JsonObject ModuleTemplate(JsonObject template, string deploymentName) =>
        (JsonObject)Module(template, deploymentName)["properties"]!["template"]!;

    /// <summary>The raw value expression the parent passes for a module parameter.</summary>
    public static JsonNode? ModuleParameter(JsonObject template, string deploymentName, string parameter) =>
        Module(template, deploymentName)["properties"]!["parameters"]![parameter]?["value"]
        ?? throw new KeyNotFoundException($"module '{deploymentName}' gets no parameter '{parameter}'");

    /// <summary>Resources of a type with copy loops expanded and false conditions dropped, each with the scope to evaluate it in.</summary>
    public static IEnumerable<(JsonObject Resource, ArmScope Scope)> Expand(JsonObject template, ArmScope scope, string type)
    {
        foreach (var resource in ResourcesOfType(template, type))
        {
            var scopes = resource["copy"] is JsonObject copy
                ? Enumerable.Range(0, ArmExpression.EvaluateDeep(copy["count"], scope)!.GetValue<int>()).Select(scope.WithCopyIndex)
                : [scope];
            foreach (var itemScope in scopes)
            {
                if (resource["condition"] is { } condition && !ArmExpression.EvaluateDeep(condition, itemScope)!.GetValue<bool>())
                {
                    continue;
                }

                yield return (resource, itemScope);
            }
        }
    }

    /// <summary>Evaluated value of a property path of a resource, e.g. "properties.allowSharedKeyAccess".</summary>
    public static JsonNode? Evaluate(JsonObject resource, ArmScope scope, string path)
    {
        JsonNode? node = resource;
        foreach (var segment in path.Split('.'))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(segment, out var next)
                ? next
                : throw new KeyNotFoundException($"'{path}' not found in {resource["type"]}");
        }

        return ArmExpression.EvaluateDeep(node, scope);
    }

    /// <summary>Every template in the tree with its deployment path and whether it deploys into a resource group.</summary>
    public static IEnumerable<(JsonObject Template, string Path, bool ResourceGroupScope)> All(JsonObject root, bool rootIsResourceGroupScope)
    {
        var pending = new Stack<(JsonObject, string, bool)>();
        pending.Push((root, "main", rootIsResourceGroupScope));
        while (pending.Count > 0)
        {
            var (template, path, resourceGroupScope) = pending.Pop();
            yield return (template, path, resourceGroupScope);
            foreach (var deployment in ResourcesOfType(template, "Microsoft.Resources/deployments"))
            {
                var nested = (JsonObject)deployment["properties"]!["template"]!;
                var intoResourceGroup = resourceGroupScope || deployment["resourceGroup"] is not null;
                pending.Push((nested, $"{path}/{deployment["name"]}", intoResourceGroup));
            }
        }
    }
}
