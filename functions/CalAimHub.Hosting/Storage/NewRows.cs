using Azure.Data.Tables;

namespace CalAimHub.Hosting.Storage;

/// <summary>
/// Rows written as new, that a re-run may find there already (a batch start's index rows, a batch's parked timers): one
/// entity-group transaction of inserts, and only when one of them exists (409), the same rows again as replacements.
/// </summary>
/// <remarks>
/// Why not one upsert transaction: Azurite answers an upsert by looking its row up twice, each a walk over the rows of the
/// partition, and an insert once (stop 34, docs/performance.md); the partitions of the workflow index grow with every file.
/// In Azure Table storage both are a key look-up, and the replacement transaction costs one more round trip on re-runs only.
/// </remarks>
public static class NewRows
{
    /// <summary>Inserts <paramref name="rows"/> (one partition, at most 100) in one transaction, or replaces them when one already exists.</summary>
    public static async Task SubmitAsync(TableClient table, IReadOnlyList<TableEntity> rows, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)), cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), cancellationToken);
        }
    }
}
