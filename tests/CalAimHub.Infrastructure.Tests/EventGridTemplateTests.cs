using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>BlobCreated in 'inbound' → Event Grid system topic → 'blob-created' storage queue, dead-letters to 'eventgrid-deadletter'.</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed class EventGridTemplateTests(CompiledTemplate compiled)
{
    private ArmScope Scope => ModuleScope.For(compiled.Template, "eventgrid", new Dictionary<string, JsonNode?>
    {
        ["systemTopicName"] = "evgt-test",
        ["location"] = "westus3",
        ["tags"] = new JsonObject(),
        ["storageAccountName"] = "sttest",
    });

    [Fact]
    public void System_topic_watches_the_storage_account_with_its_own_identity()
    {
        var (topic, scope) = Assert.Single(ArmTemplate.Expand(compiled.Module("eventgrid"), Scope, "Microsoft.EventGrid/systemTopics"));

        Assert.Equal("Microsoft.Storage.StorageAccounts", ArmTemplate.Evaluate(topic, scope, "properties.topicType")!.GetValue<string>());
        Assert.EndsWith("/providers/Microsoft.Storage/storageAccounts/sttest", ArmTemplate.Evaluate(topic, scope, "properties.source")!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("SystemAssigned", ArmTemplate.Evaluate(topic, scope, "identity.type")!.GetValue<string>());
    }

    [Fact]
    public void Subscription_filters_blob_created_under_inbound()
    {
        var (subscription, scope) = Subscription();

        Assert.Equal(
            """{"includedEventTypes":["Microsoft.Storage.BlobCreated"],"subjectBeginsWith":"/blobServices/default/containers/inbound/"}""",
            ArmTemplate.Evaluate(subscription, scope, "properties.filter")!.ToJsonString());
    }

    [Fact]
    public void Subscription_delivers_to_the_blob_created_queue_with_the_topic_identity()
    {
        var (subscription, scope) = Subscription();
        var delivery = ArmTemplate.Evaluate(subscription, scope, "properties.deliveryWithResourceIdentity")!;

        Assert.Equal("SystemAssigned", delivery["identity"]!["type"]!.GetValue<string>());
        Assert.Equal("StorageQueue", delivery["destination"]!["endpointType"]!.GetValue<string>());
        Assert.Equal("blob-created", delivery["destination"]!["properties"]!["queueName"]!.GetValue<string>());
        Assert.EndsWith("/providers/Microsoft.Storage/storageAccounts/sttest", delivery["destination"]!["properties"]!["resourceId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(subscription["properties"]!["destination"]);
    }

    [Fact]
    public void Undeliverable_events_are_dead_lettered_to_the_dead_letter_container()
    {
        var (subscription, scope) = Subscription();
        var deadLetter = ArmTemplate.Evaluate(subscription, scope, "properties.deadLetterWithResourceIdentity")!;

        Assert.Equal("SystemAssigned", deadLetter["identity"]!["type"]!.GetValue<string>());
        Assert.Equal("StorageBlob", deadLetter["deadLetterDestination"]!["endpointType"]!.GetValue<string>());
        Assert.Equal("eventgrid-deadletter", deadLetter["deadLetterDestination"]!["properties"]!["blobContainerName"]!.GetValue<string>());
        Assert.InRange(ArmTemplate.Evaluate(subscription, scope, "properties.retryPolicy.maxDeliveryAttempts")!.GetValue<int>(), 1, 30);
    }

    [Fact]
    public void Queue_and_containers_used_by_event_grid_are_in_storage_layout()
    {
        var layout = StorageLayout.Load();

        Assert.Contains(ArmTemplate.ModuleParameter(compiled.Template, "eventgrid", "queueName")!.GetValue<string>(), layout.Queues);
        Assert.Contains(ArmTemplate.ModuleParameter(compiled.Template, "eventgrid", "sourceContainerName")!.GetValue<string>(), layout.Containers);
        Assert.Contains(ArmTemplate.ModuleParameter(compiled.Template, "eventgrid", "deadLetterContainerName")!.GetValue<string>(), layout.Containers);
        Assert.Contains(ArmTemplate.ModuleParameter(compiled.Template, "partners", "containerName")!.GetValue<string>(), layout.Containers);
    }

    [Fact]
    public void Subscription_is_created_after_the_topic_identity_has_its_roles()
    {
        var (subscription, _) = Subscription();
        var dependsOn = subscription["dependsOn"]!.AsArray().Select(d => d!.GetValue<string>()).ToList();

        Assert.Equal(2, dependsOn.Count(d => d.Contains("Microsoft.Authorization/roleAssignments", StringComparison.Ordinal)));
    }

    private (JsonObject Resource, ArmScope Scope) Subscription() =>
        Assert.Single(ArmTemplate.Expand(compiled.Module("eventgrid"), Scope, "Microsoft.EventGrid/systemTopics/eventSubscriptions"));
}
