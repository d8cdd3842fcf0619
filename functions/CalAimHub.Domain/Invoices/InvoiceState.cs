using System.Text.Json.Serialization;
using CalAimHub.Domain.Authorizations;

namespace CalAimHub.Domain.Invoices;

/// <summary>
/// The stored state of one invoice: its header, its lines with their outcomes, the payment clocks and the payments.
/// No member data: the lines carry service, dates, units and amounts; the member's CIN stays in the ingested row.
/// </summary>
public sealed record InvoiceState(
    InvoiceStart? Header,
    IReadOnlyList<InvoiceLine> Lines,
    IReadOnlyList<InvoiceClock> Clocks,
    IReadOnlyList<InvoicePayment> Payments,
    IReadOnlyList<string> ContestCodes,
    bool Escalated)
{
    public static readonly InvoiceState Initial = new(null, [], [], [], [], false);

    [JsonIgnore]
    public InvoiceStatus Status => InvoiceStatuses.Of(this);

    /// <summary>Every line paid or denied: nothing more can happen.</summary>
    [JsonIgnore]
    public bool Closed => Lines.Count > 0 && Lines.All(l => l.Status is LineStatus.Paid or LineStatus.Denied);

    /// <summary>Clean: no line was ever contested (by the checks or the plan) — the invoices the 90%/99% figures count.</summary>
    [JsonIgnore]
    public bool Clean => ContestCodes.Count == 0 && Lines.All(l => l.Status != LineStatus.Denied);

    [JsonIgnore]
    public decimal Billed => Lines.Sum(l => l.Charge);

    [JsonIgnore]
    public decimal Paid => Payments.Sum(p => p.Amount);

    [JsonIgnore]
    public decimal InterestOwed => Payments.Sum(p => p.Interest);

    public InvoiceLine? Line(int number) => Lines.FirstOrDefault(l => l.Number == number);

    public InvoiceClock? Clock(string id) => Clocks.FirstOrDefault(c => c.Id == id);

    internal InvoiceState WithLine(InvoiceLine line) =>
        this with { Lines = Lines.Any(l => l.Number == line.Number) ? [.. Lines.Select(l => l.Number == line.Number ? line : l)] : [.. Lines, line] };

    internal InvoiceState WithClock(InvoiceClock clock) =>
        this with { Clocks = Clocks.Any(c => c.Id == clock.Id) ? [.. Clocks.Select(c => c.Id == clock.Id ? clock : c)] : [.. Clocks, clock] };
}

[JsonConverter(typeof(KebabCaseEnumConverter<InvoiceStatus>))]
public enum InvoiceStatus
{
    /// <summary>Not started.</summary>
    New,

    /// <summary>At least one line awaits the plan's decision.</summary>
    Received,

    /// <summary>Nothing awaits the plan; at least one line is contested and awaits the provider's correction.</summary>
    Contested,

    /// <summary>Every line paid.</summary>
    Paid,

    /// <summary>Every line denied.</summary>
    Denied,

    /// <summary>Every line paid or denied, some of each.</summary>
    Settled,
}

public static class InvoiceStatuses
{
    public static InvoiceStatus Of(InvoiceState state) => state switch
    {
        { Header: null } => InvoiceStatus.New,
        _ when state.Lines.Count == 0 || state.Lines.Any(l => l.Status == LineStatus.Received) => InvoiceStatus.Received,
        _ when state.Lines.Any(l => l.Status == LineStatus.Contested) => InvoiceStatus.Contested,
        _ when state.Lines.All(l => l.Status == LineStatus.Paid) => InvoiceStatus.Paid,
        _ when state.Lines.All(l => l.Status == LineStatus.Denied) => InvoiceStatus.Denied,
        _ => InvoiceStatus.Settled,
    };

    public static string Kebab(InvoiceStatus status) => System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(status.ToString());
}

[JsonConverter(typeof(KebabCaseEnumConverter<LineStatus>))]
public enum LineStatus
{
    /// <summary>Awaiting the plan's decision (its clock runs).</summary>
    Received,
    Contested,
    Paid,
    Denied,
}

/// <summary>One line and where it stands.</summary>
/// <param name="ClockId">The payment clock this line's current submission runs on ("receipt", or "correction-N").</param>
/// <param name="Submissions">1 for the first submission, +1 per correction.</param>
/// <param name="Contested">The current contest: reasons and what is missing; empty unless contested.</param>
/// <param name="ResolvedOn">Pacific date of the payment, denial or contest of the current submission.</param>
public sealed record InvoiceLine(
    int Number,
    DateOnly ServiceFrom,
    DateOnly? ServiceTo,
    string Hcpcs,
    IReadOnlyList<string> Modifiers,
    decimal Units,
    decimal Charge,
    string? AuthorizationId,
    LineStatus Status,
    string ClockId,
    int Submissions,
    string Fingerprint,
    IReadOnlyList<ContestReason> Contested,
    DateOnly? ResolvedOn,
    decimal? PaidAmount,
    decimal Interest,
    string? DenialReason,
    string? DuplicateKey = null);

/// <summary>
/// A pay-or-contest clock: opened at receipt (or at a correction's receipt) for the lines submitted then. It is
/// satisfied when all its lines are paid, denied or contested; a breach is recorded at the due instant and stays.
/// </summary>
/// <param name="LastDay">The last working day of the window (interest begins the calendar day after).</param>
public sealed record InvoiceClock(
    string Id,
    DateTimeOffset StartedAt,
    DateOnly LastDay,
    DateTimeOffset DueAt,
    DateTimeOffset? ReminderAt,
    bool Reminded,
    DateTimeOffset? SatisfiedAt,
    DateTimeOffset? BreachedAt)
{
    [JsonIgnore]
    public string ReminderTimerId => Id + ":reminder";

    [JsonIgnore]
    public string DueTimerId => Id + ":due";

    [JsonIgnore]
    public bool Open => SatisfiedAt is null;
}

/// <summary>One payment: the lines of one remittance paid on one date on one clock, with the interest owed with it.</summary>
public sealed record InvoicePayment(
    string RemittanceId,
    DateOnly PaidOn,
    string ClockId,
    IReadOnlyList<PaidLine> Lines,
    decimal Amount,
    int InterestDays,
    decimal Interest);

public sealed record PaidLine(int Line, decimal Amount);
