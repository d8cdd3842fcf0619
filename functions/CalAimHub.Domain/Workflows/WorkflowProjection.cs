using System.Text.Json;
using System.Text.Json.Serialization;

namespace CalAimHub.Domain.Workflows;

// How read models ("projections") work
// ====================================
// A projection says, for one instance state, which read-model rows that instance contributes: ReadModelEntry = one
// item (e.g. an authorization) in one partition of one read-model table, with its rows and its contribution to that
// partition's counters. It is pure, like a decider. The runtime diffs the entries of the state before and after each
// commit (ProjectionDiff) and puts the changed entries in that commit's outbox row, versioned by the instance's
// sequence number, so every commit is followed at least once by its read-model change, whatever crashes. The writer
// applies one entry per partition in one entity-group transaction (item rows, the item's version row, the counter row,
// guarded by ETags) and skips an entry whose version is not newer than the stored one: replays and late deliveries
// change nothing, and counters stay exact. Rebuild writes Entries(final state) of every instance into emptied tables.

/// <summary>One instance as a projection sees it.</summary>
/// <param name="Seq">The instance's sequence number (history rows so far): the version of what it projects.</param>
public sealed record ProjectedInstance<TState>(string InstanceId, WorkflowRuntimeStatus Status, long Seq, TState State);

/// <summary>A read model kept from the states of one workflow type.</summary>
public interface IWorkflowProjection<TState>
    where TState : notnull
{
    /// <summary>Name in logs and in the rebuild report, e.g. <c>authorization-listing</c>.</summary>
    string Name { get; }

    /// <summary>The read-model tables this projection writes (rebuild empties them first).</summary>
    IReadOnlyList<string> Tables { get; }

    /// <summary>Every entry <paramref name="instance"/> contributes, in any order; none for a state that shows nothing.</summary>
    IEnumerable<ReadModelEntry> Entries(ProjectedInstance<TState> instance);

    /// <summary>The read-model updates of one commit: the entries that changed between the two states.</summary>
    IReadOnlyList<ProjectionUpdate> Project(ProjectedInstance<TState>? before, ProjectedInstance<TState> after, WorkflowEvent @event) =>
        ProjectionDiff.Updates(before is null ? [] : Entries(before), Entries(after), after.Seq);
}

/// <summary>
/// One item's place in one partition of a read-model table: the rows it shows there and what it adds to the partition's
/// counters. Rows and counter live in one partition so the writer changes them in one transaction.
/// </summary>
/// <param name="Item">The item's id within the partition (an instance id, or instance id + clock): its version row is keyed by it.</param>
/// <param name="Counts">What this item adds to the partition's counters, by name (e.g. <c>accepted: 1</c>).</param>
public sealed record ReadModelEntry(string Table, string Partition, string Item, IReadOnlyList<ReadModelRow> Rows, IReadOnlyDictionary<string, long> Counts)
{
    /// <summary>
    /// A table holding the partition's counter rows instead of <see cref="Table"/> (null: the same table), so a query
    /// over counter rows meets nothing else. The writer keeps them exact through a journal row (see ReadModelStore).
    /// </summary>
    public string? CounterTable { get; init; }

    /// <summary>
    /// A partition of <see cref="CounterTable"/> whose counter rows also sum this partition's (a day's counts in its
    /// week's), so a long period is read from fewer rows; every entry of a partition names the same one (null: none).
    /// </summary>
    public string? CounterRollUp { get; init; }

    public static ReadModelEntry Of(
        string table, string partition, string item, IReadOnlyList<ReadModelRow>? rows = null, IReadOnlyDictionary<string, long>? counts = null, string? counterTable = null, string? counterRollUp = null) =>
        counterRollUp is not null && counterTable is null
            ? throw new ArgumentException($"the roll-up partition '{counterRollUp}' of '{table}' needs a counter table (roll-ups live there)", nameof(counterRollUp))
            : new(table, partition, item, rows ?? [], counts ?? new Dictionary<string, long>()) { CounterTable = counterTable, CounterRollUp = counterRollUp };

    [JsonIgnore]
    public (string Table, string Partition, string Item) Key => (Table, Partition, Item);
}

/// <summary>
/// One table row of a read model. <paramref name="Properties"/> are filterable columns (string, boolean or whole-number
/// JSON values); <paramref name="Data"/> is the JSON the API answers with.
/// </summary>
public sealed record ReadModelRow(string RowKey, JsonElement Data, IReadOnlyDictionary<string, JsonElement> Properties)
{
    public static ReadModelRow Of<T>(string rowKey, T data, params (string Name, object Value)[] properties) => new(
        rowKey,
        WorkflowJson.ToElement(data),
        properties.ToDictionary(p => p.Name, p => JsonSerializer.SerializeToElement(p.Value, WorkflowJson.Options), StringComparer.Ordinal));
}

/// <summary>
/// Sets one item's entry in one partition to <paramref name="Rows"/> and <paramref name="Counts"/> (both empty: the item
/// left the partition) unless the partition already holds version <paramref name="Version"/> or newer of the item.
/// </summary>
public sealed record ProjectionUpdate(string Table, string Partition, string Item, long Version, IReadOnlyList<ReadModelRow> Rows, IReadOnlyDictionary<string, long> Counts)
{
    /// <summary>See <see cref="ReadModelEntry.CounterTable"/>.</summary>
    public string? CounterTable { get; init; }

    /// <summary>See <see cref="ReadModelEntry.CounterRollUp"/>.</summary>
    public string? CounterRollUp { get; init; }

    public static ProjectionUpdate Of(ReadModelEntry entry, long version) =>
        new(entry.Table, entry.Partition, entry.Item, version, entry.Rows, entry.Counts) { CounterTable = entry.CounterTable, CounterRollUp = entry.CounterRollUp };

    public static ProjectionUpdate Removal(ReadModelEntry entry, long version) =>
        new(entry.Table, entry.Partition, entry.Item, version, [], new Dictionary<string, long>()) { CounterTable = entry.CounterTable, CounterRollUp = entry.CounterRollUp };
}

/// <summary>The pure diff behind <see cref="IWorkflowProjection{TState}.Project"/>.</summary>
public static class ProjectionDiff
{
    /// <summary>
    /// An update for every entry that is new or changed in <paramref name="after"/>, and a removal for every entry of
    /// <paramref name="before"/> that <paramref name="after"/> no longer has; unchanged entries give nothing.
    /// </summary>
    public static IReadOnlyList<ProjectionUpdate> Updates(IEnumerable<ReadModelEntry> before, IEnumerable<ReadModelEntry> after, long version)
    {
        var old = new Dictionary<(string, string, string), ReadModelEntry>();
        foreach (var entry in before)
        {
            old[entry.Key] = entry;
        }

        var updates = new List<ProjectionUpdate>();
        var seen = new HashSet<(string, string, string)>();
        foreach (var entry in after)
        {
            if (!seen.Add(entry.Key))
            {
                throw new InvalidOperationException($"projection gave item '{entry.Item}' twice in partition '{entry.Partition}' of table '{entry.Table}'");
            }

            if (!old.TryGetValue(entry.Key, out var previous) || !Same(previous, entry))
            {
                updates.Add(ProjectionUpdate.Of(entry, version));
            }
        }

        updates.AddRange(old.Values.Where(e => !seen.Contains(e.Key)).Select(e => ProjectionUpdate.Removal(e, version)));
        return updates;
    }

    /// <summary>Equal as stored: same rows (keys, data, properties) and the same non-zero counts.</summary>
    public static bool Same(ReadModelEntry a, ReadModelEntry b) =>
        a.Rows.Count == b.Rows.Count
        && a.Rows.Zip(b.Rows).All(p => p.First.RowKey == p.Second.RowKey && Json(p.First.Data) == Json(p.Second.Data) && Json(p.First.Properties) == Json(p.Second.Properties))
        && Json(NonZero(a.Counts)) == Json(NonZero(b.Counts));

    private static SortedDictionary<string, long> NonZero(IReadOnlyDictionary<string, long> counts) =>
        new(counts.Where(c => c.Value != 0).ToDictionary(), StringComparer.Ordinal);

    private static string Json<T>(T value) => JsonSerializer.Serialize(value is IReadOnlyDictionary<string, JsonElement> d ? new SortedDictionary<string, JsonElement>(d.ToDictionary(), StringComparer.Ordinal) : (object?)value, WorkflowJson.Options);
}

/// <summary>A projection seen without its state type (as <see cref="WorkflowDefinition"/> is for deciders).</summary>
public abstract class WorkflowProjection
{
    public abstract string WorkflowType { get; }
    public abstract string Name { get; }
    public abstract IReadOnlyList<string> Tables { get; }

    /// <param name="state">The state as the definition reads it (<see cref="WorkflowDefinition.ReadState"/>).</param>
    public abstract IEnumerable<ReadModelEntry> Entries(string instanceId, WorkflowRuntimeStatus status, long seq, object state);

    public abstract IReadOnlyList<ProjectionUpdate> Project(
        (string InstanceId, WorkflowRuntimeStatus Status, long Seq, object State)? before, (string InstanceId, WorkflowRuntimeStatus Status, long Seq, object State) after, WorkflowEvent @event);

    public static WorkflowProjection From<TState>(string workflowType, IWorkflowProjection<TState> projection)
        where TState : notnull => new Typed<TState>(workflowType, projection);

    private sealed class Typed<TState>(string workflowType, IWorkflowProjection<TState> projection) : WorkflowProjection
        where TState : notnull
    {
        public override string WorkflowType => workflowType;
        public override string Name => projection.Name;
        public override IReadOnlyList<string> Tables => projection.Tables;

        public override IEnumerable<ReadModelEntry> Entries(string instanceId, WorkflowRuntimeStatus status, long seq, object state) =>
            projection.Entries(new ProjectedInstance<TState>(instanceId, status, seq, (TState)state));

        public override IReadOnlyList<ProjectionUpdate> Project(
            (string InstanceId, WorkflowRuntimeStatus Status, long Seq, object State)? before, (string InstanceId, WorkflowRuntimeStatus Status, long Seq, object State) after, WorkflowEvent @event) =>
            projection.Project(
                before is { } b ? new ProjectedInstance<TState>(b.InstanceId, b.Status, b.Seq, (TState)b.State) : null,
                new ProjectedInstance<TState>(after.InstanceId, after.Status, after.Seq, (TState)after.State),
                @event);
    }
}
