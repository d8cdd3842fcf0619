using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using CalAimHub.Domain;

namespace CalAimHub.Ingestion.Storage;

/// <summary>
/// The storing destination: accepted rows go to the <see cref="TableName"/> table with upsert (insert-or-replace) in
/// entity-group transactions of up to 100 rows per partition, several transactions in flight; after each transaction commits,
/// its rows' domain events go to their consumer's queue (<see cref="DomainEvent.QueueFor"/>) as CloudEvents JSON batch messages.
/// Upsert by deterministic key makes a re-run store each row exactly once; events carry stable ids, so a re-run re-sends the same
/// ids (at-least-once), which consumers dedupe.
/// A batch of invoice lines also writes, in its transaction, one member row (<see cref="MemberRowPrefix"/>: each line's
/// row key → CIN) and its events name it (<c>memberRow</c>): the line checks read one row per batch, not one per line.
/// The CINs stay in this table, as in the rows themselves; the events still carry none.
/// </summary>
public sealed class TableRowDestination : IRowDestination
{
    public const string TableName = "IngestedRows";
    public const int MaxBatch = 100;

    /// <summary>Row key prefix of a batch's member row; sorts after every stored row's key (lowercase hex).</summary>
    public const string MemberRowPrefix = "~members|";

    /// <summary>The member-row column holding the JSON object row key → CIN, and the event field naming the row.</summary>
    public const string MemberCinsColumn = "MemberCins";
    public const string MemberRowField = "memberRow";
    private const string MemberField = "MemberCin";

    /// <summary>Queue messages are at most 64 KiB after base64 (×4/3): keep the JSON under 45 000 bytes.</summary>
    public const int MaxEventMessageBytes = 45_000;

    private readonly TableServiceClient _tables;
    private readonly QueueServiceClient _queues;
    private readonly FileSubmission _submission;
    private readonly Dictionary<string, List<AcceptedRow>> _buffers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly List<Task> _inFlight = [];
    private int _eventsEmitted;
    private readonly Dictionary<string, int> _emittedByType = new(StringComparer.Ordinal);

    public TableRowDestination(TableServiceClient tables, QueueServiceClient queues, FileSubmission submission, int parallelism)
    {
        _tables = tables;
        _queues = queues;
        _submission = submission;
        _slots = new SemaphoreSlim(Math.Max(1, parallelism));
    }

    public int EventsEmitted => Volatile.Read(ref _eventsEmitted);

    /// <summary>Events of one type sent so far.</summary>
    public int EventsEmittedOf(string type)
    {
        lock (_emittedByType)
        {
            return _emittedByType.GetValueOrDefault(type);
        }
    }

    /// <summary>Transactions committed and rows written, for the run record's timings.</summary>
    public int Transactions { get; private set; }

    public async ValueTask AcceptAsync(AcceptedRow row, CancellationToken cancellationToken)
    {
        if (!_buffers.TryGetValue(row.PartitionKey, out var buffer))
        {
            _buffers[row.PartitionKey] = buffer = new List<AcceptedRow>(MaxBatch);
        }

        buffer.Add(row);
        if (buffer.Count >= (CarriesMembers(row) ? MaxBatch - 1 : MaxBatch)) // the member row takes the 100th place
        {
            _buffers.Remove(row.PartitionKey);
            await StartAsync(buffer, cancellationToken);
        }
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        foreach (var buffer in _buffers.Values.ToArray())
        {
            await StartAsync(buffer, cancellationToken);
        }

        _buffers.Clear();
        await Task.WhenAll(_inFlight);
        _inFlight.Clear();
    }

    private async Task StartAsync(List<AcceptedRow> batch, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        _inFlight.RemoveAll(t =>
        {
            if (t.IsFaulted || t.IsCanceled)
            {
                t.GetAwaiter().GetResult(); // surface the first failure: the run fails and is retried as a whole
            }

            return t.IsCompleted;
        });
        _inFlight.Add(WriteAsync(batch, cancellationToken));
        Transactions++;
    }

    private async Task WriteAsync(List<AcceptedRow> batch, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Yield();
            var table = _tables.GetTableClient(TableName);
            var actions = batch.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(r))).ToList();
            var members = MemberRow(batch);
            if (members is not null)
            {
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, members));
            }

            await table.SubmitTransactionAsync(actions, cancellationToken);
            var sent = members is null
                ? batch.SelectMany(r => r.Events)
                : batch.SelectMany(r => r.Events.Select(e => e.Type == DomainEvent.InvoiceLineReceived ? NamingMemberRow(e, members.RowKey) : e));
            foreach (var route in sent.GroupBy(e => DomainEvent.QueueFor(e.Type), StringComparer.Ordinal))
            {
                var events = route.ToArray();
                var queue = _queues.GetQueueClient(route.Key);
                foreach (var message in EventMessages(events))
                {
                    await queue.SendMessageAsync(message, cancellationToken);
                }

                Interlocked.Add(ref _eventsEmitted, events.Length);
                lock (_emittedByType)
                {
                    foreach (var type in events.GroupBy(e => e.Type, StringComparer.Ordinal))
                    {
                        _emittedByType[type.Key] = _emittedByType.GetValueOrDefault(type.Key) + type.Count();
                    }
                }
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private static bool CarriesMembers(AcceptedRow row) =>
        row.Events.Any(e => e.Type == DomainEvent.InvoiceLineReceived) && row.Schema.Columns.Any(c => c.Field == MemberField);

    /// <summary>The member row of a batch holding invoice lines (null otherwise).</summary>
    private TableEntity? MemberRow(List<AcceptedRow> batch)
    {
        var lines = batch.Where(CarriesMembers).ToList();
        if (lines.Count == 0)
        {
            return null;
        }

        var column = lines[0].Schema.Columns.Select((c, i) => (c.Field, i)).First(c => c.Field == MemberField).i;
        return MemberRow(batch[0].PartitionKey, _submission.RunId, lines.Where(r => r.Values[column].Length > 0).Select(r => (r.RowKey, r.Values[column])));
    }

    /// <summary>
    /// A batch's member row: in the batch's partition, so it commits with the rows; keyed by a hash of the run and the rows'
    /// keys, so a re-run of the same file writes the same row again.
    /// </summary>
    public static TableEntity MemberRow(string partition, string runId, IEnumerable<(string RowKey, string Cin)> lines)
    {
        var cins = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (rowKey, cin) in lines)
        {
            cins[rowKey] = cin;
        }

        var key = StableHash.Hex(runId + "\u001f" + string.Join('\u001f', cins.Keys), 16);
        return new TableEntity(partition, MemberRowPrefix + key) { [MemberCinsColumn] = JsonSerializer.Serialize(cins) };
    }

    /// <summary>An invoice line's event naming its batch's member row.</summary>
    public static DomainEvent NamingMemberRow(DomainEvent e, string memberRowKey) =>
        e with { Data = new Dictionary<string, string>(e.Data, StringComparer.Ordinal) { [MemberRowField] = memberRowKey } };

    private TableEntity ToEntity(AcceptedRow row)
    {
        var entity = new TableEntity(row.PartitionKey, row.RowKey)
        {
            ["IngestSchema"] = row.Schema.Name,
            ["IngestSchemaVersion"] = row.Schema.Version,
            ["IngestPartnerId"] = _submission.PartnerId,
            ["IngestKind"] = _submission.Kind,
            ["IngestFile"] = _submission.FileName,
            ["IngestRow"] = row.Row,
            ["IngestRunId"] = _submission.RunId,
        };
        var columns = row.Schema.Columns;
        for (var i = 0; i < columns.Count; i++)
        {
            if (row.Values[i].Length > 0)
            {
                entity[columns[i].Field] = row.Values[i];
            }
        }

        return entity;
    }

    /// <summary>CloudEvents JSON batches (<c>application/cloudevents-batch+json</c>), each under the queue's message size limit.</summary>
    public static IEnumerable<string> EventMessages(IReadOnlyList<DomainEvent> events)
    {
        var batch = new JsonArray();
        var size = 2;
        foreach (var e in events)
        {
            var node = ToCloudEvent(e);
            var json = node.ToJsonString();
            if (batch.Count > 0 && size + json.Length + 1 > MaxEventMessageBytes)
            {
                yield return batch.ToJsonString();
                batch = [];
                size = 2;
            }

            batch.Add(JsonNode.Parse(json));
            size += json.Length + 1;
        }

        if (batch.Count > 0)
        {
            yield return batch.ToJsonString();
        }
    }

    private static JsonObject ToCloudEvent(DomainEvent e)
    {
        var data = new JsonObject();
        foreach (var (key, value) in e.Data)
        {
            data[key] = value;
        }

        return new JsonObject
        {
            ["specversion"] = "1.0",
            ["id"] = e.Id,
            ["type"] = e.Type,
            ["source"] = e.Source,
            ["subject"] = e.Subject,
            ["time"] = e.Time.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["datacontenttype"] = "application/json",
            ["data"] = data,
        };
    }

    /// <summary>Reads the events of a queue message written by <see cref="EventMessages"/>.</summary>
    public static IReadOnlyList<JsonElement> ReadEvents(string message)
    {
        using var document = JsonDocument.Parse(message);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }
}
