using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CalAimHub.Hosting.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Chaos;

/// <summary>One notice as a subscriber's endpoint received it (signature verified against the real clock).</summary>
public sealed record ReceivedNotice(string WebhookId, string Subscriber, string Type, string Subject);

/// <summary>
/// Every subscriber's webhook endpoint on one loopback listener (<c>/hooks/{subscriber}</c>): verifies each Standard Webhooks
/// signature as a partner would and counts every 2xx-answered POST per <c>webhook-id</c>. Subscriber
/// <see cref="FailingSubscriber"/> always answers 500 (the scenario's one expected poison message).
/// </summary>
public sealed class NoticeReceivers : IAsyncDisposable
{
    public const string FailingSubscriber = "always-500";
    private readonly WebApplication app;
    private int signatureFailures;
    private int failingAttempts;

    private NoticeReceivers(WebApplication app, Uri baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>Ends with a slash: <c>new Uri(BaseUrl, subscriber)</c> is the subscriber's endpoint.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Every accepted POST per webhook-id (the first notice kept, the count of arrivals).</summary>
    public ConcurrentDictionary<string, (ReceivedNotice Notice, int Count)> ById { get; } = new(StringComparer.Ordinal);

    public int SignatureFailures => Volatile.Read(ref signatureFailures);

    public int FailingAttempts => Volatile.Read(ref failingAttempts);

    public Uri UrlOf(string subscriber) => new(BaseUrl, subscriber);

    public static async Task<NoticeReceivers> StartAsync(string secret)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var web = builder.Build();
        var receivers = new NoticeReceivers(web, new Uri($"http://127.0.0.1:{port}/hooks/"));
        web.MapPost("/hooks/{subscriber}", async (string subscriber, HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            if (subscriber == FailingSubscriber)
            {
                Interlocked.Increment(ref receivers.failingAttempts);
                return Results.StatusCode(500);
            }

            var id = request.Headers[StandardWebhookSignature.IdHeader].ToString();
            if (StandardWebhookSignature.Verify(id, request.Headers[StandardWebhookSignature.TimestampHeader], request.Headers[StandardWebhookSignature.SignatureHeader],
                    buffer.ToArray(), [secret], DateTimeOffset.UtcNow) is not null)
            {
                Interlocked.Increment(ref receivers.signatureFailures);
                return Results.StatusCode(401);
            }

            using var body = JsonDocument.Parse(buffer.ToArray());
            var notice = new ReceivedNotice(id, subscriber, body.RootElement.GetProperty("type").GetString() ?? "",
                body.RootElement.TryGetProperty("subject", out var subject) ? subject.GetString() ?? "" : "");
            receivers.ById.AddOrUpdate(id, _ => (notice, 1), (_, seen) => (seen.Notice, seen.Count + 1));
            return Results.NoContent();
        });
        await web.StartAsync();
        return receivers;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
