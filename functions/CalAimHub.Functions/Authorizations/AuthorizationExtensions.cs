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
        builder.Services.AddSingleton(options);
        var workflow = new AuthorizationWorkflow(policy);
        builder.Services.AddSingleton(workflow);
        builder.Services.AddWorkflowDecider(workflow);
        builder.Services.AddWorkflowProjection(AuthorizationWorkflow.TypeName, new AuthorizationListingProjection());
        builder.Services.AddSingleton<MemberAuthorizationIndex>();
        builder.Services.AddSingleton<AuthorizationListingIndex>();

        if (options.AcceleratedClock is not { } clock)
        {
            return;
        }

        // A fast clock in production would falsify every regulatory deadline: only ever outside Azure.
        builder.Configuration.RefuseInAzure("Authorizations:AcceleratedClock");

        // The business clock only (the workflow runtime resolves it by key, whichever of AddWorkflows and this runs first);
        // the app's TimeProvider (Notify's webhook-timestamp, the replay window) stays real.
        builder.Services.AddKeyedSingleton<TimeProvider>(WorkflowClock.Key, new AcceleratedTimeProvider(clock.Start, clock.Speed, clock.Epoch));
    }
}
