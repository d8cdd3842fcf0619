using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>Least privilege: each role assignment is scoped to one resource; nothing at subscription or resource group scope.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed partial class RoleAssignmentTests(CompiledTemplate compiled)
{
    private const string RoleAssignment = "Microsoft.Authorization/roleAssignments";
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string StorageQueueDataMessageSender = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    private static readonly Dictionary<string, JsonNode?> RbacStandIns = new()
    {
        ["storageAccountName"] = "sttest",
        ["keyVaultName"] = "kvtest",
        ["applicationInsightsName"] = "appitest",
        ["appIdentityName"] = "idtest",
        ["deployerPrincipalId"] = string.Empty,
        ["deployerPrincipalType"] = "User",
    };

    [Fact]
    public void No_role_assignment_is_made_at_subscription_scope()
    {
        var templates = ArmTemplate.All(compiled.Template, rootIsResourceGroupScope: false).ToList();

        var atSubscription = templates.Where(t => !t.ResourceGroupScope).SelectMany(t => ArmTemplate.ResourcesOfType(t.Template, RoleAssignment)).ToList();
        var everywhere = templates.SelectMany(t => ArmTemplate.ResourcesOfType(t.Template, RoleAssignment)).ToList();

        Assert.Empty(atSubscription);
        Assert.NotEmpty(everywhere);
        Assert.All(ArmTemplate.ResourcesOfType(compiled.Template, "Microsoft.Resources/deployments"), d => Assert.NotNull(d["resourceGroup"]));
    }

    [Fact]
    public void Every_role_assignment_is_scoped_to_a_single_resource()
    {
        string[] allowed =
        [
            "Microsoft.Storage/storageAccounts",
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            "Microsoft.KeyVault/vaults",
            "Microsoft.Insights/components",
        ];
        var assignments = ArmTemplate.All(compiled.Template, rootIsResourceGroupScope: false)
            .SelectMany(t => ArmTemplate.ResourcesOfType(t.Template, RoleAssignment).Select(r => (t.Path, Scope: (string?)r["scope"])))
            .ToList();

        // 7 + the SFTP exchange account's: its Event Grid topic's queue sender and dead-letter writer, and the app's reader (per
        // in- container) and contributor (per out- container) loops.
        Assert.Equal(11, assignments.Count);
        Assert.All(assignments, a =>
        {
            Assert.NotNull(a.Scope);
            var match = ResourceIdScope().Match(a.Scope);
            Assert.True(match.Success, $"{a.Path}: scope {a.Scope} is not a resourceId(...)");
            Assert.Contains(match.Groups["type"].Value, allowed);
        });
    }

    [Fact]
    public void App_identity_gets_exactly_the_three_storage_data_roles_on_the_storage_account()
    {
        var scope = ModuleScope.For(compiled.Template, "rbac", RbacStandIns);
        var onStorage = ArmTemplate.Expand(compiled.Module("rbac"), scope, RoleAssignment)
            .Where(r => ModuleScope.Target(r.Resource, r.Scope).StartsWith("Microsoft.Storage/", StringComparison.Ordinal))
            .ToList();

        Assert.All(onStorage, r => Assert.Equal("Microsoft.Storage/storageAccounts/sttest", ModuleScope.Target(r.Resource, r.Scope)));
        Assert.All(onStorage, r => Assert.Contains("parameters('appIdentityName')", (string?)r.Resource["properties"]!["principalId"], StringComparison.Ordinal));
        Assert.Equal(
            new[] { StorageBlobDataOwner, StorageQueueDataContributor, StorageTableDataContributor }.Order(StringComparer.Ordinal),
            onStorage.Select(r => ModuleScope.RoleId(r.Resource, r.Scope)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void App_identity_reads_key_vault_secrets_and_publishes_metrics_on_those_resources_only()
    {
        var scope = ModuleScope.For(compiled.Template, "rbac", RbacStandIns);
        var grants = ArmTemplate.Expand(compiled.Module("rbac"), scope, RoleAssignment)
            .Select(r => $"{ModuleScope.Target(r.Resource, r.Scope)} {ModuleScope.RoleId(r.Resource, r.Scope)}")
            .Where(g => !g.StartsWith("Microsoft.Storage/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal([$"Microsoft.Insights/components/appitest {MonitoringMetricsPublisher}", $"Microsoft.KeyVault/vaults/kvtest {KeyVaultSecretsUser}"], grants);
    }

    [Fact]
    public void Deploying_user_gets_key_vault_secrets_officer_only_when_a_principal_is_given()
    {
        var standIns = new Dictionary<string, JsonNode?>(RbacStandIns) { ["deployerPrincipalId"] = "11111111-1111-1111-1111-111111111111" };
        var scope = ModuleScope.For(compiled.Template, "rbac", standIns);

        var deployer = ArmTemplate.Expand(compiled.Module("rbac"), scope, RoleAssignment)
            .Where(r => ArmTemplate.Evaluate(r.Resource, r.Scope, "properties.principalType")!.GetValue<string>() == "User")
            .Select(r => $"{ModuleScope.Target(r.Resource, r.Scope)} {ModuleScope.RoleId(r.Resource, r.Scope)}")
            .ToList();

        Assert.Equal([$"Microsoft.KeyVault/vaults/kvtest {KeyVaultSecretsOfficer}"], deployer);
        Assert.Equal(6, ArmTemplate.Expand(compiled.Module("rbac"), scope, RoleAssignment).Count());
        Assert.Equal(5, ArmTemplate.Expand(compiled.Module("rbac"), ModuleScope.For(compiled.Template, "rbac", RbacStandIns), RoleAssignment).Count());
    }

    [Fact]
    public void Event_grid_topic_may_send_queue_messages_and_write_only_the_dead_letter_container()
    {
        var scope = ModuleScope.For(compiled.Template, "eventgrid", new Dictionary<string, JsonNode?> { ["storageAccountName"] = "sttest", ["systemTopicName"] = "evgt", ["location"] = "westus3", ["tags"] = new JsonObject() });

        var grants = ArmTemplate.Expand(compiled.Module("eventgrid"), scope, RoleAssignment)
            .Select(r => $"{ModuleScope.Target(r.Resource, r.Scope)} {ModuleScope.RoleId(r.Resource, r.Scope)}")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            [
                $"Microsoft.Storage/storageAccounts/sttest {StorageQueueDataMessageSender}",
                $"Microsoft.Storage/storageAccounts/sttest/blobServices/default/containers/eventgrid-deadletter {StorageBlobDataContributor}",
            ],
            grants);
    }

    [Fact]
    public void Each_partner_may_touch_only_its_own_prefix_of_the_inbound_container()
    {
        var scope = ModuleScope.For(compiled.Template, "partners", new Dictionary<string, JsonNode?>
        {
            ["partnerIds"] = new JsonArray("acme", "beta"),
            ["storageAccountName"] = "sttest",
            ["resourceToken"] = "tok",
            ["location"] = "westus3",
            ["tags"] = new JsonObject(),
        });

        var roles = ArmTemplate.Expand(compiled.Module("partners"), scope, RoleAssignment).ToList();

        Assert.Equal(2, roles.Count);
        foreach (var ((role, roleScope), partner) in roles.Zip(new[] { "acme", "beta" }))
        {
            Assert.Equal("Microsoft.Storage/storageAccounts/sttest/blobServices/default/containers/inbound", ModuleScope.Target(role, roleScope));
            Assert.Equal(StorageBlobDataContributor, ModuleScope.RoleId(role, roleScope));
            Assert.Equal("2.0", ArmTemplate.Evaluate(role, roleScope, "properties.conditionVersion")!.GetValue<string>());
            var condition = ArmTemplate.Evaluate(role, roleScope, "properties.condition")!.GetValue<string>();
            Assert.Contains($"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith '{partner}/'", condition, StringComparison.Ordinal);
            Assert.Contains($"@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] StringStartsWith '{partner}/'", condition, StringComparison.Ordinal);
            foreach (var action in new[] { "blobs/read'} AND NOT SubOperationMatches{'Blob.List'}", "blobs/write'}", "blobs/add/action'}", "blobs/delete'}" })
            {
                Assert.Contains($"!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/{action})", condition, StringComparison.Ordinal);
            }
        }

        var identities = ArmTemplate.Expand(compiled.Module("partners"), scope, "Microsoft.ManagedIdentity/userAssignedIdentities")
            .Select(i => ArmTemplate.Evaluate(i.Resource, i.Scope, "name")!.GetValue<string>())
            .ToList();
        Assert.Equal(["id-partner-acme-tok", "id-partner-beta-tok"], identities);
    }

    [Fact]
    public void No_partner_access_is_created_by_default()
    {
        var scope = ModuleScope.For(compiled.Template, "partners", new Dictionary<string, JsonNode?>
        {
            ["partnerIds"] = ArmTemplate.Evaluate(compiled.Template, new ArmScope(compiled.Template), "parameters.partnerIds.defaultValue"),
            ["storageAccountName"] = "sttest",
            ["resourceToken"] = "tok",
        });

        Assert.Empty(ArmTemplate.Expand(compiled.Module("partners"), scope, RoleAssignment));
        Assert.Equal("[parameters('partnerIds')]", ArmTemplate.ModuleParameter(compiled.Template, "partners", "partnerIds")!.GetValue<string>());
    }

    [GeneratedRegex(@"^\[resourceId\('(?<type>[^']+)'", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceIdScope();
}
