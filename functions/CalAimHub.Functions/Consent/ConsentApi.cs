using System.Text.Json;
using CalAimHub.Domain.Consent;
using CalAimHub.Functions.Extensions;
using CalAimHub.Hosting.Http;
using CalAimHub.Hosting.Staff;
using CalAimHub.Hosting.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CalAimHub.Functions.Consent;

/// <summary>
/// The consent registry and the accounting of disclosures under <c>/api/members</c>, CIN always in the body (URLs reach
/// access logs and request telemetry, bodies do not): <c>POST /consents</c> records an ASCMI consent or revocation (a
/// revocation is a consent of kind <c>revocation</c>, not a separate route: one record, one history);
/// <c>POST /consents/search</c> reads a member's consents; <c>POST /disclosures/search</c> pages the member's disclosures.
/// All need the <see cref="StaffRoles.Privacy"/> role: member-level privacy records are not for every viewer.
/// </summary>
public static partial class ConsentApi
{
    public const int DefaultTop = 50;
    public const int MaxTop = 200;
    public const int MaxBodyBytes = 64 * 1024;
    private const string Title = "Invalid consent request";

    public static RouteGroupBuilder MapConsentApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/members").WithTags("Consents and disclosures").RequireAuthorization(StaffRoles.Privacy);
        api.MapPost("/consents", RecordAsync).WithName("RecordMemberConsent")
            .WithSummary("Record an ASCMI consent (kind grant) or revocation (kind revocation); 201 when new, 200 when the same document is already on file, 409 when it is on file saying something else")
            .AcceptsBody<ConsentBody>("application/json")
            .Produces<ConsentView>(StatusCodes.Status201Created).Produces<ConsentView>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapPost("/consents/search", SearchConsentsAsync).WithName("SearchMemberConsents")
            .WithSummary("A member's consents, newest effective first, CIN in the body")
            .AcceptsBody<MemberSearchBody>("application/json")
            .Produces<MemberConsentsView>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapPost("/disclosures/search", SearchDisclosuresAsync).WithName("SearchMemberDisclosures")
            .WithSummary("A member's accounting of disclosures (categories disclosed and withheld, to whom, when, why, which document), optionally from..to, paged; CIN in the body")
            .AcceptsBody<DisclosureSearchBody>("application/json")
            .Produces<DisclosurePage>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return api;
    }

    private static async Task<Results<Created<ConsentView>, Ok<ConsentView>, ValidationProblem, ProblemHttpResult>> RecordAsync(
        HttpRequest http, TableConsentRegistry registry, TimeProvider time, ILogger<TableConsentRegistry> logger, CancellationToken ct)
    {
        var (body, problem) = await ReadBodyAsync(http, ct);
        if (problem is not null)
        {
            return problem;
        }

        var (consent, errors) = ConsentRequestReader.ReadConsent(body, time.GetUtcNow(), DisclosureCategories.Current);
        if (consent is null)
        {
            return Invalid(errors);
        }

        var (stored, outcome) = await registry.RecordAsync(consent, http.HttpContext.User.Identity?.Name ?? "", ct);
        LogRecorded(logger, stored.ConsentId, stored.Kind.ToString(), outcome.ToString());
        return outcome switch
        {
            ConsentRecordOutcome.Created => TypedResults.Created((string?)null, View(stored)),
            ConsentRecordOutcome.AlreadyRecorded => TypedResults.Ok(View(stored)),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Consent already recorded differently",
                detail: $"consent {stored.ConsentId} (this kind and sourceDocument) is on file for the member with other content; a changed choice is a new form with its own sourceDocument"),
        };
    }

    private static async Task<Results<Ok<MemberConsentsView>, ValidationProblem, ProblemHttpResult>> SearchConsentsAsync(
        HttpRequest http, TableConsentRegistry registry, CancellationToken ct)
    {
        var (body, problem) = await ReadBodyAsync(http, ct);
        if (problem is not null)
        {
            return problem;
        }

        var (cin, errors) = ConsentRequestReader.ReadSearch(body);
        if (cin is null)
        {
            return Invalid(errors);
        }

        var consents = await registry.ForMemberAsync(cin, ct);
        var catalog = DisclosureCategories.Current;
        return TypedResults.Ok(new MemberConsentsView(cin,
            [.. consents.OrderByDescending(c => c.EffectiveOn).ThenByDescending(c => c.RecordedAt).Select(View)],
            catalog.Version,
            [.. catalog.All.Select(c => new CategoryView(c.Id, c.Title, c.ConsentControlled, c.SharedWithoutConsent, c.Part2))]));
    }

    private static async Task<Results<Ok<DisclosurePage>, ValidationProblem, ProblemHttpResult>> SearchDisclosuresAsync(
        HttpRequest http, TableDisclosureLog log, ListContinuation tokens, CancellationToken ct)
    {
        var (body, problem) = await ReadBodyAsync(http, ct);
        if (problem is not null)
        {
            return problem;
        }

        var (search, errors) = ConsentRequestReader.ReadDisclosureSearch(body, DefaultTop, MaxTop);
        if (search is null)
        {
            return Invalid(errors);
        }

        // The token is bound to this member and period: a token from another search fails the check (400), never pages it.
        var listing = $"member-disclosures|{search.Cin}|{search.From:O}|{search.To:O}";
        string? tableContinuation = null;
        if (search.Continuation is { } token && !tokens.TryRead(listing, token, out tableContinuation))
        {
            return Invalid([new("continuation", "is not a token this search gave; start again without it")]);
        }

        var (items, next) = await log.ForMemberAsync(search.Cin, search.From, search.To, search.Top, tableContinuation, ct);
        return TypedResults.Ok(new DisclosurePage(
            [.. items.Select(d => new DisclosureView(d.RecipientId, d.Purpose, d.DocumentPath, d.DisclosedAt, d.CategoriesDisclosed, d.CategoriesWithheld))],
            tokens.Issue(listing, next)));
    }

    private static ConsentView View(MemberConsent consent) => new(
        consent.ConsentId, consent.Cin, consent.Kind == ConsentKind.Revocation ? "revocation" : "grant", consent.FormVersion, consent.SourceDocument,
        consent.EffectiveOn, consent.ExpiresOn,
        consent.Choices.OrderBy(c => c.Key, StringComparer.Ordinal).ToDictionary(c => c.Key, c => c.Value == ConsentChoice.Share ? "share" : "do-not-share", StringComparer.Ordinal),
        consent.Part2Recipients, consent.Recipients, consent.RecordedAt);

    private static async Task<(JsonElement Body, ProblemHttpResult? Problem)> ReadBodyAsync(HttpRequest http, CancellationToken ct)
    {
        if (!(http.ContentType?.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return (default, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON expected", detail: "send the body as application/json"));
        }

        var bytes = await http.ReadLimitedAsync(MaxBodyBytes, ct);
        if (bytes is null)
        {
            return (default, TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large", detail: $"this body is limited to {MaxBodyBytes} bytes"));
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (default, TypedResults.Problem(ValidationDetails([new("$", "the body must be a JSON object")])));
        }
        catch (JsonException e)
        {
            return (default, TypedResults.Problem(ValidationDetails([new("$", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})")])));
        }
    }

    private static ValidationProblem Invalid(IReadOnlyList<FieldError> errors) => TypedResults.ValidationProblem(
        errors.GroupBy(e => e.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal),
        detail: $"'{errors[0].Field}' {errors[0].Message}" + (errors.Count == 1 ? "" : $" (and {errors.Count - 1} more; see errors)"),
        title: Title);

    private static Microsoft.AspNetCore.Mvc.ProblemDetails ValidationDetails(IReadOnlyList<FieldError> errors) => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = Title,
        Detail = $"'{errors[0].Field}' {errors[0].Message}",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Consent {ConsentId} ({Kind}) recorded: {Outcome}")]
    private static partial void LogRecorded(ILogger logger, string consentId, string kind, string outcome);
}
