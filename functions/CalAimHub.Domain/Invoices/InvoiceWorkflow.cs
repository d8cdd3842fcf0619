using CalAimHub.Domain.Workflows;

namespace CalAimHub.Domain.Invoices;

/// <summary>
/// The <c>invoice</c> workflow, one per billing provider and invoice number, its lines inside: received (the file's
/// arrival, Pacific date) → each line checked (authorization, duplicate of a paid line, provider in the directory) and
/// contested with the reasons when a check fails → the plan's outcomes (paid with amount and date, denied with a
/// reason, contested with what is missing) → a corrected line is a new submission on its own clock → closed when
/// every line is paid or denied. Pay-or-contest clocks on the California working-day calendar with a reminder and an
/// escalation at breach; a late payment owes interest per H&amp;SC §1371.35, computed here and shown on the invoice.
/// </summary>
/// <remarks>Decide is derived from Evolve (as in the authorization workflow): one source of truth for every transition.</remarks>
public sealed class InvoiceWorkflow(InvoicePolicy policy) : IWorkflowDecider<InvoiceState>
{
    public const string TypeName = "invoice";
    public const string FirstClock = "receipt";

    public const string Received = "calaim.invoice.received";
    public const string Contested = "calaim.invoice.contested";
    public const string Paid = "calaim.invoice.paid";
    public const string Denied = "calaim.invoice.denied";
    public const string DeadlineApproaching = "calaim.invoice.deadline-approaching";
    public const string DeadlineBreached = "calaim.invoice.deadline-breached";

    public string Type => TypeName;

    public int Version => 1;

    public IReadOnlySet<string> EventNames { get; } = new HashSet<string>(StringComparer.Ordinal) { InvoiceEvents.LinesReceived, InvoiceEvents.Remittance };

    public IReadOnlyDictionary<string, Type> EventData { get; } = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [InvoiceEvents.LinesReceived] = typeof(LinesReceived),
        [InvoiceEvents.Remittance] = typeof(Remittance),
    };

    /// <summary>Started by ingestion of an invoice file (the checks need I/O); outcomes come through the remittance API or file.</summary>
    public WorkflowStart StartedBy { get; } = WorkflowStart.ByDomainApi("an invoice file dropped at inbound/{partner}/invoice/");

    public InvoiceState InitialState => InvoiceState.Initial;

    public InvoicePolicy Policy => policy;

    public IReadOnlyList<WorkflowAction> Decide(InvoiceState state, WorkflowEvent @event, DateTimeOffset now)
    {
        var next = Evolve(state, @event);
        if (ReferenceEquals(next, state))
        {
            return [];
        }

        var header = next.Header!;
        var actions = new List<WorkflowAction>();
        if (state.Header is null)
        {
            actions.AddRange(ToProvider("received", Received, next, new NoticeData(header.InvoiceId, header.InvoiceNumber, next.Status)
            {
                ReceivedOn = policy.Calendar.DateOf(header.ReceivedAt),
                DueAt = next.Clock(FirstClock)!.DueAt,
            }));
        }

        foreach (var clock in next.Clocks)
        {
            var before = state.Clock(clock.Id);
            if (before is null && clock.Open)
            {
                if (clock.ReminderAt is { } reminderAt)
                {
                    actions.Add(new ScheduleTimer(clock.ReminderTimerId, reminderAt));
                }

                actions.Add(new ScheduleTimer(clock.DueTimerId, clock.DueAt));
            }

            if (before is { Open: true } && !clock.Open)
            {
                actions.Add(new CancelTimer(clock.ReminderTimerId));
                actions.Add(new CancelTimer(clock.DueTimerId));
            }

            if (clock.Reminded && before is { Reminded: false })
            {
                actions.AddRange(ToPlan($"deadline-approaching:{clock.Id}", DeadlineApproaching, next, clock));
            }

            if (clock.BreachedAt is not null && before?.BreachedAt is null)
            {
                actions.AddRange(ToPlan($"deadline-breached:{clock.Id}", DeadlineBreached, next, clock));
            }
        }

        var contested = next.Lines.Where(l => l.Status == LineStatus.Contested && (state.Line(l.Number) is not { Status: LineStatus.Contested } || ChangedSubmission(state, l))).ToList();
        foreach (var line in contested)
        {
            // One notice per contested line: lines of one invoice arrive in several batches, and each contest must be
            // told once whichever batch carried it (the key holds the event, so a later contest of the line is new).
            actions.AddRange(ToProvider($"contested:{line.Number}:{@event.EventId}", Contested, next, new NoticeData(header.InvoiceId, header.InvoiceNumber, next.Status)
            {
                Lines = [new NoticeLine(line.Number, line.Status) { Reasons = line.Contested }],
                CorrectBy = line.ResolvedOn!.Value.AddDays(policy.Rules.CorrectionCalendarDays),
            }));
        }

        var payments = next.Payments.Skip(state.Payments.Count).ToList();
        if (payments.Count > 0)
        {
            actions.AddRange(ToProvider($"paid:{@event.EventId}", Paid, next, new NoticeData(header.InvoiceId, header.InvoiceNumber, next.Status)
            {
                Lines = [.. payments.SelectMany(p => p.Lines.Select(l => new NoticeLine(l.Line, LineStatus.Paid) { Amount = l.Amount, PaidOn = p.PaidOn }))],
                Amount = payments.Sum(p => p.Amount),
                Interest = payments.Sum(p => p.Interest),
            }));
        }

        var denied = next.Lines.Where(l => l.Status == LineStatus.Denied && state.Line(l.Number)?.Status != LineStatus.Denied).ToList();
        if (denied.Count > 0)
        {
            actions.AddRange(ToProvider($"denied:{@event.EventId}", Denied, next, new NoticeData(header.InvoiceId, header.InvoiceNumber, next.Status)
            {
                Lines = [.. denied.Select(l => new NoticeLine(l.Number, l.Status) { Reason = l.DenialReason })],
            }));
        }

        actions.Add(new SetCustomStatus(WorkflowJson.ToElement(CustomStatus(next))));
        actions.Add(new SetNextDeadline(NextDeadline(next)));
        if (next.Closed && !state.Closed)
        {
            actions.Add(new CompleteWorkflow(WorkflowJson.ToElement(new { invoiceId = header.InvoiceId, status = next.Status })));
        }

        return actions;
    }

    private static bool ChangedSubmission(InvoiceState state, InvoiceLine line) =>
        state.Line(line.Number) is { } before && before.Submissions != line.Submissions;

    public InvoiceState Evolve(InvoiceState state, WorkflowEvent @event)
    {
        if (state.Closed || (state.Header is null) != (@event.Name == WorkflowEvent.Started))
        {
            return state;
        }

        try
        {
            return @event.Name switch
            {
                WorkflowEvent.Started when @event.DataAs<InvoiceStart>() is { } start => start.Lines is { Count: > 0 } lines
                    ? SettleClocks(Receive(Start(start), new LinesReceived(start.ReceivedAt, lines), @event.RecordedAt), @event.RecordedAt)
                    : Start(start),
                WorkflowEvent.TimerFired when @event.DataAs<TimerFiredData>() is { } timer => TimerFired(state, timer),
                InvoiceEvents.LinesReceived when @event.DataAs<LinesReceived>() is { } lines => SettleClocks(Receive(state, lines, @event.RecordedAt), @event.RecordedAt),
                InvoiceEvents.Remittance when @event.DataAs<Remittance>() is { } remittance && RemittanceProblem(state, remittance) is null
                    => SettleClocks(Remit(state, remittance), @event.RecordedAt),
                _ => state,
            };
        }
        catch (System.Text.Json.JsonException)
        {
            // A malformed external event must not break the instance; the API and the file checks validate first.
            return state;
        }
    }

    private InvoiceState Start(InvoiceStart start) =>
        InvoiceState.Initial.WithClock(NewClock(FirstClock, start.ReceivedAt)) with { Header = start with { Lines = null } };

    private InvoiceState Receive(InvoiceState state, LinesReceived received, DateTimeOffset at)
    {
        var next = state;
        foreach (var line in received.Lines)
        {
            var before = next.Line(line.Number);
            if (before is not null && !(before.Status == LineStatus.Contested && before.Fingerprint != line.Fingerprint))
            {
                // A repeat (a re-dropped file) changes nothing; only a contested line can be corrected.
                continue;
            }

            var clock = next.Clocks.FirstOrDefault(c => c.StartedAt == received.ReceivedAt)
                ?? NewClock($"{FirstClock}-{next.Clocks.Count + 1}", received.ReceivedAt);
            next = next.WithClock(clock);
            var contested = line.Problems.Count > 0;
            next = next.WithLine(new InvoiceLine(
                line.Number, line.ServiceFrom, line.ServiceTo, line.Hcpcs, line.Modifiers, line.Units, line.Charge, line.AuthorizationId,
                contested ? LineStatus.Contested : LineStatus.Received, clock.Id, (before?.Submissions ?? 0) + 1, line.Fingerprint,
                line.Problems, contested ? policy.Calendar.DateOf(at) : null, null, 0m, null, line.DuplicateKey)) with { ContestCodes = [.. next.ContestCodes, .. line.Problems.Select(p => p.Code)] };
        }

        return next;
    }

    private InvoiceState Remit(InvoiceState state, Remittance remittance)
    {
        var next = state;
        foreach (var outcome in remittance.Lines)
        {
            var line = next.Line(outcome.Line)!;
            next = outcome.Outcome switch
            {
                LineOutcomeKind.Paid => next.WithLine(line with { Status = LineStatus.Paid, ResolvedOn = outcome.On, PaidAmount = outcome.Amount, Contested = [] }),
                LineOutcomeKind.Denied => next.WithLine(line with { Status = LineStatus.Denied, ResolvedOn = outcome.On, DenialReason = outcome.Reason, Contested = [] }),
                _ => next.WithLine(line with
                {
                    Status = LineStatus.Contested,
                    ResolvedOn = outcome.On,
                    Contested = [new ContestReason(outcome.Reason!, outcome.Missing ?? outcome.Reason!)],
                }) with { ContestCodes = [.. next.ContestCodes, outcome.Reason!] },
            };
        }

        // Interest is owed per payment: the lines paid together on one date from one window.
        foreach (var group in remittance.Lines.Where(o => o.Outcome == LineOutcomeKind.Paid)
                     .GroupBy(o => (o.On, state.Line(o.Line)!.ClockId)).OrderBy(g => g.Key.On).ThenBy(g => g.Key.ClockId, StringComparer.Ordinal))
        {
            var clock = next.Clock(group.Key.ClockId)!;
            var amount = group.Sum(o => o.Amount!.Value);
            var days = InvoicePaymentRules.InterestDays(clock.LastDay, group.Key.On);
            var interest = policy.Rules.Interest(amount, days);
            var lines = group.Select(o => new PaidLine(o.Line, o.Amount!.Value)).ToList();
            next = next with { Payments = [.. next.Payments, new InvoicePayment(remittance.RemittanceId, group.Key.On, clock.Id, lines, amount, days, interest)] };
            if (interest > 0)
            {
                // Shown on each line in proportion to its amount; the payment holds the exact total.
                foreach (var paid in lines)
                {
                    var line = next.Line(paid.Line)!;
                    next = next.WithLine(line with { Interest = Math.Round(interest * paid.Amount / amount, 2, MidpointRounding.AwayFromZero) });
                }
            }
        }

        return next;
    }

    /// <summary>A clock whose lines all have an outcome is satisfied; one settled after its last working day was breached.</summary>
    private static InvoiceState SettleClocks(InvoiceState state, DateTimeOffset at)
    {
        var next = state;
        foreach (var clock in state.Clocks.Where(c => c.Open))
        {
            var lines = state.Lines.Where(l => l.ClockId == clock.Id).ToList();
            if (lines.Count == 0 || lines.Any(l => l.Status == LineStatus.Received))
            {
                continue;
            }

            // The outcome's own date decides lateness: a payment made in time but reported later was not late.
            var late = lines.Any(l => l.ResolvedOn > clock.LastDay);
            next = next.WithClock(clock with { SatisfiedAt = at, BreachedAt = clock.BreachedAt ?? (late ? clock.DueAt : null) });
        }

        return next;
    }

    private static InvoiceState TimerFired(InvoiceState state, TimerFiredData timer)
    {
        var clock = state.Clocks.FirstOrDefault(c => c.Open && (c.ReminderTimerId == timer.TimerId || c.DueTimerId == timer.TimerId));
        if (clock is null)
        {
            return state;
        }

        if (timer.TimerId == clock.ReminderTimerId)
        {
            return clock.Reminded || clock.ReminderAt != timer.DueAt ? state : state.WithClock(clock with { Reminded = true });
        }

        // Breach: recorded at the due instant; the clock stays open and interest keeps accruing until the payment.
        return clock.DueAt != timer.DueAt || clock.BreachedAt is not null ? state : state.WithClock(clock with { BreachedAt = clock.DueAt }) with { Escalated = true };
    }

    /// <summary>Why a remittance cannot be applied, or null. The API asks first so the plan gets a precise answer.</summary>
    public static InvoiceCommandProblem? RemittanceProblem(InvoiceState state, Remittance remittance, CalAimHub.Domain.Calendar.CaliforniaWorkingDays? calendar = null)
    {
        if (state.Header is not { } header)
        {
            return new("invoiceId", "names no invoice", IsConflict: true);
        }

        if (string.IsNullOrWhiteSpace(remittance.RemittanceId))
        {
            return new("remittanceId", "is required: the claims system's id of this remittance");
        }

        if (remittance.Lines is not { Count: > 0 })
        {
            return new("lines", "must hold at least one line outcome");
        }

        var receivedOn = (calendar ?? CalAimHub.Domain.Calendar.CaliforniaWorkingDays.Current).DateOf(header.ReceivedAt);
        var seen = new HashSet<int>();
        for (var i = 0; i < remittance.Lines.Count; i++)
        {
            var outcome = remittance.Lines[i];
            var at = $"lines[{i}]";
            if (state.Line(outcome.Line) is not { } line)
            {
                return new($"{at}.line", $"invoice {header.InvoiceNumber} has no line {outcome.Line}");
            }

            if (!seen.Add(outcome.Line))
            {
                return new($"{at}.line", $"line {outcome.Line} appears twice in this remittance");
            }

            if (line.Status == LineStatus.Paid)
            {
                return new($"{at}.line", $"line {outcome.Line} was already paid ({line.PaidAmount:0.00} on {line.ResolvedOn:yyyy-MM-dd}); a second payment is refused", IsConflict: true);
            }

            if (line.Status == LineStatus.Denied)
            {
                return new($"{at}.line", $"line {outcome.Line} was denied on {line.ResolvedOn:yyyy-MM-dd}; it takes no further outcome", IsConflict: true);
            }

            if (outcome.On < receivedOn)
            {
                return new($"{at}.on", $"{outcome.On:yyyy-MM-dd} is before the invoice was received ({receivedOn:yyyy-MM-dd})");
            }

            switch (outcome.Outcome)
            {
                case LineOutcomeKind.Paid when outcome.Amount is not > 0m:
                    return new($"{at}.amount", "is required to pay: the amount paid, more than 0");
                case LineOutcomeKind.Paid when outcome.Amount > line.Charge:
                    return new($"{at}.amount", $"{outcome.Amount:0.00} is larger than the {line.Charge:0.00} billed on line {outcome.Line}");
                case LineOutcomeKind.Paid when decimal.Round(outcome.Amount!.Value, 2) != outcome.Amount:
                    return new($"{at}.amount", "must be in whole cents");
                case LineOutcomeKind.Denied or LineOutcomeKind.Contested when string.IsNullOrWhiteSpace(outcome.Reason):
                    return new($"{at}.reason", outcome.Outcome == LineOutcomeKind.Denied
                        ? "is required to deny: the reason code"
                        : "is required to contest: the reason code (and in missing, the information the provider must supply)");
            }
        }

        return null;
    }

    private InvoiceClock NewClock(string id, DateTimeOffset receivedAt) => new(
        id, receivedAt,
        policy.Rules.LastDay(receivedAt, policy.PlanType, policy.Calendar),
        policy.Rules.DueAt(receivedAt, policy.PlanType, policy.Calendar),
        policy.Rules.ReminderAt(receivedAt, policy.PlanType, policy.Calendar),
        false, null, null);

    private static IEnumerable<WorkflowAction> ToProvider(string key, string type, InvoiceState state, NoticeData data) =>
        state.Header!.Subscriber is { Length: > 0 } subscriber
            ? [new SendNotification(key, type, subscriber, null, state.Header.InvoiceId, WorkflowJson.ToElement(data))]
            : [];

    private IEnumerable<WorkflowAction> ToPlan(string key, string type, InvoiceState state, InvoiceClock clock)
    {
        var header = state.Header!;
        var data = WorkflowJson.ToElement(new NoticeData(header.InvoiceId, header.InvoiceNumber, state.Status)
        {
            Clock = clock.Id,
            DueAt = clock.DueAt,
            Escalated = state.Escalated ? true : null,
        });
        return policy.PlanSubscribers.Select(s => new SendNotification(policy.PlanSubscribers.Count == 1 ? key : $"{key}:{s}", type, s, null, header.InvoiceId, data));
    }

    public static InvoiceCustomStatus CustomStatus(InvoiceState state) =>
        new(state.Status, state.Escalated, NextDeadline(state), state.Billed, state.Paid, state.InterestOwed);

    public static DateTimeOffset? NextDeadline(InvoiceState state) =>
        state.Clocks.Where(c => c.Open).Select(c => (DateTimeOffset?)c.DueAt).Min();
}

/// <summary>The CloudEvent data of every invoice notice: ids, statuses, amounts, reasons and dates; no member data.</summary>
public sealed record NoticeData(string InvoiceId, string InvoiceNumber, InvoiceStatus Status)
{
    public DateOnly? ReceivedOn { get; init; }
    public string? Clock { get; init; }
    public DateTimeOffset? DueAt { get; init; }
    public bool? Escalated { get; init; }
    public IReadOnlyList<NoticeLine>? Lines { get; init; }
    public DateOnly? CorrectBy { get; init; }
    public decimal? Amount { get; init; }
    public decimal? Interest { get; init; }
}

public sealed record NoticeLine(int Line, LineStatus Status)
{
    public IReadOnlyList<ContestReason>? Reasons { get; init; }
    public string? Reason { get; init; }
    public decimal? Amount { get; init; }
    public DateOnly? PaidOn { get; init; }
}

/// <summary>The workflow custom status shown by the management API: no member data.</summary>
public sealed record InvoiceCustomStatus(InvoiceStatus Status, bool Escalated, DateTimeOffset? NextDeadline, decimal Billed, decimal Paid, decimal InterestOwed);
