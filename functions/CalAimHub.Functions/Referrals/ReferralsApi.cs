using CalAimHub.Domain.Referrals;
using CalAimHub.Referrals;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// Referral queries that need no workflow: <c>GET /api/referrals/{id}</c> (current status and the events accepted so
/// far) and <c>GET /api/referrals/{id}/fhir</c> (the current SDOHCC Task). The id is the hub's
/// <c>{platform}:{platformReferralId}</c>, as answered by the webhook.
/// </summary>
public static class ReferralsApi
{
    public static void MapReferralsApi(this WebApplication app)
    {
        app.MapGet("/api/referrals/{id}", GetAsync);
        app.MapGet("/api/referrals/{id}/fhir", GetTaskAsync);
    }

    private static async Task<IResult> GetAsync(string id, IReferralLedger ledger, CancellationToken ct)
    {
        if (await FindAsync(id, ledger, ct) is not { } history)
        {
            return NotFound(id);
        }

        var r = history.Referral;
        return Results.Json(new ReferralView(
            r.ReferralId, r.Platform, r.PlatformReferralId, r.Status, r.TaskStatus, r.Reason, r.Service, r.Member, r.ReferringEntity,
            r.ReceivingProviderNpi, r.Urgency, r.CreatedAt, r.UpdatedAt,
            [.. history.Events.Select(e => new ReferralEventView(e.EventId, e.Kind, e.Status, e.TaskStatus, e.Reason, e.OccurredAt, e.ReceivedAt))]),
            ReferralJson.Options);
    }

    private static async Task<IResult> GetTaskAsync(string id, IReferralLedger ledger, CancellationToken ct) =>
        await FindAsync(id, ledger, ct) is { } history
            ? Results.Text(ReferralTaskWriter.ToJson(history.Referral), "application/fhir+json")
            : NotFound(id);

    private static async Task<ReferralHistory?> FindAsync(string id, IReferralLedger ledger, CancellationToken ct) =>
        ReferralIdentifiers.Split(id) is null ? null : await ledger.GetAsync(id, ct);

    private static IResult NotFound(string id) => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such referral",
        detail: ReferralIdentifiers.Split(id) is null
            ? "a referral id is '{platform}:{platformReferralId}', as answered by the webhook"
            : $"no referral '{id}' has been accepted");
}

/// <param name="Events">Accepted events in order, without member data (the referral carries the member once).</param>
public sealed record ReferralView(
    string ReferralId, string Platform, string PlatformReferralId, ReferralStatus Status, string TaskStatus, string? Reason, ReferralService? Service,
    MemberReference? Member, ReferringEntity? ReferringEntity, string? ReceivingProviderNpi, ReferralUrgency Urgency, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, IReadOnlyList<ReferralEventView> Events);

public sealed record ReferralEventView(string EventId, ReferralEventKind Kind, ReferralStatus Status, string TaskStatus, string? Reason, DateTimeOffset OccurredAt, DateTimeOffset ReceivedAt);
