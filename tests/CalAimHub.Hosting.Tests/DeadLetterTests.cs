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
}
