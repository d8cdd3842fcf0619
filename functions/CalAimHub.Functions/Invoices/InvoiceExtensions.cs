using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Invocations;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Invoices;

/// <summary>Configuration section <c>Invoices</c>.</summary>
public sealed class InvoiceOptions
{
    /// <summary><c>standard</c> (30 working days to pay or contest) or <c>hmo-type</c> (45).</summary>
    public string PlanType { get; set; } = "standard";

    /// <summary>The plan's subscribers for reminders and escalations of the payment clock.</summary>
    public List<string> PlanSubscribers { get; set; } = ["invoices"];

    public InvoicePolicy ToPolicy() => new(
        InvoicePaymentRules.Current,
        PlanType switch
        {
            "standard" => Domain.Invoices.PlanType.Standard,
            "hmo-type" => Domain.Invoices.PlanType.HmoType,
            _ => throw new InvalidOperationException($"Invoices:PlanType '{PlanType}' is not a plan type; use 'standard' (30 working days) or 'hmo-type' (45)"),
        },
        CaliforniaWorkingDays.Current,
        PlanSubscribers);
}

public static class InvoiceExtensions
{
    /// <summary>The <c>invoice</c> workflow (policy from section <c>Invoices</c>), its read models (a workflow projection) and line checks.</summary>
    public static void AddInvoices(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Invoices").Get<InvoiceOptions>() ?? new InvoiceOptions();
        var policy = options.ToPolicy();
        builder.Services.AddSingleton(policy);
        var workflow = new InvoiceWorkflow(policy);
        builder.Services.AddSingleton(workflow);
        builder.Services.AddWorkflowDecider(workflow);
        builder.Services.AddWorkflowProjection(InvoiceWorkflow.TypeName, new InvoiceReadModelsProjection(policy.Calendar, policy.Rules));
        builder.Services.AddSingleton<InvoiceReadModels>();
        builder.Services.AddSingleton<InvoiceLineChecks>();
        builder.Services.AddSingleton<InvoiceLineStaging>();
        builder.Services.AddSingleton<InvoiceFilesFunction>();
    }

    public static void MapInvoices(this WebApplication app)
    {
        app.MapQueueFunction<InvoiceFilesFunction>("InvoiceFiles");
        app.MapInvoicesApi();
    }
}
