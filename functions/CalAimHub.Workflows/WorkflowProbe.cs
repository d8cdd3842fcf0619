using CalAimHub.Domain.Workflows;

namespace CalAimHub.Workflows;

/// <summary>
/// A built-in workflow type that proves the durable path of a deployment end to end — HTTP start, a durable timer
/// through <c>workflow-timers</c>, an event through <c>workflow-work</c>, completion — without touching member data:
/// <c>POST /api/workflows/workflow-probe</c> with <c>{"delaySeconds": 5}</c>, then watch its status.
/// </summary>
public sealed class WorkflowProbe : IWorkflowDecider<WorkflowProbeState>
{
    public const string TypeName = "workflow-probe";
    public const string TimerId = "probe";
    public const string PingEvent = "ping";
    private const int MaxDelaySeconds = 3600;

    public string Type => TypeName;
    public int Version => 1;
    public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { PingEvent };

    /// <summary>No domain API: the generic route starts it, after <see cref="ReadInput"/> accepts the input.</summary>
    public WorkflowStart StartedBy { get; } = WorkflowStart.Generic(ReadInput);
    public WorkflowProbeState InitialState => new(null, 0);

    public IReadOnlyList<WorkflowAction> Decide(WorkflowProbeState state, WorkflowEvent @event, DateTimeOffset now)
    {
        switch (@event.Name)
        {
            case WorkflowEvent.Started:
                var due = now.AddSeconds(Math.Clamp(ReadDelay(@event), 0, MaxDelaySeconds));
                return [new ScheduleTimer(TimerId, due), new SetNextDeadline(due), new SetCustomStatus(WorkflowJson.ToElement(new { pings = 0 }))];
            case PingEvent:
                return [new SetCustomStatus(WorkflowJson.ToElement(new { pings = state.Pings + 1 }))];
            case WorkflowEvent.TimerFired when @event.TimerId == TimerId && state.DueAt is { } dueAt:
                return [new CompleteWorkflow(WorkflowJson.ToElement(new { dueAt, firedAt = now, pings = state.Pings }))];
            default:
                return [];
        }
    }

    public WorkflowProbeState Evolve(WorkflowProbeState state, WorkflowEvent @event) => @event.Name switch
    {
        WorkflowEvent.Started => state with { DueAt = @event.RecordedAt.AddSeconds(Math.Clamp(ReadDelay(@event), 0, MaxDelaySeconds)) },
        PingEvent => state with { Pings = state.Pings + 1 },
        _ => state,
    };

    /// <summary>The start input: no body, or an object with at most <c>delaySeconds</c> (a whole number from 0 to 3600).</summary>
    public static WorkflowInputProblem? ReadInput(System.Text.Json.JsonElement? input)
    {
        if (input is not { } body || body.ValueKind == System.Text.Json.JsonValueKind.Null)
        {
            return null;
        }

        if (body.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            return new WorkflowInputProblem("$", "the input must be a JSON object such as {\"delaySeconds\": 5}, or no body at all");
        }

        foreach (var property in body.EnumerateObject())
        {
            if (property.Name != "delaySeconds")
            {
                return new WorkflowInputProblem(property.Name.Length <= 60 ? property.Name : property.Name[..60] + "…", "is not a workflow-probe input; the only property is delaySeconds");
            }

            if (property.Value.ValueKind != System.Text.Json.JsonValueKind.Number || !property.Value.TryGetInt32(out var seconds) || seconds is < 0 or > MaxDelaySeconds)
            {
                return new WorkflowInputProblem("delaySeconds", $"must be a whole number of seconds from 0 to {MaxDelaySeconds}");
            }
        }

        return null;
    }

    private static int ReadDelay(WorkflowEvent @event) =>
        @event.Data is { ValueKind: System.Text.Json.JsonValueKind.Object } data && data.TryGetProperty("delaySeconds", out var delay) && delay.TryGetInt32(out var seconds)
            ? seconds
            : 5;
}

public sealed record WorkflowProbeState(DateTimeOffset? DueAt, int Pings);

