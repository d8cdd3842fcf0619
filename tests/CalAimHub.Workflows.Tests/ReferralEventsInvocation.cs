using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Workflows.Tests;

/// <summary>The Functions host's queue invocation of <c>ReferralEvents</c>: one delivery of a message, as the host would POST it.</summary>
internal static class ReferralEventsInvocation
{
    /// <summary>When every message delivered here was queued (its <c>InsertionTime</c>).</summary>
    public static readonly DateTimeOffset InsertedOn = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public static async Task<HttpResponseMessage> DeliverAsync(HttpClient client, string message, string messageId, int dequeueCount, string popReceipt = "pop-1", DateTimeOffset? insertedOn = null)
    {
        var envelope = InvocationEnvelope.ForQueueMessage("referralEvent", new QueueMessageFacts(message, messageId, popReceipt, dequeueCount, insertedOn ?? InsertedOn, null, null), DateTimeOffset.UtcNow);
        using var content = new ByteArrayContent(envelope);
        content.Headers.ContentType = new("application/json");
        return await client.PostAsync(new Uri("/ReferralEvents", UriKind.Relative), content);
    }
}
