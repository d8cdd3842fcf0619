using System.Reflection;
using System.Text.Json.Nodes;
using CalAimHub.Hosting.FunctionApp;

namespace CalAimHub.Hosting.Tests;

/// <summary>The real function app folder (the handler's build output) and what a broken one is told.</summary>
public sealed class FunctionAppDefinitionTests : IDisposable
{
    public static readonly string AppDirectory = typeof(FunctionAppDefinitionTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FunctionAppDirectory").Value!;

    private readonly string scratch = Directory.CreateTempSubdirectory("calaimhub-app-").FullName;

    [Fact]
    public void The_function_app_folder_holds_host_json_and_a_valid_function_json_per_function()
    {
        var app = FunctionAppDefinition.Load(AppDirectory);

        Assert.Subset(app.Functions.Select(f => f.Name).ToHashSet(), new HashSet<string> { "Api", "Health", "Notify", "PoisonQueueMonitor" });
        Assert.All(app.Functions.SelectMany(f => f.Bindings), b => Assert.Contains(b.Type, BindingDefinition.KnownTypes));
        Assert.True(File.Exists(app.ExecutablePath), $"{app.ExecutablePath} should exist");
    }

    [Fact]
    public void Host_json_points_at_the_handler_and_the_v4_bundle_and_sets_queue_behaviour_on_purpose()
    {
        var host = FunctionAppDefinition.Load(AppDirectory).Host;

        Assert.Equal("CalAimHub.Functions", host.CustomHandler.ExecutablePath);
        Assert.True(host.CustomHandler.ForwardsHttpRequests);
        Assert.Equal("[4.*, 5.0.0)", host.ExtensionBundleVersion);
        Assert.Equal("api", host.HttpRoutePrefix);
        Assert.Equal(5, host.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(30), host.Queues.VisibilityTimeout);
        Assert.Equal(Azure.Storage.Queues.QueueMessageEncoding.Base64, host.Queues.MessageEncoding);
    }

    [Fact]
    public void Every_trigger_queue_is_in_the_storage_layout_with_a_poison_queue()
    {
        var app = FunctionAppDefinition.Load(AppDirectory);

        foreach (var function in app.WithTrigger(BindingDefinition.QueueTrigger))
        {
            Assert.Contains(function.Trigger.QueueName!, app.Storage.Queues);
            Assert.Contains(function.Trigger.QueueName + "-poison", app.Storage.QueuesWithPoison);
        }
    }

    [Fact]
    public void App_settings_override_host_json_like_in_azure()
    {
        var host = HostSettings.Load(AppDirectory, [new("extensions:queues:maxDequeueCount", "2"), new("extensions:queues:visibilityTimeout", "00:00:00")]);

        Assert.Equal(2, host.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.Zero, host.Queues.VisibilityTimeout);
    }

    [Fact]
    public void An_unknown_binding_type_is_refused_with_the_known_list()
    {
        var dir = CopyApp();
        Write(dir, "Notify", """{"bindings":[{"type":"blobTrigger","direction":"in","name":"blob","path":"inbound/{name}"}]}""");

        var error = Assert.Throws<FunctionAppDefinitionException>(() => FunctionAppDefinition.Load(dir));

        Assert.Equal($"{Path.Combine(dir, "Notify", "function.json")}: binding 'blob' has type 'blobTrigger', which the hub does not support (known: httpTrigger, http, queueTrigger, timerTrigger).", error.Message);
    }

    [Fact]
    public void A_queue_trigger_on_a_queue_outside_the_layout_is_refused()
    {
        var dir = CopyApp();
        Write(dir, "Notify", """{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"nowhere"}]}""");

        var error = Assert.Throws<FunctionAppDefinitionException>(() => FunctionAppDefinition.Load(dir));

        Assert.Equal("Notify/function.json: queue 'nowhere' is not in storage-layout.json; add it there so it is provisioned.", error.Message);
    }

    [Fact]
    public void A_function_without_exactly_one_trigger_is_refused()
    {
        var dir = CopyApp();
        Write(dir, "Notify", """{"bindings":[{"type":"http","direction":"out","name":"res"}]}""");

        var error = Assert.Throws<FunctionAppDefinitionException>(() => FunctionAppDefinition.Load(dir));

        Assert.Equal($"{Path.Combine(dir, "Notify", "function.json")}: a function needs exactly one trigger binding, found 0.", error.Message);
    }

    [Fact]
    public void A_timer_without_schedule_is_refused()
    {
        var dir = CopyApp();
        Write(dir, "PoisonQueueMonitor", """{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer"}]}""");

        var error = Assert.Throws<FunctionAppDefinitionException>(() => FunctionAppDefinition.Load(dir));

        Assert.Equal($"{Path.Combine(dir, "PoisonQueueMonitor", "function.json")}: timerTrigger binding 'timer' needs 'schedule'.", error.Message);
    }

    [Fact]
    public void A_missing_host_json_is_named()
    {
        var dir = CopyApp();
        File.Delete(Path.Combine(dir, "host.json"));

        var error = Assert.Throws<FunctionAppDefinitionException>(() => FunctionAppDefinition.Load(dir));

        Assert.Equal($"{Path.Combine(dir, "host.json")}: host.json is missing; a function app needs it at its root.", error.Message);
    }

    [Fact]
    public void An_unknown_message_encoding_is_refused()
    {
        var dir = CopyApp();
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "host.json")))!;
        host["extensions"]!["queues"]!["messageEncoding"] = "utf16";
        File.WriteAllText(Path.Combine(dir, "host.json"), host.ToJsonString());

        var error = Assert.Throws<FunctionAppDefinitionException>(() => FunctionAppDefinition.Load(dir));

        Assert.Equal($"{Path.Combine(dir, "host.json")}: extensions.queues.messageEncoding must be 'base64' or 'none', not 'utf16'.", error.Message);
    }

    public void Dispose() => Directory.Delete(scratch, recursive: true);

    private string CopyApp()
    {
        File.Copy(Path.Combine(AppDirectory, "host.json"), Path.Combine(scratch, "host.json"));
        File.Copy(Path.Combine(AppDirectory, "storage-layout.json"), Path.Combine(scratch, "storage-layout.json"));
        foreach (var function in FunctionAppDefinition.Load(AppDirectory).Functions)
        {
            Directory.CreateDirectory(Path.Combine(scratch, function.Name));
            File.Copy(Path.Combine(AppDirectory, function.Name, "function.json"), Path.Combine(scratch, function.Name, "function.json"));
        }

        return scratch;
    }

    private static void Write(string dir, string function, string json) => File.WriteAllText(Path.Combine(dir, function, "function.json"), json);
}
