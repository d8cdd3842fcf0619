using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Testing;

namespace CalAimHub.Domain.Tests;

/// <summary>Given/when/then driver for the invoice decider: a file arrives, its lines are checked, the plan remits.</summary>
internal sealed class InvoiceScenario(DateTimeOffset start, InvoicePolicy? policy = null)
    : DeciderScenario<InvoiceWorkflow, InvoiceState>(new InvoiceWorkflow(policy ?? InvoicePolicy.Default()), start)
{
    public const string Provider = "1234567893";
    public const string Number = "INV-2026-0042";
    public static readonly string Id = InvoiceIds.For(Provider, Number);

    public static ReceivedLine Line(int number, decimal charge = 100m, params ContestReason[] problems) =>
        new(number, new DateOnly(2026, 10, 5), null, "G9012", ["U2"], 4m, charge, problems.Length == 0 ? "auth-1" : null, problems);

    public IReadOnlyList<WorkflowAction> Receive(params ReceivedLine[] lines)
    {
        var at = Time.GetUtcNow();
        var started = When(WorkflowEvent.Started, new InvoiceStart(Id, Number, Provider, "cbo-1", "cbo-1", at));
        return [.. started, .. When(InvoiceEvents.LinesReceived, new LinesReceived(at, lines))];
    }

    /// <summary>A staged invoice: started with its lines in the start's own commit.</summary>
    public IReadOnlyList<WorkflowAction> StartWith(params ReceivedLine[] lines) =>
        When(WorkflowEvent.Started, new InvoiceStart(Id, Number, Provider, "cbo-1", "cbo-1", Time.GetUtcNow(), lines));

    /// <summary>A later file (a correction) with these lines, arriving now.</summary>
    public IReadOnlyList<WorkflowAction> Resubmit(params ReceivedLine[] lines) =>
        When(InvoiceEvents.LinesReceived, new LinesReceived(Time.GetUtcNow(), lines));

    public IReadOnlyList<WorkflowAction> Remit(string remittanceId, params LineOutcome[] outcomes) =>
        When(InvoiceEvents.Remittance, new Remittance(remittanceId, outcomes));

    public static LineOutcome Pay(int line, decimal amount, DateOnly on) => new(line, LineOutcomeKind.Paid, on, amount);
}
