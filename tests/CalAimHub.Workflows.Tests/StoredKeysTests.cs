using CalAimHub.Domain;
using CalAimHub.Domain.Consent;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Referrals;
using CalAimHub.Functions.Consent;
using CalAimHub.Functions.Invoices;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Ids and keys that rows already stored were written under, each derived through <see cref="StableHash"/>: the expected
/// values were computed outside .NET (Python's hashlib, SHA-256 of the same UTF-8 text) before the derivations moved there,
/// so a change of text, separator or length fails here instead of losing stored rows.
/// </summary>
public sealed class StoredKeysTests
{
    [Fact]
    public void StableHash_is_the_first_bytes_of_SHA256_of_the_UTF8_text_in_lowercase_hex()
    {
        Assert.Equal("e3b0c442", StableHash.Hex("", 4));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", StableHash.Hex("abc", 32));
        Assert.Equal("bytes", Assert.Throws<ArgumentOutOfRangeException>(() => StableHash.Hex("abc", 33)).ParamName);
        Assert.Equal("bytes", Assert.Throws<ArgumentOutOfRangeException>(() => StableHash.Hex("abc", 0)).ParamName);
    }

    [Fact]
    public void Keys_of_rows_already_stored_are_derived_as_before()
    {
        Assert.Equal("run-x|898a8b9781708a86", InvoiceLineStaging.PartitionOf("run-x", ["inv-b~evt-2", "inv-a~evt-1"]));
        Assert.Equal("~members|a06fa22b1621a52b2c14cda06bd5f325", TableRowDestination.MemberRow("p", "run-x", [("rk2", "90000001A"), ("rk1", "90000002A")]).RowKey);
        Assert.Equal("~starts|4eeb2fac41a9921ce8a99015ac63c6a4", WorkflowStore.StartBatchKey(new StartBatch("invoice", ["inv-1", "inv-2"])));
        var due = new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);
        Assert.Equal("c807d787fd0ba4b4", WorkflowQueues.ParkedTimer.GroupOf([new("wf-b", "t1", due), new("wf-a", "t1", due), new("wf-b", "t2", due)]));
        Assert.Equal("inv-24fb12ed1ab211b15b65c7b7", InvoiceIds.For(" 1234567893", "inv-1 "));
        Assert.Equal("referral-auth-bb5b8213f4f8fee6e61900a714704c88", ReferralWorkflow.AuthorizationInstanceId("plat:r-1"));
        Assert.Equal("run-6468fd11998b196b217595e3", BlobFileIngestion.RunId("plana/invoice/f.csv", "\"0x8D\""));
        Assert.Equal("consent-6a86271d510cd3a6dad2a62e", ConsentRequestReader.ConsentIdOf(ConsentKind.Grant, "doc-1"));
        Assert.Equal("status-76740a10ca3fb3a0f4dc57e686f61ad7", ReferralWorkflowEvents.StatusEventId("plat:r-1", ReferralStatus.Accepted, new DateOnly(2026, 12, 5)));
    }
}
