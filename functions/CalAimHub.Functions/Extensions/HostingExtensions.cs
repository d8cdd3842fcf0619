using Azure.Monitor.OpenTelemetry.AspNetCore;
using Azure.Identity;
using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.FunctionApp;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Extensions;

public static class HostingExtensions
{
    /// <summary>
    /// Listens where the Functions host expects (127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT) and loads the function app
    /// definition (host.json, function.json folders) from the app root the host passes in FUNCTIONS_APP_ROOT_PATH.
    /// </summary>
    public static void AddFunctionAppHosting(this WebApplicationBuilder builder)
    {
        if (builder.Configuration["FUNCTIONS_CUSTOMHANDLER_PORT"] is { Length: > 0 } port)
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }

        var appRoot = builder.Configuration["FUNCTIONS_APP_ROOT_PATH"] is { Length: > 0 } root ? root : AppContext.BaseDirectory;
        builder.Services.AddSingleton(FunctionAppDefinition.Load(appRoot));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FunctionEndpoints>();
        builder.Services.AddSingleton<Invocations.DeliveryAttemptLedger>();
        builder.AddProblemResponses();
        builder.AddApiContract();
    }

    /// <summary>
    /// Whether the app runs in Azure: App Service sets WEBSITE_INSTANCE_ID and WEBSITE_SITE_NAME on every instance; the
    /// local host and tests never do.
    /// </summary>
    public static bool RunsInAzure(this IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["WEBSITE_INSTANCE_ID"]) || !string.IsNullOrEmpty(configuration["WEBSITE_SITE_NAME"]);

    /// <summary>Refuses a test-only setting in Azure (<see cref="RunsInAzure"/>).</summary>
    public static void RefuseInAzure(this IConfiguration configuration, string setting)
    {
        if (configuration.RunsInAzure())
        {
            throw new InvalidOperationException($"{setting} is a test setting and is refused in Azure; remove it");
        }
    }

    public static void AddHubStorage(this WebApplicationBuilder builder) =>
        builder.Services.AddSingleton(sp => StorageAccount.FromConfiguration(
            sp.GetRequiredService<IConfiguration>(),
            sp.GetRequiredService<FunctionAppDefinition>().Host.Queues.MessageEncoding));

    /// <summary>
    /// OpenTelemetry traces, metrics and logs go to Application Insights when the app is configured for it
    /// (connection string plus Entra ID authentication by the app's managed identity).
    /// </summary>
    public static void AddHubTelemetry(this WebApplicationBuilder builder)
    {
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);

        if (string.IsNullOrWhiteSpace(builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
        {
            return;
        }

        builder.Services.Configure<OpenTelemetry.Instrumentation.AspNetCore.AspNetCoreTraceInstrumentationOptions>(TraceRedaction.Configure);
        var clientId = builder.Configuration["AzureWebJobsStorage:clientId"];
        builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(HubTelemetry.MeterName))
            .UseAzureMonitor(o =>
            {
                if (clientId is { Length: > 0 })
                {
                    o.Credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
                }
            });
    }
}
