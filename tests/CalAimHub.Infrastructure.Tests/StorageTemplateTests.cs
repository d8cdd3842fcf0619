using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>The storage module in the compiled template: security properties and the containers/queues/tables of storage-layout.json.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class StorageTemplateTests(CompiledTemplate compiled)
{
    private const string StorageAccount = "Microsoft.Storage/storageAccounts";

    private JsonObject Storage => compiled.Module("storage");

    private ArmScope Scope => new(Storage, new Dictionary<string, JsonNode?>
    {
        ["name"] = "sttest",
        ["location"] = "westus3",
        ["tags"] = new JsonObject(),
        ["deploymentContainerName"] = "app-package-test",
        ["logAnalyticsWorkspaceId"] = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log",
    });

    [Fact]
    public void Account_disallows_shared_key_public_blobs_old_tls_and_http()
    {
        var (account, scope) = Assert.Single(ArmTemplate.Expand(Storage, Scope, StorageAccount));

        Assert.False(ArmTemplate.Evaluate(account, scope, "properties.allowSharedKeyAccess")!.GetValue<bool>());
        Assert.False(ArmTemplate.Evaluate(account, scope, "properties.allowBlobPublicAccess")!.GetValue<bool>());
        Assert.True(ArmTemplate.Evaluate(account, scope, "properties.supportsHttpsTrafficOnly")!.GetValue<bool>());
        Assert.Equal("TLS1_2", ArmTemplate.Evaluate(account, scope, "properties.minimumTlsVersion")!.GetValue<string>());
        Assert.True(ArmTemplate.Evaluate(account, scope, "properties.defaultToOAuthAuthentication")!.GetValue<bool>());
        Assert.Equal("StorageV2", ArmTemplate.Evaluate(account, scope, "kind")!.GetValue<string>());
    }

    [Fact]
    public void Blob_soft_delete_container_soft_delete_and_versioning_are_on()
    {
        var (blobService, scope) = Assert.Single(ArmTemplate.Expand(Storage, Scope, $"{StorageAccount}/blobServices"));

        Assert.True(ArmTemplate.Evaluate(blobService, scope, "properties.deleteRetentionPolicy.enabled")!.GetValue<bool>());
        Assert.InRange(ArmTemplate.Evaluate(blobService, scope, "properties.deleteRetentionPolicy.days")!.GetValue<int>(), 7, 365);
        Assert.True(ArmTemplate.Evaluate(blobService, scope, "properties.containerDeleteRetentionPolicy.enabled")!.GetValue<bool>());
        Assert.InRange(ArmTemplate.Evaluate(blobService, scope, "properties.containerDeleteRetentionPolicy.days")!.GetValue<int>(), 7, 365);
        Assert.True(ArmTemplate.Evaluate(blobService, scope, "properties.isVersioningEnabled")!.GetValue<bool>());
    }

    [Fact]
    public void Containers_equal_storage_layout_plus_the_deployment_package_container()
    {
        var layout = StorageLayout.Load();

        var containers = Names($"{StorageAccount}/blobServices/containers", "sttest/default/");

        Assert.Equal(layout.Containers.Append("app-package-test").Order(StringComparer.Ordinal), containers.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Queues_equal_storage_layout_plus_a_poison_queue_each()
    {
        var layout = StorageLayout.Load();

        var queues = Names($"{StorageAccount}/queueServices/queues", "sttest/default/");

        Assert.Equal(layout.Queues.Concat(layout.Queues.Select(q => $"{q}-poison")).Order(StringComparer.Ordinal), queues.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Tables_equal_storage_layout()
    {
        var layout = StorageLayout.Load();

        var tables = Names($"{StorageAccount}/tableServices/tables", "sttest/default/");

        Assert.Equal(layout.Tables.Order(StringComparer.Ordinal), tables.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Layout_is_loaded_from_the_functions_project_file_not_copied()
    {
        var source = File.ReadAllText(Path.Combine(Repository.Infra, "modules", "storage.bicep"));
        const string Load = "loadJsonContent('../../functions/CalAimHub.Functions/storage-layout.json')";

        Assert.Contains(Load, source, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(Repository.Infra, "modules", "../../functions/CalAimHub.Functions/storage-layout.json"))));
        Assert.DoesNotContain("'blob-created'", source, StringComparison.Ordinal);
        var inlined = Storage["variables"]!.AsObject().Single(v => v.Key.StartsWith("$fxv#", StringComparison.Ordinal)).Value;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Repository.StorageLayout)), inlined), inlined?.ToJsonString());
    }

    [Fact]
    public void Every_container_is_private()
    {
        var access = ArmTemplate.Expand(Storage, Scope, $"{StorageAccount}/blobServices/containers")
            .Select(c => ArmTemplate.Evaluate(c.Resource, c.Scope, "properties.publicAccess")!.GetValue<string>())
            .ToList();

        Assert.NotEmpty(access);
        Assert.All(access, a => Assert.Equal("None", a));
    }

    [Fact]
    public void Main_gives_storage_and_function_app_the_same_deployment_container()
    {
        var toStorage = ArmTemplate.ModuleParameter(compiled.Template, "storage", "deploymentContainerName")!.GetValue<string>();
        var toFunctionApp = ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "deploymentContainerName")!.GetValue<string>();

        Assert.Equal("[variables('deploymentContainerName')]", toStorage);
        Assert.Equal(toStorage, toFunctionApp);
    }

    [Fact]
    public void Blob_queue_and_table_logs_go_to_log_analytics()
    {
        var scopes = ArmTemplate.Expand(Storage, Scope, "Microsoft.Insights/diagnosticSettings")
            .Select(d => ArmTemplate.Evaluate(d.Resource, d.Scope, "scope")!.GetValue<string>().Split("/providers/")[1])
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            ["Microsoft.Storage/storageAccounts/sttest/blobServices/default", "Microsoft.Storage/storageAccounts/sttest/queueServices/default", "Microsoft.Storage/storageAccounts/sttest/tableServices/default"],
            scopes);
    }

    private List<string> Names(string type, string prefix) =>
        ArmTemplate.Expand(Storage, Scope, type)
            .Select(r => ArmTemplate.Evaluate(r.Resource, r.Scope, "name")!.GetValue<string>())
            .Select(n => n.StartsWith(prefix, StringComparison.Ordinal) ? n[prefix.Length..] : throw new InvalidOperationException($"unexpected name {n}"))
            .ToList();
}
