using System.Diagnostics;
using System.Net;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Staff;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace CalAimHub.LocalHost;

/// <summary>
/// The Functions host's HTTP side: Kestrel on 127.0.0.1 with one route per httpTrigger function
/// (<c>/{routePrefix}/{route}</c>, its methods), each request proxied as-is to the handler (host.json
/// enableProxyingHttpRequest), the response streamed back. ASP.NET Core routing gives the host's precedence
/// (literal segments before parameters before catch-alls), 404 for no route and 405 for a known route with another method.
/// </summary>
internal sealed class FrontDoor : IAsyncDisposable
{
    public const string InvocationIdHeader = "X-Azure-Functions-InvocationId";
    private readonly WebApplication _app;
    private readonly HttpMessageInvoker _invoker;

    private FrontDoor(WebApplication app, HttpMessageInvoker invoker, Uri baseAddress)
    {
        _app = app;
        _invoker = invoker;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<FrontDoor> StartAsync(
        FunctionAppDefinition app,
        Func<CancellationToken, ValueTask<Uri>> handler,
        int port,
        TimeSpan invocationTimeout,
        TimeSpan handlerWait,
        DevelopmentIdentity? identity,
        Action<string> log,
        CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "hub" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            if (port == 0)
            {
                kestrel.Listen(IPAddress.Loopback, 0);
            }
            else
            {
                kestrel.ListenLocalhost(port); // http://localhost:7071 over IPv4 and IPv6, like Core Tools
            }
            kestrel.Limits.MaxRequestBodySize = 100 * 1024 * 1024; // the Functions host's HTTP request limit
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddLogging();
        builder.Services.AddHttpForwarder();
        var web = builder.Build();
        web.UseRouting();

        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        });
        var forwarder = web.Services.GetRequiredService<IHttpForwarder>();
        var config = new ForwarderRequestConfig { ActivityTimeout = invocationTimeout };
        var principal = identity?.ToPrincipal();
        var principalHeaders = principal is null ? null : new Dictionary<string, string>
        {
            [ClientPrincipal.Header] = principal.Encode(),
            ["X-MS-CLIENT-PRINCIPAL-NAME"] = identity!.Name,
            ["X-MS-CLIENT-PRINCIPAL-ID"] = principal.Values(ClientPrincipal.ObjectIdType).First(),
            ["X-MS-CLIENT-PRINCIPAL-IDP"] = "aad",
        };

        foreach (var function in app.WithTrigger(BindingDefinition.HttpTrigger))
        {
            var trigger = function.Trigger;
            var pattern = RoutePattern(app.Host.HttpRoutePrefix, trigger.Route ?? function.Name);
            var name = function.Name;
            var endpoint = web.Map(pattern, async context =>
            {
                var invocationId = Guid.NewGuid().ToString();
                var stopwatch = Stopwatch.StartNew();
                // The next ready instance; while every one is restarting, wait a little, then 503 as the host does.
                string destination;
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
                {
                    wait.CancelAfter(handlerWait);
                    try
                    {
                        destination = (await handler(wait.Token)).GetLeftPart(UriPartial.Authority) + "/";
                    }
                    catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
                    {
                        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                        context.Response.Headers.RetryAfter = "5";
                        log($"HTTP {name} {context.Request.Method} -> 503 (no handler instance up within {handlerWait.TotalSeconds:0} s) [{invocationId}]");
                        return;
                    }
                }

                var error = await forwarder.SendAsync(context, destination, invoker, config, new InvocationIdTransformer(invocationId, principalHeaders));
                // The path and query can carry identifiers (member ids), so only the function, method and status are logged.
                log($"HTTP {name} {context.Request.Method} -> {context.Response.StatusCode}" +
                    (error == ForwarderError.None ? "" : $" ({error})") + $" in {stopwatch.ElapsedMilliseconds} ms [{invocationId}]");
            });
            if (trigger.Methods is { Count: > 0 } methods)
            {
                endpoint.WithMetadata(new HttpMethodMetadata(methods.Select(m => m.ToUpperInvariant()).ToArray()));
            }

            endpoint.WithDisplayName(name);
        }

        // Someone opening the hub in a browser gets the staff console (served by the handler under the route prefix).
        var console = $"/{app.Host.HttpRoutePrefix}/console/ui".Replace("//", "/", StringComparison.Ordinal);
        web.MapGet("/", () => Results.Redirect(console));
        web.MapGet("/console", () => Results.Redirect(console));

        // No route → the pipeline's end answers 404; a route with other methods → routing answers 405.
        await web.StartAsync(cancellationToken);
        var actualPort = port != 0
            ? port
            : new Uri(web.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return new FrontDoor(web, invoker, new Uri($"http://127.0.0.1:{actualPort}"));
    }

    internal static string RoutePattern(string routePrefix, string route)
    {
        var prefix = routePrefix.Trim('/');
        var path = route.Trim('/');
        return "/" + (prefix.Length == 0 ? path : path.Length == 0 ? prefix : prefix + "/" + path);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _invoker.Dispose();
    }

    /// <summary>Sets the invocation id and, as App Service authentication does, owns the client principal headers.</summary>
    private sealed class InvocationIdTransformer(string invocationId, IReadOnlyDictionary<string, string>? principalHeaders) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(
            HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove(InvocationIdHeader);
            proxyRequest.Headers.TryAddWithoutValidation(InvocationIdHeader, invocationId);
            // A client may never choose who it is: whatever it sent is dropped, the configured identity is set.
            foreach (var header in proxyRequest.Headers.Select(h => h.Key).Where(ClientPrincipal.IsOwnedHeader).ToArray())
            {
                proxyRequest.Headers.Remove(header);
            }

            foreach (var (name, value) in principalHeaders ?? new Dictionary<string, string>())
            {
                proxyRequest.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }
}
