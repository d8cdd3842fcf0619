using CalAimHub.Functions.Invocations;
using CalAimHub.Hosting.Webhooks;

namespace CalAimHub.Functions.Notifications;

/// <summary>
/// Signing secrets per subscriber, from configuration <c>Notifications:Subscribers:{id}:Secrets:{n}</c> (in Azure: Key
/// Vault references). All active secrets sign each delivery, so a subscriber can rotate without downtime.
/// </summary>
public sealed class SubscriberSecrets(IConfiguration configuration)
{
    public IReadOnlyList<string> For(string subscriber)
    {
        var secrets = configuration.GetSection($"Notifications:Subscribers:{subscriber}:Secrets").GetChildren().Select(s => s.Value).ToArray();
        if (secrets.Length == 0)
        {
            throw new FunctionFailure($"no signing secret configured for subscriber '{subscriber}' (set Notifications__Subscribers__{subscriber}__Secrets__0 to a whsec_ secret)");
        }

        for (var i = 0; i < secrets.Length; i++)
        {
            if (StandardWebhookSignature.Problem(secrets[i]) is { } problem)
            {
                // Never sign with (or leak) a broken secret: an unresolved Key Vault reference must stop delivery, not weaken it.
                throw new FunctionFailure($"signing secret {i} of subscriber '{subscriber}' {problem}");
            }
        }

        return secrets!;
    }
}
