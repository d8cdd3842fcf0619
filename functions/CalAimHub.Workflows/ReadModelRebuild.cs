using CalAimHub.Domain.Workflows;
using Microsoft.Extensions.Logging;

namespace CalAimHub.Workflows;

/// <param name="Instances">State rows read from the Workflows table.</param>
/// <param name="RowsDeleted">Rows the read-model tables held before.</param>
/// <param name="RowsWritten">Rows written (item, version and counter rows).</param>
public sealed record RebuildReport(int Instances, IReadOnlyList<string> Projections, IReadOnlyList<string> Tables, int RowsDeleted, int RowsWritten)
{
    public override string ToString() =>
        $"read models rebuilt: {string.Join(", ", Projections)}; instances read: {Instances}, rows deleted: {RowsDeleted}, rows written: {RowsWritten}";
}

/// <summary>
/// A read model kept from history other than the workflows (e.g. a ledger's events); the rebuild empties and rewrites it
/// alongside the projections.
/// </summary>
public interface IReadModelSource
{
    string Name { get; }

    IReadOnlyList<string> Tables { get; }

    Task<(int Deleted, int Written)> RebuildAsync(ReadModelStore readModels, CancellationToken cancellationToken);
}

/// <summary>
/// Recomputes every read model from the workflows (and each <see cref="IReadModelSource"/> from its own history): each instance's committed state (the fold of its history) through
/// every projection of its type, written into emptied tables with the instance's sequence number as the version. The
/// result equals what the incremental updates build (tested); an update committed during a rebuild is applied after it
/// (its version is newer) or skipped (the rebuild already holds it).
/// </summary>
public sealed class ReadModelRebuild(WorkflowStore store, WorkflowRegistry registry, ReadModelStore readModels, ILogger<ReadModelRebuild> logger, IEnumerable<IReadModelSource>? sources = null)
{
    public async Task<RebuildReport> RebuildAsync(CancellationToken cancellationToken)
    {
        var projections = registry.Projections.ToList();
        var tables = projections.SelectMany(p => p.Tables).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var entries = new List<(ReadModelEntry, long)>();
        var instances = 0;
        await foreach (var instance in store.InstancesAsync(cancellationToken))
        {
            var ofType = registry.ProjectionsOf(instance.Type);
            if (ofType.Count == 0 || registry.Find(instance.Type) is not { } definition)
            {
                continue;
            }

            instances++;
            var (id, status, seq, state) = InstanceTransition.View(definition, instance);
            foreach (var projection in ofType)
            {
                entries.AddRange(projection.Entries(id, status, seq, state).Select(e => (e, seq)));
            }
        }

        var deleted = 0;
        foreach (var table in tables)
        {
            deleted += await readModels.ClearAsync(table, cancellationToken);
        }

        var written = await readModels.LoadAsync(entries, 8, cancellationToken);
        var others = sources?.ToList() ?? [];
        foreach (var source in others)
        {
            var (sourceDeleted, sourceWritten) = await source.RebuildAsync(readModels, cancellationToken);
            deleted += sourceDeleted;
            written += sourceWritten;
        }

        var report = new RebuildReport(instances, [.. projections.Select(p => p.Name), .. others.Select(s => s.Name)], [.. tables, .. others.SelectMany(s => s.Tables)], deleted, written);
        logger.LogInformation("Read models rebuilt ({Projections}): {Instances} instances, {Deleted} rows deleted, {Written} rows written", string.Join(", ", report.Projections), instances, deleted, written);
        return report;
    }
}
