namespace CalAimHub.Functions.Referrals;

public static class ReferralExtensions
{
    /// <summary>Webhook platforms, the referral ledger (until the referral workflow takes it over) and the provider directory.</summary>
    public static void AddReferrals(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<WebhookPlatforms>();
        builder.Services.AddSingleton<TableReferralLedger>();
        builder.Services.AddSingleton<IReferralLedger>(sp => sp.GetRequiredService<TableReferralLedger>());
    }

    public static void MapReferrals(this WebApplication app)
    {
        app.MapWebhookIntake();
        app.MapReferralsApi();
        app.MapProviderDirectoryApi();
    }
}
