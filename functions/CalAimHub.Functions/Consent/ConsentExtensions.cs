namespace CalAimHub.Functions.Consent;

public static class ConsentExtensions
{
    /// <summary>The consent registry (<see cref="IConsentGate"/>), the disclosure log (<see cref="IDisclosureLog"/>) on tables, and
    /// the reconciliation of arriving RTFs against what was sent (<see cref="Reconciliation.RtfReconciler"/>).</summary>
    public static void AddConsent(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TableConsentRegistry>();
        builder.Services.AddSingleton<IConsentGate>(sp => sp.GetRequiredService<TableConsentRegistry>());
        builder.Services.AddSingleton<TableDisclosureLog>();
        builder.Services.AddSingleton<IDisclosureLog>(sp => sp.GetRequiredService<TableDisclosureLog>());
        builder.Services.AddSingleton<Reconciliation.RtfReconciler>();
        builder.Services.AddSingleton<Reconciliation.RtfReconciliationFunction>();
    }

    public static void MapConsent(this WebApplication app)
    {
        app.MapConsentApi();
        Reconciliation.ReconciliationApi.MapReconciliationApi(app);
        Invocations.FunctionEndpointExtensions.MapQueueFunction<Reconciliation.RtfReconciliationFunction>(app, "RtfReconciliation");
    }
}
