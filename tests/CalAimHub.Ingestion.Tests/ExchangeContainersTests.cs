using CalAimHub.Ingestion.Inbound;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// The SFTP exchange account's container rule: in-{id} and out-{id} per partner, and the way back from an inbound container
/// and blob name to the one place it is ingested, inbound/{id}/{kind}/{file}; any name that could reach past the partner's
/// own folder, or is not a partner's container at all, maps to nothing.
/// </summary>
public sealed class ExchangeContainersTests
{
    [Fact]
    public void A_partner_gets_an_in_and_an_out_container_named_by_the_rule()
    {
        Assert.Equal(("in-acme", "out-acme"), (ExchangeContainers.Inbound("acme"), ExchangeContainers.Outbound("acme")));
        var longest = new string('a', 59);
        Assert.Equal(63, ExchangeContainers.Outbound(longest).Length);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("Acme")]
    [InlineData("ac-me")]
    [InlineData("ac_me")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void An_id_sftp_cannot_have_gets_no_containers(string id)
    {
        Assert.False(ExchangeContainers.IsSftpPartnerId(id));
        var refused = Assert.Throws<ArgumentException>(() => ExchangeContainers.Outbound(id));
        Assert.StartsWith($"'{id}' is not an SFTP partner id: 3 to 59 lowercase letters and digits", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("in-acme", "rtf/2026-01 RTF.csv", "acme", "rtf", "2026-01 RTF.csv")]
    [InlineData("in-acme", "RTF/a.csv", "acme", "rtf", "a.csv")]
    [InlineData("in-acme", "invoice/2026/01/a.csv", "acme", "invoice", "2026/01/a.csv")]
    public void A_blob_in_a_partners_in_container_maps_to_its_inbound_folder(string container, string blob, string partner, string kind, string file)
    {
        var path = ExchangeContainers.ToInbound(container, blob);

        Assert.Equal(new InboundPath(partner, kind, file), path);
        Assert.Equal($"{partner}/{kind}/{file}", path!.BlobName);
    }

    [Theory]
    [InlineData("inbound", "acme/rtf/a.csv")] // the main account's container: not an exchange container
    [InlineData("out-acme", "rtf/a.csv")] // outbound: the hub's own writes raise nothing to ingest
    [InlineData("in-", "rtf/a.csv")]
    [InlineData("in-ACME", "rtf/a.csv")]
    [InlineData("in-ac_me", "rtf/a.csv")]
    [InlineData("in-ac-me", "rtf/a.csv")]
    [InlineData("in-in-acme", "rtf/a.csv")]
    [InlineData("In-acme", "rtf/a.csv")]
    [InlineData("in-acme", "a.csv")] // no kind
    [InlineData("in-acme", "../beta/rtf/a.csv")]
    [InlineData("in-acme", "rtf/../../beta/rtf/a.csv")]
    [InlineData("in-acme", "rtf/./a.csv")]
    [InlineData("in-acme", "rtf//a.csv")]
    [InlineData("in-acme", "/rtf/a.csv")]
    [InlineData("in-acme", "rtf/a.csv/")]
    [InlineData("in-acme", "rtf\\..\\a.csv")]
    [InlineData("in-acme", "rtf/a\u0000.csv")]
    [InlineData("in-acme", "rtf/a\n.csv")]
    [InlineData("in-acme", "rtf/ ")]
    [InlineData("in-acme", "")]
    public void A_hostile_or_foreign_name_maps_to_nothing(string container, string blob)
    {
        Assert.Null(ExchangeContainers.ToInbound(container, blob));
    }

    [Fact]
    public void Only_a_partners_in_container_names_a_partner()
    {
        Assert.Equal("acme", ExchangeContainers.PartnerOfInbound("in-acme"));
        Assert.Null(ExchangeContainers.PartnerOfInbound("out-acme"));
        Assert.Null(ExchangeContainers.PartnerOfInbound("inbound"));
        Assert.Null(ExchangeContainers.PartnerOfInbound("in-" + new string('a', 60)));
    }
}
