using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using CalAimHub.Functions.Authorizations;
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
