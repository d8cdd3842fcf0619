namespace CalAimHub.Domain.Referrals;

/// <summary>
/// A referral as the accepted events so far describe it: the small, pure "evolve" the intake keeps until the referral
/// workflow owns referrals (then the workflow's state replaces it).
/// </summary>
public sealed record ReferralSnapshot(
    string ReferralId,
    string Platform,
    string PlatformReferralId,
    ReferralStatus Status,
    string TaskStatus,
    string? Reason,
    ReferralService? Service,
    MemberReference? Member,
    ReferringEntity? ReferringEntity,
    string? ReceivingProviderNpi,
    ReferralUrgency Urgency,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string LastEventId,
    int EventCount)
{
    public static ReferralSnapshot Start(ReferralEvent created) => new(
        created.ReferralId, created.Platform, created.PlatformReferralId, created.Status, created.TaskStatus, created.Reason, created.Service,
        created.Member, created.ReferringEntity, created.ReceivingProviderNpi, created.Urgency, created.OccurredAt, created.OccurredAt,
        created.EventId, 1);

    /// <summary>The referral after <paramref name="event"/>; details an event leaves out are kept from before.</summary>
    public ReferralSnapshot Apply(ReferralEvent @event) => this with
    {
        Status = @event.Status,
        TaskStatus = @event.TaskStatus,
        Reason = @event.Reason,
        Service = @event.Service ?? Service,
        Member = @event.Member ?? Member,
        ReferringEntity = @event.ReferringEntity ?? ReferringEntity,
        ReceivingProviderNpi = @event.ReceivingProviderNpi ?? ReceivingProviderNpi,
        UpdatedAt = @event.OccurredAt > UpdatedAt ? @event.OccurredAt : UpdatedAt,
        LastEventId = @event.EventId,
        EventCount = EventCount + 1,
    };
}
