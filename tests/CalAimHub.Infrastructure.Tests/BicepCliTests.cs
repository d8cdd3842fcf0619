using System.Text.RegularExpressions;
using CalAimHub.Infrastructure.Tests.Support;

namespace CalAimHub.Infrastructure.Tests;

/// <summary>infra/main.bicep builds and lints with zero diagnostics, using the bicep CLI restored from NuGet (no download).</summary>
[Collection(CompiledTemplateCollection.Name)]
public sealed partial class BicepCliTests(CompiledTemplate compiled)
{
    [Fact]
    public void Build_of_main_bicep_succeeds_with_no_diagnostics()
    {
        Assert.True(compiled.Build.ExitCode == 0, compiled.Build.Combined);
        Assert.Equal(string.Empty, compiled.Build.StandardError.Trim());
        Assert.Equal(string.Empty, compiled.Build.StandardOutput.Trim());
        Assert.Equal("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#", (string?)compiled.Template["$schema"]);
    }

    [Fact]
    public void Lint_of_main_bicep_reports_nothing()
    {
        var lint = ProcessRunner.Run(Repository.Bicep, ["lint", Repository.MainBicep], Repository.Infra, TimeSpan.FromMinutes(3));

        Assert.True(lint.ExitCode == 0, lint.Combined);
        Assert.Equal(string.Empty, lint.StandardError.Trim());
        Assert.Equal(string.Empty, lint.StandardOutput.Trim());
    }

    [Fact]
    public void Lint_reports_a_warning_as_diagnostics_output()
    {
        // Proves the zero-warnings assertion above can fail: the same CLI reports an unused parameter.
        var directory = Directory.CreateTempSubdirectory("calaimhub-lint-").FullName;
        try
        {
            var file = Path.Combine(directory, "bad.bicep");
            File.WriteAllText(file, "param unused string\n");

            var lint = ProcessRunner.Run(Repository.Bicep, ["lint", file], directory, TimeSpan.FromMinutes(3));

            Assert.Equal(
                $"{file}(1,7) : Warning no-unused-params: Parameter \"unused\" is declared but never used. [https://aka.ms/bicep/linter-diagnostics#no-unused-params]",
                (lint.StandardOutput + lint.StandardError).Trim());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Bicepconfig_raises_the_analyzer_rules_that_matter_to_warnings()
    {
        var config = File.ReadAllText(Path.Combine(Repository.Infra, "bicepconfig.json"));

        foreach (var rule in new[] { "no-hardcoded-env-urls", "outputs-should-not-contain-secrets", "secure-secrets-in-params", "use-secure-value-for-secure-inputs", "what-if-short-circuiting", "use-resource-symbol-reference" })
        {
            Assert.Contains($"\"{rule}\": {{ \"level\": \"warning\" }}", config, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Infra_uses_only_local_modules()
    {
        // Registry modules (br/public:..., AVM, template specs) cannot be restored offline.
        var files = Directory.GetFiles(Repository.Infra, "*.bicep", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var offenders = files
            .SelectMany(f => File.ReadLines(f).Select(line => (File: Path.GetFileName(f), Line: line)))
            .Where(l => RegistryModule().IsMatch(l.Line))
            .Select(l => $"{l.File}: {l.Line.Trim()}")
            .ToList();

        Assert.Empty(offenders);
    }

    [GeneratedRegex(@"^\s*module\s+\S+\s+'(br|ts)[:/]", RegexOptions.CultureInvariant)]
    private static partial Regex RegistryModule();
}
