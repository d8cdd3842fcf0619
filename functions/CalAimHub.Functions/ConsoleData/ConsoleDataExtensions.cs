using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Storage;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CalAimHub.Functions.ConsoleData;

public static class ConsoleDataExtensions
{
    /// <summary>The console read models (kept by the workflow runtime) and their queries.</summary>
    public static void AddConsoleData(this WebApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(CaliforniaWorkingDays.Current);
        builder.Services.AddWorkflowProjection(AuthorizationWorkflow.TypeName, new AuthorizationConsoleProjection(CaliforniaWorkingDays.Current));
        builder.Services.AddWorkflowProjection(ReferralWorkflow.TypeName, new ReferralConsoleProjection(CaliforniaWorkingDays.Current));
        builder.Services.AddSingleton<ConsoleQueries>();
        builder.Services.AddSingleton(sp => new FileRunIndex(sp.GetRequiredService<StorageAccount>().Tables));
    }
}
