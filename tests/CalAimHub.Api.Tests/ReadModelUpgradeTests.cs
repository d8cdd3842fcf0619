using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Workflows;

namespace CalAimHub.Api.Tests;

/// <summary>
/// A deployment upgraded to sharded read models before its rebuild (docs/deploy.md): rows of the unsharded layout in the
/// table the projection names. Readers answer a 503 problem naming the table and the fix, never a wrong list; the rebuild
/// clears the old rows and the lists answer again. Own hub: the test writes into its read models.
/// </summary>
public sealed class ReadModelUpgradeTests(ApiHub hub) : IClassFixture<ApiHub>
{
    [Fact]
    public async Task A_read_model_of_the_unsharded_layout_answers_503_until_the_rebuild()
    {
        // As the version before shards left it: an authorization's item and version rows in AuthorizationListing itself.
        var old = hub.Hub.Storage.Tables.GetTableClient(AuthorizationListingIndex.TableName);
        await old.CreateIfNotExistsAsync();
        await old.UpsertEntityAsync(new TableEntity(AuthorizationListingIndex.Partition, "due|20260701T000000Z|auth-before-upgrade") { ["Data"] = """{"authorizationId":"auth-before-upgrade"}""" });
        await old.UpsertEntityAsync(new TableEntity(AuthorizationListingIndex.Partition, ReadModelStore.VersionPrefix + "auth-before-upgrade") { ["Version"] = 3L });

        using var refused = await hub.Client.GetAsync(new Uri("/api/authorizations?status=in-review", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("https://calaimhub/problems/read-model-rebuild-required", (string?)problem["type"]);
        Assert.Equal("Read model needs a rebuild", (string?)problem["title"]);
        Assert.Equal(
            "read-model table 'AuthorizationListing' is not in the layout this version reads (32 shards; the table's layout row says nothing): run the read-model rebuild (POST /api/console/read-models/rebuild)",
            (string?)problem["detail"]);

        using var rebuild = await hub.Client.PostAsync(new Uri("/api/console/read-models/rebuild", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, rebuild.StatusCode);

        using var listed = await hub.Client.GetAsync(new Uri("/api/authorizations?status=in-review", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.DoesNotContain("auth-before-upgrade", await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The old rows are gone; the table the projection names holds the layout row only, naming the shards.
        var left = new List<TableEntity>();
        await foreach (var row in old.QueryAsync<TableEntity>())
        {
            left.Add(row);
        }

        var layout = Assert.Single(left);
        Assert.Equal((ReadModelStore.LayoutRow, ReadModelStore.LayoutRow, 32), (layout.PartitionKey, layout.RowKey, layout.GetInt32("Shards")));
    }
}

/// <summary>
/// A deployment upgraded to layout revision 2 of <c>ConsoleDeadlines</c> (breached deadlines in
/// <c>ConsoleBreachedDeadlines</c>) before its rebuild: the breaches are still in the old table's <c>breached</c> partition
/// and the new table is empty, so Today and the breached list would show none. Both answer 503 until the rebuild.
/// </summary>
public sealed class DeadlinesRevisionUpgradeTests(ApiHub hub) : IClassFixture<ApiHub>
{
    [Fact]
    public async Task Today_and_the_breached_list_answer_503_until_the_rebuild_moves_the_breaches_out_of_the_deadlines_table()
    {
        // As revision 1 left it: the layout row naming 8 shards (no revision), a breached deadline in a shard's "breached" partition.
        var deadlines = hub.Hub.Storage.Tables.GetTableClient(ConsoleTables.Deadlines);
        await deadlines.CreateIfNotExistsAsync();
        await deadlines.UpsertEntityAsync(new TableEntity(ReadModelStore.LayoutRow, ReadModelStore.LayoutRow) { ["Shards"] = 8 });
        var shard = hub.Hub.Storage.Tables.GetTableClient(ConsoleTables.Deadlines + "03");
        await shard.CreateIfNotExistsAsync();
        await shard.UpsertEntityAsync(new TableEntity(ConsoleTables.BreachedPartition, "20260701T000000Z|authorization|auth-old|decision") { ["Data"] = "{}", ["Type"] = "authorization" });

        const string Detail = "read-model table 'ConsoleDeadlines' is not in the layout this version reads (8 shards, layout revision 2; the table's layout row says 8 shards, revision 1): run the read-model rebuild (POST /api/console/read-models/rebuild)";
        foreach (var route in new[] { "/api/console/today", "/api/console/deadlines?window=breached", "/api/console/deadlines?window=next24h" })
        {
            using var refused = await hub.Client.GetAsync(new Uri(route, UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal(("https://calaimhub/problems/read-model-rebuild-required", Detail), ((string?)problem["type"], (string?)problem["detail"]));
        }

        using var rebuild = await hub.Client.PostAsync(new Uri("/api/console/read-models/rebuild", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, rebuild.StatusCode);

        using var today = await hub.Client.GetAsync(new Uri("/api/console/today", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, today.StatusCode);
        Assert.DoesNotContain("auth-old", await today.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var layout = (await deadlines.GetEntityAsync<TableEntity>(ReadModelStore.LayoutRow, ReadModelStore.LayoutRow)).Value;
        Assert.Equal((8, 2), (layout.GetInt32("Shards"), layout.GetInt32("Revision")));
        await foreach (var row in shard.QueryAsync<TableEntity>())
        {
            Assert.Fail($"{shard.Name} still holds {row.PartitionKey}/{row.RowKey} after the rebuild");
        }
    }
}

/// <summary>
/// A deployment upgraded to the sharded monitoring read model (stop 32) before its rebuild: receipt rows in
/// <c>MonitoringAuthorizations</c> itself. Generating an extract answers 503 rather than counting from a half-moved table.
/// </summary>
public sealed class MonitoringReadModelUpgradeTests(ApiHub hub) : IClassFixture<ApiHub>
{
    [Fact]
    public async Task Generating_an_extract_answers_503_until_the_rebuild_then_the_extract_is_written()
    {
        var old = hub.Hub.Storage.Tables.GetTableClient(CalAimHub.Functions.Monitoring.MonitoringAuthorizationsProjection.TableName);
        await old.CreateIfNotExistsAsync();
        await old.UpsertEntityAsync(new TableEntity("2026-11", "r|auth-before-upgrade") { ["Data"] = """{"authorizationId":"auth-before-upgrade"}""" });

        using var refused = await hub.Client.PostAsync(new Uri("/api/console/extracts/2026-11", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal(
            ("https://calaimhub/problems/read-model-rebuild-required",
                "read-model table 'MonitoringAuthorizations' is not in the layout this version reads (32 shards; the table's layout row says nothing): run the read-model rebuild (POST /api/console/read-models/rebuild)"),
            ((string?)problem["type"], (string?)problem["detail"]));
        using var none = await hub.Client.GetAsync(new Uri("/api/console/extracts/2026-11?format=json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode); // nothing written by the refused generation

        using var rebuild = await hub.Client.PostAsync(new Uri("/api/console/read-models/rebuild", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, rebuild.StatusCode);

        using var generated = await hub.Client.PostAsync(new Uri("/api/console/extracts/2026-11", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, generated.StatusCode);
        using var extract = await hub.Client.GetAsync(new Uri("/api/console/extracts/2026-11?format=json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, extract.StatusCode);
        Assert.DoesNotContain("auth-before-upgrade", await extract.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
