using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Consent;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Consent;

/// <summary>
/// Table <c>MemberConsents</c>: one partition per member (the CIN, PHI at rest under storage encryption, never logged),
/// one row per consent document (row key = its consent id). A decision reads the member's partition and asks
/// <see cref="ConsentPolicy"/>; a file's members are read in parallel partitions, one query each.
/// </summary>
public sealed class TableConsentRegistry(StorageAccount storage) : IConsentGate
{
    public const string TableName = "MemberConsents";

    /// <summary>Partitions read at once for one file: enough to hide latency, few enough not to be throttled.</summary>
    private const int ParallelReads = 32;

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    /// <summary>
    /// Stores <paramref name="consent"/> unless its id (kind + source document) is on file for the member: then the stored
    /// one stands, and the outcome says whether the two say the same (a repeated POST) or not (a conflict).
    /// </summary>
    public async Task<(MemberConsent Stored, ConsentRecordOutcome Outcome)> RecordAsync(MemberConsent consent, string recordedBy, CancellationToken ct)
    {
        var row = ConsentRow.From(consent, recordedBy);
        try
        {
            await Table.AddEntityAsync(row, ct);
            return (consent, ConsentRecordOutcome.Created);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var existing = (await Table.GetEntityAsync<ConsentRow>(consent.Cin, consent.ConsentId, cancellationToken: ct)).Value;
            return (existing.ToConsent(), existing.SaysTheSameAs(row) ? ConsentRecordOutcome.AlreadyRecorded : ConsentRecordOutcome.Conflict);
        }
    }

    public async Task<IReadOnlyList<MemberConsent>> ForMemberAsync(string cin, CancellationToken ct)
    {
        var consents = new List<MemberConsent>();
        await foreach (var row in Table.QueryAsync<ConsentRow>(r => r.PartitionKey == cin, cancellationToken: ct))
        {
            consents.Add(row.ToConsent());
        }

        return consents;
    }

    public async Task<IReadOnlyDictionary<string, ConsentDecision>> DecideAsync(string recipientId, IReadOnlyCollection<string> cins,
        IReadOnlyCollection<string> categories, DateOnly asOf, CancellationToken ct)
    {
        var decisions = new System.Collections.Concurrent.ConcurrentDictionary<string, ConsentDecision>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(cins.Distinct(StringComparer.Ordinal), new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = ct },
            async (cin, token) =>
            {
                var consents = await ForMemberAsync(cin, token);
                decisions[cin] = ConsentPolicy.Decide(cin, consents, recipientId, categories, asOf);
            });
        return decisions;
    }
}

public enum ConsentRecordOutcome
{
    Created,
    AlreadyRecorded,
    Conflict,
}

internal sealed class ConsentRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Kind { get; set; } = "";
    public string FormVersion { get; set; } = "";
    public string SourceDocument { get; set; } = "";
    public string EffectiveOn { get; set; } = "";
    public string? ExpiresOn { get; set; }
    public string Choices { get; set; } = "{}";
    public string Part2Recipients { get; set; } = "[]";
    public string Recipients { get; set; } = "[]";
    public DateTimeOffset RecordedAt { get; set; }
    public string RecordedBy { get; set; } = "";

    public static ConsentRow From(MemberConsent consent, string recordedBy) => new()
    {
        PartitionKey = consent.Cin,
        RowKey = consent.ConsentId,
        Kind = consent.Kind == ConsentKind.Revocation ? "revocation" : "grant",
        FormVersion = consent.FormVersion,
        SourceDocument = consent.SourceDocument,
        EffectiveOn = consent.EffectiveOn.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ExpiresOn = consent.ExpiresOn?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        Choices = JsonSerializer.Serialize(new SortedDictionary<string, string>(
            consent.Choices.ToDictionary(c => c.Key, c => c.Value == ConsentChoice.Share ? "share" : "do-not-share"), StringComparer.Ordinal)),
        Part2Recipients = JsonSerializer.Serialize(consent.Part2Recipients),
        Recipients = JsonSerializer.Serialize(consent.Recipients),
        RecordedAt = consent.RecordedAt,
        RecordedBy = recordedBy,
    };

    /// <summary>The same consent document: everything but when and by whom it was recorded.</summary>
    public bool SaysTheSameAs(ConsentRow other) =>
        (Kind, FormVersion, SourceDocument, EffectiveOn, ExpiresOn, Choices, Part2Recipients, Recipients) ==
        (other.Kind, other.FormVersion, other.SourceDocument, other.EffectiveOn, other.ExpiresOn, other.Choices, other.Part2Recipients, other.Recipients);

    public MemberConsent ToConsent() => new(
        RowKey,
        PartitionKey,
        Kind == "revocation" ? ConsentKind.Revocation : ConsentKind.Grant,
        FormVersion,
        SourceDocument,
        DateOnly.ParseExact(EffectiveOn, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        ExpiresOn is null ? null : DateOnly.ParseExact(ExpiresOn, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        (JsonSerializer.Deserialize<Dictionary<string, string>>(Choices) ?? []).ToDictionary(
            c => c.Key, c => c.Value == "share" ? ConsentChoice.Share : ConsentChoice.DoNotShare, StringComparer.Ordinal),
        JsonSerializer.Deserialize<List<string>>(Part2Recipients) ?? [],
        JsonSerializer.Deserialize<List<string>>(Recipients) ?? [],
        RecordedAt);
}
