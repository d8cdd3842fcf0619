using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Tests;

/// <summary>Each schema as data, and a valid file of each layout in each accepted container format.</summary>
public sealed class SchemaTests
{
    [Fact]
    public void Every_schema_and_code_set_is_versioned_data_with_a_source()
    {
        var catalog = FormatCatalog.Default;

        Assert.Equal(["assignment", "invoice", "otf", "referral", "remittance", "rtf-a", "rtf-b"], catalog.Schemas.Select(s => s.Name).Order());
        Assert.All(catalog.Schemas, s =>
        {
            Assert.False(string.IsNullOrWhiteSpace(s.Version));
            Assert.False(string.IsNullOrWhiteSpace(s.Source));
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", s.EffectiveDate);
            Assert.NotEmpty(s.Key);
        });
        Assert.All(catalog.CodeSets.Values, c =>
        {
            Assert.False(string.IsNullOrWhiteSpace(c.Source));
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", c.EffectiveDate);
        });
        Assert.Equal("1.3", catalog.ServiceCodes.Version);
    }

    [Theory]
    [InlineData("rtf-a")]
    [InlineData("rtf-b")]
    public void Both_rtf_layouts_carry_the_closed_loop_referral_elements(string schema)
    {
        var columns = FormatCatalog.Default.Schema(schema).Columns.ToDictionary(c => c.Name);

        Assert.Equal("referral-status", columns["Referral Status"].Codes);
        Assert.Equal(["Pending", "Accepted", "Declined", "Outreach Initiated", "Referral Loop Closed"],
            FormatCatalog.Default.CodeSets["referral-status"].Codes.Select(c => c.Code));
        Assert.Equal(ColumnType.Date, columns["Date of Referral Status Update"].Type);
        Assert.Equal("Referral Status", columns["Date of Referral Status Update"].RequiredWhen!.Column);
        Assert.Equal(["Referral Loop Closed"], columns["Reason for Referral Loop Closure"].RequiredWhen!.In);
    }

    [Fact]
    public void Rtf_b_has_one_column_per_population_of_focus()
    {
        var pofColumns = FormatCatalog.Default.Schema("rtf-b").Columns.Where(c => c.Field.StartsWith("Pof", StringComparison.Ordinal)).ToArray();

        Assert.Equal(9, pofColumns.Length);
        Assert.All(pofColumns, c => Assert.Equal("yes-no", c.Codes));
    }

    [Fact]
    public async Task A_valid_rtf_version_a_csv_is_accepted_with_normalized_values_and_referral_status_events()
    {
        var file = Samples.Utf8(Samples.Csv([Samples.RtfA(1), Samples.RtfA(2).With("Referral Status", "").With("Date of Referral Status Update", "")]));

        var (report, rows) = await Samples.RunAsync("rtf", file);

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Empty(report.Problems);
        Assert.Equal(("rtf-a", "A-2023.1", "csv-comma"), (report.Schema, report.SchemaVersion, report.Format));
        Assert.Equal([2, 3], rows.Select(r => r.Row));
        var values = rows[0].Schema.Columns.Select((c, i) => (c.Field, rows[0].Values[i])).ToDictionary();
        Assert.Equal("2025-07-01", values["EcmEnrollmentStartDate"]);
        Assert.Equal("2025-12", values["ReportingPeriod"]);
        Assert.Equal("123456789", values["EcmProviderTin"]);
        Assert.Equal("5555550100", values["EcmLeadCareManagerPhone"]);
        var e = Assert.Single(rows[0].Events);
        Assert.Equal("calaimhub.rtf.referral-status-updated", e.Type);
        Assert.Equal("Accepted", e.Data["ReferralStatus"]);
        Assert.Equal("2025-12-10", e.Data["DateOfReferralStatusUpdate"]);
        Assert.DoesNotContain(e.Data.Values, v => v.Contains(Samples.Cin(1), StringComparison.Ordinal) || v.Contains("Quillfeather", StringComparison.Ordinal));
        Assert.Empty(rows[1].Events);
    }

    [Fact]
    public async Task A_valid_rtf_version_b_tab_delimited_file_is_recognized_as_layout_b()
    {
        var file = Samples.Utf8(Samples.Csv([Samples.RtfB(1), Samples.RtfB(2)], '\t', "\n"));

        var (report, rows) = await Samples.RunAsync("rtf", file);

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Equal(("rtf-b", "csv-tab"), (report.Schema, report.Format));
        Assert.Equal(2, rows.Count);
        Assert.Equal("Services Received", rows[0].Events.Single().Data["ReasonForReferralLoopClosure"]);
    }

    [Fact]
    public async Task Rtf_and_otf_tabs_of_an_xlsx_workbook_are_read_by_their_kind()
    {
        var workbook = Samples.Xlsx(("OTF", [Samples.Otf(1), Samples.Otf(2)]), ("RTF", [Samples.RtfA(1), Samples.RtfA(2), Samples.RtfA(3)]));

        var (rtf, rtfRows) = await Samples.RunAsync("rtf", workbook);
        var (otf, otfRows) = await Samples.RunAsync("otf", workbook);

        Assert.Equal((IngestOutcome.Accepted, "rtf-a", "xlsx", 3), (rtf.Outcome, rtf.Schema, rtf.Format, rtfRows.Count));
        Assert.Equal((IngestOutcome.Accepted, "otf", 2), (otf.Outcome, otf.Schema, otfRows.Count));
        Assert.Equal([2, 3, 4], rtfRows.Select(r => r.Row));
    }

    [Fact]
    public async Task A_valid_pipe_delimited_otf_file_is_accepted()
    {
        var (report, rows) = await Samples.RunAsync("otf", Samples.Utf8(Samples.Csv([Samples.Otf(1), Samples.Otf(2)], '|')));

        Assert.Equal((IngestOutcome.Accepted, "csv-pipe", 2), (report.Outcome, report.Format, rows.Count));
        Assert.Empty(rows[0].Events);
    }

    [Fact]
    public async Task A_valid_invoice_with_ecm_and_community_supports_lines_raises_invoice_received_per_line()
    {
        var file = Samples.Utf8(Samples.Csv([
            Samples.Invoice(1),
            Samples.Invoice(2).With("HCPCS Code", "H0043").With("Modifier 1", "U6").With("Modifier 2", ""),
            Samples.Invoice(3).With("HCPCS Code", "T1016").With("Modifier 1", "GQ").With("Modifier 2", "U8"),
        ]));

        var (report, rows) = await Samples.RunAsync("invoice", file);

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Empty(report.Problems);
        Assert.All(rows, r => Assert.Equal("calaimhub.invoice.received", Assert.Single(r.Events).Type));
        Assert.Equal("250.00", rows[0].Events[0].Data["ChargeAmount"]);
    }

    [Fact]
    public async Task A_valid_referral_batch_raises_referral_received_per_row()
    {
        var file = Samples.Utf8(Samples.Csv([Samples.Referral(1), Samples.Referral(2).With("Population of Focus", "Birth Equity").With("Community Support Service", "")]));

        var (report, rows) = await Samples.RunAsync("referral", file);

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Equal(["RC", "9"], rows.Select(r => r.Events.Single().Data.GetValueOrDefault("CommunitySupportService") ?? r.Events.Single().Data["PopulationOfFocus"]));
    }

    [Fact]
    public async Task Quoted_fields_may_hold_delimiters_quotes_and_line_breaks_and_still_count_as_one_row()
    {
        var rows = new[] { Samples.RtfA(1).With("Discontinuation Reason", "moved, \"left\"\nthe county"), Samples.RtfA(2) };

        var (report, accepted) = await Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv(rows)));

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Equal([2, 3], accepted.Select(r => r.Row));
        Assert.Equal("moved, \"left\"\nthe county", accepted[0].Values[accepted[0].Schema.Columns.ToList().FindIndex(c => c.Name == "Discontinuation Reason")]);
    }

    [Fact]
    public async Task A_partner_profile_renames_and_adds_columns_over_the_baseline()
    {
        var partner = Samples.Partner() with
        {
            Renames = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["rtf"] = new Dictionary<string, string> { ["Member Client Index Number (CIN)"] = "CIN", ["Referral Status"] = "CLR Status" } },
            ExtraColumns = new Dictionary<string, IReadOnlyList<string>> { ["rtf"] = ["Plan Region"] },
        };
        var rows = new[] { Samples.RtfA(1), Samples.RtfA(2) }.Select(r =>
        {
            var renamed = r.ToDictionary(p => p.Key switch { "Member Client Index Number (CIN)" => "CIN", "Referral Status" => "CLR Status", _ => p.Key }, p => p.Value);
            renamed["Plan Region"] = "North";
            return renamed;
        });

        var (report, accepted) = await Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv(rows)), partner);

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Empty(report.Problems);
        Assert.Equal("A-2023.1+mcp-one", report.SchemaVersion);
        Assert.Equal("North", accepted[0].Values[^1]);
        Assert.Equal("Accepted", accepted[0].Events.Single().Data["ReferralStatus"]);
    }

    [Fact]
    public void Npi_check_digit_is_the_luhn_digit_over_80840_and_the_first_nine_digits()
    {
        Assert.True(Identifiers.IsNpi("1234567893"));
        Assert.False(Identifiers.IsNpi("1234567890"));
        Assert.False(Identifiers.IsNpi("123456789"));
        Assert.Equal('3', Identifiers.NpiCheckDigit("123456789"));
    }

    [Theory]
    [InlineData("12-3456789", "123456789")]
    [InlineData("123456789", "123456789")]
    [InlineData("123-45-6789", "123456789")]
    [InlineData("00-1234567", null)]
    [InlineData("07-1234567", null)]
    [InlineData("111111111", null)]
    [InlineData("12345678", null)]
    [InlineData("12-34567890", null)]
    public void Tin_accepts_nine_digits_in_ein_or_ssn_form_and_refuses_never_issued_prefixes(string value, string? expected) =>
        Assert.Equal(expected, Identifiers.NormalizeTin(value));

    [Theory]
    [InlineData("91234567A", true)]
    [InlineData("91234567a", true)]
    [InlineData("912345678", false)]
    [InlineData("9123456A", false)]
    [InlineData("A12345678", false)]
    public void Cin_is_eight_digits_and_a_letter(string value, bool valid) => Assert.Equal(valid, Identifiers.IsCin(value.ToUpperInvariant()));
}
