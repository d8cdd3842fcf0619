using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CalAimHub.Hosting.Webhooks;

namespace CalAimHub.Referrals.Tests;

/// <summary>What a referral platform and plan staff do over HTTP in the end-to-end tests: one copy for every hub fixture.</summary>
public static class ReferralApi
{
    /// <summary>POSTs <paramref name="body"/> to <c>/api/webhooks/{platform}</c>, signed now with the test platform secret.</summary>
    public static async Task<HttpResponseMessage> SendSignedWebhookAsync(
        this HttpClient api, string platform, string body, string contentType = "application/json", string? webhookId = null)
    {
        var id = webhookId ?? "evt_" + Guid.NewGuid().ToString("N");
        var bytes = Encoding.UTF8.GetBytes(body);
        var at = DateTimeOffset.UtcNow;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/webhooks/{platform}", UriKind.Relative)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Add(StandardWebhookSignature.IdHeader, id);
        request.Headers.Add(StandardWebhookSignature.TimestampHeader, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(StandardWebhookSignature.SignatureHeader, StandardWebhookSignature.Sign(id, at, bytes, [WebhookHub.Secret]));
        return await api.SendAsync(request);
    }

    /// <summary>A provider in one county (Alameda unless told) offering one service, with <paramref name="available"/> of 10 places free.</summary>
    public static async Task PutProviderAsync(this HttpClient api, string npi, string name, string service, int available, string county = "Alameda")
    {
        using var response = await api.PutAsJsonAsync($"/api/providers/{npi}", new
        {
            name,
            services = new[] { service },
            counties = new[] { county },
            capacity = new { serving = 10 - available, ableToServe = 10 },
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public static async Task<JsonElement> ReferralAsync(this HttpClient api, string referralId)
    {
        using var response = await api.GetAsync(new Uri($"/api/referrals/{Uri.EscapeDataString(referralId)}", UriKind.Relative));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Polls (real time) <c>GET /api/referrals/{id}</c> until its workflow view satisfies <paramref name="until"/>.</summary>
    public static async Task<JsonElement> WaitForWorkflowAsync(
        this HttpClient api, string referralId, Func<JsonElement, bool> until, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        JsonElement last = default;
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await api.ReferralAsync(referralId);
            if (last.TryGetProperty("workflow", out var workflow) && workflow.ValueKind == JsonValueKind.Object && until(workflow))
            {
                return workflow;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"referral {referralId}: {what} not reached in {timeout.TotalSeconds} s; last: {last}{diagnostics?.Invoke()}");
    }
}
