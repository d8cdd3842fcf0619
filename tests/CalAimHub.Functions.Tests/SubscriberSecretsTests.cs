using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Notifications;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Functions.Tests;

public sealed class SubscriberSecretsTests
{
    private static SubscriberSecrets With(params (string Key, string Value)[] settings) => new(
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public void All_configured_secrets_of_the_subscriber_are_returned_in_order()
    {
        var secrets = With(
            ("Notifications:Subscribers:plan-a:Secrets:0", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("Notifications:Subscribers:plan-a:Secrets:1", "whsec_c2Vjb25kLXNlY3JldA=="),
            ("Notifications:Subscribers:plan-b:Secrets:0", "whsec_b3RoZXI="));

        Assert.Equal(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kLXNlY3JldA=="], secrets.For("plan-a"));
    }

    [Fact]
    public void A_subscriber_without_secret_is_refused_with_the_setting_to_add()
    {
        var error = Assert.Throws<FunctionFailure>(() => With().For("plan-a"));

        Assert.Equal("no signing secret configured for subscriber 'plan-a' (set Notifications__Subscribers__plan-a__Secrets__0 to a whsec_ secret)", error.Message);
    }

    [Fact]
    public void An_unresolved_key_vault_reference_stops_delivery()
    {
        var secrets = With(("Notifications:Subscribers:plan-a:Secrets:0", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/plan-a)"));

        var error = Assert.Throws<FunctionFailure>(() => secrets.For("plan-a"));

        Assert.Equal("signing secret 0 of subscriber 'plan-a' is an unresolved Key Vault reference", error.Message);
    }
}
