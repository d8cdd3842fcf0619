using System.Text.Json.Nodes;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>
/// The function app package: publish output of functions/CalAimHub.Functions holds host.json, storage-layout.json, one
/// folder per definitions/*/function.json and the custom handler executable named in host.json, executable, linux-x64.
/// </summary>
public abstract class PublishOutputTests(PublishOutput publish)
{
    [Fact]
    public void Publish_succeeds()
    {
        Assert.True(publish.Result.ExitCode == 0, publish.Result.Combined);
    }

    [Fact]
    public void Host_json_is_published_unchanged()
    {
        RequirePublished();
        var published = Path.Combine(publish.Directory, "host.json");

        Assert.True(File.Exists(published), $"host.json missing from {publish.Directory}\n{publish.Result.Combined}");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Repository.HostJson)), JsonNode.Parse(File.ReadAllText(published))));
    }

    [Fact]
    public void Storage_layout_is_published()
    {
        RequirePublished();
        var published = Path.Combine(publish.Directory, "storage-layout.json");

        Assert.True(File.Exists(published), $"storage-layout.json missing from {publish.Directory}");
        Assert.Equal(File.ReadAllText(Repository.StorageLayout), File.ReadAllText(published));
    }

    [Fact]
    public void Every_function_definition_is_a_published_folder()
    {
        RequirePublished();
        var definitions = Directory.GetDirectories(Path.Combine(Repository.FunctionsProject, "definitions"))
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .ToList();

        Assert.NotEmpty(definitions);
        Assert.All(definitions, definition =>
        {
            var published = Path.Combine(publish.Directory, Path.GetFileName(definition), "function.json");
            Assert.True(File.Exists(published), $"{published} missing");
            Assert.Equal(File.ReadAllText(Path.Combine(definition, "function.json")), File.ReadAllText(published));
        });
    }

    [Fact]
    public void Handler_executable_named_in_host_json_is_an_executable_linux_x64_binary()
    {
        RequirePublished();
        var executable = Path.Combine(publish.Directory, HandlerExecutable());

        Assert.True(File.Exists(executable), $"{executable} missing");
        Assert.True(File.GetUnixFileMode(executable).HasFlag(UnixFileMode.UserExecute), $"{executable} has no execute bit");
        var header = new byte[20];
        using (var stream = File.OpenRead(executable))
        {
            stream.ReadExactly(header);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
        Assert.Equal(0x3E, BitConverter.ToUInt16(header, 18)); // e_machine: x86-64
    }

    [Fact]
    public void App_is_self_contained_so_the_custom_runtime_needs_no_dotnet()
    {
        RequirePublished();
        var runtimeConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(publish.Directory, $"{HandlerExecutable()}.runtimeconfig.json")))!;

        Assert.True(runtimeConfig["runtimeOptions"]!["includedFrameworks"] is JsonArray, $"framework-dependent publish: {runtimeConfig.ToJsonString()}");
        Assert.True(File.Exists(Path.Combine(publish.Directory, "libcoreclr.so")), "libcoreclr.so missing: not self-contained for linux");
    }

    private void RequirePublished() =>
        Assert.True(publish.Result.ExitCode == 0, $"dotnet publish failed, so the package cannot be checked:\n{publish.Result.Combined}");

    private static string HandlerExecutable() =>
        JsonNode.Parse(File.ReadAllText(Repository.HostJson))!["customHandler"]!["description"]!["defaultExecutablePath"]!.GetValue<string>();
}

/// <summary>The explicit publish: <c>dotnet publish -c Release -r linux-x64 --self-contained</c>.</summary>
public sealed class ExplicitRuntimePublishTests(ExplicitRuntimePublish publish) : PublishOutputTests(publish), IClassFixture<ExplicitRuntimePublish>;

/// <summary>What <c>azd package</c> runs for a dotnet service: <c>dotnet publish &lt;project&gt; -c Release --output &lt;tmp&gt;</c>, nothing more.</summary>
public sealed class AzdPackagePublishTests(AzdPackagePublish publish) : PublishOutputTests(publish), IClassFixture<AzdPackagePublish>;
