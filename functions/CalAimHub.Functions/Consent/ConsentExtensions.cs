namespace CalAimHub.Functions.Consent;

public static class ConsentExtensions
{
    /// <summary>The consent registry (<see cref="IConsentGate"/>) and the disclosure log (<see cref="IDisclosureLog"/>) on tables.</summary>
    public static void AddConsent(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TableConsentRegistry>();
        builder.Services.AddSingleton<IConsentGate>(sp => sp.GetRequiredService<TableConsentRegistry>());
        builder.Services.AddSingleton<TableDisclosureLog>();
        builder.Services.AddSingleton<IDisclosureLog>(sp => sp.GetRequiredService<TableDisclosureLog>());
    }

    public static void MapConsent(this WebApplication app)
    {
    }
}
