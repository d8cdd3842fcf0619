using CalAimHub.Domain.Calendar;

namespace CalAimHub.Domain.Invoices;

/// <summary>What the invoice workflow decides with besides the invoice: the rules (data), the plan's type and who hears of what.</summary>
/// <param name="PlanSubscribers">The plan's own subscribers: reminders and escalations of the payment clock.</param>
public sealed record InvoicePolicy(InvoicePaymentRules Rules, PlanType PlanType, CaliforniaWorkingDays Calendar, IReadOnlyList<string> PlanSubscribers)
{
    public static InvoicePolicy Default(PlanType planType = PlanType.Standard, IReadOnlyList<string>? planSubscribers = null) =>
        new(InvoicePaymentRules.Current, planType, CaliforniaWorkingDays.Current, planSubscribers ?? ["invoices"]);
}
