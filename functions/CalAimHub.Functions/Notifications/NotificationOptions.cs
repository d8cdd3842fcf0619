namespace CalAimHub.Functions.Notifications;

/// <summary>Configuration section <c>Notifications</c>.</summary>
public sealed class NotificationOptions
{
    /// <summary>Plain http is allowed only for local development receivers.</summary>
    public bool RequireHttps { get; set; } = true;

    /// <summary>Standard Webhooks asks receivers to answer within 15–30 s; a slower answer is a failed attempt.</summary>
    public int TimeoutSeconds { get; set; } = 15;
}
