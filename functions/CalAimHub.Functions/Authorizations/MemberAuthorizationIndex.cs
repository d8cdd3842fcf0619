using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Workflows;
using CalAimHub.Hosting.Storage;

namespace CalAimHub.Functions.Authorizations;

/// <summary>
/// Table <c>MemberAuthorizations</c>: partition = member CIN, row = service key ("ecm" or a CS service id), value =
/// the latest authorization for that member and service and who holds it. The one lookup the duplicate check and
/// "is this member already authorized, with whom?" need. The CIN is PHI at rest here, which storage encryption
/// covers; it never goes into a log line.
/// </summary>
/// <remarks>
/// Rows are never updated when an authorization closes: whether a row still blocks a new request is read from the
/// workflow state, so the index cannot drift from the truth. A claim covers all service keys of a request (the
/// housing trio) in one entity-group transaction on the member's partition, and carries the start input: whoever
/// finds a claim whose workflow does not exist yet (its request still starting, or crashed after the claim) starts
/// that very instance, idempotently by its id, instead of guessing from the clock whether the claimant is alive.
/// </remarks>
public sealed class MemberAuthorizationIndex(StorageAccount storage)
{
    public const string TableName = "MemberAuthorizations";

    private TableClient Table => storage.Tables.GetTableClient(TableName);

    public async Task<IReadOnlyList<MemberAuthorizationRow>> ForMemberAsync(string cin, CancellationToken cancellationToken)
    {
        var rows = new List<MemberAuthorizationRow>();
        await foreach (var row in Table.QueryAsync<MemberAuthorizationRow>(r => r.PartitionKey == cin, cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>
    /// The member's latest authorization per service key (service key → authorization id): one query on the member's
    /// partition, the few rows it holds, key and id columns only.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> AuthorizationIdsAsync(string cin, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {cin}"), select: ["RowKey", "AuthorizationId"], cancellationToken: cancellationToken))
        {
            if (row.GetString("AuthorizationId") is { Length: > 0 } id)
            {
                ids[row.RowKey] = id;
            }
        }

        return ids;
    }

    /// <summary>
    /// Claims the service keys of <paramref name="request"/>, replacing only the <paramref name="replaceable"/> rows
    /// (closed authorizations) under their ETags. False when another writer changed a row first: read again and retry.
    /// </summary>
    public async Task<bool> TryClaimAsync(AuthorizationRequest request, IReadOnlyDictionary<string, MemberAuthorizationRow> replaceable, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var actions = request.Service.ServiceKeys.Select(key =>
        {
            var row = new MemberAuthorizationRow
            {
                PartitionKey = request.MemberCin,
                RowKey = key,
                AuthorizationId = request.AuthorizationId,
                RequestingProviderNpi = request.RequestingProviderNpi,
                ReferringEntity = request.ReferringEntity,
                ClaimedAt = now,
                Request = JsonSerializer.Serialize(request, WorkflowJson.Options),
            };
            return replaceable.TryGetValue(key, out var old)
                ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, row, old.ETag)
                : new TableTransactionAction(TableTransactionActionType.Add, row);
        }).ToList();

        try
        {
            await Table.SubmitTransactionAsync(actions, cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }
}

public sealed class MemberAuthorizationRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string AuthorizationId { get; set; } = "";
    public string RequestingProviderNpi { get; set; } = "";
    public string ReferringEntity { get; set; } = "";
    public DateTimeOffset ClaimedAt { get; set; }

    /// <summary>The start input of the claiming request (JSON; holds the CIN, like the row key).</summary>
    public string Request { get; set; } = "";
}
