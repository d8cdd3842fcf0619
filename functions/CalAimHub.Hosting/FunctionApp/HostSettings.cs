using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Hosting.FunctionApp;

/// <summary>
/// The parts of host.json the hub relies on, read the way the Functions host reads them:
/// the file first, then <c>AzureFunctionsJobHost__*</c> app settings override any key.
/// </summary>
public sealed record HostSettings(
    CustomHandlerSettings CustomHandler,
    string ExtensionBundleVersion,
    string HttpRoutePrefix,
    QueueTriggerSettings Queues)
{
    public const string FileName = "host.json";
    public const string OverridePrefix = "AzureFunctionsJobHost__";

    public static HostSettings Load(string appDirectory, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var path = Path.Combine(appDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new FunctionAppDefinitionException($"{path}: host.json is missing; a function app needs it at its root.");
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile(path, optional: false, reloadOnChange: false)
            .AddEnvironmentVariables(OverridePrefix)
            .AddInMemoryCollection(overrides ?? [])
            .Build();
        return From(configuration, path);
    }

    private static HostSettings From(IConfiguration c, string path)
    {
        var handler = c.GetSection("customHandler:description");
        var executable = handler["defaultExecutablePath"];
        if (string.IsNullOrWhiteSpace(executable))
        {
            throw new FunctionAppDefinitionException($"{path}: customHandler.description.defaultExecutablePath is required.");
        }

        var queues = c.GetSection("extensions:queues");
        var defaults = QueueTriggerSettings.Default;
        return new HostSettings(
            new CustomHandlerSettings(
                executable,
                handler.GetSection("arguments").GetChildren().Select(a => a.Value ?? "").ToArray(),
                handler["workingDirectory"] ?? "",
                c.GetValue("customHandler:enableProxyingHttpRequest", false) || c.GetValue("customHandler:enableForwardingHttpRequest", false)),
            c["extensionBundle:version"] ?? "",
            c["extensions:http:routePrefix"] ?? "api",
            new QueueTriggerSettings(
                queues.GetValue("batchSize", defaults.BatchSize),
                queues.GetValue("newBatchThreshold", defaults.NewBatchThreshold),
                queues.GetValue("maxPollingInterval", defaults.MaxPollingInterval),
                queues.GetValue("visibilityTimeout", defaults.VisibilityTimeout),
                queues.GetValue("maxDequeueCount", defaults.MaxDequeueCount),
                ParseEncoding(queues["messageEncoding"], path)));
    }

    private static QueueMessageEncoding ParseEncoding(string? value, string path) => value?.ToLowerInvariant() switch
    {
        null or "base64" => QueueMessageEncoding.Base64,
        "none" => QueueMessageEncoding.None,
        _ => throw new FunctionAppDefinitionException($"{path}: extensions.queues.messageEncoding must be 'base64' or 'none', not '{value}'."),
    };
}

/// <summary>How the Functions host starts the handler and hands it HTTP requests.</summary>
public sealed record CustomHandlerSettings(string ExecutablePath, IReadOnlyList<string> Arguments, string WorkingDirectory, bool ForwardsHttpRequests);

/// <summary>
/// host.json <c>extensions.queues</c>. Defaults are the Storage extension v5 defaults; note that a failed message
/// comes back after exactly <see cref="VisibilityTimeout"/> (no exponential backoff).
/// </summary>
public sealed record QueueTriggerSettings(
    int BatchSize,
    int NewBatchThreshold,
    TimeSpan MaxPollingInterval,
    TimeSpan VisibilityTimeout,
    int MaxDequeueCount,
    QueueMessageEncoding MessageEncoding)
{
    public static QueueTriggerSettings Default { get; } =
        new(16, 8, TimeSpan.FromMinutes(1), TimeSpan.Zero, 5, QueueMessageEncoding.Base64);

    public string PoisonQueueName(string queueName) => queueName + "-poison";
}
