using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Invoices;
using CalAimHub.Functions.Invoices;
using CalAimHub.Functions.Referrals;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Monitoring;

/// <summary>
/// The extract's figures from what the hub keeps: referral status updates from their monthly read model
/// (<see cref="ReferralTrackingReadModel"/>, one partition; never a scan of the <c>Referrals</c> ledger), authorization
/// instances (listed by <c>WorkflowIndex</c>, one point read each) and the provider directory. CINs are hashed in memory
/// for counting and never leave this class. Invoice timeliness comes from its read model (<see cref="InvoiceReadModels"/>).
/// </summary>
public sealed class StoredMonitoringFigures(StorageAccount storage, WorkflowRuntime runtime, InvoiceReadModels invoices, InvoicePolicy invoicePolicy, ReferralTrackingReadModel tracking) : IMonitoringFigures
{
    public async Task<MonitoringInputs> ReadAsync(MonitoringMonth month, CancellationToken cancellationToken)
    {
        // The partition is the update's Pacific month, the month's bounds are Pacific too: the filter keeps what Build keeps.
        var updates = (await tracking.MonthAsync(month, cancellationToken)).Where(u => u.UpdatedAt >= month.Start && u.UpdatedAt < month.End).ToList();

        var authorizations = new List<AuthorizationFact>();
        string? continuation = null;
        do
        {
            var (entries, next) = await runtime.Store.IndexPageAsync(AuthorizationWorkflow.TypeName, continuation, 1000, cancellationToken);
            foreach (var entry in entries.Where(e => e.CreatedTime < month.End))
            {
                if (await runtime.GetStateAsync<AuthorizationState>(entry.InstanceId, cancellationToken) is { Request: { } request } state)
                {
                    authorizations.Add(new AuthorizationFact(
                        request.AuthorizationId, MemberKey(request.MemberCin), request.Service.ServiceKeys, request.Service.PopulationsOfFocus, state.Status,
                        request.ReceivedAt, state.Period?.StartsAt, state.Period?.EndsAt));
                }
            }

            continuation = next;
        }
        while (continuation is not null);

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

    private static string MemberKey(string cin) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cin)));
}
