using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace CalAimHub.LocalHost.Tests;

/// <summary>A function app folder in a temp directory: host.json, storage-layout.json, function folders.</summary>
internal sealed class TestApp : IDisposable
{
    private TestApp(string directory) => Directory = directory;

    public string Directory { get; }

    public static TestApp Create(
        Dictionary<string, JsonObject> functions,
        string[]? queues = null,
        string[]? containers = null,
        string executable = "handler.js",
        JsonObject? queueSettings = null,
        string[]? arguments = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "hub-test-app-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var host = new JsonObject
        {
            ["version"] = "2.0",
            ["customHandler"] = new JsonObject
            {
                ["description"] = new JsonObject { ["defaultExecutablePath"] = executable, ["workingDirectory"] = "", ["arguments"] = new JsonArray((arguments ?? []).Select(a => (JsonNode)a).ToArray()) },
                ["enableProxyingHttpRequest"] = true,
            },
            ["functionTimeout"] = "00:01:00",
            ["extensions"] = new JsonObject
            {
                ["http"] = new JsonObject { ["routePrefix"] = "api" },
                ["queues"] = queueSettings ?? new JsonObject
                {
                    ["batchSize"] = 16,
                    ["maxPollingInterval"] = "00:00:00.200",
                    ["visibilityTimeout"] = "00:00:30",
                    ["maxDequeueCount"] = 5,
                    ["messageEncoding"] = "base64",
                },
            },
        };
        File.WriteAllText(Path.Combine(directory, "host.json"), host.ToJsonString());
        var layout = new JsonObject
        {
            ["containers"] = new JsonArray((containers ?? ["inbound"]).Select(c => (JsonNode)c).ToArray()),
            ["queues"] = new JsonArray((queues ?? ["blob-created", "work"]).Select(q => (JsonNode)q).ToArray()),
            ["tables"] = new JsonArray("Things"),
        };
        File.WriteAllText(Path.Combine(directory, "storage-layout.json"), layout.ToJsonString());
        foreach (var (name, binding) in functions)
        {
            var folder = Path.Combine(directory, name);
            System.IO.Directory.CreateDirectory(folder);
            var bindings = new JsonArray(binding);
            if ((string?)binding["type"] == "httpTrigger")
            {
                bindings.Add(new JsonObject { ["type"] = "http", ["direction"] = "out", ["name"] = "res" });
            }

            File.WriteAllText(Path.Combine(folder, "function.json"), new JsonObject { ["bindings"] = bindings }.ToJsonString());
        }

        return new TestApp(directory);
    }

    public static JsonObject Queue(string queue, string name = "message") =>
        new() { ["type"] = "queueTrigger", ["direction"] = "in", ["name"] = name, ["queueName"] = queue, ["connection"] = "AzureWebJobsStorage" };

    public static JsonObject Timer(string schedule, bool runOnStartup = false) =>
        new() { ["type"] = "timerTrigger", ["direction"] = "in", ["name"] = "timer", ["schedule"] = schedule, ["runOnStartup"] = runOnStartup };

    public static JsonObject Http(string route, params string[] methods) =>
        new()
        {
            ["type"] = "httpTrigger", ["direction"] = "in", ["name"] = "req", ["authLevel"] = "anonymous", ["route"] = route,
            ["methods"] = new JsonArray(methods.Select(m => (JsonNode)m).ToArray()),
        };

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One request the stand-in handler received.</summary>
internal sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// A stand-in custom handler on a free loopback port: answers GET /, records every other request, and answers
/// invocations (<c>POST /{Function}</c>) with the status <see cref="InvocationStatus"/> returns; <c>/api/...</c>
/// requests get an echo of what arrived.
/// </summary>
internal sealed class StandInHandler : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StandInHandler(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    public Func<ReceivedRequest, int> InvocationStatus { get; set; } = _ => 200;

    public IReadOnlyList<ReceivedRequest> Invocations(string function) =>
        Requests.Where(r => r.Method == "POST" && r.Path == "/" + function).ToArray();

    public static async Task<StandInHandler> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        StandInHandler? handler = null;
        app.Run(async context =>
        {
            if (context.Request.Method == "GET" && context.Request.Path == "/")
            {
                return;
            }

            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var request = new ReceivedRequest(
                context.Request.Method,
                context.Request.Path.ToUriComponent(),
                context.Request.QueryString.Value ?? "",
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body);
            handler!.Requests.Enqueue(request);
            if (request.Path.StartsWith("/api/", StringComparison.Ordinal))
            {
                context.Response.StatusCode = 201;
                context.Response.Headers["X-Echo"] = "yes";
                await context.Response.WriteAsJsonAsync(new { method = request.Method, path = request.Path, query = request.Query, body });
                return;
            }

            context.Response.StatusCode = handler.InvocationStatus(request);
            await context.Response.WriteAsJsonAsync(new { Outputs = new { }, Logs = Array.Empty<string>(), ReturnValue = (object?)null });
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        handler = new StandInHandler(app, address);
        return handler;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal static class Hubs
{
    /// <summary>Options for a test hub: in-memory Azurite on free ports, a free HTTP port, the stand-in handler.</summary>
    public static LocalHubOptions For(TestApp app, StandInHandler? handler, List<string>? log = null) => new()
    {
        AppDirectory = app.Directory,
        InMemoryStorage = true,
        HttpPort = 0,
        HandlerUrl = handler?.Address,
        UseLocalSettingsFile = false,
        Log = log is null ? null : line =>
        {
            lock (log)
            {
                log.Add(line);
            }
        },
    };

    public static string[] Snapshot(List<string> log)
    {
        lock (log)
        {
            return [.. log];
        }
    }
}
