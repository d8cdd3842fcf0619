namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>
/// Publishes functions/CalAimHub.Functions once per test class into a temp folder. Intermediate files go to a private
/// --artifacts-path so the run never touches (or races) the obj/ and bin/ folders of people building the same project.
/// </summary>
public abstract class PublishOutput : IDisposable
{
    private readonly string root = System.IO.Directory.CreateTempSubdirectory("calaimhub-publish-").FullName;

    protected PublishOutput(params string[] extraArguments)
    {
        Directory = Path.Combine(root, "out");
        string[] arguments =
        [
            "publish", Path.Combine(Repository.FunctionsProject, "CalAimHub.Functions.csproj"), "-c", "Release", .. extraArguments,
            "--output", Directory, "--artifacts-path", Path.Combine(root, "artifacts"), "--disable-build-servers", "-nologo",
        ];
        Result = ProcessRunner.Run("dotnet", arguments, Repository.Root, TimeSpan.FromMinutes(8));
    }

    public string Directory { get; }

    public ProcessResult Result { get; }

    public void Dispose()
    {
        System.IO.Directory.Delete(root, recursive: true);
        GC.SuppressFinalize(this);
    }
}

public sealed class ExplicitRuntimePublish() : PublishOutput("-r", "linux-x64", "--self-contained");

public sealed class AzdPackagePublish() : PublishOutput();
