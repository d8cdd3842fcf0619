using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CalAimHub.Hosting.Webhooks;

/// <summary>
/// Standard Webhooks v1 signatures (HMAC-SHA256 over <c>{webhook-id}.{webhook-timestamp}.{body}</c>), used for every
/// notification we send and every webhook we accept. Secrets are <c>whsec_</c> + base64 key bytes; several may be
/// active at once so a secret can be rotated without downtime.
/// </summary>
public static class StandardWebhookSignature
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public const string SecretPrefix = "whsec_";
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    /// <summary>The <c>webhook-signature</c> header value: one <c>v1,&lt;base64&gt;</c> entry per active secret, space-separated.</summary>
    public static string Sign(string webhookId, DateTimeOffset timestamp, ReadOnlySpan<byte> body, IEnumerable<string> secrets)
    {
        var content = SignedContent(webhookId, timestamp.ToUnixTimeSeconds(), body);
        var entries = secrets.Select(s => "v1," + Convert.ToBase64String(HMACSHA256.HashData(Key(s), content))).ToArray();
        return entries.Length > 0 ? string.Join(' ', entries) : throw new ArgumentException("At least one signing secret is required.", nameof(secrets));
    }

    /// <summary>Checks id, timestamp window and signature; returns null when valid, else why not.</summary>
    public static string? Verify(string? webhookId, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, IEnumerable<string> secrets, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(webhookId) || string.IsNullOrEmpty(timestampHeader) || string.IsNullOrEmpty(signatureHeader))
        {
            return $"missing {IdHeader}, {TimestampHeader} or {SignatureHeader} header";
        }

        if (!long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return $"{TimestampHeader} must be Unix seconds";
        }

        var age = now - DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (age.Duration() > Tolerance)
        {
            return $"{TimestampHeader} is outside the {Tolerance.TotalMinutes:0}-minute window";
        }

        var content = SignedContent(webhookId, seconds, body);
        var presented = signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(e => e.StartsWith("v1,", StringComparison.Ordinal))
            .Select(e => TryBase64(e[3..]))
            .Where(b => b is not null)
            .ToArray();
        foreach (var secret in secrets)
        {
            var expected = HMACSHA256.HashData(Key(secret), content);
            if (presented.Any(p => CryptographicOperations.FixedTimeEquals(p, expected)))
            {
                return null;
            }
        }

        return "signature does not match";
    }

    /// <summary>A secret that can be used for signing, or why not (e.g. an unresolved Key Vault reference).</summary>
    public static string? Problem(string? secret) => secret switch
    {
        null or "" => "is empty",
        _ when secret.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase) => "is an unresolved Key Vault reference",
        _ when TryKey(secret) is null => $"is not '{SecretPrefix}' followed by base64 key bytes",
        _ => null,
    };

    private static byte[] SignedContent(string webhookId, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{webhookId}.{timestamp.ToString(CultureInfo.InvariantCulture)}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return content;
    }

    private static byte[] Key(string secret) => TryKey(secret) ?? throw new ArgumentException($"Signing secret {Problem(secret)}.", nameof(secret));

    private static byte[]? TryKey(string secret) =>
        secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? TryBase64(secret[SecretPrefix.Length..]) : null;

    private static byte[]? TryBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }
}
