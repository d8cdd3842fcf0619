using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Hosting.Staff;

/// <summary>The app roles of the hub's Entra app registration (docs/deploy.md) and what each may do.</summary>
public static class StaffRoles
{
    /// <summary>Reads every staff route and console page.</summary>
    public const string Viewer = "viewer";

    /// <summary>Decides, extends and reauthorizes authorizations (and submits them).</summary>
    public const string Decider = "decider";

    /// <summary>Replays poison messages, repairs workflows, edits the provider directory, generates extracts.</summary>
    public const string Operator = "operator";

    /// <summary>Records members' consents (ASCMI, 42 CFR Part 2) and reads their consents and disclosure histories (the
    /// accounting of disclosures): member-level privacy records, so not every viewer's.</summary>
    public const string Privacy = "privacy";

    public static IReadOnlyList<string> All { get; } = [Viewer, Decider, Operator, Privacy];
}

/// <summary>
/// The <c>X-MS-CLIENT-PRINCIPAL</c> header App Service authentication (Easy Auth) sets on every request it lets through:
/// base64 of <c>{ auth_typ, claims: [{ typ, val }], name_typ, role_typ }</c>. App Service strips any client-sent copy, so
/// the app may trust it; the local host's front door does the same and injects the development identity.
/// </summary>
public sealed record ClientPrincipal(
    [property: JsonPropertyName("auth_typ")] string? AuthenticationType,
    [property: JsonPropertyName("claims")] IReadOnlyList<ClientPrincipalClaim>? Claims,
    [property: JsonPropertyName("name_typ")] string? NameClaimType,
    [property: JsonPropertyName("role_typ")] string? RoleClaimType)
{
    public const string Header = "X-MS-CLIENT-PRINCIPAL";

    /// <summary>Whether App Service authentication owns a header (<c>X-MS-CLIENT-PRINCIPAL*</c>, <c>X-MS-TOKEN-*</c>): a client may set none of them.</summary>
    public static bool IsOwnedHeader(string name) =>
        name.StartsWith(Header, StringComparison.OrdinalIgnoreCase) || name.StartsWith("X-MS-TOKEN-", StringComparison.OrdinalIgnoreCase);

    /// <summary>Entra ID's claim types as Easy Auth maps them.</summary>
    public const string NameType = "name";
    public const string RoleType = "roles";
    public const string ObjectIdType = "http://schemas.microsoft.com/identity/claims/objectidentifier";

    /// <summary>The identity the local host injects: a name and roles, as an Entra sign-in with those app roles would carry.</summary>
    public static ClientPrincipal Development(string name, IEnumerable<string> roles) => new(
        "aad",
        [new(NameType, name), new(ObjectIdType, "local-" + name), .. roles.Select(r => new ClientPrincipalClaim(RoleType, r))],
        NameType,
        RoleType);

    public string Encode() => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(this));

    /// <summary>Reads a header value; null when it is not base64 JSON of this shape.</summary>
    public static ClientPrincipal? TryDecode(string? header)
    {
        if (string.IsNullOrWhiteSpace(header) || header.Length > 64 * 1024)
        {
            return null;
        }

        var bytes = new byte[header.Length];
        if (!Convert.TryFromBase64String(header.Trim(), bytes, out var length))
        {
            return null;
        }

        try
        {
            var principal = JsonSerializer.Deserialize<ClientPrincipal>(bytes.AsSpan(0, length));
            return principal?.Claims is null ? null : principal;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Values of one claim type (Easy Auth emits one claim per role).</summary>
    public IEnumerable<string> Values(string type) =>
        (Claims ?? []).Where(c => string.Equals(c.Type, type, StringComparison.OrdinalIgnoreCase) && c.Value is not null).Select(c => c.Value!);

    public override string ToString() => Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(this));
}

public sealed record ClientPrincipalClaim(
    [property: JsonPropertyName("typ")] string? Type,
    [property: JsonPropertyName("val")] string? Value);
