using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>The small ARM expression evaluator the template tests rely on.</summary>
public sealed class ArmExpressionTests
{
    private static readonly JsonObject Template = (JsonObject)JsonNode.Parse("""
        {
          "parameters": {
            "name": { "type": "string" },
            "items": { "type": "array", "defaultValue": [ "a", "b" ] }
          },
          "variables": {
            "suffixed": "[map(parameters('items'), lambda('x', 'i', format('{0}-{1}', lambdaVariables('x'), lambdaVariables('i'))))]",
            "all": "[concat(parameters('items'), variables('suffixed'))]"
          }
        }
        """)!;

    [Fact]
    public void Evaluates_format_concat_base64_map_and_parameter_defaults()
    {
        var scope = new ArmScope(Template, new Dictionary<string, JsonNode?> { ["name"] = "st1" });

        Assert.Equal("""["a","b","a-0","b-1"]""", ArmExpression.EvaluateString("[variables('all')]", scope)!.ToJsonString());
        Assert.Equal("st1/default/q{0}", ArmExpression.EvaluateString("[format('{0}/{1}/q{{0}}', parameters('name'), 'default')]", scope)!.GetValue<string>());
        Assert.Equal("it's", ArmExpression.EvaluateString("[concat('it''', 's')]", scope)!.GetValue<string>());
        Assert.Equal("w6l0w6k=", ArmExpression.EvaluateString("[base64('été')]", scope)!.GetValue<string>());
    }

    [Fact]
    public void Resolves_resource_ids_with_their_type_segments()
    {
        var scope = new ArmScope(Template);

        Assert.Equal(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-test/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default/containers/inbound",
            ArmExpression.EvaluateString("[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', 'st1', 'default', 'inbound')]", scope)!.GetValue<string>());
    }

    [Fact]
    public void Leaves_literals_and_unescapes_double_brackets()
    {
        var scope = new ArmScope(Template);

        Assert.Equal("plain", ArmExpression.EvaluateString("plain", scope)!.GetValue<string>());
        Assert.Equal("[not an expression]", ArmExpression.EvaluateString("[[not an expression]", scope)!.GetValue<string>());
    }

    [Fact]
    public void Rejects_functions_that_need_azure()
    {
        var error = Assert.Throws<NotSupportedException>(() => ArmExpression.EvaluateString("[reference('storage').outputs.name.value]", new ArmScope(Template)));

        Assert.Equal("unsupported ARM function 'reference'", error.Message);
    }

    [Fact]
    public void Rejects_an_undeclared_parameter()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => ArmExpression.EvaluateString("[parameters('missing')]", new ArmScope(Template)));

        Assert.Equal("parameter 'missing' is not declared", error.Message);
    }

    [Fact]
    public void Rejects_a_parameter_without_value_or_default()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ArmExpression.EvaluateString("[parameters('name')]", new ArmScope(Template)));

        Assert.Equal("parameter 'name' has no value and no default", error.Message);
    }

    [Fact]
    public void Rejects_copyIndex_outside_a_copy_loop()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ArmExpression.EvaluateString("[copyIndex()]", new ArmScope(Template)));

        Assert.Equal("copyIndex() outside a copy loop", error.Message);
    }
}
