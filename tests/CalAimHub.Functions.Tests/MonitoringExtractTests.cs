using System.Globalization;
using System.Text.Json.Nodes;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Invoices;
using CalAimHub.Domain.Referrals;
using CalAimHub.Functions.Monitoring;
using Json.Schema;
using MiniExcelLibs;

namespace CalAimHub.Functions.Tests;

/// <summary>The monitoring extract from pure inputs: the figures, the workbook's exact cells, the JSON against its schema.</summary>
public sealed class MonitoringExtractTests
{
    private static readonly MonitoringMonth November = new(2026, 11);
    private static readonly DateTimeOffset GeneratedAt = At("2026-12-01T14:00:00Z");

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private static ProviderDirectoryEntry Provider(string npi, string name, string[] services, int serving, int able) =>
        new(npi, name, services, ["Los Angeles"], [], new ProviderCapacity(serving, able), "api");

    private static AuthorizationFact Authorization(string id, string member, string[] services, AuthorizationStatus status, string received, string? from = null, string? through = null, string[]? pofs = null) =>
        new(id, member, services, pofs ?? [], status, At(received), from is null ? null : At(from), through is null ? null : At(through));

    private static MonitoringInputs Inputs() => new(
        [
            new("ref-2", "housing-navigation", "County Hospital", "1234567893", ReferralStatus.Pending, At("2026-11-03T17:00:00Z"), null),
            new("ref-1", "ecm", "St. Rosa discharge", "1245319599", ReferralStatus.Accepted, At("2026-11-02T16:00:00Z"), null),
            // 23:30 on 30 November in Pacific time: still November.
            new("ref-1", "ecm", "St. Rosa discharge", "1245319599", ReferralStatus.ReferralLoopClosed, At("2026-12-01T07:30:00Z"), "Services Received"),
            // 00:30 on 1 November Pacific is November; 06:59Z on 1 November is 31 October 23:59 Pacific: October.
            new("ref-3", "medically-tailored-meals", null, null, ReferralStatus.Declined, At("2026-11-01T06:59:00Z"), "capacity"),
        ],
        [
            Authorization("auth-1", "m1", ["ecm"], AuthorizationStatus.Authorized, "2026-10-20T18:00:00Z", "2026-11-05T08:00:00Z", "2027-11-05T08:00:00Z", ["experiencing-homelessness-adults", "high-utilizer-adults"]),
            Authorization("auth-2", "m2", ["ecm"], AuthorizationStatus.Authorized, "2026-03-01T18:00:00Z", "2026-03-04T08:00:00Z", "2027-03-04T08:00:00Z", ["experiencing-homelessness-adults"]),
            Authorization("auth-3", "m1", ["housing-navigation"], AuthorizationStatus.Denied, "2026-11-10T18:00:00Z"),
            Authorization("auth-4", "m3", ["housing-navigation"], AuthorizationStatus.InReview, "2026-11-30T20:00:00Z"),
            Authorization("auth-5", "m3", ["medically-tailored-meals"], AuthorizationStatus.Authorized, "2026-12-01T09:00:00Z", "2026-12-02T08:00:00Z", "2027-06-02T08:00:00Z"),
            Authorization("auth-6", "m4", ["ecm"], AuthorizationStatus.Expired, "2025-09-01T18:00:00Z", "2025-09-02T08:00:00Z", "2026-09-02T08:00:00Z", ["experiencing-homelessness-adults"]),
        ],
        [
            Provider("1245319599", "Rosa ECM", ["ecm"], 40, 50),
            Provider("1234567893", "Harbor Housing", ["housing-navigation", "ecm", "housing-deposits"], 12, 20),
        ],
        Invoices());

    /// <summary>
    /// The invoice read model's counters for November as the extract reads them: Rosa ECM 8 clean of 10 invoices, 7 paid
    /// within 30 days and all 8 within 90, one breach, $12.34 interest; Harbor Housing 2 invoices, none clean.
    /// </summary>
    private static TimelinessFigures Invoices()
    {
        var rules = InvoicePaymentRules.Current;
        Dictionary<string, long> rosa = new()
        {
            [InvoiceReadModelsProjection.Invoices] = 10, [InvoiceReadModelsProjection.Clean] = 8, [InvoiceReadModelsProjection.CleanPaidWithin(30)] = 7,
            [InvoiceReadModelsProjection.CleanPaidWithin(90)] = 8, [InvoiceReadModelsProjection.Breaches] = 1, [InvoiceReadModelsProjection.InterestCents] = 1234,
            [InvoiceReadModelsProjection.ContestPrefix + ContestReasons.NoAuthorization] = 3,
        };
        Dictionary<string, long> harbor = new()
        {
            [InvoiceReadModelsProjection.Invoices] = 2,
            [InvoiceReadModelsProjection.ContestPrefix + ContestReasons.ProviderNotInDirectory] = 4, [InvoiceReadModelsProjection.ContestPrefix + ContestReasons.NoAuthorization] = 1,
        };
        var all = rosa.Keys.Union(harbor.Keys).ToDictionary(k => k, k => rosa.GetValueOrDefault(k) + harbor.GetValueOrDefault(k));
        return InvoicesApi.Figures("2026-11", null, all, rules,
            [InvoicesApi.Figures("2026-11", "1245319599", rosa, rules, null), InvoicesApi.Figures("2026-11", "1234567893", harbor, rules, null)]);
    }

    [Fact]
    public void The_invoice_timeliness_of_the_month_has_a_row_for_all_providers_then_one_per_provider_with_exact_figures()
    {
        var extract = MonitoringExtract.Build(November, Inputs(), GeneratedAt);

        Assert.Equal(
            [
                new InvoiceTimelinessRow("all", 12, 8, 7, 0.875m, 0.90m, false, 8, 1m, 0.99m, true, 1, 12.34m,
                    "authorization-not-on-file: 4; provider-not-in-directory: 4"),
                new InvoiceTimelinessRow("1234567893", 2, 0, 0, null, 0.90m, null, 0, null, 0.99m, null, 0, 0m,
                    "authorization-not-on-file: 1; provider-not-in-directory: 4"),
                new InvoiceTimelinessRow("1245319599", 10, 8, 7, 0.875m, 0.90m, false, 8, 1m, 0.99m, true, 1, 12.34m, "authorization-not-on-file: 3"),
            ],
            extract.InvoiceTimeliness);
        using var stream = new MemoryStream(MonitoringExtractFiles.ToXlsx(extract));
        var sheet = Cells(stream, "Invoice Timeliness");
        Assert.Equal(
            ["Billing Provider", "Invoices Received", "Clean Invoices", "Paid Within 30 Days", "Share Within 30 Days", "Target 30 Days", "Met 30 Days",
             "Paid Within 90 Days", "Share Within 90 Days", "Target 90 Days", "Met 90 Days", "Working-Day Breaches", "Interest Owed", "Contest Reasons"],
            sheet[0]);
        Assert.Equal(["all", 12d, 8d, 7d, 0.875d, 0.9d, false, 8d, 1d, 0.99d, true, 1d, 12.34d, "authorization-not-on-file: 4; provider-not-in-directory: 4"], sheet[1]);
        Assert.Equal(4, sheet.Count);
    }

    [Fact]
    public void The_figures_of_a_month_count_in_pacific_time_without_member_data()
    {
        var extract = MonitoringExtract.Build(November, Inputs(), GeneratedAt);

        Assert.Equal("11/01/2026", extract.PeriodStart);
        Assert.Equal("11/30/2026", extract.PeriodEnd);
        Assert.Equal(
            [
                new ReferralTrackingRow("ref-1", "ecm", "St. Rosa discharge", "1245319599", "Accepted", "11/02/2026", null),
                new ReferralTrackingRow("ref-1", "ecm", "St. Rosa discharge", "1245319599", "Referral Loop Closed", "11/30/2026", "Services Received"),
                new ReferralTrackingRow("ref-2", "housing-navigation", "County Hospital", "1234567893", "Pending", "11/03/2026", null),
            ],
            extract.ReferralTracking);
        Assert.Equal(
            [
                new MembersAndServicesRow("ecm", "experiencing-homelessness-adults", 2, 1),
                new MembersAndServicesRow("ecm", "high-utilizer-adults", 1, 1),
            ],
            extract.MembersAndServices);
        Assert.Equal([new CsRequestsAndDenialsRow("housing-navigation", 2, 1)], extract.CsRequestsAndDenials);
        Assert.Equal([new ProviderCapacityRow("1234567893", "Harbor Housing", "housing-deposits;housing-navigation", 12, 20)], extract.ProviderCapacity);
    }

    [Fact]
    public void The_workbook_has_one_sheet_per_tab_with_the_dhcs_column_names_and_exact_cells()
    {
        var bytes = MonitoringExtractFiles.ToXlsx(MonitoringExtract.Build(November, Inputs(), GeneratedAt));
        using var stream = new MemoryStream(bytes);

        Assert.Equal(["About", "Referral Tracking", "Members and Services", "CS Requests and Denials", "CS Provider Capacity", "Invoice Timeliness"], stream.GetSheetNames());
        var tracking = Cells(stream, "Referral Tracking");
        Assert.Equal(
            [
                ["Referral ID", "Service", "Referring Entity", "Receiving Provider NPI", "Referral Status", "Date of Referral Status Update", "Reason for Referral Loop Closure"],
                ["ref-1", "ecm", "St. Rosa discharge", "1245319599", "Accepted", "11/02/2026", null],
                ["ref-1", "ecm", "St. Rosa discharge", "1245319599", "Referral Loop Closed", "11/30/2026", "Services Received"],
                ["ref-2", "housing-navigation", "County Hospital", "1234567893", "Pending", "11/03/2026", null],
            ],
            tracking);
        Assert.Equal(
            [
                ["Service", "Population of Focus", "Members Authorized", "New Authorizations"],
                ["ecm", "experiencing-homelessness-adults", 2d, 1d],
                ["ecm", "high-utilizer-adults", 1d, 1d],
            ],
            Cells(stream, "Members and Services"));
        Assert.Equal([["Community Support", "Authorization Requests", "Denials"], ["housing-navigation", 2d, 1d]], Cells(stream, "CS Requests and Denials"));
        Assert.Equal(
            [
                ["CS Provider NPI", "Provider Name", "CS Offered", "Number of Members Serving", "Number of Members Able to Serve"],
                ["1234567893", "Harbor Housing", "housing-deposits;housing-navigation", 12d, 20d],
            ],
            Cells(stream, "CS Provider Capacity"));
        Assert.Equal(["Month", "2026-11"], Cells(stream, "About")[2]);
    }

    [Fact]
    public void An_empty_month_still_has_every_sheet_with_its_header_row()
    {
        var bytes = MonitoringExtractFiles.ToXlsx(MonitoringExtract.Build(November, new MonitoringInputs([], [], []), GeneratedAt));
        using var stream = new MemoryStream(bytes);

        Assert.Equal([["Community Support", "Authorization Requests", "Denials"]], Cells(stream, "CS Requests and Denials"));
    }

    [Fact]
    public void The_json_validates_against_its_versioned_schema()
    {
        var json = JsonNode.Parse(MonitoringExtractFiles.ToJson(MonitoringExtract.Build(November, Inputs(), GeneratedAt)))!;

        var result = Schema().Evaluate(Element(json), new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.True(result.IsValid, string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
        Assert.Equal("https://calaimhub/schemas/monitoring-extract-1.1.schema.json", json["$schema"]!.GetValue<string>());
        Assert.Equal("Services Received", json["referralTracking"]![1]!["reasonForReferralLoopClosure"]!.GetValue<string>());
        Assert.Null(json["referralTracking"]![0]!["reasonForReferralLoopClosure"]);
        Assert.Equal("1.1.0", json["schemaVersion"]!.GetValue<string>());
        Assert.Equal(0.875m, json["invoiceTimeliness"]![0]!["shareWithin30Days"]!.GetValue<decimal>());
        Assert.Null(json["invoiceTimeliness"]![1]!["shareWithin30Days"]);
    }

    [Fact]
    public void The_schema_refuses_a_status_dhcs_does_not_define_and_a_date_not_written_mm_dd_yyyy()
    {
        var json = JsonNode.Parse(MonitoringExtractFiles.ToJson(MonitoringExtract.Build(November, Inputs(), GeneratedAt)))!;
        json["referralTracking"]![0]!["referralStatus"] = "Completed";
        json["referralTracking"]![1]!["dateOfReferralStatusUpdate"] = "2026-11-30";

        Assert.False(Schema().Evaluate(Element(json)).IsValid);
    }

    [Fact]
    public void Every_field_of_the_schema_says_whether_it_follows_dhcs_or_is_the_hubs_baseline()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "schemas", "monitoring-extract-1.1.schema.json")))!;
        var unmarked = new List<string>();
        void Walk(JsonObject properties, string path)
        {
            foreach (var (name, field) in properties)
            {
                var kind = field!["x-source"]?["kind"]?.GetValue<string>();
                var sourced = kind == "hub-baseline" || (kind == "dhcs" && field["x-source"]!["reference"] is not null);
                if (!sourced && field["items"]?["properties"] is null)
                {
                    unmarked.Add(path + name);
                }

                if (field["items"]?["properties"] is JsonObject inner)
                {
                    Walk(inner, path + name + "[].");
                }
            }
        }

        Walk(schema["properties"]!.AsObject(), "");

        Assert.Empty(unmarked);
    }

    [Theory]
    [InlineData("2026-12-01T07:59:59Z", "2026-10")] // 30 Nov 23:59 Pacific: November is not over, October is the month before
    [InlineData("2026-12-01T14:00:00Z", "2026-11")]
    [InlineData("2027-01-01T14:00:00Z", "2026-12")]
    public void The_timer_reports_the_month_before_the_one_it_runs_in_pacific_time(string now, string expected)
    {
        Assert.Equal(expected, MonitoringMonth.Previous(At(now)).Text);
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("2026-1")]
    [InlineData("26-11")]
    [InlineData("2019-12")]
    public void Months_that_are_not_yyyy_mm_are_refused(string text) => Assert.False(MonitoringMonth.TryParse(text, out _));

    private static System.Text.Json.JsonElement Element(JsonNode json) => System.Text.Json.JsonDocument.Parse(json.ToJsonString()).RootElement;

    // Built once: the library registers a schema under its $id and refuses a second registration.
    private static readonly Lazy<JsonSchema> LoadedSchema = new(() => JsonSchema.FromFile(Path.Combine(AppContext.BaseDirectory, "schemas", "monitoring-extract-1.1.schema.json")));

    private static JsonSchema Schema() => LoadedSchema.Value;

    private static List<List<object?>> Cells(Stream stream, string sheet)
    {
        stream.Position = 0;
        return [.. stream.Query(useHeaderRow: false, sheetName: sheet).Cast<IDictionary<string, object?>>().Select(r => r.Values.ToList())];
    }
}
