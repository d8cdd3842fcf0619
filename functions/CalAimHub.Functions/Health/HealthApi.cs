using System.Diagnostics;
using System.Reflection;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Health;

/// <summary><c>GET /api/health</c>: the version and whether blob, queue and table storage answer (503 when one does not).</summary>
public static class HealthApi
{
    public static readonly string Version =
        typeof(HealthApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static void MapHealthApi(this WebApplication app) => app.MapGet("/api/health", async (StorageAccount storage, FunctionAppDefinition definition, CancellationToken cancellationToken) =>
    {
        var layout = definition.Storage;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var checks = await Task.WhenAll(
            CheckAsync("blob", () => storage.Blobs.GetBlobContainerClient(layout.Containers[0]).GetPropertiesAsync(cancellationToken: timeout.Token)),
            CheckAsync("queue", () => storage.Queues.GetQueueClient(layout.Queues[0]).GetPropertiesAsync(timeout.Token)),
            CheckAsync("table", () => storage.Tables.GetTableClient(layout.Tables[0]).QueryAsync<Azure.Data.Tables.TableEntity>(maxPerPage: 1, cancellationToken: timeout.Token).AsPages().GetAsyncEnumerator(timeout.Token).MoveNextAsync().AsTask()));
        var healthy = checks.All(c => c.Status == "ok");
        var report = new HealthReport(healthy ? "healthy" : "unhealthy", Version, checks.ToDictionary(c => c.Component, c => c));
        return Results.Json(report, statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }).WithTags("Operations").WithName("GetHealth").WithSummary("Version and blob/queue/table reachability; 503 when any fails")
        .Produces<HealthReport>().Produces<HealthReport>(StatusCodes.Status503ServiceUnavailable).AllowAnonymous();

    private static async Task<ComponentHealth> CheckAsync(string component, Func<Task> probe)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await probe();
            return new ComponentHealth(component, "ok", watch.ElapsedMilliseconds, null);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or HttpRequestException or AggregateException)
        {
            var error = e is Azure.RequestFailedException r ? $"{r.Status} {r.ErrorCode}" : e.GetType().Name;
            return new ComponentHealth(component, "failed", watch.ElapsedMilliseconds, error);
        }
    }
}

public sealed record HealthReport(string Status, string Version, IReadOnlyDictionary<string, ComponentHealth> Storage);

public sealed record ComponentHealth(string Component, string Status, long ElapsedMs, string? Error);
