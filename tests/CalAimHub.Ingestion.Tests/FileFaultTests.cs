using System.Text;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reading;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// Files seen to fail in the field, each with the exact rule, row, column, message and hint a partner gets. Every file runs
/// through the channel twice, storing (as a dropped blob) and dry (as <c>POST /api/files/validate</c>): both must report the same.
/// </summary>
public sealed class FileFaultTests
{
    private static async Task<(IngestReport Report, List<AcceptedRow> Rows)> RunBothAsync(string kind, byte[] file, PartnerProfile? partner = null, int bytesPerRead = int.MaxValue)
    {
        var (stored, rows) = await Samples.RunAsync(kind, file, partner, bytesPerRead: bytesPerRead);
        var channel = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions { MaxFileBytes = 1 << 26 });
        using var stream = new MemoryStream(file, writable: false);
        var dry = await channel.RunAsync(Samples.Submission(kind, partner), stream, file.Length, new DryRunDestination(), CancellationToken.None);
        Assert.Equal(stored.Problems, dry.Problems);
        Assert.Equal((stored.Outcome, stored.RowsRead, stored.RowsAccepted, stored.RowsRejected), (dry.Outcome, dry.RowsRead, dry.RowsAccepted, dry.RowsRejected));
        return (stored, rows);
    }

    private static Task<(IngestReport Report, List<AcceptedRow> Rows)> RtfAsync(params Dictionary<string, string>[] rows) =>
        RunBothAsync("rtf", Samples.Utf8(Samples.Csv(rows)));

    private static void AssertProblem(Problem problem, int row, string? column, string rule, string message, string hint)
    {
        Assert.Equal((row, column, rule), (problem.Row, problem.Column, problem.Rule));
        Assert.Equal(message, problem.Message);
        Assert.Equal(hint, problem.Hint);
    }

    private static string Value(AcceptedRow row, string column) => row.Values[row.Schema.Columns.Select(c => c.Name).ToList().IndexOf(column)];

    [Fact]
    public async Task An_iso_date_in_a_mm_dd_yyyy_column_is_rejected_with_the_date_to_write()
    {
        var (report, rows) = await RtfAsync(Samples.RtfA(1), Samples.RtfA(2).With("ECM Enrollment Start Date", "2025-03-01"));

        AssertProblem(report.Single(), 3, "ECM Enrollment Start Date", Rules.Date,
            "'ECM Enrollment Start Date' is written YYYY-MM-DD; this column takes MM/DD/YYYY",
            "write 03/01/2025, or ask the hub team to declare ISO dates for your rtf files");
        Assert.Equal([2], rows.Select(r => r.Row));
    }

    [Fact]
    public async Task An_iso_birth_date_is_rejected_without_repeating_the_birth_date_in_the_hint()
    {
        var (report, _) = await RunBothAsync("invoice", Samples.Utf8(Samples.Csv([Samples.Invoice(1).With("Member Date of Birth", "1961-03-14")])));

        var problem = report.Single();
        AssertProblem(problem, 2, "Member Date of Birth", Rules.Date,
            "'Member Date of Birth' is written YYYY-MM-DD; this column takes MM/DD/YYYY",
            "write the date as MM/DD/YYYY (2025-07-15 is 07/15/2025), or ask the hub team to declare ISO dates for your invoice files");
        // Over the report less its run times: a timestamp's fraction of a second may hold "1961" (as a random trace id once did).
        Assert.DoesNotContain("1961", (report with { StartedAt = default, CompletedAt = default }).ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Iso_dates_are_accepted_for_the_kinds_the_partner_profile_declares_them_for()
    {
        var file = Samples.Utf8(Samples.Csv([Samples.RtfA(1).With("ECM Enrollment Start Date", "2025-03-01"), Samples.RtfA(2)]));

        var (rtf, rows) = await RunBothAsync("rtf", file, Samples.Partner() with { IsoDates = ["rtf"] });
        var (otherKindOnly, _) = await RunBothAsync("rtf", file, Samples.Partner() with { IsoDates = ["invoice"] });

        Assert.Equal((IngestOutcome.Accepted, 0), (rtf.Outcome, rtf.ProblemCount));
        Assert.Equal(["2025-03-01", "2025-07-01"], rows.Select(r => Value(r, "ECM Enrollment Start Date")));
        Assert.Equal(Rules.Date, otherKindOnly.Single().Rule);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(97)]
    public async Task A_nul_byte_is_a_row_problem_naming_its_column_and_the_row_is_not_stored(int bytesPerRead)
    {
        var csv = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2).With("MCP Name", "Example\0Health Plan"), Samples.RtfA(3)]);

        var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(csv), bytesPerRead: bytesPerRead);

        var problem = report.Single();
        AssertProblem(problem, 3, "MCP Name", Rules.NulCharacter, "'MCP Name' holds a NUL character (byte 0x00)",
            "remove the NUL bytes (often padding from a fixed-width or binary export); a CSV value holds text only");
        Assert.Equal("Example\u2400Health Plan", problem.Value);
        Assert.Equal([2, 4], rows.Select(r => r.Row));
        Assert.Equal(IngestOutcome.PartiallyAccepted, report.Outcome);
    }

    [Fact]
    public async Task A_nul_byte_after_the_sniffed_prefix_is_a_row_problem_too()
    {
        var rows = Enumerable.Range(1, 60).Select(Samples.RtfA).ToList();
        rows.Add(Samples.RtfA(61).With("Member Last Name", "Quill\0\0\0"));
        var file = Samples.Utf8(Samples.Csv(rows));
        Assert.True(Array.IndexOf(file, (byte)0) > FileSniffer.PrefixLength);

        var (report, accepted) = await RunBothAsync("rtf", file);

        AssertProblem(report.Single(), 62, "Member Last Name", Rules.NulCharacter, "'Member Last Name' holds a NUL character (byte 0x00)",
            "remove the NUL bytes (often padding from a fixed-width or binary export); a CSV value holds text only");
        Assert.Equal("******␀␀", report.Single().Value); // PHI: masked as ever (8 characters, the last two shown)
        Assert.Equal(60, accepted.Count);
    }

    [Theory]
    [InlineData(false, int.MaxValue)]
    [InlineData(true, int.MaxValue)]
    [InlineData(true, 4093)]
    public async Task A_record_over_the_size_limit_is_record_too_long_and_the_rows_after_it_are_read(bool quoted, int bytesPerRead)
    {
        // Quoted, the long value holds line breaks (one row still) and an escaped quote; unquoted, it is one long line.
        var huge = quoted ? string.Concat(Enumerable.Repeat("note \"\"x\"\"\r\n", 120_000)) : new string('x', CsvRecordReader.MaxRecordChars + 10);
        var csv = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2).With("ECM Lead Care Manager Name", huge), Samples.RtfA(3), Samples.RtfA(4)]);

        var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(csv), bytesPerRead: bytesPerRead);

        AssertProblem(report.Single(), 3, null, Rules.CsvRecordTooLong,
            "record too long: the row is longer than 1,048,576 characters, the most one row may hold",
            "check the row for a value pasted many times over or a missing line break; the rows after it were read");
        Assert.Equal([2, 4, 5], rows.Select(r => r.Row));
        Assert.Equal((4, 3, 1, IngestOutcome.PartiallyAccepted), (report.RowsRead, report.RowsAccepted, report.RowsRejected, report.Outcome));
    }

    [Fact]
    public async Task A_record_too_long_as_the_last_row_ends_the_file_cleanly()
    {
        var csv = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2).With("MCP Name", new string('y', CsvRecordReader.MaxRecordChars))]).TrimEnd();

        var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(csv));

        Assert.Equal((3, Rules.CsvRecordTooLong), (report.Single().Row, report.Single().Rule));
        Assert.Equal([2], rows.Select(r => r.Row));
    }

    [Fact]
    public async Task A_header_row_too_long_rejects_the_file_as_record_too_long()
    {
        var csv = new string('h', CsvRecordReader.MaxRecordChars + 1) + "\r\n" + Samples.Csv([Samples.RtfA(1)]);

        var (report, _) = await RunBothAsync("rtf", Samples.Utf8(csv));

        AssertProblem(report.Single(), 1, null, Rules.CsvRecordTooLong, "record too long: the header row is longer than 1,048,576 characters, the most one row may hold",
            "check the header row for a missing line break: it must hold the column names only");
        Assert.Equal(IngestOutcome.Rejected, report.Outcome);
    }

    [Fact]
    public async Task A_quote_never_closed_in_a_large_file_is_still_an_unbalanced_quote_at_its_row()
    {
        var rows = Enumerable.Range(1, 8000).Select(Samples.RtfA).ToList();
        var csv = Samples.Csv(rows);
        var at = csv.IndexOf(Samples.Cin(3), StringComparison.Ordinal);
        csv = csv[..at] + "\"" + csv[at..];
        Assert.True(csv.Length - at > CsvRecordReader.MaxRecordChars);

        var (report, accepted) = await RunBothAsync("rtf", Samples.Utf8(csv));

        AssertProblem(report.Single(), 4, null, Rules.CsvUnbalancedQuote, "a quoted field opened in this row is never closed; rows from here on were not read",
            "close the quote: a value that contains the delimiter, a quote or a line break is wrapped in \"…\" and inner quotes are doubled (\"\")");
        Assert.Equal([2, 3], accepted.Select(r => r.Row));
    }

    [Fact]
    public async Task A_windows_1252_file_is_an_encoding_problem_naming_the_line_and_byte()
    {
        var bytes = Encoding.Latin1.GetBytes(Samples.Csv([Samples.RtfA(1), Samples.RtfA(2).With("Member First Name", "Ros\u00e9")]));

        var (report, rows) = await RunBothAsync("rtf", bytes);

        AssertProblem(report.Single(), 3, null, Rules.FileEncoding,
            "the file is not UTF-8: line 3 holds byte 0xE9, as Latin-1 and Windows-1252 files write accented letters",
            "save the file as 'CSV UTF-8 (Comma delimited)', or ask the hub team to set your partner profile's encoding (e.g. windows-1252)");
        Assert.Equal(IngestOutcome.Rejected, report.Outcome);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_windows_1252_file_is_decoded_when_the_partner_profile_names_the_encoding()
    {
        System.Text.Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var text = Samples.Csv([Samples.RtfA(1).With("Member First Name", "Ros\u00e9"), Samples.RtfA(2).With("MCP Name", "\u201cExample\u201d Health Plan")]);
        var bytes = System.Text.Encoding.GetEncoding("windows-1252").GetBytes(text);
        Assert.Contains((byte)0x93, bytes); // a curly quote: Windows-1252, not Latin-1

        var (report, rows) = await RunBothAsync("rtf", bytes, Samples.Partner() with { Encoding = "windows-1252" });

        Assert.Equal((IngestOutcome.Accepted, 0), (report.Outcome, report.ProblemCount));
        Assert.Equal("Ros\u00e9", Value(rows[0], "Member First Name"));
        Assert.Equal("\u201cExample\u201d Health Plan", Value(rows[1], "MCP Name"));
    }

    [Fact]
    public async Task A_profile_encoding_the_hub_cannot_read_rejects_the_file_saying_so()
    {
        var (report, _) = await RunBothAsync("rtf", Samples.Utf8(Samples.Csv([Samples.RtfA(1)])), Samples.Partner() with { Encoding = "klingon-1" });

        AssertProblem(report.Single(), 0, null, Rules.FileEncoding, "the partner profile names the encoding 'klingon-1', which the hub cannot read",
            "ask the hub team to set the profile's encoding to a single-byte encoding such as windows-1252 or iso-8859-1, or to remove it (UTF-8)");
    }

    [Theory]
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46, 0x2D, 0x31, 0x2E, 0x37, 0x0A, 0x00, 0xFF, 0xFE })] // a PDF's first bytes
    [InlineData(new byte[] { (byte)'a', (byte)',', (byte)'b', 0x0A, 0x00, 0xE9, (byte)'c' })] // a NUL and bytes that are not UTF-8
    public async Task Bytes_no_text_export_writes_are_binary_not_an_encoding_problem(byte[] file)
    {
        var (report, _) = await RunBothAsync("rtf", file);

        AssertProblem(report.Single(), 0, null, Rules.FileBinary, "the file is not text (CSV) and not an XLSX workbook",
            "send CSV (UTF-8, comma, tab or pipe delimited) or an XLSX workbook; not XLS, PDF or a zipped file");
    }

    [Fact]
    public async Task A_utf16_file_without_a_byte_order_mark_is_an_encoding_problem_not_binary()
    {
        var (report, _) = await RunBothAsync("rtf", Encoding.Unicode.GetBytes(Samples.Csv([Samples.RtfA(1)])));

        AssertProblem(report.Single(), 0, null, Rules.FileEncoding, "the file is UTF-16 encoded", "save the file as 'CSV UTF-8' (UTF-8, with or without BOM)");
    }

    [Fact]
    public async Task A_semicolon_separated_file_gets_a_delimiter_problem_naming_the_semicolon()
    {
        var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(Samples.Csv([Samples.RtfA(1), Samples.RtfA(2)], delimiter: ';')));

        AssertProblem(report.Single(), 1, null, Rules.FileDelimiter, "the header row is separated by semicolons (;), not by commas (,)",
            "save the file as 'CSV UTF-8 (Comma delimited)': the hub reads comma, tab or pipe separated files (Excel writes semicolons where the region's list separator is ';')");
        Assert.Single(report.Problems); // not a missing-column problem per column
        Assert.Empty(rows);
    }

    [Fact]
    public async Task Tab_and_pipe_files_are_read()
    {
        foreach (var delimiter in new[] { '\t', '|' })
        {
            var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(Samples.Csv([Samples.RtfA(1), Samples.RtfA(2)], delimiter: delimiter)));

            Assert.Equal((IngestOutcome.Accepted, 2), (report.Outcome, rows.Count));
        }
    }

    [Fact]
    public async Task A_row_separated_by_another_delimiter_than_the_header_names_it()
    {
        var lines = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2)]).Split("\r\n");
        var csv = lines[0] + "\r\n" + lines[1] + "\r\n" + lines[2].Replace(',', '|') + "\r\n";

        var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(csv));

        AssertProblem(report.Single(), 3, null, Rules.CsvColumnCount, "row has 1 fields, the header has 41",
            "the row is separated by pipes (|), the header is not: use one delimiter in the whole file");
        Assert.Single(rows);
    }

    [Fact]
    public async Task A_count_below_its_minimum_says_the_minimum_and_not_a_cut_off_range()
    {
        var (report, _) = await RtfAsync(Samples.RtfA(1).With("In Person", "-1"));

        AssertProblem(report.Single(), 2, "In Person", Rules.Range, "'In Person' is less than 0", "use 0 or more");
    }

    [Fact]
    public async Task A_value_outside_both_bounds_names_both()
    {
        var (report, _) = await RunBothAsync("otf", Samples.Utf8(Samples.Csv([Samples.Otf(1).With("Time Spent Performing Outreach", "2000")])));

        AssertProblem(report.Single(), 2, "Time Spent Performing Outreach", Rules.Range, "'Time Spent Performing Outreach' is outside 0–1440", "use a value from 0 to 1440");
    }

    [Fact]
    public async Task An_open_ended_end_date_written_as_12_31_9999_is_out_of_range_and_told_to_stay_empty()
    {
        var (report, rows) = await RtfAsync(Samples.RtfA(1).With("ECM Enrollment End Date", "12/31/9999"), Samples.RtfA(2).With("ECM Enrollment Start Date", "07/01/1899"));

        Assert.Collection(report.Problems,
            p => AssertProblem(p, 2, "ECM Enrollment End Date", Rules.DateRange,
                "'ECM Enrollment End Date' is outside the dates the hub accepts (01/01/1900 to 12/31/2100)",
                "leave 'ECM Enrollment End Date' empty while the period has no end; an open-ended period has no end date, not a far-future one"),
            p => AssertProblem(p, 3, "ECM Enrollment Start Date", Rules.DateRange,
                "'ECM Enrollment Start Date' is outside the dates the hub accepts (01/01/1900 to 12/31/2100)",
                "write the real date, from 01/01/1900 to 12/31/2100"));
        Assert.Empty(rows);
    }

    [Theory]
    [InlineData("ECM Enrollment Start Date", "02/30/2025")]
    [InlineData("ECM Enrollment Start Date", "12/31/99999")]
    public async Task A_value_that_is_no_calendar_date_is_still_not_a_date(string column, string value)
    {
        var (report, _) = await RtfAsync(Samples.RtfA(1).With(column, value));

        AssertProblem(report.Single(), 2, column, Rules.Date, $"'{column}' is not a date in MM/DD/YYYY form", "write the date as MM/DD/YYYY, e.g. 07/15/2025");
    }

    [Fact]
    public async Task A_file_without_its_header_row_says_the_header_is_missing_not_that_columns_repeat()
    {
        var csv = Samples.Csv([Samples.RtfA(1), Samples.RtfA(2), Samples.RtfA(3)]);
        var headerless = csv[(csv.IndexOf("\r\n", StringComparison.Ordinal) + 2)..];

        var (report, rows) = await RunBothAsync("rtf", Samples.Utf8(headerless));

        AssertProblem(report.Single(), 1, null, Rules.HeaderMissing,
            "the header row is missing: row 1 holds data (dates, numbers, codes) and none of the column names of rtf-a@A-2023.1 or rtf-b@B-2025.7",
            "add the header row as the first line: the column names of rtf-a@A-2023.1 or rtf-b@B-2025.7, e.g. 'Primary Payer (MCP) Identifier', 'MCP Name', …");
        Assert.Single(report.Problems);
        Assert.DoesNotContain(Samples.Cin(1), report.ToJson(), StringComparison.Ordinal);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_header_of_another_kind_is_still_reported_as_missing_columns()
    {
        var (report, _) = await RunBothAsync("rtf", Samples.Utf8(Samples.Csv([Samples.Invoice(1)])));

        Assert.DoesNotContain(report.Problems, p => p.Rule is Rules.HeaderMissing or Rules.FileDelimiter);
        Assert.Contains(report.Problems, p => p.Rule == Rules.HeaderMissingColumn);
    }
}
