using CalAimHub.LocalHost;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>Starts the local host (Azurite in memory, the real handler process) with the settings a test needs.</summary>
public static class TestHub
{
    public const string Subscriber = "plan-a";
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    public static Task<LocalHub> StartAsync(IReadOnlyDictionary<string, string>? settings = null, IReadOnlyDictionary<string, string>? hostOverrides = null)
    {
        var appSettings = new Dictionary<string, string>
        {
            ["Notifications__RequireHttps"] = "false",
            ["Notifications__TimeoutSeconds"] = "5",
            [$"Notifications__Subscribers__{Subscriber}__Secrets__0"] = Secret,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            appSettings[key] = value;
        }

        return LocalHub.StartAsync(new LocalHubOptions
        {
            InMemoryStorage = true,
            HttpPort = 0,
            UseLocalSettingsFile = false,
            AppSettings = appSettings,
            HostOverrides = hostOverrides ?? new Dictionary<string, string>
            {
                // Retries come back at once so a 5-attempt test takes seconds, not minutes.
                ["extensions:queues:visibilityTimeout"] = "00:00:00",
                ["extensions:queues:maxPollingInterval"] = "00:00:00.500",
            },
        });
    }
}
