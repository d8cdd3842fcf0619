using System.Text;
using System.Text.Json;

namespace CalAimHub.Ingestion.Inbound;

/// <summary>
/// A <c>Microsoft.Storage.BlobCreated</c> event as Event Grid delivers it to a storage queue, in the Event Grid schema
/// (<c>eventType</c>, <c>subject</c>, <c>data.url</c>) or the CloudEvents 1.0 schema (<c>type</c>, <c>subject</c>, <c>data.url</c>);
/// one event per message, or a one-element array; the text may still be base64 when the queue encoding and the host disagree.
/// </summary>
public sealed record BlobCreatedEvent(string Id, string Container, string BlobName, string? ETag, long? ContentLength)
{
    public const string EventType = "Microsoft.Storage.BlobCreated";

    /// <summary>Parses a queue message. Returns null with a reason for anything that is not a usable BlobCreated event.</summary>
    public static BlobCreatedEvent? Parse(string message, out string? reason)
    {
        var text = message.Trim();
        if (text.Length > 0 && text[0] is not ('{' or '['))
        {
            try
            {
                text = Encoding.UTF8.GetString(Convert.FromBase64String(text)).Trim();
            }
            catch (FormatException)
            {
                reason = "the message is neither JSON nor base64-encoded JSON";
                return null;
            }
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            reason = $"the message is not valid JSON ({e.Message})";
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                if (root.GetArrayLength() != 1)
                {
                    reason = $"the message holds {root.GetArrayLength()} events; Event Grid delivers one per queue message";
                    return null;
                }

                root = root[0];
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                reason = "the message is not a JSON object";
                return null;
            }

            var type = String(root, "eventType") ?? String(root, "type");
            if (type != EventType)
            {
                reason = $"event type '{type}' is not {EventType}";
                return null;
            }

            var id = String(root, "id") ?? "";
            var data = root.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
            if (data.ValueKind == JsonValueKind.Undefined && String(root, "data_base64") is { } base64)
            {
                reason = "CloudEvents data_base64 is not supported for BlobCreated; Event Grid sends data as JSON";
                _ = base64;
                return null;
            }

            var (container, blob) = FromSubject(String(root, "subject")) ?? FromUrl(data.ValueKind == JsonValueKind.Object ? String(data, "url") : null) ?? default;
            if (container is null || blob is null)
            {
                reason = "the event names no blob (neither subject /blobServices/default/containers/{c}/blobs/{name} nor data.url)";
                return null;
            }

            long? length = data.ValueKind == JsonValueKind.Object && data.TryGetProperty("contentLength", out var l) && l.TryGetInt64(out var n) ? n : null;
            reason = null;
            return new BlobCreatedEvent(id, container, blob, data.ValueKind == JsonValueKind.Object ? String(data, "eTag") : null, length);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static (string, string)? FromSubject(string? subject)
    {
        const string prefix = "/blobServices/default/containers/";
        if (subject is null || !subject.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = subject[prefix.Length..];
        var split = rest.IndexOf("/blobs/", StringComparison.Ordinal);
        return split <= 0 ? null : (rest[..split], rest[(split + "/blobs/".Length)..]);
    }

    private static (string, string)? FromUrl(string? url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null;
        }

        // https://account.blob.core.windows.net/container/name or http://127.0.0.1:10000/devstoreaccount1/container/name (Azurite).
        var segments = uri.AbsolutePath.TrimStart('/').Split('/', 3);
        var pathStyle = uri.IsLoopback || System.Net.IPAddress.TryParse(uri.Host, out _);
        var skip = pathStyle ? 1 : 0;
        if (segments.Length < 2 + skip)
        {
            return null;
        }

        var container = segments[skip];
        var name = pathStyle ? (segments.Length == 3 ? segments[2] : null) : string.Join('/', segments[1..]);
        return name is null ? null : (Uri.UnescapeDataString(container), Uri.UnescapeDataString(name));
    }
}

/// <summary>A blob path under the <c>inbound</c> container: <c>{partnerId}/{kind}/{file}</c>.</summary>
public sealed record InboundPath(string PartnerId, string Kind, string FileName)
{
    public const string Container = "inbound";
    public const string ResultsContainer = "results";

    public string BlobName => $"{PartnerId}/{Kind}/{FileName}";

    public static InboundPath? TryParse(string blobName)
    {
        var parts = blobName.Split('/', 3);
        if (parts.Length != 3 || parts[2].Length == 0 || !IsId(parts[0]) || parts[1].Length == 0)
        {
            return null;
        }

        return new InboundPath(parts[0], parts[1].ToLowerInvariant(), parts[2]);
    }

    /// <summary>Report names next to the file, in the results container.</summary>
    public static (string Json, string Csv) ReportNames(string blobName) => ($"{blobName}.report.json", $"{blobName}.report.csv");

    /// <summary>Partner ids become part of table keys and paths: letters, digits, '-' and '_' only.</summary>
    public static bool IsId(string value) => value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
