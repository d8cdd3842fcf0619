using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>A partner's webhook endpoint on loopback: records every request and answers with a chosen status.</summary>
public sealed class SubscriberReceiver : IAsyncDisposable
{
    private readonly WebApplication app;

    private SubscriberReceiver(WebApplication app, Uri url)
    {
        this.app = app;
        Url = url;
    }

    public Uri Url { get; }

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    public static async Task<SubscriberReceiver> StartAsync(int statusCode)
    {
        var port = FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new SubscriberReceiver(app, new Uri($"http://127.0.0.1:{port}/hooks"));
        app.MapPost("/hooks", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver.Requests.Enqueue(new ReceivedRequest(
                request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
                request.ContentType,
                body.ToArray()));
            return Results.StatusCode(statusCode);
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed record ReceivedRequest(IReadOnlyDictionary<string, string> Headers, string? ContentType, byte[] Body);
