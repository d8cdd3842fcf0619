using System.Text.Json.Nodes;

namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>infra/main.bicep compiled once per test run with the bicep CLI from NuGet.</summary>
public sealed class CompiledTemplate : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("calaimhub-bicep-").FullName;

    public CompiledTemplate()
    {
        var output = Path.Combine(directory, "main.json");
        Build = ProcessRunner.Run(Repository.Bicep, ["build", Repository.MainBicep, "--outfile", output], Repository.Infra, TimeSpan.FromMinutes(3));
        Text = File.Exists(output) ? File.ReadAllText(output) : string.Empty;
        Template = Text.Length > 0 ? (JsonObject)JsonNode.Parse(Text)! : new JsonObject();
    }

    public ProcessResult Build { get; }

    public string Text { get; }

    public JsonObject Template { get; }

    public JsonObject Module(string deploymentName) => ArmTemplate.ModuleTemplate(Template, deploymentName);

    public void Dispose() => Directory.Delete(directory, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class CompiledTemplateCollection : ICollectionFixture<CompiledTemplate>
{
    public const string Name = "compiled main.bicep";
}
