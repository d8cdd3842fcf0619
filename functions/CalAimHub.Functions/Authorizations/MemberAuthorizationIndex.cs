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
/// housing trio) in one entity-group transaction on the member's partition, and carries the start input, so a claim
/// whose workflow never started can be started as that very instance, idempotently by its id.
/// <para>
/// Finding such claims without a scan: before it claims, a request writes an <em>unstarted-claim marker</em> in partition
/// <see cref="UnstartedPartition"/> (never a CIN: a CIN is 8 digits and a letter), keyed by the real time it was written,
/// and deletes it once its workflow started. A marker outlives its grace period only when the request died between the
/// two (or its claim lost and it gave up): <see cref="AuthorizationClaimSweeper"/> reads those with one key-range query on
/// one partition. The marker cannot be written in the claim's transaction (another partition), so it goes first: a
/// marker without a claim is harmless, a claim without a marker would never be repaired.
/// </para>
/// </remarks>
/// <param name="wallClock">The app's real clock (not the workflow clock, which tests accelerate): markers are aged by it; default the system's.</param>
public sealed class MemberAuthorizationIndex(StorageAccount storage, TimeProvider? wallClock = null)
{
    private readonly TimeProvider wallClock = wallClock ?? TimeProvider.System;

    public const string TableName = "MemberAuthorizations";

    /// <summary>The partition of unstarted-claim markers, beside the members' partitions.</summary>
    public const string UnstartedPartition = "unstarted-claims";

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

    /// <summary>
    /// Writes the unstarted-claim marker of <paramref name="request"/> (before its claim) and answers its row key, for
    /// <see cref="ForgetUnstartedAsync"/> once the workflow started.
    /// </summary>
    public async Task<string> MarkUnstartedAsync(AuthorizationRequest request, CancellationToken cancellationToken)
    {
        var key = MarkerKey(wallClock.GetUtcNow(), request.AuthorizationId);
        await Table.AddEntityAsync(new TableEntity(UnstartedPartition, key)
        {
            ["AuthorizationId"] = request.AuthorizationId,
            ["MemberCin"] = request.MemberCin,
            ["ServiceKey"] = request.Service.ServiceKeys[0],
        }, cancellationToken);
        return key;
    }

    /// <summary>Deletes an unstarted-claim marker; one already gone is fine.</summary>
    public async Task ForgetUnstartedAsync(string markerKey, CancellationToken cancellationToken)
    {
        try
        {
            await Table.DeleteEntityAsync(UnstartedPartition, markerKey, ETag.All, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    /// <summary>
    /// Unstarted-claim markers written before <paramref name="writtenBefore"/> (real time), oldest first, at most
    /// <paramref name="max"/>: one query on one partition's key range.
    /// </summary>
    public async Task<IReadOnlyList<UnstartedClaim>> UnstartedBeforeAsync(DateTimeOffset writtenBefore, int max, CancellationToken cancellationToken)
    {
        var found = new List<UnstartedClaim>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {UnstartedPartition} and RowKey lt {MarkerKey(writtenBefore, "")}");
        await foreach (var marker in Table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), cancellationToken: cancellationToken))
        {
            found.Add(new UnstartedClaim(marker.RowKey, marker.GetString("AuthorizationId") ?? "", marker.GetString("MemberCin") ?? "", marker.GetString("ServiceKey") ?? ""));
            if (found.Count == max)
            {
                break;
            }
        }

        return found;
    }

    /// <summary>The member's row for one service key, or null.</summary>
    public async Task<MemberAuthorizationRow?> RowAsync(string cin, string serviceKey, CancellationToken cancellationToken)
    {
        var row = await Table.GetEntityIfExistsAsync<MemberAuthorizationRow>(cin, serviceKey, cancellationToken: cancellationToken);
        return row.HasValue ? row.Value : null;
    }

    // Fixed-width ticks sort as text in time order; the id keeps two markers of one tick apart.
    private static string MarkerKey(DateTimeOffset writtenAt, string authorizationId) =>
        writtenAt.UtcTicks.ToString("D19", System.Globalization.CultureInfo.InvariantCulture) + "|" + authorizationId;
}

/// <summary>An unstarted-claim marker: the claim it stands for is the member's row <paramref name="ServiceKey"/>.</summary>
public sealed record UnstartedClaim(string MarkerKey, string AuthorizationId, string MemberCin, string ServiceKey);

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
