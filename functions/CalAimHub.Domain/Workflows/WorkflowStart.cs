using System.Text.Json;

namespace CalAimHub.Domain.Workflows;

/// <summary>
/// Who may start instances of a workflow type. A type with a domain API (authorization, referral, and every later
/// one) is started only there: the domain API checks what the generic route cannot (signatures, duplicates, the
/// member index), and an instance id pre-created through the generic route would otherwise swallow the real
/// instance's events. A type without one may be started through <c>POST /api/workflows/{type}</c>, and its input is
/// read by the type's own reader before anything is stored.
/// </summary>
public abstract record WorkflowStart
{
    private WorkflowStart()
    {
    }

    /// <summary>Started only by its domain API, e.g. <c>POST /api/authorizations</c>; the generic route answers 403 naming it.</summary>
    public static WorkflowStart ByDomainApi(string route) => new DomainApi(route);

    /// <summary>The generic route may start it; <paramref name="readInput"/> checks the start input (null = acceptable).</summary>
    public static WorkflowStart Generic(Func<JsonElement?, WorkflowInputProblem?> readInput) => new GenericRoute(readInput);

    /// <summary>Only the domain API at <paramref name="Route"/> starts this type.</summary>
    public sealed record DomainApi(string Route) : WorkflowStart;

    /// <summary>The generic route starts this type once <paramref name="ReadInput"/> accepts the input.</summary>
    public sealed record GenericRoute(Func<JsonElement?, WorkflowInputProblem?> ReadInput) : WorkflowStart;
}

/// <summary>Why a start input was refused: the field (JSON path such as <c>delaySeconds</c>, or <c>$</c> for the whole body) and what is wrong, without echoing its value.</summary>
public sealed record WorkflowInputProblem(string Field, string Detail);
