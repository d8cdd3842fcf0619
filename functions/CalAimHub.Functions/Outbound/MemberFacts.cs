using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.CodeSets;
using CalAimHub.Domain.Referrals;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Authorizations;
using CalAimHub.Functions.Referrals;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Outbound;
using CalAimHub.Workflows;

namespace CalAimHub.Functions.Outbound;

/// <summary>What the hub knows about one assigned member, joined to the assignment row: layout values by <see cref="OutboundFacts"/> name, plus the ids the disclosure log's sent-file record keeps.</summary>
public sealed record MemberFacts(IReadOnlyDictionary<string, string> Values, string? AuthorizationId, DateOnly? AuthorizationStart, DateOnly? AuthorizationEnd, IReadOnlyList<string> ReferralIds)
{
    public static MemberFacts None { get; } = new(new Dictionary<string, string>(), null, null, null, []);
}

/// <summary>The join source of outbound files: authorizations and referrals of a member, by key (never a scan).</summary>
public interface IMemberFacts
{
    /// <param name="service"><c>ecm</c>, or the assignment's CS service code (e.g. <c>HTNS</c>).</param>
    Task<MemberFacts> ForAsync(string cin, string service, CancellationToken cancellationToken);
}

/// <summary>
/// Authorizations from <c>MemberAuthorizations</c> (partition = CIN, row = service key: one small partition read) and the
/// authorization's workflow state (a point read); referrals from <c>ReferralMembers</c> (partition = CIN) and each
/// referral's state. Dates are California dates.
/// </summary>
public sealed class HubMemberFacts(MemberAuthorizationIndex authorizations, ReferralMemberIndex referrals, WorkflowRuntime runtime, CaliforniaWorkingDays calendar) : IMemberFacts
{
    /// <summary>Assignment CS codes (<c>HTNS</c>) → the Domain's CS service ids (<c>housing-transition-navigation</c>), matched by name.</summary>
    private static readonly FrozenDictionary<string, string> ServiceIds = FormatCatalog.Default.CodeSets["community-supports"].Codes
        .Select(c => (c.Code, Id: CommunitySupports.V2026.Entries.FirstOrDefault(e => string.Equals(e.Name, c.Label, StringComparison.OrdinalIgnoreCase))?.Id))
        .Where(c => c.Id is not null).ToFrozenDictionary(c => c.Code, c => c.Id!, StringComparer.OrdinalIgnoreCase);

    public static string ServiceKey(string service) =>
        service == OutboundAssignments.Ecm ? RequestedService.EcmKey : ServiceIds.GetValueOrDefault(service) ?? service.ToLowerInvariant();

    public async Task<MemberFacts> ForAsync(string cin, string service, CancellationToken cancellationToken)
    {
        var key = ServiceKey(service);

        // The referral side needs nothing from the authorization side: both chains of reads run at the same time.
        var referralsOfMember = ReferralsAsync(cin, key, cancellationToken);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? authorizationId = null;
        DateOnly? start = null, end = null;
        var row = (await authorizations.ForMemberAsync(cin, cancellationToken)).FirstOrDefault(r => r.RowKey == key);
        string? requestReferrer = null;
        if (row is not null)
        {
            authorizationId = row.AuthorizationId;
            values[OutboundFacts.AuthorizationNumber] = row.AuthorizationId;
            requestReferrer = row.ReferringEntity.Length > 0 ? row.ReferringEntity : null;
            if (await runtime.GetStateAsync<AuthorizationState>(row.AuthorizationId, cancellationToken) is { } state)
            {
                values[OutboundFacts.AuthorizationStatus] = JsonNamingPolicy.KebabCaseLower.ConvertName(state.Status.ToString());
                if (state.Request is { } request)
                {
                    values[OutboundFacts.AuthorizationRequestedOn] = Iso(calendar.DateOf(request.ReceivedAt));
                }

                if (state.Decisions.Count > 0)
                {
                    values[OutboundFacts.AuthorizationDecidedOn] = Iso(calendar.DateOf(state.Decisions[^1].DecidedAt));
                }

                if (state.Period is { } period)
                {
                    start = calendar.DateOf(period.StartsAt);
                    end = calendar.DateOf(period.EndsAt);
                    values[OutboundFacts.AuthorizationStart] = Iso(start.Value);
                    values[OutboundFacts.AuthorizationEnd] = Iso(end.Value);
                }
            }
        }
        else
        {
            values[OutboundFacts.AuthorizationStatus] = "not-requested";
        }

        var (referralIds, latest) = await referralsOfMember;
        if ((latest?.ReferringEntity?.Name ?? requestReferrer) is { } referrer)
        {
            values[OutboundFacts.ReferringOrganization] = referrer;
        }

        if (latest?.ReferredAt is { } referredAt)
        {
            values[OutboundFacts.ReferralRequestedOn] = Iso(calendar.DateOf(referredAt));
        }

        if (latest?.History.FirstOrDefault(h => h.Status != ReferralStatus.Pending) is { } decided)
        {
            values[OutboundFacts.ReferralDecidedOn] = Iso(decided.StatusDate);
        }

        return new MemberFacts(values, authorizationId, start, end, referralIds);
    }

    /// <summary>The member's referrals for the service, in id order, and the latest of them.</summary>
    private async Task<(List<string> Ids, ReferralState? Latest)> ReferralsAsync(string cin, string key, CancellationToken cancellationToken)
    {
        var referralIds = new List<string>();
        ReferralState? latest = null;
        foreach (var id in (await referrals.ReferralsOfAsync(cin, cancellationToken)).Order(StringComparer.Ordinal))
        {
            if (await runtime.GetStateAsync<ReferralState>(id, cancellationToken) is { } referral
                && string.Equals(referral.Service?.Code, key, StringComparison.Ordinal))
            {
                referralIds.Add(id);
                if (latest is null || referral.ReferredAt > latest.ReferredAt)
                {
                    latest = referral;
                }
            }
        }

        return (referralIds, latest);
    }

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
