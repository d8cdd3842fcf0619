namespace CalAimHub.Functions.Notifications;

/// <summary>
/// A notification format: rewrites a notice's payload (<c>data</c>, <c>dataContentType</c>) for subscribers that asked
/// for another shape. Returns the message unchanged when it does not apply. Must not add member data the generic notice
/// does not carry. Applied by <see cref="NotificationQueue"/> before the message is queued.
/// </summary>
public interface INotificationFormatter
{
    ValueTask<NotificationMessage> FormatAsync(NotificationMessage message, CancellationToken cancellationToken);
}

/// <summary>The payload shapes a subscriber can ask for with <c>Notifications:Subscribers:{id}:Format</c>.</summary>
public static class NotificationFormats
{
    /// <summary>The sender's own JSON (the default).</summary>
    public const string Generic = "generic";

    /// <summary>A FHIR R4 resource as <c>application/fhir+json</c>, where the sender has one (referral notices: the Task).</summary>
    public const string Fhir = "fhir";

    /// <summary>The subscriber's configured format, or null when it set none (the sender may then choose a default).</summary>
    public static string? Configured(IConfiguration configuration, string subscriber) =>
        configuration[$"Notifications:Subscribers:{subscriber}:Format"]?.Trim() switch
        {
            null or "" => null,
            var f when f.Equals(Generic, StringComparison.OrdinalIgnoreCase) => Generic,
            var f when f.Equals(Fhir, StringComparison.OrdinalIgnoreCase) => Fhir,
            _ => throw new Invocations.FunctionFailure($"Notifications__Subscribers__{subscriber}__Format must be '{Generic}' or '{Fhir}'"),
        };
}
