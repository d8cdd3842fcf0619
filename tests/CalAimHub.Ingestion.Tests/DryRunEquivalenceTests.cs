using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Reports;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Tests;

/// <summary>
/// The dry run takes a faster path (values it does not need are checked in place, never copied; no row objects or events are
/// built; duplicates are found by a seeded 128-bit fingerprint instead of the SHA-256 row key). Its report must be exactly the
/// report of the storing run over the same file.
/// </summary>
public sealed class DryRunEquivalenceTests
{
    private static async Task AssertSameReportAsync(string kind, byte[] file, int expectedProblems = 0)
    {
        var (stored, _) = await Samples.RunAsync(kind, file);
        var channel = new PartnerFileChannel(FormatCatalog.Default, new IngestionOptions { MaxFileBytes = 1 << 26 });
        using var stream = new MemoryStream(file, writable: false);
        var dry = await channel.RunAsync(Samples.Submission(kind), stream, file.Length, new DryRunDestination(), CancellationToken.None);

        Assert.Equal(
            (stored.Outcome, stored.RowsRead, stored.RowsAccepted, stored.RowsRejected, stored.EventsEmitted, stored.ProblemCount),
            (dry.Outcome, dry.RowsRead, dry.RowsAccepted, dry.RowsRejected, dry.EventsEmitted, dry.ProblemCount));
        Assert.Equal(stored.ProblemsByRule.OrderBy(p => p.Key), dry.ProblemsByRule.OrderBy(p => p.Key));
        Assert.True(stored.ProblemCount >= expectedProblems, $"the file should exercise the checks: {stored.Summary()}");
        Assert.Equal(stored.Problems, dry.Problems); // records: row, column, masked value, rule, message, hint, severity
    }

    [Fact]
    public async Task An_rtf_file_with_bad_values_conditions_and_duplicates_reports_the_same_in_a_dry_run()
    {
        var rows = Enumerable.Range(1, 40).Select(Samples.RtfA).ToList();
        rows[3] = rows[3].With("ECM Enrollment Start Date", "13/45/2025");
        rows[5] = rows[5].With("Member New Address Indicator", "Y"); // address now required, and missing
        rows[6] = rows[6].With("Member New Address Indicator", "maybe");
        rows[7] = rows[7].With("ECM Enrollment End Date", "06/01/2025"); // before the start date
        rows[8] = rows[8].With("Referral Status", "Referral Loop Closed"); // reason now required
        rows[9] = rows[9].With("Member Client Index Number (CIN)", "9100000x"); // PHI, masked
        rows[10] = rows[10].With("ECM Lead Care Manager Phone Number", "555-01");
        rows[11] = rows[11].With("Member Residential State", "C4");
        rows[12] = rows[12].With("Member Residential Zip", "9581");
        rows[13] = rows[13].With("Discontinuation Date", "12/01/2025");
        rows[14] = rows[14].With("ECM Provider TIN", "00-1234567");
        rows[15] = rows[15].With("ECM Lead Care Manager Email", "a@b");
        rows[16] = rows[16].With("In Person", "-3");
        rows[17] = rows[17].With("Member Information File Reporting Period", "13/2025");
        rows[18] = rows[18].With("MCP Name", "Plan \uFFFD");
        rows[19] = rows[19].With("Referral Status", "");
        rows.Add(Samples.RtfA(2)); // duplicate of row 3
        rows.Add(Samples.RtfA(4).With("Member Client Index Number (CIN)", Samples.Cin(4).ToLowerInvariant())); // same key, other case
        rows.Add(Samples.RtfA(20).With("Referral Status", "")); // duplicate key fields of row 21 (both without status)

        await AssertSameReportAsync("rtf", Samples.Utf8(Samples.Csv(rows)), expectedProblems: 18);
    }

    [Fact]
    public async Task An_invoice_file_with_service_code_problems_and_duplicates_reports_the_same_in_a_dry_run()
    {
        var rows = Enumerable.Range(1, 20).Select(Samples.Invoice).ToList();
        rows[1] = rows[1].With("HCPCS Code", "Z9999");
        rows[2] = rows[2].With("Modifier 2", "U2");
        rows[3] = rows[3].With("Modifier 1", "XX");
        rows[4] = rows[4].With("Charge Amount", "12,50.x");
        rows[5] = rows[5].With("Units", "four");
        rows[6] = rows[6].With("Service End Date", "11/01/2025");
        rows[7] = rows[7].With("Modifier 1", "");
        rows.Add(Samples.Invoice(5));
        rows.Add(Samples.Invoice(6).With("Charge Amount", "$1,000.00"));

        await AssertSameReportAsync("invoice", Samples.Utf8(Samples.Csv(rows)), expectedProblems: 7);
    }

    [Fact]
    public async Task Every_kind_with_its_sample_rows_reports_the_same_in_a_dry_run()
    {
        await AssertSameReportAsync("rtf", Samples.Utf8(Samples.Csv(Enumerable.Range(1, 30).Select(Samples.RtfB))));
        await AssertSameReportAsync("otf", Samples.Utf8(Samples.Csv(Enumerable.Range(1, 30).Select(Samples.Otf).Append(Samples.Otf(3)))), expectedProblems: 1);
        await AssertSameReportAsync("referral", Samples.Utf8(Samples.Csv(Enumerable.Range(1, 30).Select(Samples.Referral).Append(Samples.Referral(7)))), expectedProblems: 1);
    }

    [Fact]
    public void The_duplicate_index_finds_every_repeat_with_its_first_row_across_growth()
    {
        using var index = new KeyIndex();
        Span<byte> hash = stackalloc byte[32];
        for (var row = 2; row < 20_002; row++)
        {
            BitConverter.TryWriteBytes(hash, (long)row * 7919);
            BitConverter.TryWriteBytes(hash[8..], row % 3); // low halves collide a lot: probing must compare both halves
            Assert.True(index.TryAdd(hash, row, out _));
        }

        for (var row = 2; row < 20_002; row += 397)
        {
            BitConverter.TryWriteBytes(hash, (long)row * 7919);
            BitConverter.TryWriteBytes(hash[8..], row % 3);
            Assert.False(index.TryAdd(hash, 60_000 + row, out var first));
            Assert.Equal(row, first);
        }

        Assert.Equal(20_000, index.Count);
    }
}
