namespace CalAimHub.LocalHost.Tests;

/// <summary><c>hub run --as "name:roles"</c>: who the front door signs every request in as.</summary>
public sealed class DevelopmentIdentityTests
{
    private static HubCli Cli() => new(TextWriter.Null, TextWriter.Null);

    [Fact]
    public void By_default_everyone_is_the_developer_with_all_four_roles()
    {
        var cli = Cli();
        var options = cli.RunOptions(cli.Root.Parse(["run"]));

        Assert.Equal(new DevelopmentIdentity("developer", ["viewer", "decider", "operator", "privacy"]).ToString(), options.StaffIdentity!.ToString());
        Assert.Equal("developer (viewer, decider, operator, privacy)", DevelopmentIdentity.Developer.ToString());
    }

    [Theory]
    [InlineData("dana:viewer,decider", "dana (viewer, decider)")]
    [InlineData("vic:viewer", "vic (viewer)")]
    [InlineData("nemo:", "nemo (no roles)")]
    [InlineData("olga", "olga (viewer, decider, operator, privacy)")]
    [InlineData(" dana : viewer , viewer ", "dana (viewer)")]
    public void As_names_the_identity_and_its_roles(string text, string expected)
    {
        var cli = Cli();
        var result = cli.Root.Parse(["run", "--as", text]);

        Assert.Empty(result.Errors);
        Assert.Equal(expected, cli.RunOptions(result).StaffIdentity!.ToString());
    }

    [Theory]
    [InlineData("dana:admin", "--as: 'admin' is not a hub role; the roles are viewer, decider, operator, privacy")]
    [InlineData(":viewer", "--as ':viewer' needs a name before the roles, e.g. \"dana:viewer,decider\"")]
    public void An_unknown_role_or_no_name_is_a_parse_error(string text, string message)
    {
        var result = Cli().Root.Parse(["run", "--as", text]);

        Assert.Equal(message, Assert.Single(result.Errors).Message);
    }
}
