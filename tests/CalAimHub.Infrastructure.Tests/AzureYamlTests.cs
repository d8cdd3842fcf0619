using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

public sealed class AzureYamlTests
{
    [Fact]
    public void Hub_service_is_the_functions_project_hosted_as_a_function_app()
    {
        var service = Assert.Single(AzureYaml.Load().Services);

        Assert.Equal("hub", service.Name);
        Assert.Equal("function", service.Host);
        Assert.Equal("dotnet", service.Language);
        Assert.Equal("./functions/CalAimHub.Functions", service.Project);
    }

    [Fact]
    public void Service_project_path_exists_and_holds_the_functions_csproj()
    {
        var service = Assert.Single(AzureYaml.Load().Services);
        var directory = Path.GetFullPath(Path.Combine(Repository.Root, service.Project));

        Assert.True(Directory.Exists(directory), $"{directory} does not exist");
        Assert.Equal(["CalAimHub.Functions.csproj"], Directory.GetFiles(directory, "*.csproj").Select(Path.GetFileName));
        Assert.True(Directory.Exists(Path.Combine(directory, "definitions")), "the project has no definitions/ folder");
    }

    [Fact]
    public void Infra_points_at_main_bicep()
    {
        var yaml = AzureYaml.Load();

        Assert.Equal("infra", yaml.InfraPath);
        Assert.Equal("main", yaml.InfraModule);
        Assert.True(File.Exists(Path.Combine(Repository.Root, yaml.InfraPath, $"{yaml.InfraModule}.bicep")));
        Assert.True(File.Exists(Path.Combine(Repository.Root, yaml.InfraPath, $"{yaml.InfraModule}.parameters.json")));
    }

    [Fact]
    public void Missing_services_section_is_reported_by_name()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => AzureYaml.Parse("name: calaimhub\ninfra:\n  path: infra\n  module: main\n"));

        Assert.Equal("azure.yaml: 'services' is missing", error.Message);
    }
}
