using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Rows written as new (a batch start's index rows and parked timers, a read-model item's rows before it has a version row)
/// are inserted, which Azurite answers with one walk over the partition instead of an upsert's two; a row already there
/// (a re-run, a stray row) is still written, by a replacement.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class NewRowsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task New_rows_are_inserted_and_a_transaction_meeting_one_already_there_replaces_them_all()
    {
        var table = azurite.Storage.Tables.GetTableClient("NewRows" + Guid.NewGuid().ToString("N")[..12]);
        await table.CreateIfNotExistsAsync();
        await NewRows.SubmitAsync(table, [Row("a", 1), Row("b", 1)], CancellationToken.None);
        var firstEtag = (await table.GetEntityAsync<TableEntity>("p", "a")).Value.ETag;

        await NewRows.SubmitAsync(table, [Row("a", 2), Row("b", 2), Row("c", 2)], CancellationToken.None); // a and b are there

        var rows = await table.QueryAsync<TableEntity>().ToListAsync();
        Assert.Equal([("a", 2), ("b", 2), ("c", 2)], rows.Select(r => (r.RowKey, r.GetInt32("V")!.Value)).OrderBy(r => r.RowKey));
        Assert.NotEqual(firstEtag, rows.Single(r => r.RowKey == "a").ETag);
    }

    [Fact]
    public async Task An_item_without_a_version_row_whose_row_is_already_there_is_written_all_the_same()
    {
        // Given a row where a new item's row goes, written by no update (so no version row names it)
        var name = "NewItemRows" + Guid.NewGuid().ToString("N")[..12];
        var table = azurite.Storage.Tables.GetTableClient(name);
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(new TableEntity("p", "row-1") { ["Data"] = "{\"v\":0}" });
        var store = new ReadModelStore(azurite.Storage.Tables);

        // When the item's first update comes (its insert fails the first try)
        var applied = await store.ApplyAsync(new ProjectionUpdate(name, "p", "item-1", 1, [ReadModelRow.Of("row-1", new { v = 1 }), ReadModelRow.Of("row-2", new { v = 1 })],
            new Dictionary<string, long>()), CancellationToken.None);

        // Then both rows hold the update
        Assert.True(applied);
        var rows = await table.QueryAsync<TableEntity>(r => r.PartitionKey == "p").ToListAsync();
        Assert.Equal(["{\"v\":1}", "{\"v\":1}"], rows.Where(r => r.RowKey.StartsWith("row-", StringComparison.Ordinal)).OrderBy(r => r.RowKey).Select(r => r.GetString("Data")));
    }

    private static TableEntity Row(string key, int value) => new("p", key) { ["V"] = value };
}
