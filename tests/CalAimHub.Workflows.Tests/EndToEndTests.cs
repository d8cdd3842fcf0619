extern alias localhost;

using System.Net;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain.Workflows;
using localhost::CalAimHub.LocalHost;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Through the local host and the real handler process, exactly as in Azure: HTTP start forwarded to the handler,
/// the durable timer as a delayed message on workflow-timers dispatched by the host's queue trigger, an event on
/// workflow-work, completion visible through the management API.
/// </summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private LocalHub hub = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        // The default app folder is the handler's build output in this build's configuration: a complete function app.
        hub = await LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            EnableBlobEvents = false,
        });
        client = new HttpClient { BaseAddress = hub.ApiBaseAddress };
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await hub.DisposeAsync();
    }

    [Fact]
    public async Task A_probe_workflow_runs_start_event_and_durable_timer_to_completion_through_the_local_host()
    {
        using var start = await client.PostAsync(new Uri("/api/workflows/workflow-probe?instanceId=e2e-probe-1", UriKind.Relative),
            new StringContent("""{"delaySeconds":15}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);

        // An event that arrives through the queue (webhooks and ingestion use this path).
        var work = hub.Storage.Queues.GetQueueClient(WorkflowOptions.WorkQueueName);
        await work.SendMessageAsync(JsonSerializer.Serialize(new WorkflowWorkMessage("e2e-probe-1", "ping-1", WorkflowProbe.PingEvent, null), WorkflowJson.Options));
        await work.SendMessageAsync(JsonSerializer.Serialize(new WorkflowWorkMessage("e2e-probe-1", "ping-1", WorkflowProbe.PingEvent, null), WorkflowJson.Options));

        JsonElement status = default;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync(new Uri("/api/workflows/e2e-probe-1?showHistory=true", UriKind.Relative));
            status = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        var output = status.GetProperty("output");
        Assert.Equal(1, output.GetProperty("pings").GetInt32());
        var due = output.GetProperty("dueAt").GetDateTimeOffset();
        var fired = output.GetProperty("firedAt").GetDateTimeOffset();
        Assert.True(fired >= due, $"fired {fired:O} before due {due:O}");
        Assert.Equal(["started", "ping", "timer-fired"], status.GetProperty("historyEvents").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }
}
