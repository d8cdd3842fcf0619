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
    /// <summary>
    /// The <c>invoice</c> workflow (policy from section <c>Invoices</c>), its line checks and read models. Call after
    /// <c>AddAuthorizations</c>: the read-model notifier wraps the notifier registered last.
    /// </summary>
    public static void AddInvoices(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Invoices").Get<InvoiceOptions>() ?? new InvoiceOptions();
        var policy = options.ToPolicy();
        builder.Services.AddSingleton(policy);
        var workflow = new InvoiceWorkflow(policy);
        builder.Services.AddSingleton(workflow);
        builder.Services.AddWorkflowDecider(new ProjectedInvoiceWorkflow(workflow));
        builder.Services.AddSingleton<InvoiceReadModels>();
        builder.Services.AddSingleton<InvoiceLineChecks>();
        builder.Services.AddSingleton<InvoiceFilesFunction>();

        var previous = builder.Services.Last(d => d.ServiceType == typeof(IWorkflowNotifier));
        builder.Services.Remove(previous);
        builder.Services.AddSingleton<IWorkflowNotifier>(sp => new InvoiceProjectionNotifier(Build(previous, sp), sp.GetRequiredService<InvoiceReadModels>()));
    }

    public static void MapInvoices(this WebApplication app)
    {
        app.MapQueueFunction<InvoiceFilesFunction>("InvoiceFiles");
        app.MapInvoicesApi();
    }

    private static IWorkflowNotifier Build(ServiceDescriptor descriptor, IServiceProvider services) =>
        descriptor.ImplementationInstance as IWorkflowNotifier
        ?? descriptor.ImplementationFactory?.Invoke(services) as IWorkflowNotifier
        ?? (IWorkflowNotifier)ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!);
}
