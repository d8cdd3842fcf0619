using System.Globalization;
using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Calendar;
using CalAimHub.Domain.Invoices;
using CalAimHub.Domain.Workflows;
using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Workflows;
using CalAimHub.Hosting.Http;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;
using Azure;

namespace CalAimHub.Functions.Invoices;

/// <summary>
/// The invoice API: the plan's claims system reports outcomes (<c>POST /api/invoices/{id}/remittance</c>), a provider
/// sees where its money is (<c>GET /api/invoices/{id}</c>, <c>GET /api/providers/{npi}/invoices</c>), the plan sees its
/// timeliness (<c>GET /api/console/invoices/timeliness</c>). Bad input is problem+json naming the field and changes nothing.
/// </summary>
public static partial class InvoicesApi
{
    public const int DefaultTop = 50;
    public const int MaxTop = 200;
    private const int MaxText = 200;

    private static readonly JsonSerializerOptions Json = WorkflowJson.Options;

    public static void MapInvoicesApi(this WebApplication app)
    {
        var invoices = app.MapGroup("/api/invoices").WithTags("Invoices").RequireAuthorization(StaffRoles.Viewer);
        invoices.MapGet("/{id}", GetAsync).WithName("GetInvoice")
            .WithSummary("An invoice: every line with its outcome or contest reasons, the payment clocks, payments and interest")
            .Produces<InvoiceView>().ProducesProblem(StatusCodes.Status404NotFound);
        invoices.MapPost("/{id}/remittance", RemitAsync).WithName("RecordInvoiceRemittance")
            .WithSummary("The plan's claims system reports paid, denied or contested lines")
            .AcceptsBody<RemittanceBody>("application/json")
            .Produces<InvoiceView>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .RequireAuthorization(StaffRoles.Operator); // the plan's claims system, or staff keying a remittance

        app.MapGroup("/api/providers").WithTags("Invoices")
            .MapGet("/{npi}/invoices", ListAsync).WithName("ListProviderInvoices")
            .WithSummary("A billing provider's invoices by status, receipt range and overdue, in receipt order, paged")
            .Produces<InvoiceList>().ProducesValidationProblem().ReadsShardedReadModel();

        app.MapGroup("/api/console/invoices").WithTags("Invoices")
            .MapGet("/timeliness", TimelinessAsync).WithName("GetInvoiceTimeliness")
            .WithSummary("Payment timeliness of a receipt month: clean invoices paid within 30 and 90 days against 90%/99%, breaches, interest, contest reasons")
            .Produces<TimelinessFigures>().ProducesValidationProblem();
    }

    private static async Task<IResult> GetAsync(string id, WorkflowRuntime runtime, InvoicePolicy policy, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var (instance, state) = await LoadAsync(runtime, id, ct);
        return state is null ? NotFound(id) : Results.Json(View(instance!, state, policy, time.GetUtcNow()), Json);
    }

    private static async Task<IResult> RemitAsync(string id, HttpRequest http, WorkflowRuntime runtime, InvoicePolicy policy, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        if (!http.TryCheckedJson(out var body))
        {
            return Invalid([new("$", "is required: the remittance as a JSON object")]);
        }

        var (remittance, errors) = ReadRemittance(body, policy.Calendar.DateOf(time.GetUtcNow()));
        if (remittance is null)
        {
            return Invalid(errors);
        }

        var (_, state) = await LoadAsync(runtime, id, ct);
        if (state is null)
        {
            return NotFound(id);
        }

        if (InvoiceWorkflow.RemittanceProblem(state, remittance, policy.Calendar) is { } problem)
        {
            return problem.IsConflict
                ? Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible now", detail: $"'{problem.Field}' {problem.Detail}",
                    extensions: new Dictionary<string, object?> { ["invoiceId"] = id, ["invoiceStatus"] = InvoiceStatuses.Kebab(state.Status) })
                : Invalid([new(problem.Field, problem.Detail)]);
        }

        // The remittance id is the event id: a retried POST of the same remittance is applied once.
        var result = await runtime.RaiseEventAsync(id, InvoiceEvents.Remittance, WorkflowJson.ToElement(remittance), $"remittance:{remittance.RemittanceId}", ct);
        if (result.Outcome == ApplyOutcome.Gone)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible now", detail: $"invoice {id} is closed");
        }

        var (instance, after) = await LoadAsync(runtime, id, ct);
        return Results.Json(View(instance!, after!, policy, time.GetUtcNow()), Json);
    }

    private static async Task<IResult> ListAsync(
        string npi, string? status, string? receivedFrom, string? receivedTo, string? overdue, string? top, string? continuation,
        InvoiceReadModels readModels, ListContinuation tokens, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<FieldError>();
        if (!IsProviderId(npi))
        {
            errors.Add(new("npi", "must be the billing provider's NPI (10 digits) or atypical provider id (letters, digits and '-', at most 20)"));
        }

        InvoiceStatus? wanted = null;
        if (status is not null)
        {
            var listed = Enum.GetValues<InvoiceStatus>().Where(s => s != InvoiceStatus.New).ToList();
            wanted = listed.Cast<InvoiceStatus?>().FirstOrDefault(s => InvoiceStatuses.Kebab(s!.Value) == status);
            if (wanted is null)
            {
                errors.Add(new("status", $"'{status}' is not an invoice status; use one of {string.Join(", ", listed.Select(s => $"'{InvoiceStatuses.Kebab(s)}'"))}"));
            }
        }

        var from = Instant(receivedFrom, "receivedFrom", errors);
        var to = Instant(receivedTo, "receivedTo", errors);
        if (from is { } f && to is { } t && t <= f)
        {
            errors.Add(new("receivedTo", "must be after receivedFrom"));
        }

        bool? late = overdue switch
        {
            null => null,
            "true" => true,
            "false" => false,
            _ => Add(errors, new("overdue", $"'{overdue}' is not a boolean; use 'true' or 'false'")),
        };
        var size = DefaultTop;
        if (top is not null && !(int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size is >= 1 and <= MaxTop))
        {
            errors.Add(new("top", $"'{top}' is not a page size; use a whole number from 1 to {MaxTop} (default {DefaultTop})"));
        }

        // Signed and bound to the provider and filters (ListContinuation): a token the hub did not issue for this listing is 400.
        var listing = $"provider-invoices\n{npi}\n{status}\n{receivedFrom}\n{receivedTo}\n{overdue}";
        string? tableContinuation = null;
        if (continuation is not null && !tokens.TryRead(listing, continuation, out tableContinuation))
        {
            errors.Add(new("continuation", "is not a token this listing gave (with these filters); start again without it"));
        }

        if (errors.Count > 0)
        {
            return FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid invoice query");
        }

        var (items, next) = await readModels.PageAsync(npi, wanted, from, to, late, time.GetUtcNow(), size, tableContinuation, ct);
        return Results.Json(new InvoiceList(items, tokens.Issue(listing, next)), Json);
    }

    private static async Task<IResult> TimelinessAsync(string? month, string? provider, InvoiceReadModels readModels, InvoicePolicy policy, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<FieldError>();
        if (month is null || !DateOnly.TryParseExact(month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) || month.Length != 7)
        {
            errors.Add(new("month", month is null ? "is required: the receipt month, YYYY-MM" : $"'{month}' is not a month; write YYYY-MM, e.g. 2026-11"));
        }

        if (provider is not null && !IsProviderId(provider))
        {
            errors.Add(new("provider", "must be a billing provider's NPI (10 digits) or atypical provider id (letters, digits and '-', at most 20)"));
        }

        if (errors.Count > 0)
        {
            return FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid timeliness query");
        }

        var counts = await readModels.MonthAsync(month!, provider, ct);
        var byProvider = provider is null
            ? (await readModels.ProvidersAsync(month!, ct)).OrderBy(p => p.Provider, StringComparer.Ordinal).Select(p => Figures(month!, p.Provider, p.Counts, policy.Rules, null)).ToList()
            : null;
        return Results.Json(Figures(month!, provider, counts, policy.Rules, byProvider) with { AsOf = time.GetUtcNow() }, Json);
    }

    /// <summary>The figures from the read model's counters: exact counts; shares of clean invoices paid in full within each target's calendar days of receipt.</summary>
    public static TimelinessFigures Figures(string month, string? provider, IReadOnlyDictionary<string, long> counts, InvoicePaymentRules rules, IReadOnlyList<TimelinessFigures>? byProvider)
    {
        long Count(string name) => counts.GetValueOrDefault(name);
        var clean = Count(InvoiceReadModelsProjection.Clean);
        var targets = rules.CleanClaimTargets.Select(t =>
        {
            var within = Count(InvoiceReadModelsProjection.CleanPaidWithin(t.CalendarDays));
            decimal? share = clean == 0 ? null : Math.Round((decimal)within / clean, 4, MidpointRounding.AwayFromZero);
            return new TargetFigure(t.CalendarDays, t.Share, within, share, share is null ? null : share >= t.Share);
        }).ToList();
        var reasons = counts.Where(c => c.Key.StartsWith(InvoiceReadModelsProjection.ContestPrefix, StringComparison.Ordinal) && c.Value != 0)
            .OrderBy(c => c.Key, StringComparer.Ordinal)
            .ToDictionary(c => c.Key[InvoiceReadModelsProjection.ContestPrefix.Length..], c => c.Value, StringComparer.Ordinal);
        return new TimelinessFigures(month, provider, Count(InvoiceReadModelsProjection.Invoices), clean, targets, Count(InvoiceReadModelsProjection.Breaches),
            Count(InvoiceReadModelsProjection.InterestCents) / 100m, reasons, byProvider, null);
    }

    public static InvoiceView View(WorkflowInstance instance, InvoiceState state, InvoicePolicy policy, DateTimeOffset now)
    {
        var header = state.Header!;
        var today = policy.Calendar.DateOf(now);
        // Interest accruing on lines still unpaid after their window: what the plan would owe if it paid today.
        var accruing = state.Lines.Where(l => l.Status == LineStatus.Received).GroupBy(l => l.ClockId)
            .Sum(g => policy.Rules.Interest(g.Sum(l => l.Charge), InvoicePaymentRules.InterestDays(state.Clock(g.Key)!.LastDay, today)));
        return new InvoiceView(
            header.InvoiceId, header.InvoiceNumber, header.ProviderId, header.PartnerId, state.Status, instance.Status, header.ReceivedAt,
            policy.Calendar.DateOf(header.ReceivedAt), state.Billed, state.Paid, state.InterestOwed, accruing, state.Escalated, state.Lines,
            [.. state.Clocks.Select(c => new InvoiceClockView(c.Id, c.StartedAt, c.LastDay, c.DueAt, c.Open ? "open" : "satisfied",
                (long)(c.DueAt - (c.SatisfiedAt ?? now)).TotalSeconds, c.BreachedAt is not null, c.BreachedAt, c.SatisfiedAt, c.ReminderAt))],
            state.Payments, new InterestRule(policy.Rules.InterestAnnualRate, policy.Rules.InterestAnnualMinimum, policy.Rules.InterestSource), now);
    }

    /// <summary>A remittance body: the field-named errors, or the remittance.</summary>
    public static (Remittance? Remittance, List<FieldError> Errors) ReadRemittance(JsonElement body, DateOnly today)
    {
        var errors = new List<FieldError>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, [new("$", "the body must be a JSON object")]);
        }

        var remittanceId = Text(body, "remittanceId", "remittanceId", errors);
        if (remittanceId is null && !errors.Any(e => e.Field == "remittanceId"))
        {
            errors.Add(new("remittanceId", "is required: the claims system's id of this remittance"));
        }

        var outcomes = new List<LineOutcome>();
        if (!body.TryGetProperty("lines", out var lines) || lines.ValueKind != JsonValueKind.Array || lines.GetArrayLength() == 0)
        {
            errors.Add(new("lines", "is required: an array of at least one line outcome"));
        }
        else
        {
            var i = 0;
            foreach (var item in lines.EnumerateArray())
            {
                var at = $"lines[{i++}]";
                if (item.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new(at, "must be an object with line, outcome and on"));
                    continue;
                }

                int? line = item.TryGetProperty("line", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetInt32(out var n) && n is >= 1 and <= 9999 ? n : null;
                if (line is null)
                {
                    errors.Add(new($"{at}.line", "is required: the invoice line number, 1 to 9999"));
                }

                var outcomeText = Text(item, "outcome", $"{at}.outcome", errors);
                LineOutcomeKind? kind = outcomeText switch
                {
                    "paid" => LineOutcomeKind.Paid,
                    "denied" => LineOutcomeKind.Denied,
                    "contested" => LineOutcomeKind.Contested,
                    _ => null,
                };
                if (kind is null && !errors.Any(e => e.Field == $"{at}.outcome"))
                {
                    errors.Add(new($"{at}.outcome", "must be 'paid', 'denied' or 'contested'"));
                }

                var onText = Text(item, "on", $"{at}.on", errors);
                DateOnly? on = DateOnly.TryParseExact(onText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
                if (on is null && !errors.Any(e => e.Field == $"{at}.on"))
                {
                    errors.Add(new($"{at}.on", "is required: the date of the payment, denial or contest, YYYY-MM-DD"));
                }
                else if (on > today)
                {
                    errors.Add(new($"{at}.on", $"{on:yyyy-MM-dd} is in the future (today is {today:yyyy-MM-dd} Pacific)"));
                }

                decimal? amount = null;
                if (item.TryGetProperty("amount", out var a) && a.ValueKind != JsonValueKind.Null)
                {
                    if (a.ValueKind == JsonValueKind.Number && a.TryGetDecimal(out var value))
                    {
                        amount = value;
                    }
                    else
                    {
                        errors.Add(new($"{at}.amount", "must be a number (dollars and cents)"));
                    }
                }

                var reason = Text(item, "reason", $"{at}.reason", errors);
                var missing = Text(item, "missing", $"{at}.missing", errors);
                if (line is { } ln && kind is { } k && on is { } date)
                {
                    outcomes.Add(new LineOutcome(ln, k, date, amount, reason, missing));
                }
            }
        }

        return errors.Count > 0 ? (null, errors) : (new Remittance(remittanceId!, outcomes), errors);
    }

    private static string? Text(JsonElement body, string name, string field, List<FieldError> errors)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(field, "must be a string"));
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length > MaxText)
        {
            errors.Add(new(field, $"must be at most {MaxText} characters"));
            return null;
        }

        return text.Length == 0 ? null : text;
    }

    private static DateTimeOffset? Instant(string? text, string field, List<FieldError> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
            && (text.EndsWith('Z') || text.Length > 19 && text[^6] is '+' or '-'))
        {
            return parsed;
        }

        errors.Add(new(field, $"'{text}' is not an ISO 8601 date and time with an offset, e.g. 2026-11-01T00:00:00-07:00"));
        return null;
    }

    private static bool? Add(List<FieldError> errors, FieldError error)
    {
        errors.Add(error);
        return null;
    }

    private static bool IsProviderId(string id) => id.Length is >= 1 and <= 20 && id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static async Task<(WorkflowInstance? Instance, InvoiceState? State)> LoadAsync(WorkflowRuntime runtime, string id, CancellationToken ct)
    {
        if (!WorkflowsApi.IsValidInstanceId(id) || await runtime.GetAsync(id, ct) is not { Type: InvoiceWorkflow.TypeName } instance)
        {
            return (null, null);
        }

        return (instance, (InvoiceState)runtime.Registry.Find(InvoiceWorkflow.TypeName)!.ReadState(instance.State, instance.Version));
    }

    private static IResult Invalid(IReadOnlyList<FieldError> errors) => FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid remittance");

    private static IResult NotFound(string id) => Results.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "No such invoice",
        detail: WorkflowsApi.IsValidInstanceId(id) ? $"no invoice '{id}'" : "no invoice with that id");
}

/// <summary>A remittance as the claims system posts it.</summary>
/// <param name="RemittanceId">The claims system's id of this remittance; a retried POST with the same id is applied once.</param>
public sealed record RemittanceBody(string RemittanceId, IReadOnlyList<RemittanceLineBody> Lines);

/// <param name="Outcome">paid, denied or contested.</param>
/// <param name="On">Date of the payment, denial or contest (YYYY-MM-DD, Pacific): not before receipt, not in the future.</param>
/// <param name="Amount">Paid amount: required to pay, at most the billed charge.</param>
/// <param name="Reason">Reason code: required to deny or contest.</param>
/// <param name="Missing">For a contest: the information the provider must supply.</param>
public sealed record RemittanceLineBody(int Line, string Outcome, string On, decimal? Amount, string? Reason, string? Missing);

public sealed record InvoiceClockView(
    string Id, DateTimeOffset StartedAt, DateOnly LastWorkingDay, DateTimeOffset DueAt, string State, long RemainingSeconds, bool Breached,
    DateTimeOffset? BreachedAt, DateTimeOffset? SatisfiedAt, DateTimeOffset? ReminderAt);

public sealed record InterestRule(decimal AnnualRate, decimal AnnualMinimum, string Source);

/// <param name="InterestAccruing">Interest the unpaid lines past their window would owe if paid today.</param>
public sealed record InvoiceView(
    string InvoiceId,
    string InvoiceNumber,
    string ProviderId,
    string PartnerId,
    InvoiceStatus Status,
    WorkflowRuntimeStatus RuntimeStatus,
    DateTimeOffset ReceivedAt,
    DateOnly ReceivedOn,
    decimal Billed,
    decimal Paid,
    decimal InterestOwed,
    decimal InterestAccruing,
    bool Escalated,
    IReadOnlyList<InvoiceLine> Lines,
    IReadOnlyList<InvoiceClockView> Clocks,
    IReadOnlyList<InvoicePayment> Payments,
    InterestRule Interest,
    DateTimeOffset AsOf);

/// <param name="Continuation">Pass back (with the same filters) for the next page; null on the last page.</param>
public sealed record InvoiceList(
    IReadOnlyList<InvoiceListItem> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation);

/// <param name="PaidWithin">Clean invoices paid in full within <paramref name="CalendarDays"/> of receipt.</param>
/// <param name="Share">PaidWithin over clean invoices (4 decimals); null when there are none.</param>
public sealed record TargetFigure(int CalendarDays, decimal Target, long PaidWithin, decimal? Share, bool? Met);

/// <param name="Month">Receipt month (Pacific), YYYY-MM.</param>
/// <param name="WorkingDayBreaches">Pay-or-contest clocks that passed their last working day.</param>
/// <param name="ContestReasons">Contest reason code → lines contested with it.</param>
public sealed record TimelinessFigures(
    string Month,
    string? Provider,
    long Invoices,
    long CleanInvoices,
    IReadOnlyList<TargetFigure> Targets,
    long WorkingDayBreaches,
    decimal InterestOwed,
    IReadOnlyDictionary<string, long> ContestReasons,
    IReadOnlyList<TimelinessFigures>? ByProvider,
    DateTimeOffset? AsOf);
