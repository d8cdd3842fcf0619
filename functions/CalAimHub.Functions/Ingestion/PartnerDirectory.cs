using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Inbound;

namespace CalAimHub.Functions.Ingestion;

/// <summary>
/// Registered partners, from configuration <c>Ingestion:Partners:{partnerId}</c>:
/// <c>Subscriber</c> and <c>NotificationUrl</c> (the result notice), <c>Kinds:{n}</c> (allowed kinds; none = all),
/// <c>Renames:{kind}:{n}</c> = <c>"Baseline header=Partner header"</c>, <c>ExtraColumns:{kind}:{n}</c> = extra header,
/// <c>IsoDates:{n}</c> = a kind whose dates are YYYY-MM-DD, <c>Encoding</c> = a single-byte encoding such as windows-1252.
/// A partner id not listed is not registered: its files are rejected.
/// </summary>
public sealed class PartnerDirectory(IConfiguration configuration)
{
    public const string Section = "Ingestion:Partners";

    public PartnerProfile? Find(string partnerId)
    {
        if (!InboundPath.IsId(partnerId))
        {
            return null;
        }

        var section = configuration.GetSection($"{Section}:{partnerId}");
        if (!section.Exists())
        {
            return null;
        }

        var renames = section.GetSection("Renames").GetChildren().ToDictionary(
            kind => kind.Key.ToLowerInvariant(),
            kind => (IReadOnlyDictionary<string, string>)kind.GetChildren()
                .Select(r => (r.Value ?? "").Split('=', 2))
                .Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase));
        var extras = section.GetSection("ExtraColumns").GetChildren().ToDictionary(
            kind => kind.Key.ToLowerInvariant(),
            kind => (IReadOnlyList<string>)kind.GetChildren().Select(c => c.Value ?? "").Where(v => v.Length > 0).ToArray());
        return new PartnerProfile
        {
            Id = section.Key,
            Subscriber = section["Subscriber"],
            NotificationUrl = section["NotificationUrl"],
            Kinds = section.GetSection("Kinds").GetChildren().Select(k => k.Value ?? "").Where(k => k.Length > 0).ToArray(),
            Renames = renames,
            ExtraColumns = extras,
            IsoDates = section.GetSection("IsoDates").GetChildren().Select(k => k.Value ?? "").Where(k => k.Length > 0).ToArray(),
            Encoding = section["Encoding"],
        };
    }
}
