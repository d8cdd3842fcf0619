using CalAimHub.Hosting.Invocations;

namespace CalAimHub.Hosting.Tests;

public sealed class DeadLetterTests
{
    [Fact]
    public void A_dead_letter_round_trips_with_its_reason_and_original_message()
    {
        var letter = new DeadLetter("Notify", "notifications", "m-1", 5, "subscriber 'x' answered HTTP 500 (Internal Server Error)", DateTimeOffset.UnixEpoch, "{\"a\":1}");

        var parsed = DeadLetter.TryParse(letter.ToJson());

        Assert.Equal(letter, parsed);
        Assert.Equal("{\"a\":1}", DeadLetter.OriginalMessage(letter.ToJson()));
    }

    [Theory]
    [InlineData("{\"a\":1}")]
    [InlineData("not json calaimhub.deadletter.v1")]
    public void A_raw_poison_body_is_its_own_original_message(string raw)
    {
        Assert.Null(DeadLetter.TryParse(raw));
        Assert.Equal(raw, DeadLetter.OriginalMessage(raw));
    }

    [Fact]
    public void A_raw_poison_body_handed_back_once_is_its_body_without_the_header()
    {
        var body = "{\"deliveryId\":\"d-1\"}\nsecond line";
        var handedBack = HandedBackMessage.Wrap(body, DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        Assert.StartsWith("handed-back first-queued=2026-12-01T10:00:00.0000000Z\n", handedBack, StringComparison.Ordinal);

        Assert.Equal(body, DeadLetter.OriginalMessage(handedBack));
    }
}
