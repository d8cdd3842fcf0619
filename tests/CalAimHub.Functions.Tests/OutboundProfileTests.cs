using CalAimHub.Domain.Consent;
using CalAimHub.Functions.Outbound;
using CalAimHub.Hosting.Invocations;
using CalAimHub.Ingestion.Outbound;
using Microsoft.Extensions.Configuration;

namespace CalAimHub.Functions.Tests;

/// <summary>Issue 14: the plan's outbound profile, the consent categories of every outbound column, provider keys.</summary>
public sealed class OutboundProfileTests
{
    [Fact]
    public void Every_column_of_every_outbound_layout_has_a_disclosure_category()
    {
        var missing = OutboundLayouts.Default.All.SelectMany(l => l.Columns.Select(c => (l.Name, c.Name)))
            .Where(c => !DisclosureCategories.Current.TryCategoryOf(c.Item2, out _)).ToList();

        Assert.Empty(missing);
        Assert.Equal(DisclosureCategories.SubstanceUseDisorder, DisclosureCategories.Current.CategoryOf("Substance Use Disorder Needs"));
    }

    [Theory]
    [InlineData(2026, 1, 15, true)]
    [InlineData(2026, 1, 29, true)]
    [InlineData(2026, 1, 30, false)]
    [InlineData(2026, 2, 28, true)] // the 29th falls on February's last day
    [InlineData(2028, 2, 29, true)]
    [InlineData(2028, 2, 28, false)]
    public void Cs_status_days_default_to_the_15th_and_29th_and_clamp_to_the_months_end(int year, int month, int day, bool due) =>
        Assert.Equal(due, new OutboundOptions().IsCsStatusDay(new DateOnly(year, month, day)));

    [Fact]
    public void The_default_profile_names_files_per_kind()
    {
        var options = new OutboundOptions { PlanCode = "PLANA" };

        options.Validate();
        Assert.Equal("PLANA_ECM_MIF_ecm-sunrise_202601.csv", options.FileName(SentFileKinds.Mif, "ecm-sunrise", "2026-01", new DateOnly(2026, 1, 1), "", "csv"));
        Assert.Equal("PLANA_CSASF_cs-harbor_20260115.xlsx", options.FileName(SentFileKinds.CsAuthorizationStatus, "cs-harbor", "2026-01", new DateOnly(2026, 1, 15), "", "xlsx"));
    }

    [Fact]
    public void An_unknown_format_is_refused_at_start_naming_the_setting()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new OutboundOptions { Formats = ["pdf"] }.Validate());

        Assert.Equal("Outbound:Formats must list 'csv', 'xlsx' or both, once each", e.Message);
    }

    [Fact]
    public void A_provider_key_opens_only_its_own_provider_and_is_kept_as_a_hash()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ingestion:Partners:ecm-sunrise:ApiKeySha256:0"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("sunrise-key"u8)),
        }).Build();

        Assert.True(OutboundApi.ProviderKeyMatches(configuration, "ecm-sunrise", "sunrise-key"));
        Assert.False(OutboundApi.ProviderKeyMatches(configuration, "ecm-sunrise", "other-key"));
        Assert.False(OutboundApi.ProviderKeyMatches(configuration, "cs-harbor", "sunrise-key"));
        Assert.False(OutboundApi.ProviderKeyMatches(configuration, "ecm-sunrise", ""));
    }

    [Fact]
    public void The_timer_takes_its_day_from_the_hosts_invocation_time()
    {
        var metadata = new InvocationMetadata(System.Text.Json.JsonDocument.Parse("""{"sys":{"MethodName":"timer","UtcNow":"2026-01-15T14:00:00Z"}}""").RootElement);

        Assert.Equal(new DateTimeOffset(2026, 1, 15, 14, 0, 0, TimeSpan.Zero), OutboundScheduleTimer.InvokedAt(metadata));
    }
}
