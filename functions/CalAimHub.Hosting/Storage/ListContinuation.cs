using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Hosting.Storage;

/// <summary>
/// Continuation tokens of the list routes: the table service's continuation, base64url, with an HMAC over it and the
/// listing it belongs to. A token the hub did not issue, or one issued for another listing, fails the check and is
/// answered 400 — never an empty or wrong page. The key comes from <see cref="KeySetting"/>; without it a built-in key
/// still makes every foreign string fail. The table continuation is not secret (it names where a listing the caller may
/// read resumes), so the HMAC is about integrity only.
/// </summary>
public sealed class ListContinuation
{
    /// <summary>Configuration key of the HMAC key: base64, at least 32 bytes (<c>Api__ContinuationTokenKey</c>).</summary>
    public const string KeySetting = "Api:ContinuationTokenKey";

    private const string Version = "c1";
    private const int MacBytes = 16;
    private static readonly byte[] BuiltInKey = SHA256.HashData("calaimhub list continuation v1"u8);
    private readonly byte[] key;

    public ListContinuation(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        this.key = key.Length >= 32 ? key : throw new ArgumentException("a continuation token key has at least 32 bytes", nameof(key));
    }

    public static ListContinuation FromConfiguration(IConfiguration configuration)
    {
        var text = configuration[KeySetting];
        if (string.IsNullOrEmpty(text))
        {
            return new ListContinuation(BuiltInKey);
        }

        try
        {
            var bytes = Convert.FromBase64String(text);
            return bytes.Length >= 32 ? new ListContinuation(bytes) : throw new FormatException();
        }
        catch (FormatException)
        {
            // The value is a secret: name the setting, never echo it.
            throw new InvalidOperationException($"{KeySetting} must be base64 of at least 32 bytes (a Key Vault reference that did not resolve is not)");
        }
    }

    /// <summary>The token to hand out for <paramref name="tableContinuation"/> of <paramref name="listing"/> (null: no next page).</summary>
    [return: NotNullIfNotNull(nameof(tableContinuation))]
    public string? Issue(string listing, string? tableContinuation) => tableContinuation is null
        ? null
        : $"{Version}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(tableContinuation))}.{Base64Url.EncodeToString(Mac(listing, tableContinuation))}";

    /// <summary>The table continuation inside <paramref name="token"/>, when the hub issued it for <paramref name="listing"/>.</summary>
    public bool TryRead(string listing, string token, [NotNullWhen(true)] out string? tableContinuation)
    {
        tableContinuation = null;
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != Version || token.Length > 4096)
        {
            return false;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
            var mac = Base64Url.DecodeFromChars(parts[2]);
            if (!CryptographicOperations.FixedTimeEquals(mac, Mac(listing, text)))
            {
                return false;
            }

            tableContinuation = text;
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private byte[] Mac(string listing, string tableContinuation) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(listing + "\n" + tableContinuation))[..MacBytes];
}
