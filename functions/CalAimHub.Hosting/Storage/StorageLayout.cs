using System.Text.Json;
using CalAimHub.Hosting.FunctionApp;

namespace CalAimHub.Hosting.Storage;

/// <summary>
/// Every container, queue and table the hub uses: one list (storage-layout.json) read by the local host for
/// provisioning and by infra/modules/storage.bicep, so local and Azure cannot drift.
/// </summary>
public sealed record StorageLayout(IReadOnlyList<string> Containers, IReadOnlyList<string> Queues, IReadOnlyList<string> Tables)
{
    public const string FileName = "storage-layout.json";

    /// <summary>Each queue has a poison queue next to it, as the Functions host expects.</summary>
    public IEnumerable<string> QueuesWithPoison => Queues.SelectMany(q => new[] { q, PoisonQueue(q) });

    public static string PoisonQueue(string queue) => queue + "-poison";

    public static StorageLayout Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FunctionAppDefinitionException($"{path}: {FileName} is missing.");
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        string[] List(string name) => document.RootElement.TryGetProperty(name, out var list)
            ? list.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
            : throw new FunctionAppDefinitionException($"{path}: '{name}' list is missing.");
        return new StorageLayout(List("containers"), List("queues"), List("tables"));
    }
}
