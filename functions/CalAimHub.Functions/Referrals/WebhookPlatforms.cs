using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Webhooks;

namespace CalAimHub.Functions.Referrals;

/// <summary>The payload format a platform sends.</summary>
public enum WebhookFormat
{
    /// <summary>The hub's own referral event JSON (docs/webhooks.md), <c>application/json</c>.</summary>
    Generic,

    /// <summary>FHIR R4 Gravity SDOH Clinical Care ServiceRequest/Task, <c>application/fhir+json</c>.</summary>
    Fhir,
}

/// <summary>
/// Referral platforms allowed to call <c>POST /api/webhooks/{platform}</c>, from configuration
/// <c>Webhooks:Platforms:{platform}</c>: <c>Secrets:{n}</c> (<c>whsec_</c> secrets; several during a rotation; Key Vault
/// references in Azure) and <c>Format</c> (<c>generic</c>, the default, or <c>fhir</c>). <c>Webhooks:MaxBodyBytes</c>
/// caps a payload (default 256 KiB). Read on every request, so rotated secrets apply without a restart.
/// </summary>
public sealed class WebhookPlatforms(IConfiguration configuration)
{
    public const int DefaultMaxBodyBytes = 256 * 1024;

    public int MaxBodyBytes => configuration.GetValue<int?>("Webhooks:MaxBodyBytes") is { } max and > 0 ? max : DefaultMaxBodyBytes;

    /// <summary>The platform, or null when it is not configured (no secrets).</summary>
    public WebhookPlatform? Find(string platform)
    {
        if (!ReferralIdentifiers.IsPlatformName(platform))
        {
            return null;
        }

        var section = configuration.GetSection($"Webhooks:Platforms:{platform}");
        var secrets = section.GetSection("Secrets").GetChildren().Select(s => s.Value ?? "").ToArray();
        if (secrets.Length == 0)
        {
            return null;
        }

        var format = section["Format"] switch
        {
            null or "" or "generic" => WebhookFormat.Generic,
            "fhir" => WebhookFormat.Fhir,
            var other => throw new InvalidOperationException($"Webhooks:Platforms:{platform}:Format is '{other}'; use 'generic' or 'fhir'"),
        };

        // Never verify with (or reveal) a broken secret: an unresolved Key Vault reference must refuse, not weaken.
        string? problem = null;
        for (var i = 0; i < secrets.Length && problem is null; i++)
        {
            problem = StandardWebhookSignature.Problem(secrets[i]) is { } p ? $"signing secret {i} of platform '{platform}' {p}" : null;
        }

        return new WebhookPlatform(platform, format, secrets, problem);
    }
}

/// <param name="SecretProblem">Why the platform's secrets cannot be used (e.g. an unresolved Key Vault reference); null when they can.</param>
public sealed record WebhookPlatform(string Name, WebhookFormat Format, IReadOnlyList<string> Secrets, string? SecretProblem);
