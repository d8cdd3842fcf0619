using System.Security.Cryptography;
using System.Text;
using CalAimHub.Ingestion.Formats;

namespace CalAimHub.Ingestion;

/// <summary>
/// A row that passed validation, with its deterministic storage address: the same values in the key columns always give the
/// same <see cref="PartitionKey"/>/<see cref="RowKey"/>, so storing it again replaces it instead of adding a second copy.
/// </summary>
public sealed record AcceptedRow(FileSchema Schema, int Row, string PartitionKey, string RowKey, string[] Values, IReadOnlyList<DomainEvent> Events)
{
    /// <summary>Rows of one partner and kind spread over this many partitions, so batches can be written in parallel.</summary>
    public const int Buckets = 16;

    /// <summary>Hex of the first 16 bytes of SHA-256 over kind and the key columns' normalized values (no PHI in the key).</summary>
    public static (string RowKey, int Bucket) Key(string kind, FileSchema schema, int[] keyColumns, string[] values)
    {
        Span<byte> hash = stackalloc byte[32];
        KeyHash(kind, keyColumns, values, hash);
        _ = schema;
        return KeyOf(hash);
    }

    /// <summary>The row key and bucket of a hash from <see cref="KeyHash"/>.</summary>
    internal static (string RowKey, int Bucket) KeyOf(ReadOnlySpan<byte> hash) => (Convert.ToHexStringLower(hash[..16]), hash[0] % Buckets);

    /// <summary>
    /// SHA-256 over UTF-8 of kind + (U+001F + upper-cased value) per key column, into <paramref name="hash"/> (32 bytes): the
    /// same bytes as building the text as a string, without the string.
    /// </summary>
    internal static void KeyHash(string kind, int[] keyColumns, string[] values, Span<byte> hash)
    {
        var length = kind.Length;
        foreach (var i in keyColumns)
        {
            length += 1 + values[i].Length;
        }

        char[]? rentedChars = null;
        byte[]? rentedBytes = null;
        var text = length <= 512 ? stackalloc char[512] : (rentedChars = System.Buffers.ArrayPool<char>.Shared.Rent(length));
        kind.CopyTo(text);
        var at = kind.Length;
        foreach (var i in keyColumns)
        {
            text[at++] = '\u001f';
            at += values[i].AsSpan().ToUpperInvariant(text[at..]);
        }

        var chars = text[..at];
        var byteCount = Encoding.UTF8.GetMaxByteCount(at);
        var bytes = byteCount <= 1536 ? stackalloc byte[1536] : (rentedBytes = System.Buffers.ArrayPool<byte>.Shared.Rent(byteCount));
        var written = Encoding.UTF8.GetBytes(chars, bytes);
        SHA256.HashData(bytes[..written], hash);
        if (rentedChars is not null)
        {
            System.Buffers.ArrayPool<char>.Shared.Return(rentedChars);
        }

        if (rentedBytes is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rentedBytes);
        }
    }

    public static string Partition(string partnerId, string kind, int bucket) => $"{partnerId}~{kind}~{bucket:x2}";
}

/// <summary>
/// Something downstream cares about, raised by one accepted row: CloudEvents attributes plus non-PHI data. <see cref="Id"/> is
/// derived from the row key and the event's data, so processing the same row again raises the same id (receivers dedupe on it).
/// </summary>
public sealed record DomainEvent(string Id, string Type, string Source, string Subject, DateTimeOffset Time, IReadOnlyDictionary<string, string> Data)
{
    public const string QueueName = "domain-events";

    /// <summary>RTF referral-status updates have a consumer of their own (the referral workflow), so they get its queue.</summary>
    public const string ReferralStatusUpdated = "calaimhub.rtf.referral-status-updated";
    public const string ReferralStatusQueueName = "referral-status-events";

    /// <summary>Invoice lines and remittance rows have a consumer of their own (the invoice workflow), so they get its queue.</summary>
    public const string InvoiceLineReceived = "calaimhub.invoice.received";
    public const string RemittanceReceived = "calaimhub.remittance.received";
    public const string InvoiceQueueName = "invoice-events";

    /// <summary>Assignment rows have a consumer of their own (the outbound member index and mini-MIFs), so they get its queue.</summary>
    public const string AssignmentReceived = "calaimhub.assignment.received";
    public const string AssignmentQueueName = "assignment-events";

    /// <summary>
    /// Raised once per stored file whose kind has a completion consumer (<see cref="FileStoredQueue"/>), after all its row
    /// events were sent and before the run is reported: a crash in between re-runs the file and sends it again, and the
    /// consumer dedupes on its id (the run's). Invoices stage lines and start each invoice once every line is staged; RTFs
    /// are reconciled against the member files sent for their periods.
    /// </summary>
    public const string FileStoredType = "calaimhub.file.stored";

    /// <summary>The invoice-only name this event had before RTF reconciliation consumed it too; still read from queues written then.</summary>
    public const string LegacyInvoiceFileStored = "calaimhub.invoice.file-stored";

    /// <summary>RTF runs' file-stored events have a consumer of their own (the reconciliation against sent member files).</summary>
    public const string ReconciliationQueueName = "reconciliation-events";

    /// <summary>The queue of a stored file's completion consumer, or null when nothing consumes its kind's completion.</summary>
    public static string? FileStoredQueue(string kind) => kind switch
    {
        "invoice" => InvoiceQueueName,
        "rtf" => ReconciliationQueueName,
        _ => null,
    };

    /// <summary>
    /// The <see cref="FileStoredType"/> event of a run: <paramref name="events"/> row events of the consumer's type were sent
    /// (invoice lines; 0 for kinds that send none), and what the run's report says of the stored rows (counts, schema, format;
    /// no row content). Its id is the run's.
    /// </summary>
    public static DomainEvent FileStored(FileSubmission submission, int events, Reports.IngestReport report) => new(
        "evt-stored-" + submission.RunId, FileStoredType, $"/calaimhub/ingestion/{submission.PartnerId}/{submission.Kind}", submission.RunId, submission.ReceivedAt,
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["partnerId"] = submission.PartnerId,
            ["kind"] = submission.Kind,
            ["runId"] = submission.RunId,
            ["file"] = submission.FileName,
            ["lines"] = events.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["rowsAccepted"] = report.RowsAccepted.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["schemaVersion"] = report.SchemaVersion ?? "",
            ["format"] = report.Format ?? "",
        });

    /// <summary>
    /// The queue an event type is published on: a storage queue has competing consumers, so each consumer owns a queue;
    /// events nobody consumes yet wait on <see cref="QueueName"/>.
    /// </summary>
    public static string QueueFor(string type) => type switch
    {
        ReferralStatusUpdated => ReferralStatusQueueName,
        InvoiceLineReceived or RemittanceReceived or LegacyInvoiceFileStored => InvoiceQueueName,
        AssignmentReceived => AssignmentQueueName,
        _ => QueueName,
    };

    public static string StableId(string type, string partitionKey, string rowKey, int[] dataColumns, string[] values)
    {
        var text = new StringBuilder(256).Append(type).Append('\u001f').Append(partitionKey).Append('\u001f').Append(rowKey);
        foreach (var i in dataColumns)
        {
            text.Append('\u001f').Append(values[i]);
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), hash);
        return "evt-" + Convert.ToHexStringLower(hash[..16]);
    }
}

/// <summary>The destination step: where accepted rows go (tables and queues, or nowhere in a dry run).</summary>
public interface IRowDestination
{
    ValueTask AcceptAsync(AcceptedRow row, CancellationToken cancellationToken);

    /// <summary>Writes whatever is still buffered; after it returns every accepted row is stored.</summary>
    Task CompleteAsync(CancellationToken cancellationToken);

    int EventsEmitted { get; }
}

/// <summary>The dry-run destination: rows are validated and counted, nothing is stored or sent.</summary>
public sealed class DryRunDestination : IRowDestination
{
    private int _events;

    public int EventsEmitted => _events;

    public ValueTask AcceptAsync(AcceptedRow row, CancellationToken cancellationToken)
    {
        _events += row.Events.Count;
        return ValueTask.CompletedTask;
    }

    public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>An accepted row the channel did not build (a dry run builds no row objects), with the events it would raise.</summary>
    internal void Count(int events) => _events += events;
}
