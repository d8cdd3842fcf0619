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

    /// <summary>Stores <paramref name="consent"/> unless its id is on file: then the stored one is returned (same or not).</summary>
    public async Task<(MemberConsent Stored, bool Created)> RecordAsync(MemberConsent consent, string recordedBy, CancellationToken ct)
    {
        try
        {
            await Table.AddEntityAsync(ConsentRow.From(consent, recordedBy), ct);
            return (consent, true);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var existing = await Table.GetEntityAsync<ConsentRow>(consent.Cin, consent.ConsentId, cancellationToken: ct);
            return (existing.Value.ToConsent(), false);
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
        Choices = JsonSerializer.Serialize(consent.Choices.ToDictionary(c => c.Key, c => c.Value == ConsentChoice.Share ? "share" : "do-not-share")),
        Part2Recipients = JsonSerializer.Serialize(consent.Part2Recipients),
        Recipients = JsonSerializer.Serialize(consent.Recipients),
        RecordedAt = consent.RecordedAt,
        RecordedBy = recordedBy,
    };

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
