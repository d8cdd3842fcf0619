using CalAimHub.Hosting.Storage;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Hosting.Tests;

public sealed class ListContinuationTests
{
    private static ListContinuation Tokens(string? key = null) => ListContinuation.FromConfiguration(
        new ConfigurationBuilder().AddInMemoryCollection(key is null ? [] : [new(ListContinuation.KeySetting, key)]).Build());

    private static readonly string KeyA = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly string KeyB = Convert.ToBase64String(Enumerable.Range(2, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public void An_issued_token_reads_back_to_the_table_continuation_of_its_listing_only()
    {
        var tokens = Tokens(KeyA);
        var token = tokens.Issue("workflows:approval", "1!8!YS0x 1!4!c3RhdGU-");

        Assert.True(tokens.TryRead("workflows:approval", token, out var table));
        Assert.Equal("1!8!YS0x 1!4!c3RhdGU-", table);
        Assert.False(tokens.TryRead("workflows:listing", token, out _));
        Assert.Null(tokens.Issue("referrals", null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1!8!YS0x 1!4!c3RhdGU-")]
    [InlineData("c1.MSE4IVlTMHg.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("c1.!!!.!!!")]
    [InlineData("c2.MSE4IVlTMHg.AAAAAAAAAAAAAAAAAAAAAA")]
    public void A_string_the_hub_did_not_issue_is_refused(string token)
    {
        Assert.False(Tokens(KeyA).TryRead("workflows:approval", token, out var table));
        Assert.Null(table);
    }

    [Fact]
    public void A_token_signed_with_another_key_is_refused_and_the_built_in_key_still_checks()
    {
        var token = Tokens(KeyA).Issue("referrals", "next");

        Assert.False(Tokens(KeyB).TryRead("referrals", token, out _));
        Assert.False(Tokens().TryRead("referrals", token, out _));
        Assert.True(Tokens().TryRead("referrals", Tokens().Issue("referrals", "next"), out _));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/list/)")]
    public void A_configured_key_that_is_not_32_bytes_of_base64_stops_start_up_naming_the_setting_not_the_value(string key)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Tokens(key));

        Assert.Equal("Api:ContinuationTokenKey must be base64 of at least 32 bytes (a Key Vault reference that did not resolve is not)", e.Message);
    }
}
