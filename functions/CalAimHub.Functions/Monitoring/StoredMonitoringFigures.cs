using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Monitoring;

/// <summary>
/// The extract's figures from what the hub keeps: referral status updates from their monthly read model
/// (<see cref="ReferralTrackingReadModel"/>, one partition; never a scan of the <c>Referrals</c> ledger), authorizations
/// from theirs (<see cref="MonitoringAuthorizationsProjection"/>, two queries; never the <c>WorkflowIndex</c> nor a state
/// read per instance; members by keyed hash, no CIN) and the provider directory. Invoice timeliness comes from its read
/// model (<see cref="InvoiceReadModels"/>).
/// </summary>
public sealed class StoredMonitoringFigures(
    StorageAccount storage, MonitoringAuthorizations monitoringAuthorizations, InvoiceReadModels invoices, InvoicePolicy invoicePolicy, ReferralTrackingReadModel tracking) : IMonitoringFigures
{
    public async Task<MonitoringInputs> ReadAsync(MonitoringMonth month, CancellationToken cancellationToken)
    {
        // The partition is the update's Pacific month, the month's bounds are Pacific too: the filter keeps what Build keeps.
        var updates = (await tracking.MonthAsync(month, cancellationToken)).Where(u => u.UpdatedAt >= month.Start && u.UpdatedAt < month.End).ToList();

        // Authorizations received in the month or authorized for part of it: two queries of their read model.
        var authorizations = await monitoringAuthorizations.MonthAsync(month, cancellationToken);

        var providers = new List<ProviderDirectoryEntry>();
        var directory = storage.Tables.GetTableClient(ProviderDirectoryApi.TableName);
        await foreach (var row in directory.QueryAsync<TableEntity>(select: ["Entry"], cancellationToken: cancellationToken))
        {
            if (row.GetString("Entry") is { } json && JsonSerializer.Deserialize<ProviderDirectoryEntry>(json, ReferralJson.Options) is { } entry)
            {
                providers.Add(entry);
            }
        }

        // Invoice timeliness from its read model's counters (one point read and one partition range), as the console shows it.
        var counts = await invoices.MonthAsync(month.Text, null, cancellationToken);
        var byProvider = (await invoices.ProvidersAsync(month.Text, cancellationToken))
            .Select(p => InvoicesApi.Figures(month.Text, p.Provider, p.Counts, invoicePolicy.Rules, null)).ToList();
        var figures = InvoicesApi.Figures(month.Text, null, counts, invoicePolicy.Rules, byProvider);

        return new MonitoringInputs(updates, authorizations, providers, figures);
    }
}
