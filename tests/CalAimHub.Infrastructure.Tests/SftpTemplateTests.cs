using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>Issue 14: SFTP local users on a separate exchange account (optional), their keys and scopes, its events on the hub's queue.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class SftpTemplateTests(CompiledTemplate compiled)
{
    private ArmScope Scope => ModuleScope.For(compiled.Template, "sftp", new Dictionary<string, JsonNode?>
    {
        ["name"] = "stxtest",
        ["location"] = "westus3",
        ["tags"] = new JsonObject(),
        ["mainStorageAccountName"] = "sttest",
        ["appIdentityName"] = "idtest",
        ["softDeleteRetentionDays"] = 30,
        ["partners"] = new JsonArray(
            new JsonObject { ["id"] = "acme", ["publicKeys"] = new JsonArray(Key("acme")) },
            new JsonObject { ["id"] = "beta", ["publicKeys"] = new JsonArray(Key("beta1"), Key("beta2")) }),
    });

    private static JsonObject Key(string name) => new() { ["description"] = name, ["key"] = "ssh-ed25519 AAAAC3" + name };

    [Fact]
    public void Sftp_is_off_unless_the_parameter_turns_it_on()
    {
        var parameters = compiled.Template["parameters"]!;

        Assert.False(parameters["enableSftp"]!["defaultValue"]!.GetValue<bool>());
        Assert.Equal("[parameters('enableSftp')]", ArmTemplate.Module(compiled.Template, "sftp")["condition"]!.GetValue<string>());
    }

    [Fact]
    public void The_exchange_account_has_a_hierarchical_namespace_and_sftp_and_no_versioning_or_change_feed()
    {
        var (account, scope) = Assert.Single(ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.Storage/storageAccounts"), r => r.Resource["existing"] is null);
        var (blobs, blobScope) = Assert.Single(ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.Storage/storageAccounts/blobServices"), r => r.Resource["existing"] is null);

        Assert.Equal((true, true, true, false), (
            ArmTemplate.Evaluate(account, scope, "properties.isHnsEnabled")!.GetValue<bool>(),
            ArmTemplate.Evaluate(account, scope, "properties.isSftpEnabled")!.GetValue<bool>(),
            ArmTemplate.Evaluate(account, scope, "properties.isLocalUserEnabled")!.GetValue<bool>(),
            ArmTemplate.Evaluate(account, scope, "properties.allowSharedKeyAccess")!.GetValue<bool>()));
        Assert.Null(blobs["properties"]!["isVersioningEnabled"]);
        Assert.Null(blobs["properties"]!["changeFeed"]);
        Assert.True(ArmTemplate.Evaluate(blobs, blobScope, "properties.deleteRetentionPolicy.enabled")!.GetValue<bool>());
    }

    [Fact]
    public void Each_partner_has_its_own_in_and_out_container_and_no_container_is_shared()
    {
        var containers = ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.Storage/storageAccounts/blobServices/containers")
            .Where(c => c.Resource["existing"] is null) // the main account's dead-letter container, referenced, not created
            .Select(c => ArmTemplate.Evaluate(c.Resource, c.Scope, "name")!.GetValue<string>())
            .Order(StringComparer.Ordinal);

        // The rule of ExchangeContainers: in-<id> and out-<id>; nothing two partners could both reach.
        Assert.Equal(["stxtest/default/in-acme", "stxtest/default/in-beta", "stxtest/default/out-acme", "stxtest/default/out-beta"], containers);
    }

    [Fact]
    public void One_local_user_per_partner_with_ssh_keys_only_scoped_to_its_own_two_containers()
    {
        var users = ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.Storage/storageAccounts/localUsers").ToList();

        Assert.Equal(2, users.Count);
        foreach (var ((user, scope), partner, keys) in users.Zip(["acme", "beta"], [1, 2]))
        {
            Assert.Equal($"stxtest/{partner}", ArmTemplate.Evaluate(user, scope, "name")!.GetValue<string>());
            Assert.Equal((false, true, false), (
                ArmTemplate.Evaluate(user, scope, "properties.hasSshPassword")!.GetValue<bool>(),
                ArmTemplate.Evaluate(user, scope, "properties.hasSshKey")!.GetValue<bool>(),
                ArmTemplate.Evaluate(user, scope, "properties.hasSharedKey")!.GetValue<bool>()));
            Assert.Equal($"in-{partner}", ArmTemplate.Evaluate(user, scope, "properties.homeDirectory")!.GetValue<string>());
            Assert.Equal(
                $$$"""[{"service":"blob","resourceName":"in-{{{partner}}}","permissions":"cwl"},{"service":"blob","resourceName":"out-{{{partner}}}","permissions":"rl"}]""",
                ArmTemplate.Evaluate(user, scope, "properties.permissionScopes")!.ToJsonString());
            Assert.Equal(keys, ArmTemplate.Evaluate(user, scope, "properties.sshAuthorizedKeys")!.AsArray().Count);
        }
    }

    [Fact]
    public void No_partner_user_can_reach_another_partners_container()
    {
        var users = ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.Storage/storageAccounts/localUsers").ToList();

        var reach = users.SelectMany(u => ArmTemplate.Evaluate(u.Resource, u.Scope, "properties.permissionScopes")!.AsArray()
                .Select(p => (User: ArmTemplate.Evaluate(u.Resource, u.Scope, "name")!.GetValue<string>().Split('/')[1], Container: p!["resourceName"]!.GetValue<string>())))
            .ToList();

        Assert.All(reach, r => Assert.EndsWith("-" + r.User, r.Container, StringComparison.Ordinal));
        Assert.Equal(reach.Count, reach.Select(r => r.Container).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void The_app_identity_reads_each_in_container_and_writes_each_out_container_and_nothing_else()
    {
        var grants = ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.Authorization/roleAssignments")
            .Where(r => ((string?)r.Resource["properties"]!["principalId"])!.Contains("reference('appIdentity')", StringComparison.Ordinal))
            .Select(r => $"{ModuleScope.Target(r.Resource, r.Scope)} {ModuleScope.RoleId(r.Resource, r.Scope)}")
            .Order(StringComparer.Ordinal);

        const string reader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", contributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
        Assert.Equal(
        [
            $"Microsoft.Storage/storageAccounts/stxtest/blobServices/default/containers/in-acme {reader}",
            $"Microsoft.Storage/storageAccounts/stxtest/blobServices/default/containers/in-beta {reader}",
            $"Microsoft.Storage/storageAccounts/stxtest/blobServices/default/containers/out-acme {contributor}",
            $"Microsoft.Storage/storageAccounts/stxtest/blobServices/default/containers/out-beta {contributor}",
        ], grants);
    }

    [Fact]
    public void The_app_gets_the_exchange_blob_endpoint_only_with_sftp()
    {
        Assert.Equal("[variables('exchangeBlobEndpoint')]", ArmTemplate.ModuleParameter(compiled.Template, "functionapp", "exchangeBlobEndpoint")!.GetValue<string>());
        Assert.Equal("[if(parameters('enableSftp'), format('https://{0}.blob.{1}/', variables('exchangeAccountName'), environment().suffixes.storage), '')]",
            compiled.Template["variables"]!["exchangeBlobEndpoint"]!.GetValue<string>());
        Assert.Equal("[variables('exchangeAccountName')]", ArmTemplate.ModuleParameter(compiled.Template, "sftp", "name")!.GetValue<string>());
        // out-<id> must fit a container name (63): ids of at most 59 (ExchangeContainers.MaxPartnerIdLength).
        Assert.Equal(59, compiled.Template["definitions"]!["sftpPartner"]!["properties"]!["id"]!["maxLength"]!.GetValue<int>());
    }

    [Fact]
    public void Files_dropped_over_sftp_raise_events_on_the_hubs_blob_created_queue()
    {
        var (subscription, scope) = Assert.Single(ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.EventGrid/systemTopics/eventSubscriptions"));
        var delivery = ArmTemplate.Evaluate(subscription, scope, "properties.deliveryWithResourceIdentity")!;

        Assert.Equal("""{"includedEventTypes":["Microsoft.Storage.BlobCreated"],"subjectBeginsWith":"/blobServices/default/containers/in-"}""",
            ArmTemplate.Evaluate(subscription, scope, "properties.filter")!.ToJsonString());
        Assert.Equal("blob-created", delivery["destination"]!["properties"]!["queueName"]!.GetValue<string>());
        Assert.EndsWith("/providers/Microsoft.Storage/storageAccounts/sttest", delivery["destination"]!["properties"]!["resourceId"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
