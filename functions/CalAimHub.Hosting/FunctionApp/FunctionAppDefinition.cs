using CalAimHub.Hosting.Storage;

namespace CalAimHub.Hosting.FunctionApp;

/// <summary>
/// A function app folder as the Functions host sees it: host.json, one folder per function with function.json,
/// the handler executable, and the hub's storage-layout.json.
/// </summary>
public sealed record FunctionAppDefinition(
    string Directory,
    HostSettings Host,
    IReadOnlyList<FunctionDefinition> Functions,
    StorageLayout Storage)
{
    public static FunctionAppDefinition Load(string directory, IEnumerable<KeyValuePair<string, string?>>? hostOverrides = null)
    {
        var full = Path.GetFullPath(directory);
        var host = HostSettings.Load(full, hostOverrides);
        var functions = System.IO.Directory.EnumerateDirectories(full)
            .Where(d => File.Exists(Path.Combine(d, FunctionDefinition.FileName)))
            .Order(StringComparer.Ordinal)
            .Select(FunctionDefinition.Load)
            .ToArray();
        var storage = StorageLayout.Load(Path.Combine(full, StorageLayout.FileName));
        var app = new FunctionAppDefinition(full, host, functions, storage);
        app.Validate();
        return app;
    }

    public string ExecutablePath => Path.Combine(Directory, Host.CustomHandler.ExecutablePath);

    public IEnumerable<FunctionDefinition> WithTrigger(string triggerType) => Functions.Where(f => f.Trigger.Type == triggerType);

    private void Validate()
    {
        if (Functions.Count == 0)
        {
            throw new FunctionAppDefinitionException($"{Directory}: no function folders (a folder holding function.json) were found.");
        }

        // Queues are provisioned from the storage layout (locally and by Bicep); a trigger on a queue that is not
        // in it would listen on a queue that never exists in Azure.
        foreach (var function in WithTrigger(BindingDefinition.QueueTrigger))
        {
            var queue = function.Trigger.QueueName!;
            if (!Storage.Queues.Contains(queue, StringComparer.Ordinal))
            {
                throw new FunctionAppDefinitionException(
                    $"{function.Name}/function.json: queue '{queue}' is not in {StorageLayout.FileName}; add it there so it is provisioned.");
            }
        }
    }
}
