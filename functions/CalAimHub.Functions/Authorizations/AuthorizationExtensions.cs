using CalAimHub.Domain.Authorizations;
using CalAimHub.Functions.Extensions;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Authorizations;

public static class AuthorizationExtensions
{
    /// <summary>The <c>authorization</c> workflow, its policy from configuration section <c>Authorizations</c>, and the member index.</summary>
    public static void AddAuthorizations(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Authorizations").Get<AuthorizationOptions>() ?? new AuthorizationOptions();
        var policy = options.ToPolicy();
        builder.Services.AddSingleton(policy);
        var workflow = new AuthorizationWorkflow(policy);
        builder.Services.AddSingleton(workflow);
        builder.Services.AddWorkflowDecider(new ListedAuthorizationWorkflow(workflow));
        builder.Services.AddSingleton<MemberAuthorizationIndex>();

        // The listing rows ride the workflow outbox as notices to an internal subscriber; this notifier writes them and
        // passes every partner notice on. Registered after AddWorkflows' notifier (Program.cs order): the last one wins.
        builder.Services.AddSingleton<AuthorizationListingIndex>();
        // Notices to a subscriber without a URL are left out here (one start-up warning says so), not failed per notice.
        builder.Services.AddSingleton<IWorkflowNotifier>(sp => new ListingAwareNotifier(
            ActivatorUtilities.CreateInstance<Notifications.ConfiguredSubscribersNotifier>(sp, ActivatorUtilities.CreateInstance<Workflows.NotificationQueueNotifier>(sp)),
            sp.GetRequiredService<AuthorizationListingIndex>()));

        if (options.AcceleratedClock is not { } clock)
        {
            return;
        }

        // A fast clock in production would falsify every regulatory deadline: only ever outside Azure.
        builder.Configuration.RefuseInAzure("Authorizations:AcceleratedClock");

        // The business clock only (the workflow runtime resolves it by key, whichever of AddWorkflows and this runs first);
        // the app's TimeProvider (Notify's webhook-timestamp, the replay window) stays real.
        builder.Services.AddKeyedSingleton<TimeProvider>(WorkflowClock.Key, new AcceleratedTimeProvider(clock.Start, clock.Speed));
    }
}
