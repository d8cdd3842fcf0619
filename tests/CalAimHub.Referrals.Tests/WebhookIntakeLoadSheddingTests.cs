using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;

namespace CalAimHub.Referrals.Tests;

/// <summary>
/// Admission control on <c>POST /api/webhooks/{platform}</c>: with one request allowed in and none waiting, a request
/// held open by a slow body makes the next one (through the local host's front door, as a platform sends it) a 429 with
/// <c>Retry-After</c> that stores nothing; the held one then completes, and the shed one succeeds when sent again. The
/// held request goes to the handler directly, so that its <c>Expect: 100-continue</c> comes from the intake itself.
/// </summary>
public sealed class WebhookIntakeLoadSheddingTests(WebhookIntakeLoadSheddingTests.OneAtATimeHub fixture) : IClassFixture<WebhookIntakeLoadSheddingTests.OneAtATimeHub>
{
    private const string Platform = WebhookHub.GenericPlatform;

    public sealed class OneAtATimeHub : IAsyncLifetime
    {
        public LocalHub Hub { get; private set; } = null!;
        public HttpClient Api { get; private set; } = null!;
        public HttpClient Handler { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Hub = await WebhookHub.StartIntakeOnlyAsync(new Dictionary<string, string>
            {
                [$"Webhooks__Platforms__{Platform}__Secrets__0"] = WebhookHub.Secret,
                ["Webhooks__MaxConcurrentRequests"] = "1",
                ["Webhooks__QueueLimit"] = "0",
                ["Webhooks__RetryAfterSeconds"] = "7",
            });
            Api = new HttpClient { BaseAddress = Hub.ApiBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            // The held request waits for 100 Continue as long as it takes (the default gives up after 1 s and sends anyway).
            Handler = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) })
            {
                BaseAddress = Hub.HandlerAddress,
                Timeout = TimeSpan.FromSeconds(60),
            };
        }

        public async Task DisposeAsync()
        {
            Api.Dispose();
            Handler.Dispose();
            await Hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task Over_the_concurrency_limit_a_webhook_is_429_problem_with_retry_after_and_nothing_is_stored()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var content = new HeldContent(ReferralSamples.GenericCreated("R-6001"), release.Task);
        var held = SendHeldAsync(content, "msg_6001");
        try
        {
            await WaitUntilInsideTheIntakeAsync(content, held);

            using var shed = await fixture.Api.SendSignedWebhookAsync(Platform, ReferralSamples.GenericCreated("R-6002"), webhookId: "msg_6002");
            var text = await shed.Content.ReadAsStringAsync();
            var problem = JsonDocument.Parse(text).RootElement;

            Assert.Equal(HttpStatusCode.TooManyRequests, shed.StatusCode);
            Assert.Equal("application/problem+json", shed.Content.Headers.ContentType?.MediaType);
            Assert.Equal("7", shed.Headers.GetValues("Retry-After").Single());
            Assert.Equal(["type", "title", "status", "detail", "traceId"], problem.EnumerateObject().Select(p => p.Name));
            Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", problem.GetProperty("type").GetString());
            Assert.Equal("Too many webhook requests", problem.GetProperty("title").GetString());
            Assert.Equal(429, problem.GetProperty("status").GetInt32());
            Assert.Equal("the hub is handling as many webhooks as it can right now; nothing was stored; send it again (same webhook-id) after 7 s", problem.GetProperty("detail").GetString());
        }
        finally
        {
            release.TrySetResult();
        }

        using var heldResponse = await held;
        Assert.Equal(HttpStatusCode.Accepted, heldResponse.StatusCode);
        Assert.Equal(0, await StoredRowsAsync("ciela:R-6002"));
        Assert.Equal(2, await StoredRowsAsync("ciela:R-6001"));
        Assert.Equal(["msg_6001"], await QueuedEventIdsAsync());

        // Shedding loses nothing: the platform sends it again after Retry-After, and it is accepted.
        using var retried = await fixture.Api.SendSignedWebhookAsync(Platform, ReferralSamples.GenericCreated("R-6002"), webhookId: "msg_6002");
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal(2, await StoredRowsAsync("ciela:R-6002"));
        Assert.Contains("Webhook intake shed 1 request(s) with 429: 1 in progress and 0 waiting", string.Join('\n', fixture.Hub.HandlerOutput), StringComparison.Ordinal);
    }

    /// <summary>
    /// The held request sends <c>Expect: 100-continue</c>, so its body is asked for only when the intake first reads it,
    /// inside the one slot. No other request is sent before: one could take the slot first and shed the held one.
    /// </summary>
    private async Task WaitUntilInsideTheIntakeAsync(HeldContent content, Task<HttpResponseMessage> held)
    {
        var first = await Task.WhenAny(content.BodyRequested, held, Task.Delay(TimeSpan.FromSeconds(30)));
        if (first == held)
        {
            using var early = await held;
            Assert.Fail($"the held request was answered before its body was read: {(int)early.StatusCode} {await early.Content.ReadAsStringAsync()}");
        }

        Assert.True(first == content.BodyRequested, "the intake did not read the held request's body within 30 s; handler log:\n" + string.Join('\n', fixture.Hub.HandlerOutput.TakeLast(20)));
    }

    private async Task<HttpResponseMessage> SendHeldAsync(HeldContent content, string webhookId)
    {
        var at = DateTimeOffset.UtcNow;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/webhooks/{Platform}", UriKind.Relative)) { Content = content };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.ExpectContinue = true;
        request.Headers.Add(StandardWebhookSignature.IdHeader, webhookId);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(webhookId, at, content.Body, [WebhookHub.Secret]));
        return await fixture.Handler.SendAsync(request);
    }

    private async Task<int> StoredRowsAsync(string referralId)
    {
        var count = 0;
        await foreach (var _ in fixture.Hub.Storage.Tables.GetTableClient("Referrals").QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {referralId}")))
        {
            count++;
        }

        return count;
    }

    private async Task<IReadOnlyList<string>> QueuedEventIdsAsync()
    {
        var messages = (await fixture.Hub.Storage.Queues.GetQueueClient("referral-events").PeekMessagesAsync(32)).Value;
        return [.. messages.Select(m => JsonDocument.Parse(m.Body.ToString()).RootElement.GetProperty("eventId").GetString()!)];
    }

    /// <summary>
    /// A body that trickles until <c>release</c> completes: leading JSON whitespace (signed with the rest), sent fast
    /// enough that Kestrel's minimum request body data rate (240 B/s after 5 s) never ends the request early.
    /// </summary>
    private sealed class HeldContent(string json, Task release) : HttpContent
    {
        // 256 B every 100 ms: about 2.5 KB/s for up to 40 s.
        private const int Padding = 100 * 1024;
        private const int Chunk = 256;
        private readonly TaskCompletionSource bodyRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public byte[] Body { get; } = Encoding.UTF8.GetBytes(new string(' ', Padding) + json);

        /// <summary>Completes when the server asked for the body (100 Continue).</summary>
        public Task BodyRequested => bodyRequested.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            bodyRequested.TrySetResult();
            var sent = 0;
            while (!release.IsCompleted && sent + Chunk <= Padding)
            {
                await stream.WriteAsync(Body.AsMemory(sent, Chunk));
                await stream.FlushAsync();
                sent += Chunk;
                await Task.WhenAny(release, Task.Delay(100));
            }

            await release;
            await stream.WriteAsync(Body.AsMemory(sent));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = Body.Length;
            return true;
        }
    }
}
