using Azure.Data.Tables;
using CalAimHub.Functions.Referrals;

namespace CalAimHub.Workflows.Tests;

/// <summary>
/// Issue 10: webhook-id claims go to storage by group commit per platform (<see cref="WebhookIdClaims"/>), so a burst of
/// webhooks costs one claim write, not one each. Every caller still gets its own answer: inserted (with the ETag its undo
/// needs), or "exists" for an id claimed before or earlier in the same burst.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class WebhookIdClaimsTests(AzuriteFixture azurite)
{
    private async Task<(WebhookIdClaims Claims, TableClient Table, string Platform)> NewAsync()
    {
        var table = azurite.Storage.Tables.GetTableClient(TableReferralLedger.ClaimsTableName);
        await table.CreateIfNotExistsAsync();
        return (new WebhookIdClaims(azurite.Storage), table, "plat-" + Guid.NewGuid().ToString("N")[..8]);
    }

    private static TableEntity Claim(string platform, string id, string hash = "h") => new(platform, id) { ["BodyHash"] = hash, ["Dispatched"] = false };

    [Fact]
    public async Task A_burst_of_claims_for_one_platform_is_inserted_in_a_few_transactions_each_with_its_own_etag()
    {
        var (claims, table, platform) = await NewAsync();

        var inserted = await Task.WhenAll(Enumerable.Range(0, 150).Select(i => claims.InsertAsync(Claim(platform, $"msg_{i:000}"))));

        Assert.All(inserted, etag => Assert.NotNull(etag));
        Assert.InRange(claims.Writes, 2, 4); // the first alone, the rest in 100-row transactions as they waited (150 single inserts before)
        for (var i = 0; i < 150; i += 37)
        {
            var stored = await table.GetEntityAsync<TableEntity>(platform, $"msg_{i:000}");
            Assert.Equal(inserted[i], stored.Value.ETag); // the ETag an undo deletes with is the stored row's
        }

        Assert.Equal(150, await table.QueryAsync<TableEntity>(e => e.PartitionKey == platform).CountAsync());
    }

    [Fact]
    public async Task A_claimed_id_in_a_burst_answers_exists_and_the_rest_of_its_transaction_is_inserted()
    {
        var (claims, table, platform) = await NewAsync();
        await table.AddEntityAsync(Claim(platform, "msg_taken", "other body"));
        var first = claims.InsertAsync(Claim(platform, "msg_first")); // goes alone; the burst below waits for it

        var burst = await Task.WhenAll(new[] { "msg_a", "msg_taken", "msg_b", "msg_c" }.Select(id => claims.InsertAsync(Claim(platform, id))));

        Assert.NotNull(await first);
        Assert.NotNull(burst[0]);
        Assert.Null(burst[1]);
        Assert.NotNull(burst[2]);
        Assert.NotNull(burst[3]);
        Assert.Equal("other body", (await table.GetEntityAsync<TableEntity>(platform, "msg_taken")).Value.GetString("BodyHash"));
        Assert.Equal(5, await table.QueryAsync<TableEntity>(e => e.PartitionKey == platform).CountAsync());
    }

    [Fact]
    public async Task The_same_id_twice_in_one_burst_is_inserted_once_and_the_second_answers_exists()
    {
        var (claims, table, platform) = await NewAsync();
        var first = claims.InsertAsync(Claim(platform, "msg_first"));

        var twice = await Task.WhenAll(claims.InsertAsync(Claim(platform, "msg_dup", "one")), claims.InsertAsync(Claim(platform, "msg_dup", "two")), claims.InsertAsync(Claim(platform, "msg_other")));

        Assert.NotNull(await first);
        Assert.NotNull(twice[0]);
        Assert.Null(twice[1]);
        Assert.NotNull(twice[2]);
        Assert.Equal("one", (await table.GetEntityAsync<TableEntity>(platform, "msg_dup")).Value.GetString("BodyHash"));
    }
}
