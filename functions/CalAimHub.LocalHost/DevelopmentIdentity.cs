using CalAimHub.Hosting.Staff;

namespace CalAimHub.LocalHost;

/// <summary>
/// The staff member the local front door signs every request in as, the way App Service authentication does in Azure:
/// it removes any <c>X-MS-CLIENT-PRINCIPAL*</c> header the client sent and sets its own. Chosen with
/// <c>./hub run --as "name:role,role"</c>.
/// </summary>
public sealed record DevelopmentIdentity(string Name, IReadOnlyList<string> Roles)
{
    /// <summary>The default: a developer holding every hub role.</summary>
    public static DevelopmentIdentity Developer { get; } = new("developer", StaffRoles.All);

    public ClientPrincipal ToPrincipal() => ClientPrincipal.Development(Name, Roles);

    public override string ToString() => $"{Name} ({(Roles.Count == 0 ? "no roles" : string.Join(", ", Roles))})";

    /// <summary>Reads <c>name:role,role</c> (roles from <see cref="StaffRoles.All"/>; <c>name:</c> is a sign-in without hub roles).</summary>
    /// <exception cref="ArgumentException">The text names no one or a role the hub does not have.</exception>
    public static DevelopmentIdentity Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = (colon < 0 ? text : text[..colon]).Trim();
        if (name.Length == 0 || name.Length > 100 || name.Any(char.IsControl))
        {
            throw new ArgumentException($"--as '{text}' needs a name before the roles, e.g. \"dana:viewer,decider\"");
        }

        var roles = colon < 0
            ? StaffRoles.All
            : text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (roles.FirstOrDefault(r => !StaffRoles.All.Contains(r, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"--as: '{unknown}' is not a hub role; the roles are {string.Join(", ", StaffRoles.All)}");
        }

        return new DevelopmentIdentity(name, [.. roles.Distinct(StringComparer.Ordinal)]);
    }
}
