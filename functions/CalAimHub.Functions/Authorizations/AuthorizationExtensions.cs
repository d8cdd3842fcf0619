using CalAimHub.Domain.Authorizations;
using CalAimHub.Functions.Extensions;
using CalAimHub.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;

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

        if (options.AcceleratedClock is not { } clock)
        {
            builder.Services.AddKeyedSingleton(BusinessClock.Key, (sp, _) => sp.GetRequiredService<TimeProvider>());
            return;
        }

        // A fast clock in production would falsify every regulatory deadline: only ever outside Azure.
        builder.Configuration.RefuseInAzure("Authorizations:AcceleratedClock");

        // The business clock only: the app's TimeProvider (Notify's webhook-timestamp, the replay window) stays real.
        var fast = new AcceleratedTimeProvider(clock.Start, clock.Speed);
        builder.Services.AddKeyedSingleton<TimeProvider>(BusinessClock.Key, fast);
        WithClock<WorkflowRuntime>(builder.Services, fast);
        WithClock<WorkflowTriggers>(builder.Services, fast);
    }

    /// <summary>Re-registers <typeparamref name="T"/> (which takes a plain <see cref="TimeProvider"/>) built with <paramref name="clock"/>.</summary>
    private static void WithClock<T>(IServiceCollection services, TimeProvider clock)
        where T : class
    {
        if (!services.Any(d => d.ServiceType == typeof(T)))
        {
            // Replacing a registration that comes later would silently lose to it.
            throw new InvalidOperationException($"{typeof(T).Name} is not registered yet: call AddWorkflows before AddAuthorizations");
        }

        services.Replace(ServiceDescriptor.Singleton(sp => ActivatorUtilities.CreateInstance<T>(sp, clock)));
    }
}
