using CalAimHub.Functions.Invocations;
using CalAimHub.Functions.Notifications;

namespace CalAimHub.Functions.Tests;

public sealed class NotificationMessageTests
{
    private const string Valid = """{"deliveryId":"d-1","subscriber":"plan-a","url":"https://partner.example/hooks","type":"calaimhub.test","data":{"ok":true}}""";

    [Fact]
    public void A_valid_message_keeps_its_delivery_id_and_defaults_the_source()
    {
        var notification = NotificationMessage.Parse(Valid, requireHttps: true);

        Assert.Equal("d-1", notification.DeliveryId);
        Assert.Equal("plan-a", notification.Subscriber);
        Assert.Equal(new Uri("https://partner.example/hooks"), notification.Url);
        Assert.Equal("/calaimhub", notification.Source);
        Assert.Equal("true", notification.Data!.Value.GetProperty("ok").GetRawText());
    }

    [Fact]
    public void Without_a_delivery_id_the_id_is_derived_from_the_message_so_retries_keep_it()
    {
        var text = """{"subscriber":"plan-a","url":"https://partner.example/hooks","type":"calaimhub.test"}""";

        var first = NotificationMessage.Parse(text, requireHttps: true).DeliveryId;
        var again = NotificationMessage.Parse(text, requireHttps: true).DeliveryId;
        var other = NotificationMessage.Parse(text.Replace("test", "other", StringComparison.Ordinal), requireHttps: true).DeliveryId;

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Matches("^ntf-[0-9a-f]{32}$", first);
    }

    [Theory]
    [InlineData("hello", "notification message is not valid JSON (line 1, byte 1); send a JSON object with subscriber, url, type and data")]
    [InlineData("{\"subscriber\": Rosa Delgado}", "notification message is not valid JSON (line 1, byte 16); send a JSON object with subscriber, url, type and data")]
    [InlineData("null", "notification message is JSON null; send a JSON object with subscriber, url, type and data")]
    [InlineData("""{"subscriber":"plan-a","type":"t"}""", "notification message has no 'url'; set it to the subscriber's absolute https endpoint")]
    [InlineData("""{"url":"https://x.example","type":"t"}""", "notification message has no 'subscriber'; set it to the configured subscriber id whose secret signs the delivery")]
    [InlineData("""{"subscriber":"plan-a","url":"https://x.example"}""", "notification message has no 'type'; set it to a CloudEvent type such as calaimhub.referral.assigned")]
    [InlineData("""{"subscriber":"plan-a","url":"http://x.example","type":"t"}""", "notification 'url' must be an absolute https URL")]
    [InlineData("""{"subscriber":"plan-a","url":"/relative","type":"t"}""", "notification 'url' must be an absolute https URL")]
    public void Bad_messages_are_rejected_with_the_field_and_fix(string text, string expected)
    {
        var error = Assert.Throws<FunctionFailure>(() => NotificationMessage.Parse(text, requireHttps: true));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void Plain_http_is_allowed_only_when_https_is_not_required()
    {
        var text = """{"subscriber":"plan-a","url":"http://127.0.0.1:9000/","type":"t"}""";

        Assert.Equal("http", NotificationMessage.Parse(text, requireHttps: false).Url.Scheme);
        Assert.Equal("notification 'url' must be an absolute http or https URL",
            Assert.Throws<FunctionFailure>(() => NotificationMessage.Parse("""{"subscriber":"plan-a","url":"ftp://x","type":"t"}""", requireHttps: false)).Message);
    }
}

public sealed class FailureReasonTests
{
    [Fact]
    public void A_json_error_keeps_only_the_position_never_the_offending_text()
    {
        var error = Assert.ThrowsAny<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>("{\"name\": Rosa Delgado}"));

        var reason = CalAimHub.Functions.Invocations.FunctionEndpointExtensions.FailureReason(error);

        Assert.Equal("invalid JSON at $.name (line 1, byte 10)", reason);
    }

    [Fact]
    public void A_storage_error_is_its_status_and_code()
    {
        var reason = CalAimHub.Functions.Invocations.FunctionEndpointExtensions.FailureReason(new Azure.RequestFailedException(503, "busy", "ServerBusy", null));

        Assert.Equal("storage answered 503 ServerBusy", reason);
    }
}
