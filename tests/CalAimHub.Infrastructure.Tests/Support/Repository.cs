using System.Reflection;

namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>Paths of the repository and of the bicep CLI restored from NuGet (both baked into the test assembly at build time).</summary>
public static class Repository
{
    private const string BicepPackageId = "azure.bicep.commandline.linux-x64";

    public static string Root { get; } = Metadata("RepositoryRoot");

    public static string Infra => Path.Combine(Root, "infra");

    public static string MainBicep => Path.Combine(Infra, "main.bicep");

    public static string FunctionsProject => Path.Combine(Root, "functions", "CalAimHub.Functions");

    public static string StorageLayout => Path.Combine(FunctionsProject, "storage-layout.json");

    public static string HostJson => Path.Combine(Root, "host.json");

    /// <summary>The bicep binary inside the NuGet package, made executable if the package extraction dropped the bit.</summary>
    public static string Bicep { get; } = LocateBicep();

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"assembly metadata '{key}' is missing");

    private static string LocateBicep()
    {
        var packageRoot = Metadata("BicepPackageRoot");
        if (string.IsNullOrEmpty(packageRoot) || !Directory.Exists(packageRoot))
        {
            // Fallback: the global packages folder, newest version.
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            packageRoot = Directory.GetDirectories(Path.Combine(packages, BicepPackageId)).OrderByDescending(d => Version.Parse(Path.GetFileName(d))).First();
        }

        var bicep = Path.Combine(packageRoot, "tools", "bicep");
        if (!File.Exists(bicep))
        {
            throw new FileNotFoundException($"bicep CLI not found at {bicep}; restore the test project", bicep);
        }

        var mode = File.GetUnixFileMode(bicep);
        if (!mode.HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(bicep, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return bicep;
    }
}
