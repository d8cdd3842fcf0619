using System.Collections.Frozen;
using System.ComponentModel;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace CalAimHub.Functions.StaffConsole;

/// <summary>
/// The staff web console: <c>GET /api/console/ui</c> is the HTML shell (hash routes <c>#/today</c>, <c>#/authorizations</c>,
/// <c>#/referrals</c>, <c>#/files</c>, <c>#/operations</c>), <c>GET /api/console/ui/assets/{file}</c> its script, styles and
/// the chart library. Everything is embedded in the handler assembly (resources <c>console/*</c>), so the publish output
/// carries it and nothing is loaded from the internet; the content security policy forbids any other origin.
/// </summary>
public static class ConsoleUi
{
    public const string Route = "/api/console/ui";
    public const string AssetRoute = Route + "/assets";
    public const string ResourcePrefix = "console/";
    public const string Shell = "index.html";

    /// <summary>Same-origin only: scripts, styles, data (fetch) and images; no inline script, no frames.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> MediaTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly Lazy<FrozenDictionary<string, ConsoleAsset>> Assets = new(Load);

    /// <summary>The embedded files by name (<c>index.html</c>, <c>console.js</c>, …).</summary>
    public static IReadOnlyDictionary<string, ConsoleAsset> All => Assets.Value;

    public static void MapConsoleUi(this WebApplication app)
    {
        // Anonymous, unlike every staff route: the page and its scripts hold no data, and a browser that is not signed in
        // must get the page to be offered the sign-in. The page asks /api/console/me; its 401 shows "Sign in", which goes to
        // App Service authentication (/.auth/login/aad) and back. Every data route stays behind sign-in and roles.
        var ui = app.MapGroup(Route).WithTags("Console").AllowAnonymous();
        ui.MapGet("", GetShell).WithName("GetConsoleUi")
            .WithSummary("The staff console's HTML page (hash routes #/today, #/authorizations, #/referrals, #/files, #/operations)")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status400BadRequest); // the strict-input edge: a query value with a control character
        ui.MapGet("/assets/{file}", GetAsset).WithName("GetConsoleAsset")
            .WithSummary("A script, style sheet or the chart library of the staff console")
            .Produces(StatusCodes.Status200OK, contentType: "text/javascript")
            .Produces(StatusCodes.Status200OK, contentType: "text/css")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static IResult GetShell(HttpContext context) => Serve(context, All[Shell]);

    private static IResult GetAsset([Description("The asset's file name, e.g. console.js")] string file, HttpContext context) =>
        file != Shell && All.TryGetValue(file, out var asset)
            ? Serve(context, asset)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such console asset",
                detail: $"the console has no asset '{file}'; its assets are {string.Join(", ", All.Keys.Where(k => k != Shell).Order(StringComparer.Ordinal))}");

    /// <summary>Revalidated on every load (no-cache + ETag): a new deployment is seen at once, an unchanged one costs a 304.</summary>
    private static IResult Serve(HttpContext context, ConsoleAsset asset)
    {
        var headers = context.Response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        if (asset.Name == Shell)
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
        }

        if (context.Request.GetTypedHeaders().IfNoneMatch is { Count: > 0 } ifNoneMatch && ifNoneMatch.Any(e => e.Tag == asset.ETag || e.Equals(EntityTagHeaderValue.Any)))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(asset.Content, asset.MediaType);
    }

    private static FrozenDictionary<string, ConsoleAsset> Load()
    {
        var assembly = typeof(ConsoleUi).Assembly;
        var assets = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var name = resource[ResourcePrefix.Length..];
            var content = buffer.ToArray();
            var mediaType = MediaTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
            assets[name] = new ConsoleAsset(name, content, mediaType, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

/// <param name="ETag">A strong validator from the content's hash.</param>
public sealed record ConsoleAsset(string Name, byte[] Content, string MediaType, string ETag);
