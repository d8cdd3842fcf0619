using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using CalAimHub.Domain.Referrals;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Hosting.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Issue 11: the queue counts a delivery whose worker died like one whose function threw, so five worker deaths during
/// a long invocation poisoned good messages in the chaos run (two 5,000-row files at 50–100 s per attempt). The last
/// allowed delivery of a message whose earlier ones did not all throw goes back as a fresh copy
/// (<see cref="DeliveryAttemptLedger"/>), at most <see cref="DeliveryAttemptLedger.MaxFreshCopies"/> times per body; a
/// message that throws every time still reaches the poison queue on its fifth.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class DeliveryAttemptTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private WebApplicationFactory<Program> factory = null!;
    private HttpClient client = null!;

    private QueueClient Queue => factory.Services.GetRequiredService<StorageAccount>().Queues.GetQueueClient("referral-events");

    private QueueClient Poison => factory.Services.GetRequiredService<StorageAccount>().Queues.GetQueueClient("referral-events-poison");

    public async Task InitializeAsync()
    {
        await azurite.Storage.ProvisionAsync(StorageLayout.Load(Path.Combine(AppContext.BaseDirectory, StorageLayout.FileName)));
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("FUNCTIONS_APP_ROOT_PATH", AppContext.BaseDirectory);
            b.UseSetting("AzureWebJobsStorage", azurite.ConnectionString);
            b.UseSetting("Referrals:AuthorizationServices", "");
        });
        client = factory.CreateClient();
        await Queue.ClearMessagesAsync();
        await Poison.ClearMessagesAsync();
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await factory.DisposeAsync();
    }

    /// <summary>A status change for a referral that has no workflow: its function throws on every delivery (retried).</summary>
    private static string StatusOfUnknownReferral()
    {
        var platformId = "sr-" + Guid.NewGuid().ToString("N")[..8];
        return JsonSerializer.Serialize(new ReferralEvent(
            "evt-" + platformId, "ehrwest", ReferralEvent.HubReferralId("ehrwest", platformId), platformId, ReferralEventKind.StatusChanged, ReferralStatus.Accepted,
            "accepted", null, new ReferralService("medically-tailored-meals", []), null, new ReferringEntity("Valley Clinic", null),
            null, ReferralUrgency.Routine, T0, T0), ReferralJson.Options);
    }

    private async Task<(HttpStatusCode Status, string Body)> DeliverAsync(string message, string messageId, int delivery)
    {
        using var answer = await ReferralEventsInvocation.DeliverAsync(client, message, messageId, delivery);
        return (answer.StatusCode, await answer.Content.ReadAsStringAsync());
    }

    private static string Log(string body) => Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("Logs").EnumerateArray()).GetString()!;

    [Fact]
    public async Task The_last_delivery_after_worker_deaths_hands_the_message_back_as_a_fresh_copy_instead_of_running()
    {
        var message = StatusOfUnknownReferral();
        var id = "m-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.InternalServerError, (await DeliverAsync(message, id, 1)).Status); // threw: counted as the message's failure
        Assert.Equal(HttpStatusCode.InternalServerError, (await DeliverAsync(message, id, 2)).Status);
        // deliveries 3 and 4: the worker died before answering (nothing recorded)

        var (status, body) = await DeliverAsync(message, id, 5);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($"Message {id} handed back as a fresh copy: 2 of its 4 earlier deliveries ended without an answer (the worker stopped).", Log(body));
        var copy = Assert.Single((await Queue.ReceiveMessagesAsync(32)).Value);
        Assert.Equal("handed-back first-queued=2026-03-02T09:00:00.0000000Z\n" + message, copy.MessageText); // keeps when it was first queued
        Assert.Equal(1, copy.DequeueCount);
        Assert.Empty((await Poison.PeekMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task A_message_that_threw_on_every_delivery_is_dead_lettered_on_its_last_with_no_copy()
    {
        var message = StatusOfUnknownReferral();
        var id = "m-" + Guid.NewGuid().ToString("N")[..8];
        for (var delivery = 1; delivery <= 4; delivery++)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await DeliverAsync(message, id, delivery)).Status);
        }

        var (status, body) = await DeliverAsync(message, id, 5);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("Dead-lettered after 5 attempts: referral ", Log(body), StringComparison.Ordinal);
        Assert.Empty((await Queue.PeekMessagesAsync(32)).Value);
        Assert.Single((await Poison.PeekMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task A_body_gets_at_most_three_fresh_copies_so_a_message_that_kills_its_worker_still_reaches_the_poison_queue()
    {
        var message = StatusOfUnknownReferral();
        var answers = new List<string>();
        for (var copy = 0; copy <= DeliveryAttemptLedger.MaxFreshCopies; copy++)
        {
            // Each copy is a new message id whose first four deliveries all died.
            answers.Add(Log((await DeliverAsync(message, $"m-copy-{copy}-{Guid.NewGuid():N}", 5)).Body));
        }

        Assert.All(answers.Take(DeliveryAttemptLedger.MaxFreshCopies), a => Assert.Contains("handed back as a fresh copy: 4 of its 4 earlier deliveries", a, StringComparison.Ordinal));
        Assert.StartsWith("Dead-lettered after 5 attempts: referral ", answers[^1], StringComparison.Ordinal);
        Assert.Equal(DeliveryAttemptLedger.MaxFreshCopies, (await Queue.PeekMessagesAsync(32)).Value.Length);
        Assert.Single((await Poison.PeekMessagesAsync(32)).Value);
    }
}
