using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion;

/// <summary>One partner file to ingest (or dry-run): who sent it, what kind, under which name, and the run it belongs to.</summary>
/// <param name="RunId">The ingest run; deterministic for a blob version, so a retried message continues the same run.</param>
/// <param name="Partner">The registered partner, or null when <paramref name="PartnerId"/> is not registered.</param>
public sealed record FileSubmission(
    string RunId,
    string PartnerId,
    string Kind,
    string FileName,
    PartnerProfile? Partner,
    DateTimeOffset ReceivedAt,
    bool DryRun = false);

/// <summary>Configuration section <c>Ingestion</c>.</summary>
public sealed class IngestionOptions
{
    /// <summary>Files above this size are rejected without being read.</summary>
    public long MaxFileBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// Largest body <c>POST /api/files/validate</c> reads: the Functions front end refuses HTTP requests over 100 MB
    /// (104,857,600 bytes) before the handler sees them, so a larger dry run could never work in Azure. Larger files are
    /// checked by dropping them into <c>inbound/</c> (up to <see cref="MaxFileBytes"/>).
    /// </summary>
    public long MaxValidateBytes { get; set; } = 104_857_600;

    /// <summary>Entity-group transactions in flight at once.</summary>
    public int WriteParallelism { get; set; } = 8;

    /// <summary>The partners' day: "no future dates" is judged in this time zone.</summary>
    public string TimeZone { get; set; } = "America/Los_Angeles";

    /// <summary>
    /// Row keys the within-file duplicate index holds in memory (20 bytes each); a file with more spills sorted runs of keys to
    /// a temporary file, so memory stays bounded for any file size. 2^18 = a 6.5 MB table.
    /// </summary>
    public int DuplicateIndexCapacity { get; set; } = Validation.KeyIndex.DefaultCapacity;

    /// <summary>Folder for the duplicate index's temporary file (deleted when the run ends); empty = the system temp folder.</summary>
    public string? SpillFolder { get; set; }
}
