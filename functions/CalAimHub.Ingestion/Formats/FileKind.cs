namespace CalAimHub.Ingestion.Formats;

/// <summary>The kinds of partner file the hub ingests: the <c>{kind}</c> segment of <c>inbound/{partnerId}/{kind}/{file}</c>.</summary>
public static class FileKind
{
    public const string ReturnTransmissionFile = "rtf";
    public const string OutreachTrackerFile = "otf";
    public const string Invoice = "invoice";
    public const string Referral = "referral";

    /// <summary>The plan's claims-system outcomes of invoice lines (paid, denied, contested).</summary>
    public const string Remittance = "remittance";

    /// <summary>The plan's member assignment feed: members assigned to each ECM / CS provider for a period (the MIFs' source).</summary>
    public const string Assignment = "assignment";

    public static IReadOnlyList<string> All { get; } = [ReturnTransmissionFile, OutreachTrackerFile, Invoice, Referral, Remittance, Assignment];

    public static bool IsKnown(string? kind) => kind is not null && All.Contains(kind, StringComparer.Ordinal);
}
