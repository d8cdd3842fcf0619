using System.Globalization;
using System.Text.Json;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Consent;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Invocations;
using Microsoft.Extensions.Options;

namespace CalAimHub.Functions.Outbound;

/// <summary><c>OutboundGeneration</c> (queue <c>outbound-generation</c>): one file per message; a crash retries the message, which regenerates the same bytes.</summary>
public sealed class OutboundGenerationFunction(OutboundGenerator generator) : IQueueFunction
{
    public async Task<string> HandleAsync(QueueInvocation invocation, CancellationToken cancellationToken)
    {
        OutboundRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<OutboundRequest>(invocation.Message);
        }
        catch (JsonException)
        {
            request = null;
        }

        if (request is null || string.IsNullOrEmpty(request.ProviderId) || string.IsNullOrEmpty(request.Kind))
        {
            throw new FunctionFailure("outbound request is not JSON with providerId, period and kind", permanent: true);
        }

        var outcome = await generator.GenerateAsync(request, cancellationToken);
        return $"Outbound {request.Kind} {request.ProviderId} {request.Period}: {outcome.Result}" + (outcome.File is { } file ? $", {file.Members} members" : "");
    }
}

/// <summary>
/// Queues a period's MIF / CS MIF per provider (<see cref="PeriodAsync"/>) and a day's CS authorization status files
/// (<see cref="StatusDayAsync"/>): the timer and the operator's route both come here.
/// </summary>
public sealed class OutboundSchedule(OutboundAssignments assignments, OutboundGenerationQueue queue)
{
    public async Task<IReadOnlyList<OutboundRequest>> PeriodAsync(string period, CancellationToken cancellationToken)
    {
        var requests = (await assignments.ProvidersAsync(period, cancellationToken))
            .Select(p => new OutboundRequest(p.ProviderId, period, p.Program == OutboundAssignments.Cs ? SentFileKinds.CsMif : SentFileKinds.Mif, p.Program, null))
            .ToList();
        await EnqueueAsync(requests, cancellationToken);
        return requests;
    }

    public async Task<IReadOnlyList<OutboundRequest>> StatusDayAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var period = day.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var requests = (await assignments.ProvidersAsync(period, cancellationToken)).Where(p => p.Program == OutboundAssignments.Cs)
            .Select(p => new OutboundRequest(p.ProviderId, period, SentFileKinds.CsAuthorizationStatus, p.Program, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)))
            .ToList();
        await EnqueueAsync(requests, cancellationToken);
        return requests;
    }

    private async Task EnqueueAsync(IReadOnlyList<OutboundRequest> requests, CancellationToken cancellationToken) =>
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (r, ct) => await queue.EnqueueAsync(r, ct));
}

/// <summary>
/// <c>OutboundSchedule</c> timer (daily, 14:00 UTC: 06:00/07:00 Pacific): on <c>Outbound:MifDay</c> the month's MIFs, on each
/// of <c>Outbound:CsStatusDays</c> the CS authorization status files. The day is the California date of the host's
/// invocation time (<c>sys.UtcNow</c>), so a host clock in a test decides it.
/// </summary>
public sealed class OutboundScheduleTimer(OutboundSchedule schedule, IOptions<OutboundOptions> options, CaliforniaWorkingDays calendar, TimeProvider time) : ITimerFunction
{
    public async Task<string> RunAsync(InvocationMetadata metadata, CancellationToken cancellationToken)
    {
        var today = calendar.DateOf(InvokedAt(metadata) ?? time.GetUtcNow());
        var done = new List<string>();
        if (today.Day == options.Value.MifDay)
        {
            done.Add($"{(await schedule.PeriodAsync(today.ToString("yyyy-MM", CultureInfo.InvariantCulture), cancellationToken)).Count} MIFs queued");
        }

        if (options.Value.IsCsStatusDay(today))
        {
            done.Add($"{(await schedule.StatusDayAsync(today, cancellationToken)).Count} CS authorization status files queued");
        }

        return $"Outbound schedule {today:yyyy-MM-dd}: " + (done.Count == 0 ? "nothing due" : string.Join("; ", done));
    }

    /// <summary>The host's <c>sys.UtcNow</c> of this invocation.</summary>
    public static DateTimeOffset? InvokedAt(InvocationMetadata metadata)
    {
        if (metadata.GetText("sys") is not { } sys)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(sys);
            return document.RootElement.TryGetProperty("UtcNow", out var now) && now.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(now.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
