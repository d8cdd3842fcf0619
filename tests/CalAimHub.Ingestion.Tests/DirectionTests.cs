using System.Reflection;
using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion.Tests;

/// <summary>Directions: only the Storage namespace of the ingestion library may touch Azure types.</summary>
public sealed class DirectionTests
{
    [Fact]
    public void Only_the_storage_namespace_uses_azure_types()
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var offenders = typeof(FormatCatalog).Assembly.GetTypes()
            .Where(t => t.Namespace is { } ns && !ns.StartsWith("CalAimHub.Ingestion.Storage", StringComparison.Ordinal) && !t.Name.StartsWith('<'))
            .SelectMany(t => t.GetFields(all).Select(f => (t, f.FieldType))
                .Concat(t.GetProperties(all).Select(p => (t, p.PropertyType)))
                .Concat(t.GetMethods(all).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)).Select(x => (t, x)))
                .Concat(t.GetConstructors(all).SelectMany(c => c.GetParameters()).Select(p => (t, p.ParameterType))))
            .Where(x => x.Item2.Assembly.GetName().Name!.StartsWith("Azure", StringComparison.Ordinal))
            .Select(x => $"{x.t.FullName} uses {x.Item2.FullName}")
            .Distinct()
            .ToArray();

        Assert.Empty(offenders);
        Assert.Contains(typeof(FormatCatalog).Assembly.GetTypes(), t => t.Namespace == "CalAimHub.Ingestion.Storage" &&
            t.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType.Assembly.GetName().Name!.StartsWith("Azure", StringComparison.Ordinal))));
    }
}
