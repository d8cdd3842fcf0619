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
        builder.Services.AddSingleton(new AuthorizationWorkflow(policy));
        builder.Services.AddWorkflowDecider<AuthorizationWorkflow, AuthorizationState>();
        builder.Services.AddSingleton<MemberAuthorizationIndex>();

        if (options.AcceleratedClock is { } clock)
        {
            // A fast clock in production would falsify every regulatory deadline: only ever outside Azure.
            builder.Configuration.RefuseInAzure("Authorizations:AcceleratedClock");

            // Replaces the app's clock (the last registration wins), so the workflow runtime sees the same time.
            builder.Services.AddSingleton<TimeProvider>(new AcceleratedTimeProvider(clock.Start, clock.Speed));
        }
    }
}
