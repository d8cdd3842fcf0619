using CalAimHub.Domain.Invoices;

namespace CalAimHub.Domain.Tests;

/// <summary>
/// Units as a running total per authorization: given what an authorization allows for a limited code and what its paid
/// lines already used, when a line bills more than remains, then it is contested with a reason that names the remainder.
/// </summary>
public class AuthorizedUnitsTests
{
    [Theory]
    [InlineData(6, 4, 2)]
    [InlineData(6, 0, 6)]
    [InlineData(168, 100, 68)]
    public void Given_units_already_paid_when_a_line_bills_no_more_than_remain_then_it_fits(decimal authorized, decimal paid, decimal billed) =>
        Assert.Null(BilledServices.UnitsBeyondAuthorization("auth-1", "H0040-U2", authorized, paid, billed));

    [Theory]
    [InlineData(6, 4, 3, "an authorization for 3 units of H0040-U2: authorization auth-1 allows 6, 4 are already paid, 2 remain")]
    [InlineData(6, 0, 7, "an authorization for 7 units of H0040-U2: authorization auth-1 allows 6, 0 are already paid, 6 remain")]
    [InlineData(6, 6, 1, "an authorization for 1 units of H0040-U2: authorization auth-1 allows 6, 6 are already paid, 0 remain")]
    [InlineData(6, 9, 1, "an authorization for 1 units of H0040-U2: authorization auth-1 allows 6, 9 are already paid, 0 remain")]
    public void Given_units_already_paid_when_a_line_bills_more_than_remain_then_it_is_contested_naming_the_remaining_units(
        decimal authorized, decimal paid, decimal billed, string missing)
    {
        var reason = BilledServices.UnitsBeyondAuthorization("auth-1", "H0040-U2", authorized, paid, billed);

        Assert.Equal(new ContestReason(ContestReasons.UnitsExceedAuthorization, missing), reason);
    }

    [Fact]
    public void The_limited_code_modifier_is_found_whatever_the_modifier_order_and_unlimited_codes_have_none()
    {
        Assert.Equal(("H0043-U2", 168m), BilledServices.UnitLimit("H0043", ["GQ", "U2"]));
        Assert.Equal(("H0040-U1", 1m), BilledServices.UnitLimit("h0040", ["u1"]));
        Assert.Null(BilledServices.UnitLimit("G9012", ["U2"]));
    }
}
