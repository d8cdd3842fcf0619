using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.ConsoleData;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Monitoring;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Tests;

public sealed class ReadModelShardsTests
{
    /// <summary>ReadModelShards names tables by their text (the runtime cannot see the projections' constants): a renamed table would silently lose its shards.</summary>
    [Fact]
    public void The_hubs_sharded_tables_are_the_read_models_that_grow_in_one_partition()
    {
        Assert.Equal(
            new Dictionary<string, int>
            {
                [AuthorizationListingIndex.TableName] = 32,
                [ConsoleTables.Deadlines] = 8,
                [ConsoleTables.BreachedDeadlines] = 8,
                [ConsoleTables.OpenReferrals] = 16,
                [InvoiceReadModelsProjection.ListingTable] = 16,
                [InvoiceReadModelsProjection.TimelinessTable] = 16,
                [MonitoringAuthorizationsProjection.TableName] = 32,
            },
            ReadModelShards.Hub.ByTable);
        Assert.Equal(1, ReadModelShards.Hub.Of(InvoiceReadModelsProjection.TimelinessCountersTable));

        // Revision 2 of the deadlines: the breached ones moved to a table of their own.
        Assert.Equal(2, ReadModelShards.Hub.RevisionOf(ConsoleTables.Deadlines));
        Assert.Equal(ReadModelShards.FirstRevision, ReadModelShards.Hub.RevisionOf(ConsoleTables.BreachedDeadlines));
    }
}
