using System.Globalization;
using Azure;
using CalAimHub.Domain.Calendar;
using CalAimHub.Functions.Workflows;
using CalAimHub.Ingestion.Formats;
using CalAimHub.Ingestion.Inbound;
using CalAimHub.Ingestion.Storage;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using CalAimHub.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CalAimHub.Functions.ConsoleData;

public sealed record FileRunPage(
    IReadOnlyList<FileRunSummary> Items,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Continuation) : IContinuedPage<FileRunPage>
{
    public FileRunPage WithContinuation(string? continuation) => this with { Continuation = continuation };
}

/// <summary>
/// The staff console's data routes under <c>/api/console</c> (one route group, so a role check covers them all). Every
/// answer comes from the read models (<see cref="ConsoleQueries"/>); bad parameters are 400 problems naming the parameter.
/// </summary>
public static class ConsoleApi
{
    public const int DefaultTop = 50;
    public const int MaxTop = 200;
    public const int MaxPeriodDays = 92;
    public const int DefaultPeriodDays = 30;
    private const string Title = "Invalid console query";
    private static readonly (string, string) BadContinuation = ("continuation", "is not a token this list gave; start again without it");

    public static RouteGroupBuilder MapConsoleApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/console").WithTags("Staff console").RequireAuthorization(StaffRoles.Viewer);
        api.MapGet("/today", TodayAsync).WithName("GetConsoleToday")
            .WithSummary("Deadlines due in the next 24 hours and 5 working days and breached, by workflow type, with the first 50 of each list by due time")
            .Produces<TodayView>().ProducesProblem(StatusCodes.Status500InternalServerError).ReadsShardedReadModel();
        api.MapGet("/deadlines", DeadlinesAsync).WithName("ListConsoleDeadlines")
            .WithSummary("Open deadlines of a window (next24h: until the same minute tomorrow; next5WorkingDays; or breached), optionally of one workflow type, by due time, paged")
            .Produces<DeadlinePage>().ProducesValidationProblem().ReadsShardedReadModel();
        api.MapGet("/breaches/weekly", WeeklyAsync).WithName("GetConsoleWeeklyBreaches")
            .WithSummary("Deadline breaches per week (Monday, California date) and workflow type, the last N weeks (default 12)")
            .Produces<BreachWeeks>().ProducesValidationProblem();
        api.MapGet("/referrals/funnel", FunnelAsync).WithName("GetReferralFunnel")
            .WithSummary("Closed-loop referral funnel of the referrals opened from..to (California dates, default the last 30 days): stages reached")
            .Produces<ReferralFunnel>().ProducesValidationProblem();
        api.MapGet("/referrals/providers", ProvidersAsync).WithName("ListReferralProviderFigures")
            .WithSummary("Per receiving provider, offers made from..to: acceptances, acceptance rate, median hours to accept, no-response rate; by NPI, paged")
            .Produces<ProviderPage>().ProducesValidationProblem();
        api.MapGet("/referrals/referring-entities", EntitiesAsync).WithName("ListReferringEntityFigures")
            .WithSummary("Per referring entity, referrals opened from..to and their closure reasons; by name, paged")
            .Produces<ReferringEntityPage>().ProducesValidationProblem();
        api.MapGet("/referrals/open", OpenAsync).WithName("ListOpenReferrals")
            .WithSummary("Open referrals opened more than olderThanDays days ago, oldest first, paged")
            .Produces<OpenReferralPage>().ProducesValidationProblem();
        api.MapGet("/files", FilesAsync).WithName("ListConsoleFileRuns")
            .WithSummary("Partner file runs, newest first, optionally of one partner and kind: rows accepted and rejected, top rules broken, the report route")
            .Produces<FileRunPage>().ProducesValidationProblem();
        api.MapPost("/read-models/rebuild", RebuildAsync).WithName("RebuildConsoleReadModels")
            .WithSummary("Recompute every read model from the workflows (operator repair; the local host runs it as ./hub projections rebuild)")
            .Produces<RebuildReport>().ProducesProblem(StatusCodes.Status500InternalServerError)
            .RequireAuthorization(StaffRoles.Operator);
        return api;
    }

    private static async Task<Ok<TodayView>> TodayAsync(ConsoleQueries queries, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct) =>
        TypedResults.Ok(await queries.TodayAsync(time.GetUtcNow(), ct));

    private static async Task<Results<Ok<DeadlinePage>, ValidationProblem>> DeadlinesAsync(
        string? type, string? window, string? top, string? continuation, ConsoleQueries queries, ListContinuation tokens, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        if (type is not null && !ConsoleQueries.WorkflowTypes.Contains(type))
        {
            errors.Add(("type", $"'{type}' is not a workflow type with deadlines; use {string.Join(" or ", ConsoleQueries.WorkflowTypes.Select(t => $"'{t}'"))}"));
        }

        DeadlineWindow? wanted = window switch
        {
            null or "next24h" => DeadlineWindow.Next24h,
            "next5WorkingDays" => DeadlineWindow.Next5WorkingDays,
            "breached" => DeadlineWindow.Breached,
            _ => null,
        };
        if (wanted is null)
        {
            errors.Add(("window", $"'{window}' is not a window; use 'next24h' (default), 'next5WorkingDays' or 'breached'"));
        }

        var size = Top(top, errors);
        return await PageAsync(errors, tokens, $"console/deadlines:{type}:{wanted}", continuation, position => queries.DeadlinesAsync(type, wanted!.Value, time.GetUtcNow(), size, position, ct));
    }

    private static async Task<Results<Ok<BreachWeeks>, ValidationProblem>> WeeklyAsync(
        string? weeks, ConsoleQueries queries, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var count = 12;
        if (weeks is not null && !(int.TryParse(weeks, NumberStyles.None, CultureInfo.InvariantCulture, out count) && count is >= 1 and <= 104))
        {
            return Invalid([("weeks", $"'{weeks}' is not a number of weeks; use a whole number from 1 to 104 (default 12)")]);
        }

        return TypedResults.Ok(await queries.WeeklyBreachesAsync(time.GetUtcNow(), count, ct));
    }

    private static async Task<Results<Ok<ReferralFunnel>, ValidationProblem>> FunnelAsync(
        string? from, string? to, ConsoleQueries queries, CaliforniaWorkingDays calendar, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        var period = Period(from, to, calendar.DateOf(time.GetUtcNow()), errors);
        return errors.Count > 0 ? Invalid(errors) : TypedResults.Ok(await queries.FunnelAsync(period.From, period.To, ct));
    }

    private static async Task<Results<Ok<ProviderPage>, ValidationProblem>> ProvidersAsync(
        string? from, string? to, string? top, string? continuation, ConsoleQueries queries, ListContinuation tokens, CaliforniaWorkingDays calendar, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        var period = Period(from, to, calendar.DateOf(time.GetUtcNow()), errors);
        var size = Top(top, errors);
        return await PageAsync(errors, tokens, $"console/providers:{period.From}:{period.To}", continuation, position => queries.ProvidersAsync(period.From, period.To, size, position, ct));
    }

    private static async Task<Results<Ok<ReferringEntityPage>, ValidationProblem>> EntitiesAsync(
        string? from, string? to, string? top, string? continuation, ConsoleQueries queries, ListContinuation tokens, CaliforniaWorkingDays calendar, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        var period = Period(from, to, calendar.DateOf(time.GetUtcNow()), errors);
        var size = Top(top, errors);
        return await PageAsync(errors, tokens, $"console/referring-entities:{period.From}:{period.To}", continuation, position => queries.ReferringEntitiesAsync(period.From, period.To, size, position, ct));
    }

    private static async Task<Results<Ok<OpenReferralPage>, ValidationProblem>> OpenAsync(
        string? olderThanDays, string? top, string? continuation, ConsoleQueries queries, ListContinuation tokens, [FromKeyedServices(WorkflowClock.Key)] TimeProvider time, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        var days = 0;
        if (olderThanDays is not null && !(int.TryParse(olderThanDays, NumberStyles.None, CultureInfo.InvariantCulture, out days) && days <= 3650))
        {
            errors.Add(("olderThanDays", $"'{olderThanDays}' is not a number of days; use a whole number from 0 to 3650 (default 0)"));
        }

        var size = Top(top, errors);
        return await PageAsync(errors, tokens, $"console/open-referrals:{days}", continuation, position => queries.OpenReferralsAsync(time.GetUtcNow(), days, size, position, ct));
    }

    private static async Task<Results<Ok<FileRunPage>, ValidationProblem>> FilesAsync(
        string? partner, string? kind, string? top, string? continuation, FileRunIndex files, ListContinuation tokens, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        if (partner is not null && !InboundPath.IsId(partner))
        {
            errors.Add(("partner", $"'{partner}' is not a partner id: 1 to 64 letters, digits, '-' or '_'"));
        }

        if (kind is not null && !FileKind.IsKnown(kind))
        {
            errors.Add(("kind", $"'{kind}' is not a file kind; use one of {string.Join(", ", FileKind.All)}"));
        }

        var size = Top(top, errors);
        return await PageAsync(errors, tokens, $"console/files:{partner}:{kind}", continuation, async position =>
        {
            var (items, next) = await files.PageAsync(partner, kind, size, position, ct);
            return new FileRunPage(items, next);
        });
    }

    private static async Task<Ok<RebuildReport>> RebuildAsync(ReadModelRebuild rebuild, CancellationToken ct) =>
        TypedResults.Ok(await rebuild.RebuildAsync(ct));

    private static int Top(string? top, List<(string, string)> errors)
    {
        var size = DefaultTop;
        if (top is not null && !(int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size is >= 1 and <= MaxTop))
        {
            errors.Add(("top", $"'{top}' is not a page size; use a whole number from 1 to {MaxTop} (default {DefaultTop})"));
        }

        return size;
    }

    /// <summary>from..to as California dates (both included); by default the 30 days up to today; at most 92 days.</summary>
    private static (DateOnly From, DateOnly To) Period(string? from, string? to, DateOnly today, List<(string, string)> errors)
    {
        DateOnly? Parse(string? text, string field)
        {
            if (text is null)
            {
                return null;
            }

            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                return date;
            }

            errors.Add((field, $"'{text}' is not a date; use yyyy-MM-dd, e.g. 2026-07-01"));
            return null;
        }

        var end = Parse(to, "to") ?? today;
        var start = Parse(from, "from") ?? end.AddDays(1 - DefaultPeriodDays);
        if (errors.Count == 0 && start > end)
        {
            errors.Add(("from", $"'{start:yyyy-MM-dd}' is after 'to' ({end:yyyy-MM-dd})"));
        }
        else if (errors.Count == 0 && end.DayNumber - start.DayNumber + 1 > MaxPeriodDays)
        {
            errors.Add(("to", $"the period {start:yyyy-MM-dd}..{end:yyyy-MM-dd} is {end.DayNumber - start.DayNumber + 1} days; ask for at most {MaxPeriodDays}"));
        }

        return (start, end);
    }

    private static ValidationProblem Invalid(List<(string Field, string Message)> errors) => TypedResults.ValidationProblem(
        errors.GroupBy(e => e.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal),
        detail: $"'{errors[0].Field}' {errors[0].Message}" + (errors.Count == 1 ? "" : $" (and {errors.Count - 1} more; see errors)"),
        title: Title);

    /// <summary>
    /// The page, or the parameters' problems. The continuation is signed for <paramref name="listing"/> (the route and
    /// its filters): a token the hub did not issue, or one issued for another listing, is a 400 and reads nothing.
    /// </summary>
    private static async Task<Results<Ok<TPage>, ValidationProblem>> PageAsync<TPage>(
        List<(string Field, string Message)> errors, ListContinuation tokens, string listing, string? continuation, Func<string?, Task<TPage>> query)
        where TPage : IContinuedPage<TPage>
    {
        string? position = null;
        if (continuation is not null && !tokens.TryRead(listing, continuation, out position))
        {
            errors.Add(BadContinuation);
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        try
        {
            var page = await query(position);
            return TypedResults.Ok(page.WithContinuation(tokens.Issue(listing, page.Continuation)));
        }
        catch (RequestFailedException e) when (position is not null && e.Status == 400)
        {
            // Signed by us, yet refused by the table service (e.g. the table was recreated): still the caller's 400.
            return Invalid([BadContinuation]);
        }
    }
}
