using System.Text.Json.Nodes;

namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>functions/CalAimHub.Functions/storage-layout.json: the one list of containers, queues and tables.</summary>
public sealed record StorageLayout(IReadOnlyList<string> Containers, IReadOnlyList<string> Queues, IReadOnlyList<string> Tables)
{
    public static StorageLayout Load()
    {
        var json = JsonNode.Parse(File.ReadAllText(Repository.StorageLayout))!;
        return new(List(json, "containers"), List(json, "queues"), List(json, "tables"));
    }

    private static List<string> List(JsonNode json, string key) =>
        json[key]?.AsArray().Select(n => n!.GetValue<string>()).ToList() ?? throw new InvalidOperationException($"storage-layout.json has no '{key}'");
}
