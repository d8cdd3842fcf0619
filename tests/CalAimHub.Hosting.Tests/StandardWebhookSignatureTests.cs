using System.Text;
using CalAimHub.Hosting.Webhooks;

namespace CalAimHub.Hosting.Tests;

public sealed class StandardWebhookSignatureTests
{
    // The Standard Webhooks specification's published test vector.
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private static readonly DateTimeOffset SpecTimestamp = DateTimeOffset.FromUnixTimeSeconds(1614265330);
    private static readonly byte[] SpecBody = Encoding.UTF8.GetBytes("""{"test": 2432232314}""");
    private const string OtherSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tMDEyMzQ1";

    [Fact]
    public void Signs_the_specification_test_vector()
    {
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", StandardWebhookSignature.Sign(SpecId, SpecTimestamp, SpecBody, [SpecSecret]));
    }

    [Fact]
    public void Signs_with_every_active_secret_during_rotation()
    {
        var header = StandardWebhookSignature.Sign(SpecId, SpecTimestamp, SpecBody, [SpecSecret, OtherSecret]);

        var entries = header.Split(' ');
        Assert.Equal(2, entries.Length);
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", entries[0]);
        Assert.Null(StandardWebhookSignature.Verify(SpecId, "1614265330", header, SpecBody, [OtherSecret], SpecTimestamp));
    }

    [Fact]
    public void Verifies_a_valid_signature_inside_the_window()
    {
        var header = StandardWebhookSignature.Sign(SpecId, SpecTimestamp, SpecBody, [SpecSecret]);

        Assert.Null(StandardWebhookSignature.Verify(SpecId, "1614265330", header, SpecBody, [SpecSecret], SpecTimestamp.AddMinutes(4)));
    }

    [Theory]
    [InlineData(SpecId, "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 6, "webhook-timestamp is outside the 5-minute window")]
    [InlineData(SpecId, "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", -6, "webhook-timestamp is outside the 5-minute window")]
    [InlineData("msg_other", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 0, "signature does not match")]
    [InlineData(SpecId, "1614265330", "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 0, "signature does not match")]
    [InlineData(SpecId, "soon", "v1,x", 0, "webhook-timestamp must be Unix seconds")]
    [InlineData(SpecId, "", "v1,x", 0, "missing webhook-id, webhook-timestamp or webhook-signature header")]
    public void Rejects_with_the_reason(string id, string timestamp, string signature, int minutesLater, string expected)
    {
        Assert.Equal(expected, StandardWebhookSignature.Verify(id, timestamp, signature, SpecBody, [SpecSecret], SpecTimestamp.AddMinutes(minutesLater)));
    }

    [Fact]
    public void A_changed_body_does_not_verify()
    {
        var header = StandardWebhookSignature.Sign(SpecId, SpecTimestamp, SpecBody, [SpecSecret]);

        Assert.Equal("signature does not match", StandardWebhookSignature.Verify(SpecId, "1614265330", header, "{\"test\": 2432232315}"u8, [SpecSecret], SpecTimestamp));
    }

    [Theory]
    [InlineData("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/notify)", "is an unresolved Key Vault reference")]
    [InlineData("plain-password", "is not 'whsec_' followed by base64 key bytes")]
    [InlineData("", "is empty")]
    [InlineData(SpecSecret, null)]
    public void Secret_problems_are_named(string secret, string? expected)
    {
        Assert.Equal(expected, StandardWebhookSignature.Problem(secret));
    }
}
