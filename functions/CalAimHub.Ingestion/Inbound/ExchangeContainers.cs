namespace CalAimHub.Ingestion.Inbound;

/// <summary>
/// The SFTP exchange account's containers, one pair per partner, because Azure Storage SFTP permission scopes are per
/// container: a local user scoped to <c>in-{id}</c> (create/write/list, its home directory) and <c>out-{id}</c> (read/list)
/// can reach no other partner's files, with no ACLs. The rule: <c>in-</c> or <c>out-</c> + the partner id, where an SFTP
/// partner id is 3 to 59 lowercase ASCII letters and digits (SFTP local user names allow only those, and a container name
/// is at most 63 characters, so <c>out-</c> leaves 59). Inside <c>in-{id}</c> the partner writes <c>{kind}/{file}</c>, the
/// part of <c>inbound/{id}/{kind}/{file}</c> after its own folder; <c>out-{id}</c> holds <c>{kind}/{file}</c> of
/// <c>outbound/{id}/{kind}/{file}</c>.
/// </summary>
public static class ExchangeContainers
{
    public const string InboundPrefix = "in-";
    public const string OutboundPrefix = "out-";
    public const int MaxPartnerIdLength = 63 - 4;

    /// <summary>True for an id the exchange account can have a local user and containers for.</summary>
    public static bool IsSftpPartnerId(string? id) =>
        id is { Length: >= 3 and <= MaxPartnerIdLength } && id.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c));

    public static string Inbound(string partnerId) =>
        IsSftpPartnerId(partnerId) ? InboundPrefix + partnerId : throw new ArgumentException($"'{partnerId}' is not an SFTP partner id: 3 to {MaxPartnerIdLength} lowercase letters and digits", nameof(partnerId));

    public static string Outbound(string partnerId) =>
        IsSftpPartnerId(partnerId) ? OutboundPrefix + partnerId : throw new ArgumentException($"'{partnerId}' is not an SFTP partner id: 3 to {MaxPartnerIdLength} lowercase letters and digits", nameof(partnerId));

    /// <summary>The partner whose inbound container this is; null for any other name (the main account's, another prefix, a bad id).</summary>
    public static string? PartnerOfInbound(string container) =>
        container.StartsWith(InboundPrefix, StringComparison.Ordinal) && IsSftpPartnerId(container[InboundPrefix.Length..]) ? container[InboundPrefix.Length..] : null;

    /// <summary>
    /// Where a blob created in an exchange inbound container is ingested: <c>inbound/{partner}/{kind}/{file}</c>. Null when the
    /// container is not a partner's inbound container or the name is not <c>{kind}/{file}</c> with plain segments (no empty,
    /// <c>.</c> or <c>..</c> segment, no backslash or control character), so nothing lands outside the partner's own folder.
    /// </summary>
    public static InboundPath? ToInbound(string container, string blobName)
    {
        if (PartnerOfInbound(container) is not { } partner || blobName.Length is 0 or > 1024 || blobName.Any(char.IsControl) || blobName.Contains('\\', StringComparison.Ordinal))
        {
            return null;
        }

        var segments = blobName.Split('/');
        if (segments.Length < 2 || segments.Any(s => s.Length == 0 || s is "." or ".." || s.Trim().Length == 0))
        {
            return null;
        }

        return InboundPath.TryParse($"{partner}/{blobName}");
    }
}
