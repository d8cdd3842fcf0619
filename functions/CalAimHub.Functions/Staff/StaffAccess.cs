using System.Security.Claims;
using System.Text.Encodings.Web;
using CalAimHub.Hosting.Staff;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;

namespace CalAimHub.Functions.Staff;

/// <summary>
/// Staff sign-in and roles. In Azure, App Service authentication (Microsoft Entra ID, infra/modules/functionapp.bicep)
/// signs staff in and passes the principal in <c>X-MS-CLIENT-PRINCIPAL</c>; locally the hub's front door injects the
/// development identity (<c>./hub run --as</c>). The app trusts nothing else: no principal is 401, a principal without
/// the route's app role is 403 naming the role. Every route needs <see cref="StaffRoles.Viewer"/> (any staff role)
/// unless it is explicitly anonymous (health, webhooks, the API contract, the host's invocations), so a new route is
/// staff-only by default.
/// </summary>
public static class StaffAccess
{
    public const string Scheme = "AppServiceAuthentication";

    public static void AddStaffAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ClientPrincipalAuthentication>(Scheme, null);
        var anyStaffRole = Policy(StaffRoles.Viewer, StaffRoles.Decider, StaffRoles.Operator, StaffRoles.Privacy);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(StaffRoles.Viewer, anyStaffRole)
            .AddPolicy(StaffRoles.Decider, Policy(StaffRoles.Decider))
            .AddPolicy(StaffRoles.Operator, Policy(StaffRoles.Operator))
            .AddPolicy(StaffRoles.Privacy, Policy(StaffRoles.Privacy))
            .SetFallbackPolicy(anyStaffRole);
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, StaffRefusals>();
    }

    private static AuthorizationPolicy Policy(params string[] roles) =>
        new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().RequireRole(roles).Build();

    /// <summary>The roles of the signed-in staff member, in the order of <see cref="StaffRoles.All"/>.</summary>
    public static IReadOnlyList<string> Roles(ClaimsPrincipal user) => [.. StaffRoles.All.Where(user.IsInRole)];
}

/// <summary>Reads <c>X-MS-CLIENT-PRINCIPAL</c> into a <see cref="ClaimsPrincipal"/> with its app roles.</summary>
internal sealed class ClientPrincipalAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ClientPrincipal.Header, out var header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (ClientPrincipal.TryDecode(header.ToString()) is not { } principal)
        {
            return Task.FromResult(AuthenticateResult.Fail($"{ClientPrincipal.Header} is not base64 JSON of a client principal"));
        }

        var identity = ToIdentity(principal);
        return Task.FromResult(identity.Name is { Length: > 0 }
            ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name))
            : AuthenticateResult.Fail($"{ClientPrincipal.Header} names nobody"));
    }

    /// <summary>
    /// Easy Auth lists Entra app roles as <c>roles</c> claims while its <c>role_typ</c> may name another type, so roles
    /// are read from both and stored under one type; the name falls back through the claims Entra issues.
    /// </summary>
    internal static ClaimsIdentity ToIdentity(ClientPrincipal principal)
    {
        var roles = principal.Values(ClientPrincipal.RoleType)
            .Concat(principal.RoleClaimType is { } roleType ? principal.Values(roleType) : [])
            .Concat(principal.Values(ClaimTypes.Role))
            .Distinct(StringComparer.Ordinal);
        var name = (principal.NameClaimType is { } nameType ? principal.Values(nameType) : [])
            .Concat(principal.Values(ClientPrincipal.NameType))
            .Concat(principal.Values("preferred_username"))
            .Concat(principal.Values(ClaimTypes.Name))
            .FirstOrDefault(n => n.Length > 0);
        var objectId = principal.Values(ClientPrincipal.ObjectIdType).Concat(principal.Values("oid")).FirstOrDefault();
        var identity = new ClaimsIdentity(principal.AuthenticationType ?? "aad", ClaimTypes.Name, ClaimTypes.Role);
        if (name is not null)
        {
            identity.AddClaim(new Claim(ClaimTypes.Name, name));
        }

        if (objectId is not null)
        {
            identity.AddClaim(new Claim(ClientPrincipal.ObjectIdType, objectId));
        }

        identity.AddClaims(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return identity;
    }
}

/// <summary>401 and 403 as problem+json: who is missing, or which role the route needs and which the caller has.</summary>
internal sealed class StaffRefusals(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
{
    public const string SignInRequiredType = "https://calaimhub/problems/sign-in-required";
    public const string RoleRequiredType = "https://calaimhub/problems/role-required";

    private readonly AuthorizationMiddlewareResultHandler allowed = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            await WriteAsync(context, StatusCodes.Status401Unauthorized, SignInRequiredType, "Sign-in required",
                "this API is for signed-in plan staff: sign in with Microsoft Entra ID (App Service authentication sets the X-MS-CLIENT-PRINCIPAL header); no valid principal arrived",
                null);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var needed = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<RolesAuthorizationRequirement>().FirstOrDefault()?.AllowedRoles.ToArray()
                ?? policy.Requirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).ToArray();
            var held = StaffAccess.Roles(context.User);
            var need = needed.Length == 1 ? $"the '{needed[0]}' role" : $"one of the roles {string.Join(", ", needed.Select(r => $"'{r}'"))}";
            await WriteAsync(context, StatusCodes.Status403Forbidden, RoleRequiredType, "Role required",
                $"{context.Request.Method} {context.Request.Path} needs {need}; {context.User.Identity?.Name} has {(held.Count == 0 ? "no hub role" : string.Join(", ", held))}",
                needed);
            return;
        }

        await allowed.HandleAsync(next, context, policy, authorizeResult);
    }

    private async Task WriteAsync(HttpContext context, int status, string type, string title, string detail, string[]? requiredRoles)
    {
        context.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Type = type, Title = title, Detail = detail };
        if (requiredRoles is not null)
        {
            problem.Extensions["requiredRoles"] = requiredRoles;
        }

        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}
