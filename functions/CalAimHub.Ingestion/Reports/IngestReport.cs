using System.Text.Json;
using System.Text.Json.Serialization;
using CalAimHub.Ingestion.Validation;

namespace CalAimHub.Ingestion.Reports;

public static class IngestOutcome
{
    /// <summary>Every row accepted.</summary>
    public const string Accepted = "accepted";

    /// <summary>Some rows accepted, some rejected (or the file stopped being readable part-way).</summary>
    public const string PartiallyAccepted = "partially-accepted";

    /// <summary>Nothing accepted: a file-level problem, or every row rejected.</summary>
    public const string Rejected = "rejected";
}

/// <summary>The result report a partner gets for a file (<c>results/{partnerId}/{kind}/{file}.report.json</c>) or a dry run.</summary>
public sealed record IngestReport
{
    /// <summary>At most this many problems are listed; <see cref="ProblemsByRule"/> and <see cref="ProblemCount"/> count them all.</summary>
    public const int MaxListedProblems = 10_000;

    [JsonPropertyName("runId")] public required string RunId { get; init; }
    [JsonPropertyName("partnerId")] public required string PartnerId { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("file")] public required string File { get; init; }
    [JsonPropertyName("dryRun")] public bool DryRun { get; init; }
    [JsonPropertyName("schema")] public string? Schema { get; init; }
    [JsonPropertyName("schemaVersion")] public string? SchemaVersion { get; init; }
    [JsonPropertyName("format")] public string? Format { get; init; }
    [JsonPropertyName("outcome")] public required string Outcome { get; init; }
    [JsonPropertyName("rowsRead")] public int RowsRead { get; init; }
    [JsonPropertyName("rowsAccepted")] public int RowsAccepted { get; init; }
    [JsonPropertyName("rowsRejected")] public int RowsRejected { get; init; }
    [JsonPropertyName("eventsEmitted")] public int EventsEmitted { get; init; }
    [JsonPropertyName("startedAt")] public DateTimeOffset StartedAt { get; init; }
    [JsonPropertyName("completedAt")] public DateTimeOffset CompletedAt { get; init; }
    [JsonPropertyName("problemCount")] public int ProblemCount { get; init; }
    [JsonPropertyName("problemsByRule")] public IReadOnlyDictionary<string, int> ProblemsByRule { get; init; } = new Dictionary<string, int>();
    [JsonPropertyName("problemsListed")] public int ProblemsListed => Problems.Count;
    [JsonPropertyName("problems")] public IReadOnlyList<Problem> Problems { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static IngestReport FromJson(string json) => JsonSerializer.Deserialize<IngestReport>(json, Json)!;

    /// <summary>A one-line summary for logs and the CLI: counts and the top rules, never values.</summary>
    public string Summary() =>
        $"{Outcome}: {RowsAccepted} accepted, {RowsRejected} rejected of {RowsRead} rows" +
        (ProblemsByRule.Count == 0 ? "" : "; top problems: " + string.Join(", ", ProblemsByRule.OrderByDescending(p => p.Value).Take(3).Select(p => $"{p.Key} ×{p.Value}")));
}
