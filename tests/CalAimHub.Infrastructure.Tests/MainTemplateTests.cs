using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>Key Vault, monitoring, outputs for azd and main.parameters.json.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class MainTemplateTests(CompiledTemplate compiled)
{
    [Fact]
    public void Key_vault_uses_rbac_soft_delete_and_purge_protection()
    {
        var scope = ModuleScope.For(compiled.Template, "keyvault", new Dictionary<string, JsonNode?> { ["name"] = "kvtest", ["location"] = "westus3", ["tags"] = new JsonObject(), ["logAnalyticsWorkspaceId"] = "log", ["listContinuationKey"] = "a2V5", ["monitoringMemberKey"] = new string('k', 32) });
        var (vault, vaultScope) = Assert.Single(ArmTemplate.Expand(compiled.Module("keyvault"), scope, "Microsoft.KeyVault/vaults"));

        Assert.True(ArmTemplate.Evaluate(vault, vaultScope, "properties.enableRbacAuthorization")!.GetValue<bool>());
        Assert.True(ArmTemplate.Evaluate(vault, vaultScope, "properties.enableSoftDelete")!.GetValue<bool>());
        Assert.True(ArmTemplate.Evaluate(vault, vaultScope, "properties.enablePurgeProtection")!.GetValue<bool>());
        Assert.Null(vault["properties"]!["accessPolicies"]);
    }

    [Fact]
    public void Application_insights_refuses_local_auth_and_is_workspace_based()
    {
        var scope = ModuleScope.For(compiled.Template, "monitoring", new Dictionary<string, JsonNode?> { ["logAnalyticsName"] = "log", ["applicationInsightsName"] = "appi", ["location"] = "westus3", ["tags"] = new JsonObject() });
        var (insights, insightsScope) = Assert.Single(ArmTemplate.Expand(compiled.Module("monitoring"), scope, "Microsoft.Insights/components"));
        var (workspace, workspaceScope) = Assert.Single(ArmTemplate.Expand(compiled.Module("monitoring"), scope, "Microsoft.OperationalInsights/workspaces"));

        Assert.True(ArmTemplate.Evaluate(insights, insightsScope, "properties.DisableLocalAuth")!.GetValue<bool>());
        Assert.Equal("[resourceId('Microsoft.OperationalInsights/workspaces', parameters('logAnalyticsName'))]", (string?)insights["properties"]!["WorkspaceResourceId"]);
        Assert.True(ArmTemplate.Evaluate(workspace, workspaceScope, "properties.features.disableLocalAuth")!.GetValue<bool>());
    }

    [Fact]
    public void Outputs_include_what_azd_and_operators_need()
    {
        var outputs = compiled.Template["outputs"]!.AsObject().Select(o => o.Key).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "AZURE_FUNCTION_APP_URL",
                "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_BLOB_ENDPOINT", "AZURE_STORAGE_QUEUE_ENDPOINT", "AZURE_STORAGE_TABLE_ENDPOINT",
                "AZURE_KEY_VAULT_NAME", "AZURE_KEY_VAULT_URI", "AZURE_EVENTGRID_SYSTEM_TOPIC_NAME",
            },
            outputs);
        Assert.DoesNotContain(outputs, o => o.Contains("KEY", StringComparison.Ordinal) && !o.StartsWith("AZURE_KEY_VAULT", StringComparison.Ordinal));
    }

    [Fact]
    public void Parameters_file_maps_azd_environment_variables_onto_declared_parameters()
    {
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.Infra, "main.parameters.json")))!["parameters"]!.AsObject();
        var declared = compiled.Template["parameters"]!.AsObject();

        Assert.All(file, p => Assert.True(declared.ContainsKey(p.Key), $"main.parameters.json sets undeclared parameter '{p.Key}'"));
        // A required parameter azd generates (metadata azd.type 'generate') is kept in the environment's config instead.
        Assert.All(
            declared.Where(p => p.Value!["defaultValue"] is null && p.Value["metadata"]?["azd"]?["type"]?.GetValue<string>() != "generate"),
            p => Assert.True(file.ContainsKey(p.Key), $"required parameter '{p.Key}' is not in main.parameters.json"));
        Assert.Equal(["monitoringMemberKey"], declared.Where(p => p.Value!["defaultValue"] is null && !file.ContainsKey(p.Key)).Select(p => p.Key));
        Assert.Equal("${AZURE_ENV_NAME}", file["environmentName"]!["value"]!.GetValue<string>());
        Assert.Equal("${AZURE_LOCATION}", file["location"]!["value"]!.GetValue<string>());
        Assert.Equal("${AZURE_PRINCIPAL_ID}", file["principalId"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public void Main_deploys_at_subscription_scope_into_one_resource_group()
    {
        var groups = ArmTemplate.ResourcesOfType(compiled.Template, "Microsoft.Resources/resourceGroups").ToList();
        var types = ArmTemplate.Resources(compiled.Template).Select(r => (string)r["type"]!).Distinct().Order(StringComparer.Ordinal);

        Assert.Single(groups);
        Assert.Equal(["Microsoft.Resources/deployments", "Microsoft.Resources/resourceGroups"], types);
    }
}
