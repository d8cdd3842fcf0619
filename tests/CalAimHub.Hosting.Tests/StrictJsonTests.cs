using System.Text;
using CalAimHub.Hosting.Json;

namespace CalAimHub.Hosting.Tests;

public sealed class StrictJsonTests
{
    [Theory]
    [InlineData("""{"a":1,"b":[1,2,{"c":"x"}]}""")]
    [InlineData("""[]""")]
    [InlineData("""  "text"  """)]
    [InlineData("""{"emoji":"\ud83d\ude00","plain":"é"}""")]
    public void Well_formed_json_is_accepted(string json) => Assert.Null(StrictJson.Check(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void A_byte_order_mark_is_accepted() => Assert.Null(StrictJson.Check([.. Encoding.UTF8.Preamble, .. "{}"u8]));

    [Theory]
    [InlineData("""{"member":{"cin":"\ud800"}}""", "'$.member.cin' is not valid text: invalid UTF-8 bytes or an unpaired surrogate escape (\\uD800-\\uDFFF); send UTF-8 text (byte 18)")]
    [InlineData("""{"lines":[{"a":1},{"a":"\udfff"}]}""", "'$.lines[1].a' is not valid text: invalid UTF-8 bytes or an unpaired surrogate escape (\\uD800-\\uDFFF); send UTF-8 text (byte 24)")]
    [InlineData("""{"a":1,"a":2}""", "'$.a' appears twice in the same object; send each property once (byte 8)")]
    [InlineData("""{"m":{"x":1},"n":{"x":1,"y":{"z":1,"z":2}}}""", "'$.n.y.z' appears twice in the same object; send each property once (byte 36)")]
    [InlineData("""{"note":"a\u0000b"}""", "'$.note' contains a NUL character (\\u0000); remove it (byte 9)")]
    [InlineData("""{"a":1,}""", "'$.a' is not valid JSON (line 1, byte 8)")]
    [InlineData("""{"a":1 /* c */}""", "'$.a' is not valid JSON (line 1, byte 8)")]
    [InlineData("{\n\"a\":\n", "'$.a' is not valid JSON (line 3, byte 1)")]
    public void Each_refusal_names_the_path_and_position(string json, string expected) =>
        Assert.Equal(expected, StrictJson.Check(Encoding.UTF8.GetBytes(json))?.Message);

    [Fact]
    public void Invalid_utf8_inside_a_string_is_refused_without_echoing_it()
    {
        byte[] body = [.. "{\"name\":\"Ros"u8, 0xC3, 0x28, .. "a\"}"u8];

        Assert.Equal("'$.name' is not valid text: invalid UTF-8 bytes or an unpaired surrogate escape (\\uD800-\\uDFFF); send UTF-8 text (byte 9)", StrictJson.Check(body)?.Message);
    }

    [Fact]
    public void Invalid_utf8_in_a_property_name_names_the_containing_object()
    {
        byte[] body = [.. "{\"m\":{\"n"u8, 0xFF, .. "\":1}}"u8];

        Assert.Equal("'$.m' has a property name that is not valid text: invalid UTF-8 bytes or an unpaired surrogate escape (\\uD800-\\uDFFF); send UTF-8 text (byte 7)", StrictJson.Check(body)?.Message);
    }

    [Fact]
    public void A_duplicate_name_that_could_be_member_data_is_not_echoed()
    {
        Assert.Equal("'$['…']' appears twice in the same object; send each property once (byte 19)",
            StrictJson.Check("""{"Rosa Delgado":1,"Rosa Delgado":2}"""u8)?.Message);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused()
    {
        var json = new string('[', StrictJson.MaxDepth + 1) + new string(']', StrictJson.MaxDepth + 1);

        var error = StrictJson.Check(Encoding.UTF8.GetBytes(json));

        Assert.NotNull(error);
        Assert.Equal("is nested deeper than 64 levels", error.Problem);
    }

    [Fact]
    public void Nesting_at_the_limit_is_accepted()
    {
        var json = new string('[', StrictJson.MaxDepth) + new string(']', StrictJson.MaxDepth);

        Assert.Null(StrictJson.Check(Encoding.UTF8.GetBytes(json)));
    }
}
