using System.Text;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Tests;

/// <summary>The malformed corpus: every bad file or row names the exact rule, row and column, with a fix hint, and PHI masked.</summary>
public sealed class MalformedCorpusTests
{
    private static Task<(IngestReport Report, List<AcceptedRow> Rows)> Rtf(params Dictionary<string, string>[] rows) =>
        Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv(rows)));

    private static Task<(IngestReport Report, List<AcceptedRow> Rows)> Invoice(params Dictionary<string, string>[] rows) =>
        Samples.RunAsync("invoice", Samples.Utf8(Samples.Csv(rows)));

    private static void AssertProblem(IngestReport report, int row, string? column, string rule)
    {
        var problem = report.Single();
        Assert.Equal((row, column, rule), (problem.Row, problem.Column, problem.Rule));
        Assert.False(string.IsNullOrWhiteSpace(problem.Message));
        Assert.False(string.IsNullOrWhiteSpace(problem.Hint));
    }

    [Fact]
    public async Task An_unbalanced_quote_stops_the_file_at_its_row_and_keeps_the_rows_before_it()
    {
        var csv = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2), Samples.RtfA(3)]);
        var third = csv.LastIndexOf("Example Health Plan", StringComparison.Ordinal);
        csv = csv[..third] + "\"" + csv[third..]; // a quote opened in row 4 and never closed

        var (report, rows) = await Samples.RunAsync("rtf", Samples.Utf8(csv));

        AssertProblem(report, 4, null, Rules.CsvUnbalancedQuote);
        Assert.Equal(IngestOutcome.PartiallyAccepted, report.Outcome);
        Assert.Equal([2, 3], rows.Select(r => r.Row));
    }

    [Fact]
    public async Task A_row_with_too_many_fields_is_rejected_with_its_row_number()
    {
        var lines = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2), Samples.RtfA(3)]).Split("\r\n").ToList();
        lines[2] += ",surplus";

        var (report, rows) = await Samples.RunAsync("rtf", Samples.Utf8(string.Join("\r\n", lines)));

        AssertProblem(report, 3, null, Rules.CsvColumnCount);
        Assert.Equal([2, 4], rows.Select(r => r.Row));
        Assert.Equal((3, 2, 1), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
    }

    [Fact]
    public async Task A_row_with_too_few_fields_is_rejected()
    {
        var lines = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2)]).Split("\r\n").ToList();
        lines[1] = string.Join(',', lines[1].Split(',').SkipLast(3));

        var (report, _) = await Samples.RunAsync("rtf", Samples.Utf8(string.Join("\r\n", lines)));

        AssertProblem(report, 2, null, Rules.CsvColumnCount);
    }

    [Fact]
    public async Task A_utf8_bom_is_accepted_and_not_part_of_the_first_header()
    {
        var (report, rows) = await Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv([Samples.RtfA(1)]), bom: true));

        Assert.Equal(IngestOutcome.Accepted, report.Outcome);
        Assert.Single(rows);
    }

    [Fact]
    public async Task A_utf16_file_is_rejected_as_an_encoding_problem()
    {
        var bytes = new UnicodeEncoding(bigEndian: false, byteOrderMark: true).GetPreamble().Concat(Encoding.Unicode.GetBytes(Samples.Csv([Samples.RtfA(1)]))).ToArray();

        var (report, rows) = await Samples.RunAsync("rtf", bytes);

        AssertProblem(report, 0, null, Rules.FileEncoding);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task Invalid_utf8_after_the_sniffed_prefix_rejects_exactly_the_row_that_holds_it()
    {
        var good = Enumerable.Range(1, 60).Select(Samples.RtfA).ToArray();
        var head = Encoding.UTF8.GetBytes(Samples.Csv(good));
        var bad = Encoding.UTF8.GetBytes(Samples.Csv([Samples.RtfA(61)]).Split("\r\n", 2)[1].Replace("Rosalind", "Ros\u00e9", StringComparison.Ordinal));
        var index = Array.IndexOf(bad, (byte)0xC3);
        bad[index] = 0xFF; // not UTF-8
        Assert.True(head.Length > 8192);

        var (report, rows) = await Samples.RunAsync("rtf", [.. head, .. bad, .. Encoding.UTF8.GetBytes(Samples.Csv([Samples.RtfA(62)]).Split("\r\n", 2)[1])]);

        var problem = report.Single();
        Assert.Equal((62, "Member First Name", Rules.InvalidCharacters), (problem.Row, problem.Column, problem.Rule));
        Assert.Equal(61, rows.Count);
    }

    [Fact]
    public async Task Mixed_line_endings_are_read_row_by_row_and_problems_keep_their_row_numbers()
    {
        var rows = new[] { Samples.RtfA(1), Samples.RtfA(2), Samples.RtfA(3).With("ECM Provider NPI", "1234567890"), Samples.RtfA(4) };
        var lines = Samples.Csv(rows, newline: "\n").Split('\n');
        var csv = lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r\n" + lines[3] + "\n" + lines[4] + "\r\n";

        var (report, accepted) = await Samples.RunAsync("rtf", Samples.Utf8(csv));

        AssertProblem(report, 4, "ECM Provider NPI", Rules.Npi);
        Assert.Equal([2, 3, 5], accepted.Select(r => r.Row));
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(97)]
    [InlineData(200)]
    [InlineData(512)]
    public async Task Lone_cr_line_endings_end_every_row_even_after_an_empty_last_field_and_stay_in_quoted_values(int bytesPerRead)
    {
        // Classic-Mac line endings. Every RTF A sample row ends with an empty field (Reason for Referral Loop Closure): Sylvan
        // alone merges rows when such a CR is the last character a read handed it (short reads, as from a network stream).
        var rows = new List<Dictionary<string, string>>
        {
            Samples.RtfA(1).With("MCP Name", "Example\rHealth Plan"), // quoted, a lone CR inside: kept
            Samples.RtfA(2),
            Samples.RtfA(3).With("ECM Provider NPI", "1234567890"),
            Samples.RtfA(4).With("MCP Name", "Example\r\nNorth"), // quoted, CRLF inside: kept
            Samples.RtfA(5).With("Referral Status", "Referral Loop Closed").With("Reason for Referral Loop Closure", "Services Received"),
        };
        rows.AddRange(Enumerable.Range(6, 25).Select(Samples.RtfA));
        var csv = Samples.Csv(rows, newline: "\r");
        Assert.DoesNotContain("\n", csv.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var (report, accepted) = await Samples.RunAsync("rtf", Samples.Utf8(csv), bytesPerRead: bytesPerRead);

        AssertProblem(report, 4, "ECM Provider NPI", Rules.Npi);
        Assert.Equal((30, 29, 1), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
        Assert.Equal(Enumerable.Range(2, 30).Where(r => r != 4), accepted.Select(r => r.Row));
        var columns = accepted[0].Schema.Columns.Select(c => c.Name).ToList();
        string Value(AcceptedRow row, string column) => row.Values[columns.IndexOf(column)];
        Assert.Equal(["Example\rHealth Plan", "Example Health Plan", "Example\r\nNorth", "Example Health Plan", "Example Health Plan"], accepted.Take(5).Select(r => Value(r, "MCP Name")));
        Assert.Equal(rows.Where((_, i) => i != 2).Select(r => r["Member Client Index Number (CIN)"]), accepted.Select(r => Value(r, "Member Client Index Number (CIN)")));
        Assert.Equal(["", "", "", "Services Received", ""], accepted.Take(5).Select(r => Value(r, "Reason for Referral Loop Closure")));
    }

    [Fact]
    public void Lone_crs_become_row_ends_outside_quotes_whatever_the_read_sizes()
    {
        // Row ends: lone CR, CRLF, LF, CR at the very end. Inside quotes: a lone CR, an LF, escaped quotes next to them.
        // Five times over, so hits fall at every offset of the vectorized scan.
        var text = string.Concat(Enumerable.Repeat("a,b,\rc,\"x\ry\",\r\nd,\"\"\"q\r\"\"\",\ne,\"\"\r\"f\"\"g\nh\",\rlast,\"\"\r", 5));
        var expected = string.Concat(Enumerable.Repeat("a,b,\nc,\"x\ry\",\r\nd,\"\"\"q\r\"\"\",\ne,\"\"\n\"f\"\"g\nh\",\nlast,\"\"\n", 5));

        Assert.Equal(expected, ReadAll(text, int.MaxValue));
        foreach (var size in new[] { 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 33 })
        {
            // A CRLF split between two reads reaches the parser as one LF: the same row end.
            Assert.Equal(expected.Replace("\r\n", "\n", StringComparison.Ordinal), ReadAll(text, size).Replace("\r\n", "\n", StringComparison.Ordinal));
        }

        static string ReadAll(string text, int size)
        {
            using var reader = new CalAimHub.Ingestion.Reading.LoneCarriageReturnReader(new TrickleReader(text, size), ',');
            var all = new StringBuilder();
            var buffer = new char[1024];
            int read;
            while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
            {
                all.Append(buffer, 0, read);
            }

            return all.ToString();
        }
    }

    /// <summary>Hands out at most <c>size</c> characters per read, so every chunk boundary is tried.</summary>
    private sealed class TrickleReader(string text, int size) : TextReader
    {
        private int _at;

        public override int Read(Span<char> buffer)
        {
            var n = Math.Min(Math.Min(size, buffer.Length), text.Length - _at);
            text.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }
    }

    [Theory]
    [InlineData("ECM Enrollment Start Date", "2025/07/01", Rules.Date)]
    [InlineData("ECM Enrollment Start Date", "13/01/2025", Rules.Date)]
    [InlineData("ECM Enrollment Start Date", "02/30/2025", Rules.Date)]
    [InlineData("Date of Most Recent Encounter with Member", "01/16/2026", Rules.DateFuture)]
    [InlineData("Member Information File Reporting Period", "2025-13", Rules.Month)]
    [InlineData("Member Client Index Number (CIN)", "91234567", Rules.Cin)]
    [InlineData("ECM Provider NPI", "1234567890", Rules.Npi)]
    [InlineData("ECM Provider NPI", "12345", Rules.Npi)]
    [InlineData("ECM Provider TIN", "00-1234567", Rules.Tin)]
    [InlineData("ECM Provider TIN", "12-345678", Rules.Tin)]
    [InlineData("Referral Status", "Completed", Rules.Code)]
    [InlineData("Member POF", "10", Rules.Code)]
    [InlineData("In Person", "two", Rules.Integer)]
    [InlineData("In Person", "-1", Rules.Range)]
    [InlineData("ECM Lead Care Manager Email", "casey.provider.example", Rules.Email)]
    [InlineData("ECM Provider Phone Number", "555-0101", Rules.Phone)]
    [InlineData("Member ECM Status", "", Rules.Required)]
    public async Task A_bad_value_is_rejected_with_its_rule_row_and_column(string column, string value, string rule)
    {
        var (report, rows) = await Rtf(Samples.RtfA(1), Samples.RtfA(2).With(column, value), Samples.RtfA(3));

        AssertProblem(report, 3, column, rule);
        Assert.Equal([2, 4], rows.Select(r => r.Row));
        Assert.Equal(IngestOutcome.PartiallyAccepted, report.Outcome);
    }

    [Fact]
    public async Task Enrollment_end_before_start_is_a_date_order_problem_on_the_end_column()
    {
        var (report, _) = await Rtf(Samples.RtfA(1).With("ECM Enrollment End Date", "06/30/2025"));

        AssertProblem(report, 2, "ECM Enrollment End Date", Rules.DateOrder);
    }

    [Fact]
    public async Task Referral_loop_closed_needs_a_reason_and_a_status_needs_its_date()
    {
        var (report, _) = await Rtf(
            Samples.RtfA(1).With("Referral Status", "Referral Loop Closed"),
            Samples.RtfA(2).With("Date of Referral Status Update", ""));

        Assert.Collection(report.Problems,
            p => Assert.Equal((2, "Reason for Referral Loop Closure", Rules.RequiredWhen), (p.Row, p.Column, p.Rule)),
            p => Assert.Equal((3, "Date of Referral Status Update", Rules.RequiredWhen), (p.Row, p.Column, p.Rule)));
    }

    [Fact]
    public async Task A_bad_cin_is_masked_in_the_report()
    {
        var (report, _) = await Rtf(Samples.RtfA(1).With("Member Client Index Number (CIN)", "9876543ZQ"));

        var problem = report.Single();
        Assert.Equal(Rules.Cin, problem.Rule);
        Assert.Equal("*******ZQ", problem.Value);
        Assert.DoesNotContain("9876543", report.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_row_with_the_same_key_is_a_duplicate_naming_the_first()
    {
        var (report, rows) = await Rtf(Samples.RtfA(1), Samples.RtfA(2), Samples.RtfA(1).With("Member Acuity Level", "Low"));

        AssertProblem(report, 4, null, Rules.Duplicate);
        Assert.Contains("row 2", report.Problems[0].Message, StringComparison.Ordinal);
        Assert.Equal([2, 3], rows.Select(r => r.Row));
    }

    [Fact]
    public async Task An_unknown_hcpcs_code_is_rejected()
    {
        var (report, _) = await Invoice(Samples.Invoice(1).With("HCPCS Code", "99213"), Samples.Invoice(2).With("HCPCS Code", "T1015").With("Modifier 1", "U6").With("Modifier 2", ""));

        Assert.Collection(report.Problems,
            p => Assert.Equal((2, "HCPCS Code", Rules.Hcpcs), (p.Row, p.Column, p.Rule)),
            p => Assert.Equal((3, "HCPCS Code", Rules.HcpcsUnknown), (p.Row, p.Column, p.Rule)));
    }

    [Theory]
    [InlineData("Modifier 3", "U6", Rules.ModifierNotAllowed)] // an extra modifier outside the code's table entries
    [InlineData("Modifier 4", "25", Rules.ModifierNotAllowed)] // checked in every slot, not only modifier 1
    [InlineData("Modifier 3", "GQ", Rules.ModifierRepeated)]
    [InlineData("Modifier 3", "U8", Rules.ModifierCombination)] // U2 and U8 are each valid for G9012, not together
    public async Task Every_modifier_slot_is_checked_against_the_dhcs_table(string slot, string modifier, string rule)
    {
        var (report, rows) = await Invoice(Samples.Invoice(1).With(slot, modifier));

        AssertProblem(report, 2, rule == Rules.ModifierCombination ? "Modifier 1" : slot, rule);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_code_whose_only_modifier_is_optional_needs_its_service_modifier()
    {
        var (report, _) = await Invoice(Samples.Invoice(1).With("Modifier 1", "GQ").With("Modifier 2", ""));

        AssertProblem(report, 2, "Modifier 1", Rules.ModifierCombination);
    }

    [Fact]
    public async Task A_community_supports_code_with_the_wrong_service_modifier_is_rejected()
    {
        var (report, _) = await Invoice(Samples.Invoice(1).With("HCPCS Code", "S5165").With("Modifier 1", "U2").With("Modifier 2", ""));

        AssertProblem(report, 2, "Modifier 1", Rules.ModifierNotAllowed);
    }

    [Fact]
    public async Task Service_end_before_start_and_no_provider_id_are_row_problems()
    {
        var (report, _) = await Invoice(
            Samples.Invoice(1).With("Service End Date", "11/30/2025"),
            Samples.Invoice(2).With("Rendering Provider NPI", ""));

        Assert.Collection(report.Problems,
            p => Assert.Equal((2, "Service End Date", Rules.DateOrder), (p.Row, p.Column, p.Rule)),
            p => Assert.Equal((3, "Rendering Provider NPI", Rules.RequiredUnless), (p.Row, p.Column, p.Rule)));
    }

    [Fact]
    public async Task A_future_service_date_is_rejected()
    {
        var (report, _) = await Invoice(Samples.Invoice(1).With("Service End Date", "02/01/2026"));

        AssertProblem(report, 2, "Service End Date", Rules.DateFuture);
    }

    [Theory]
    [InlineData(new byte[0], Rules.FileEmpty)]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'\r', (byte)'\n', (byte)' ' }, Rules.FileEmpty)]
    [InlineData(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D }, Rules.FileBinary)]
    [InlineData(new byte[] { (byte)'a', (byte)',', 0xC3, 0x28, (byte)'b' }, Rules.FileEncoding)] // text, not UTF-8
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04, 1, 2, 3 }, Rules.FileBinary)]
    public async Task Empty_and_binary_files_are_rejected_before_any_row(byte[] file, string rule)
    {
        var (report, rows) = await Samples.RunAsync("rtf", file);

        Assert.Equal(rule, report.Single().Rule);
        Assert.Equal(IngestOutcome.Rejected, report.Outcome);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_file_over_the_size_limit_is_rejected_without_being_read()
    {
        var file = Samples.Utf8(Samples.Csv([Samples.RtfA(1), Samples.RtfA(2)]));

        var (report, rows) = await Samples.RunAsync("rtf", file, maxBytes: file.Length - 1);

        AssertProblem(report, 0, null, Rules.FileTooLarge);
        Assert.Null(report.Schema);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_header_without_data_rows_is_rejected()
    {
        var (report, _) = await Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv([Samples.RtfA(1)]).Split("\r\n")[0] + "\r\n"));

        AssertProblem(report, 2, null, Rules.FileNoRows);
    }

    [Fact]
    public async Task A_missing_required_column_rejects_the_file_at_the_header()
    {
        var row = Samples.RtfA(1);
        row.Remove("ECM Provider NPI");

        var (report, rows) = await Rtf(row);

        AssertProblem(report, 1, "ECM Provider NPI", Rules.HeaderMissingColumn);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_duplicated_header_rejects_the_file_and_an_unknown_one_is_a_warning()
    {
        var csv = Samples.Csv([Samples.RtfA(1)]).Split("\r\n");
        var duplicated = Samples.Utf8(csv[0] + ",MCP Name\r\n" + csv[1] + ",Other\r\n");
        var unknown = Samples.Utf8(csv[0] + ",Favourite Colour\r\n" + csv[1] + ",Blue\r\n");

        var (dup, _) = await Samples.RunAsync("rtf", duplicated);
        var (extra, accepted) = await Samples.RunAsync("rtf", unknown);

        AssertProblem(dup, 1, "MCP Name", Rules.HeaderDuplicateColumn);
        Assert.Equal(IngestOutcome.Accepted, extra.Outcome);
        Assert.Equal((Rules.HeaderUnknownColumn, Problem.Warning), (extra.Problems.Single().Rule, extra.Problems.Single().Severity));
        Assert.Single(accepted);
    }

    [Fact]
    public async Task Unknown_kind_unregistered_partner_and_kind_not_allowed_are_file_rejections()
    {
        var file = Samples.Utf8(Samples.Csv([Samples.RtfA(1)]));

        var (kind, _) = await Samples.RunAsync("mif", file, submission: Samples.Submission("mif"));
        var (partner, _) = await Samples.RunAsync("rtf", file, submission: Samples.Submission("rtf") with { Partner = null });
        var (notAllowed, _) = await Samples.RunAsync("rtf", file, Samples.Partner() with { Kinds = ["invoice"] });

        Assert.Equal(Rules.FileUnknownKind, kind.Single().Rule);
        Assert.Equal(Rules.FileUnknownPartner, partner.Single().Rule);
        Assert.Equal(Rules.FileKindNotAllowed, notAllowed.Single().Rule);
    }

    [Fact]
    public async Task An_xlsx_row_with_a_value_right_of_the_last_header_is_a_column_count_problem()
    {
        var wide = Samples.RtfA(2);
        var rows = new[] { Samples.RtfA(1).Append(KeyValuePair.Create("", "")).ToDictionary(), wide.Append(KeyValuePair.Create("", "stray")).ToDictionary() };
        var (report, accepted) = await Samples.RunAsync("rtf", Samples.Xlsx(("RTF", rows)));

        AssertProblem(report, 3, null, Rules.CsvColumnCount);
        Assert.Single(accepted);
    }

    [Fact]
    public async Task The_report_lists_at_most_ten_thousand_problems_but_counts_all()
    {
        var rows = Enumerable.Range(1, 10_050).Select(n => Samples.RtfA(n).With("ECM Provider NPI", "1")).ToArray();

        var (report, _) = await Samples.RunAsync("rtf", Samples.Utf8(Samples.Csv(rows)));

        Assert.Equal(10_050, report.ProblemCount);
        Assert.Equal(10_000, report.Problems.Count);
        Assert.Equal(10_050, report.ProblemsByRule[Rules.Npi]);
        Assert.Equal(IngestOutcome.Rejected, report.Outcome);
    }
}
