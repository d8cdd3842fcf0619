using YamlDotNet.RepresentationModel;

namespace CalAimHub.Infrastructure.Tests.Support;

public sealed record AzureService(string Name, string Project, string Language, string Host);

/// <summary>azure.yaml at the repository root.</summary>
public sealed record AzureYaml(IReadOnlyList<AzureService> Services, string InfraPath, string InfraModule)
{
    public IEnumerable<string> ServiceNames => Services.Select(s => s.Name);

    public static AzureYaml Load() => Parse(File.ReadAllText(Path.Combine(Repository.Root, "azure.yaml")));

    public static AzureYaml Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var services = ((YamlMappingNode)Child(root, "services")).Children
            .Select(s => new AzureService(
                ((YamlScalarNode)s.Key).Value!,
                Scalar(s.Value, "project"),
                Scalar(s.Value, "language"),
                Scalar(s.Value, "host")))
            .ToList();
        var infra = Child(root, "infra");
        return new(services, Scalar(infra, "path"), Scalar(infra, "module"));
    }

    private static YamlNode Child(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? child
            : throw new KeyNotFoundException($"azure.yaml: '{key}' is missing");

    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)Child(node, key)).Value!;
}
