using System.IO.Compression;
using CalAimHub.Ingestion.Outbound;
using MiniExcelLibs;

namespace CalAimHub.Ingestion.Tests;

/// <summary>Issue 14: the pure outbound builders — layouts as data, rows, CSV and XLSX bytes, file names.</summary>
public sealed class OutboundFileTests
{
    private static readonly Dictionary<string, string> Member = new()
    {
        ["ProviderId"] = "cs-harbor",
        ["MemberCin"] = "91000033H",
        ["MemberFirstName"] = "Mei",
        ["MemberLastName"] = "Ashgrove, Jr.",
        ["MemberDateOfBirth"] = "1958-11-30",
        ["CsService"] = "HTNS",
        ["MailingAddress"] = "PO Box \"7\"",
        [OutboundFacts.AuthorizationNumber] = "AUTH-9",
        [OutboundFacts.AuthorizationStart] = "2026-01-05",
        [OutboundFacts.Period] = "2026-01",
    };

    [Fact]
    public void The_cs_mif_layout_has_the_29_public_cs_mif_columns_in_order_then_the_service()
    {
        var layout = OutboundLayouts.Default["cs-mif"];

        Assert.Equal(30, layout.Columns.Count);
        Assert.Equal(("Member First Name", "Medi-Cal Member Client Index Number (CIN)", "Client_ID2", "Date of Referral Authorization Decision", "Community Support Service"),
            (layout.Columns[0].Name, layout.Columns[3].Name, layout.Columns[5].Name, layout.Columns[28].Name, layout.Columns[29].Name));
        Assert.Equal(("CSMIF", "cs-mif"), (layout.Sheet, layout.Kind));
        Assert.Contains("hub's own baseline", layout.Source, StringComparison.Ordinal);
        Assert.All(OutboundLayouts.Default.All, l => Assert.False(string.IsNullOrEmpty(l.Version)));
    }

    [Fact]
    public void A_row_formats_dates_and_months_and_blanks_withheld_and_unsourced_columns()
    {
        var layout = OutboundLayouts.Default["cs-mif"];

        var row = layout.Row(Member, i => layout.Columns[i].Name == "Member Mailing Address");

        Assert.Equal("Mei", row[0]);
        Assert.Equal("11/30/1958", row[12]);
        Assert.Equal("", row[5]); // Client_ID2: no source
        Assert.Equal("", row[8]); // withheld
        Assert.Equal(("AUTH-9", "01/05/2026", "HTNS"), (row[24], row[25], row[29]));
        Assert.Equal("01/2026", OutboundLayouts.Default["ecm-mif"].Row(Member)[0]);
    }

    [Fact]
    public void Csv_is_rfc4180_with_crlf_and_quotes_only_where_needed()
    {
        var layout = OutboundLayouts.Default["cs-authorization-status"];

        var csv = OutboundFileWriter.Csv(layout, [layout.Row(Member)]);

        Assert.Equal(
            "Member Information File Production Date,Provider ID,Medi-Cal Member Client Index Number (CIN),Medical Record Number (MRN),Member First Name,Member Last Name,"
            + "Member Date of Birth,Community Support Service,Authorization Number,Member Record Status,Authorization Start Date,Authorization End Date,"
            + "Date Received Request for Authorization,Date of Referral Authorization Decision\r\n"
            + ",cs-harbor,91000033H,,Mei,\"Ashgrove, Jr.\",11/30/1958,HTNS,AUTH-9,,01/05/2026,,,\r\n",
            csv);
        Assert.Equal("\"PO Box \"\"7\"\"\"", OutboundFileWriter.Cell("PO Box \"7\""));
    }

    [Fact]
    public async Task Xlsx_is_the_same_bytes_every_time_and_reads_back_as_the_rows()
    {
        var layout = OutboundLayouts.Default["cs-mif"];
        var first = OutboundFileWriter.Xlsx(layout, [layout.Row(Member)]);
        await Task.Delay(1100); // a zip entry time would differ by now

        var second = OutboundFileWriter.Xlsx(layout, [layout.Row(Member)]);

        Assert.Equal(first, second);
        using var zip = new ZipArchive(new MemoryStream(first));
        Assert.All(zip.Entries, e => Assert.Equal(1980, e.LastWriteTime.Year));
        using var stream = new MemoryStream(first);
        var rows = stream.Query(useHeaderRow: true, sheetName: "CSMIF").Cast<IDictionary<string, object?>>().ToList();
        Assert.Equal(("Mei", "Ashgrove, Jr.", "HTNS"), ((string?)rows[0]["Member First Name"], (string?)rows[0]["Member Last Name"], (string?)rows[0]["Community Support Service"]));
    }

    [Theory]
    [InlineData("{plan}_ECM_MIF_{provider}_{period}.{ext}", "PLANA_ECM_MIF_ecm-sunrise_202601.csv")]
    [InlineData("{plan}_MINI_MIF_{provider}_{date}_{seq}.{ext}", "PLANA_MINI_MIF_ecm-sunrise_20260117_ab12.csv")]
    public void File_names_come_from_the_plan_profile_pattern(string pattern, string expected) =>
        Assert.Equal(expected, OutboundFileNames.Expand(pattern, "PLANA", "ecm-sunrise", "mif", "2026-01", new DateOnly(2026, 1, 17), "ab12", "csv"));

    [Fact]
    public void A_pattern_that_gives_no_file_name_is_refused_naming_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => OutboundFileNames.Expand("../{provider}", "P", "x", "mif", "2026-01", new DateOnly(2026, 1, 1), "", "csv"));

        Assert.Equal("outbound file name pattern '../{provider}' gives '../x', which is not a file name (letters, digits, '-', '_', '.'; at most 200)", e.Message);
    }
}
