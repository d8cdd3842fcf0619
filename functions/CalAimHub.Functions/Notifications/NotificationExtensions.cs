namespace CalAimHub.Functions.Notifications;

public static class NotificationExtensions
{
    public static void AddNotifications(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<NotificationOptions>(builder.Configuration.GetSection("Notifications"));
        builder.Services.AddSingleton<SubscriberSecrets>();
        builder.Services.AddSingleton<NotificationDeliveries>();
        builder.Services.AddSingleton<NotificationQueue>();
        builder.Services.AddHostedService<NoticeSubscriberCheck>();
        // Redirects are failures (Standard Webhooks); retries belong to the queue, not to the HTTP client.
        builder.Services.AddHttpClient(NotifyFunction.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan);
    }
}
