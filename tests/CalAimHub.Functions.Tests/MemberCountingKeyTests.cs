using System.Security.Cryptography;
using System.Text;
using CalAimHub.Functions.Monitoring;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Functions.Tests;

/// <summary>Where the monitoring extract's member key comes from: the configured secret, or the built-in key outside Azure only.</summary>
public sealed class MemberCountingKeyTests
{
    private const string Cin = "91000001A";

    // The shape Bicep stores: base64 of the 64 letters and digits azd generates.
    private const string GeneratedKey = "Q7vN2kLp9XwR4tYz8HbM3cJf6GdS1aVe5UoKiPq0TnWxEyZr7BlCu2DmFhAjgs9k";

    private static IConfiguration With(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    private static string Hmac(byte[] key, string cin) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(cin)));

    [Fact]
    public void Outside_Azure_a_missing_key_falls_back_to_the_built_in_key()
    {
        var key = MemberCountingKey.FromConfiguration(With());

        // Pinned: changing the built-in key would count every member of a local store again.
        Assert.Equal(Hmac(SHA256.HashData("calaimhub monitoring member key v1"u8), Cin), key.Of(Cin));
    }

    [Theory]
    [InlineData("WEBSITE_SITE_NAME")]
    [InlineData("WEBSITE_INSTANCE_ID")]
    public void In_Azure_a_missing_key_is_refused_instead_of_the_built_in_key(string azureVariable)
    {
        var error = Assert.Throws<InvalidOperationException>(() => MemberCountingKey.FromConfiguration(With((azureVariable, "calaimhub-prod"))));

        Assert.Equal("Monitoring:MemberKeySecret is not set; in Azure the built-in member key, which anyone with the source can reproduce, is refused", error.Message);
    }

    [Fact]
    public void In_Azure_an_empty_key_is_refused_like_a_missing_one()
    {
        var error = Assert.Throws<InvalidOperationException>(() => MemberCountingKey.FromConfiguration(With(("WEBSITE_SITE_NAME", "calaimhub-prod"), (MemberCountingKey.KeySetting, ""))));

        Assert.Equal("Monitoring:MemberKeySecret is not set; in Azure the built-in member key, which anyone with the source can reproduce, is refused", error.Message);
    }

    [Fact]
    public void In_Azure_the_key_from_key_vault_counts_members()
    {
        var secret = Convert.ToBase64String(Encoding.ASCII.GetBytes(GeneratedKey));

        var key = MemberCountingKey.FromConfiguration(With(("WEBSITE_SITE_NAME", "calaimhub-prod"), (MemberCountingKey.KeySetting, secret)));

        Assert.Equal(Hmac(Encoding.ASCII.GetBytes(GeneratedKey), Cin), key.Of(Cin));
        Assert.NotEqual(MemberCountingKey.FromConfiguration(With()).Of(Cin), key.Of(Cin));
    }

    [Theory]
    [InlineData("c2hvcnQ=")] // base64 of 5 bytes
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/monitoring-member-key/0123abcd)")] // unresolved reference
    public void A_key_that_is_not_base64_of_32_bytes_is_refused_without_echoing_it(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => MemberCountingKey.FromConfiguration(With(("WEBSITE_SITE_NAME", "calaimhub-prod"), (MemberCountingKey.KeySetting, value))));

        Assert.Equal("Monitoring:MemberKeySecret must be base64 of at least 32 bytes", error.Message);
    }
}
