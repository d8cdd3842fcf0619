using CalAimHub.Chaos;

namespace CalAimHub.EndToEnd.Tests;

/// <summary>
/// The chaos verifier's reading of a referral whose last webhook was never answered (the full chaos run at load 20: sent
/// for 6 minutes, each try cut off at 100 s): the hub may have applied that status once or not at all. Counted as a
/// duplicate before, though the hub recorded it once; a second copy must still count as one.
/// </summary>
public sealed class ChaosReferralTests
{
    [Fact]
    public void A_status_in_doubt_is_expected_only_when_the_hub_recorded_one_event_more_than_was_accepted()
    {
        var referral = new ChaosReferral(77, [("Pending", "{}"), ("Accepted", "{}")], redelivered: false);
        referral.Accepted.Enqueue("Pending");
        referral.InDoubt = "Accepted";

        Assert.Equal(["Pending"], referral.Applied(recorded: 1));
        Assert.Equal(["Pending", "Accepted"], referral.Applied(recorded: 2));
        Assert.Equal(["Pending"], referral.Applied(recorded: 3)); // twice is not "once or not at all": the verifier sees 3 events for 1
    }

    [Fact]
    public void Without_a_status_in_doubt_only_the_accepted_statuses_are_expected()
    {
        var referral = new ChaosReferral(78, [("Pending", "{}"), ("Accepted", "{}")], redelivered: false);
        referral.Accepted.Enqueue("Pending");
        referral.Accepted.Enqueue("Accepted");

        Assert.Equal(["Pending", "Accepted"], referral.Applied(recorded: 3));
    }
}
