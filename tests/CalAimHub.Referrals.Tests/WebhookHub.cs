using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.LocalHost;

namespace CalAimHub.Referrals.Tests;

/// <summary>One local host (Azurite in memory, the real handler process) shared by the webhook end-to-end tests.</summary>
public sealed class WebhookHub : IAsyncLifetime
{
    public const string GenericPlatform = "ciela";
    public const string FhirPlatform = "ehreast";
    public const string KeyVaultPlatform = "kvbroken";
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    public const string RotatedSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";
    public const string WrongSecret = "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw==";
    public const int MaxBodyBytes = 8192;

    public LocalHub Hub { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Hub = await StartIntakeOnlyAsync(new Dictionary<string, string>
        {
            [$"Webhooks__Platforms__{GenericPlatform}__Secrets__0"] = RotatedSecret,
            [$"Webhooks__Platforms__{GenericPlatform}__Secrets__1"] = Secret,
            [$"Webhooks__Platforms__{FhirPlatform}__Secrets__0"] = Secret,
            [$"Webhooks__Platforms__{FhirPlatform}__Format"] = "fhir",
            [$"Webhooks__Platforms__{KeyVaultPlatform}__Secrets__0"] = "@Microsoft.KeyVault(SecretUri=https://kv-calaimhub.vault.azure.net/secrets/ciela/)",
            ["Webhooks__MaxBodyBytes"] = MaxBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Client = new HttpClient { BaseAddress = Hub.ApiBaseAddress };
    }

    /// <summary>
    /// A local host (Azurite in memory, the real handler) for webhook intake tests, with <paramref name="settings"/> on top.
    /// The referral workflow functions are switched off: these tests inspect the <c>referral-events</c> queue and the ledger
    /// (ReferralWorkflowEndToEndTests run the workflow).
    /// </summary>
    public static Task<LocalHub> StartIntakeOnlyAsync(IReadOnlyDictionary<string, string> settings) => LocalHub.StartAsync(new LocalHubOptions
    {
        InMemoryStorage = true,
        HttpPort = 0,
        UseLocalSettingsFile = false,
        EnableBlobEvents = false,
        AppSettings = new Dictionary<string, string>(settings)
        {
            ["AzureWebJobs__ReferralEvents__Disabled"] = "true",
            ["AzureWebJobs__ReferralStatusFiles__Disabled"] = "true",
        },
    });

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Hub.DisposeAsync();
    }

    public Task<HttpResponseMessage> PostAsync(string platform, string body, string webhookId, string contentType = "application/json", string secret = Secret, DateTimeOffset? timestamp = null) =>
        PostAsync(platform, Encoding.UTF8.GetBytes(body), webhookId, contentType, secret, timestamp);

    public async Task<HttpResponseMessage> PostAsync(string platform, byte[] body, string webhookId, string contentType, string secret = Secret, DateTimeOffset? timestamp = null)
    {
        var at = timestamp ?? DateTimeOffset.UtcNow;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/webhooks/{platform}", UriKind.Relative)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Add(StandardWebhookSignature.IdHeader, webhookId);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, at.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(webhookId, at, body, [secret]));
        return await Client.SendAsync(request);
    }

    /// <summary>Every message on <c>referral-events</c>, decoded.</summary>
    public async Task<IReadOnlyList<JsonElement>> QueuedEventsAsync()
    {
        var messages = (await Hub.Storage.Queues.GetQueueClient("referral-events").PeekMessagesAsync(32)).Value;
        return [.. messages.Select(m => JsonDocument.Parse(m.Body.ToString()).RootElement.Clone())];
    }

    public async Task<IReadOnlyList<JsonElement>> QueuedEventsForAsync(string referralId) =>
        [.. (await QueuedEventsAsync()).Where(e => e.GetProperty("referralId").GetString() == referralId)];

    /// <summary>Rows stored for a referral (state and event rows).</summary>
    public async Task<int> StoredRowsAsync(string referralId)
    {
        var count = 0;
        await foreach (var _ in Hub.Storage.Tables.GetTableClient("Referrals").QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {referralId}")))
        {
            count++;
        }

        return count;
    }

    public async Task<int> AllStoredRowsAsync()
    {
        var count = 0;
        await foreach (var _ in Hub.Storage.Tables.GetTableClient("Referrals").QueryAsync<TableEntity>())
        {
            count++;
        }

        return count;
    }
}
