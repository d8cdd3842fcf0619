using System.Text;
using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion.Tests;

/// <summary>Issue 14 item 1: the plan's <c>assignment</c> feed is validated, keyed and reported like every other kind.</summary>
public sealed class AssignmentFileTests
{
    private static string Sample() => File.ReadAllText(Path.Combine(SampleFolder(), "assignment.csv"));

    private static string SampleFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CalAimHub.sln")))
            {
                return Path.Combine(folder.FullName, "samples", "files");
            }
        }

        throw new DirectoryNotFoundException("no CalAimHub.sln above the test output folder");
    }

    [Fact]
    public void The_assignment_layout_is_the_hubs_own_baseline_keyed_by_provider_period_member_and_service()
    {
        var schema = FormatCatalog.Default.Schema("assignment");

        Assert.Equal((FileKind.Assignment, "2026.1"), (schema.Kind, schema.Version));
        Assert.Contains("hub's own baseline", schema.Source, StringComparison.Ordinal);
        Assert.Equal(["Provider ID", "Assignment Period", "Medi-Cal Member Client Index Number (CIN)", "Community Support Service"], schema.Key);
        Assert.True(schema.Columns.Single(c => c.Field == "MemberCin").Phi);
        Assert.Contains(FileKind.Assignment, FileKind.All);
    }

    [Fact]
    public async Task A_cs_assignment_without_its_service_is_rejected_on_its_row_and_column_with_the_fix()
    {
        var lines = Sample().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[3] = lines[3].Replace(",CS,HTNS,", ",CS,,", StringComparison.Ordinal);

        var (report, rows) = await Samples.RunAsync(FileKind.Assignment, Encoding.UTF8.GetBytes(string.Join('\n', lines)));

        var problem = report.Single();
        Assert.Equal((4, "Community Support Service", "value.required-when"), (problem.Row, problem.Column, problem.Rule));
        Assert.NotEmpty(problem.Hint);
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public async Task An_accepted_assignment_raises_one_event_on_its_own_queue_without_member_data()
    {
        var (report, rows) = await Samples.RunAsync(FileKind.Assignment, Encoding.UTF8.GetBytes(Sample()));

        Assert.Equal(0, report.ProblemCount);
        var events = rows.SelectMany(r => r.Events).ToList();
        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal(("calaimhub.assignment.received", "assignment-events"), (e.Type, DomainEvent.QueueFor(e.Type))));
        Assert.Equal(["ecm-sunrise", "ecm-sunrise", "cs-harbor"], events.Select(e => e.Data["ProviderId"]));
        Assert.Equal("2026-01", events[0].Data["AssignmentPeriod"]);
        Assert.DoesNotContain(events.SelectMany(e => e.Data.Values), v => v.Contains("91000031F", StringComparison.Ordinal) || v.Contains("Quillfeather", StringComparison.Ordinal));
    }
}
