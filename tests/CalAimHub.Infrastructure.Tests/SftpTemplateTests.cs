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
    public void One_local_user_per_partner_with_ssh_keys_only_writing_inbound_and_reading_outbound()
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
            Assert.Equal($"inbound/{partner}", ArmTemplate.Evaluate(user, scope, "properties.homeDirectory")!.GetValue<string>());
            Assert.Equal(
                """[{"service":"blob","resourceName":"inbound","permissions":"cwl"},{"service":"blob","resourceName":"outbound","permissions":"rl"}]""",
                ArmTemplate.Evaluate(user, scope, "properties.permissionScopes")!.ToJsonString());
            Assert.Equal(keys, ArmTemplate.Evaluate(user, scope, "properties.sshAuthorizedKeys")!.AsArray().Count);
        }
    }

    [Fact]
    public void Files_dropped_over_sftp_raise_events_on_the_hubs_blob_created_queue()
    {
        var (subscription, scope) = Assert.Single(ArmTemplate.Expand(compiled.Module("sftp"), Scope, "Microsoft.EventGrid/systemTopics/eventSubscriptions"));
        var delivery = ArmTemplate.Evaluate(subscription, scope, "properties.deliveryWithResourceIdentity")!;

        Assert.Equal("""{"includedEventTypes":["Microsoft.Storage.BlobCreated"],"subjectBeginsWith":"/blobServices/default/containers/inbound/"}""",
            ArmTemplate.Evaluate(subscription, scope, "properties.filter")!.ToJsonString());
        Assert.Equal("blob-created", delivery["destination"]!["properties"]!["queueName"]!.GetValue<string>());
        Assert.EndsWith("/providers/Microsoft.Storage/storageAccounts/sttest", delivery["destination"]!["properties"]!["resourceId"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
