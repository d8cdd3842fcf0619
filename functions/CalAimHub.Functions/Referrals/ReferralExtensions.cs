using CalAimHub.Functions.Extensions;
using CalAimHub.Domain.Referrals;
using CalAimHub.Functions.Invocations;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Referrals;

public static class ReferralExtensions
{
    /// <summary>Webhook platforms, the referral ledger, the <c>referral</c> workflow (section <c>Referrals</c>) and the provider directory.</summary>
    public static void AddReferrals(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Referrals").Get<ReferralOptions>() ?? new ReferralOptions();
        var policy = options.ToPolicy();
        if (builder.Configuration.GetSection("Referrals:FaultInjection").Exists())
        {
            // A fault point kills the process on purpose: only ever outside Azure.
            builder.Configuration.RefuseInAzure("Referrals:FaultInjection");
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(policy);
        builder.Services.AddSingleton(new ReferralWorkflow(policy));
        builder.Services.AddWorkflowDecider<ReferralWorkflow, ReferralState>();
        builder.Services.AddSingleton<ReferralDirectory>();
        builder.Services.AddSingleton<ReferralMemberIndex>();
        builder.Services.AddSingleton<IReferralStatusSource, WorkflowReferralStatusSource>();

        builder.Services.AddSingleton<WebhookPlatforms>();
        builder.AddWebhookIntake();
        builder.Services.AddSingleton<WebhookIdClaims>();
        builder.Services.AddSingleton<TableReferralLedger>();
        builder.Services.AddSingleton<IReferralLedger>(sp => sp.GetRequiredService<TableReferralLedger>());

        // Referral notices as FHIR Task for FHIR platforms (and subscribers with Notifications:Subscribers:{id}:Format=fhir).
        builder.Services.AddSingleton<Notifications.INotificationFormatter, ReferralFhirNoticeFormatter>();
    }

    public static void MapReferrals(this WebApplication app)
    {
        app.MapWebhookIntake();
        app.MapReferralsApi();
        app.MapProviderDirectoryApi();
        app.MapQueueFunction<ReferralEventsFunction>("ReferralEvents");
        app.MapQueueFunction<ReferralStatusFilesFunction>("ReferralStatusFiles");
    }
}
