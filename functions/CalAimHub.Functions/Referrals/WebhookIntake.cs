using CalAimHub.Hosting.Http;
using System.Text.Json;
using CalAimHub.Functions.Extensions;
using CalAimHub.Functions.Invocations;
using CalAimHub.Domain.Referrals;
using CalAimHub.Hosting.Webhooks;
using CalAimHub.Referrals;

namespace CalAimHub.Functions.Referrals;

/// <summary>
/// <c>POST /api/webhooks/{platform}</c>: referral events from referral platforms, signed per Standard Webhooks (the
/// signature is the authentication; the function is anonymous). Checks, in order, each answered with problem+json and
/// nothing stored: too many requests in progress 429 with <c>Retry-After</c> (<see cref="WebhookAdmission"/>, before
/// anything else); unknown platform 404; unusable secrets 503; oversized body 413; bad or stale signature 401; bad
/// <c>webhook-id</c> 400; wrong content type 415; malformed or invalid payload 400 naming the field; a status the
/// referral cannot take now 409. Accepted: 202 with the referral id once the event is recorded and queued; a
/// redelivery (same <c>webhook-id</c>, same body) gets the same 202 and changes nothing; the same <c>webhook-id</c> with
/// another body (the id is unique per platform, whatever referral it names) is 409 and changes nothing.
/// </summary>
public static partial class WebhookIntake
{
    public const string Route = "/api/webhooks/{platform}";

    /// <summary>Set on the 202 of a redelivery, so a platform can tell (the body is the same as the first answer's).</summary>
    public const string DuplicateHeader = "Webhook-Duplicate";

    /// <summary>Intake options, admission control, the dispatch marker and sweeper (the ledger and platforms are registered beside).</summary>
    public static void AddWebhookIntake(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(WebhookIntakeOptions.From(builder.Configuration));
        builder.Services.AddSingleton<ReferralDispatchMarker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReferralDispatchMarker>());
        builder.Services.AddRateLimiter(limiter => limiter.AddPolicy<string, WebhookAdmission>(WebhookAdmission.PolicyName));
    }

    /// <summary>The endpoint behind admission control (needs <c>app.UseRateLimiter()</c>), and the dispatch sweeper.</summary>
    public static void MapWebhookIntake(this WebApplication app)
    {
        // Anonymous to App Service authentication too (excluded path): the Standard Webhooks signature is the credential.
        app.MapPost(Route, ReceiveAsync).RequireRateLimiting(WebhookAdmission.PolicyName).AllowAnonymous()
            .WithTags("Webhooks").WithName("ReceiveReferralWebhook")
            .WithSummary("A referral event from a referral platform, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)")
            .AcceptsBody<ReferralEventBody>("application/json", "application/fhir+json")
            .Produces<WebhookAccepted>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapTimerFunction<ReferralDispatchSweeper>("ReferralDispatchSweeper");
    }

    private static async Task<IResult> ReceiveAsync(
        string platform, HttpRequest http, WebhookPlatforms platforms, IReferralLedger ledger, TimeProvider time, ILogger<WebhookPlatforms> logger, CancellationToken ct)
    {
        if (platforms.Find(platform) is not { } source)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such webhook platform",
                detail: ReferralIdentifiers.IsPlatformName(platform) ? $"no webhook platform '{platform}' is configured" : "no webhook platform with that name is configured");
        }

        if (source.SecretProblem is { } secretProblem)
        {
            LogSecretProblem(logger, platform, secretProblem);
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Webhook verification unavailable",
                detail: $"platform '{platform}' cannot be verified now: its signing secret is not usable; the hub's operators have been told");
        }

        var max = platforms.MaxBodyBytes;
        var body = await http.ReadLimitedAsync(max, ct);
        if (body is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large",
                detail: $"the body is larger than {max} bytes; send one referral event per webhook");
        }

        // Wall-clock time on purpose: the replay window is about real time between the platform and us, and must not
        // follow an accelerated business clock in tests.
        var headers = http.Headers;
        var webhookId = headers[StandardWebhookSignature.IdHeader].ToString();
        if (StandardWebhookSignature.Verify(
                webhookId, headers[StandardWebhookSignature.TimestampHeader], headers[StandardWebhookSignature.SignatureHeader],
                body, source.Secrets, TimeProvider.System.GetUtcNow()) is { } signatureProblem)
        {
            LogRejected(logger, platform, signatureProblem);
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Invalid webhook signature", detail: signatureProblem);
        }

        if (!ReferralIdentifiers.IsEventId(webhookId))
        {
            return Invalid([new(StandardWebhookSignature.IdHeader, "must be 1-128 letters, digits, '_', '-', ':', '=' or '+'")]);
        }

        var expected = source.Format == WebhookFormat.Fhir ? "application/fhir+json" : "application/json";
        var mediaType = http.ContentType?.Split(';')[0].Trim();
        if (!string.Equals(mediaType, expected, StringComparison.OrdinalIgnoreCase))
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported content type",
                detail: $"platform '{platform}' sends {(source.Format == WebhookFormat.Fhir ? "FHIR R4 JSON" : "the hub's referral event JSON")}: Content-Type must be {expected}");
        }

        var receivedAt = time.GetUtcNow();
        var reading = source.Format == WebhookFormat.Fhir
            ? FhirReferralAdapter.Read(body, webhookId, platform, receivedAt)
            : ReadGeneric(body, webhookId, platform, receivedAt);
        if (reading.Event is not { } referralEvent)
        {
            LogInvalid(logger, platform, webhookId, reading.Errors[0].Field);
            return Invalid(reading.Errors);
        }

        var result = await ledger.AcceptAsync(referralEvent, TableReferralLedger.BodyHash(body), ct);
        if (result.Outcome == LedgerOutcome.IdReused)
        {
            LogIdReused(logger, platform, webhookId);
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Webhook id already used", detail: result.Problem,
                type: "https://calaimhub/problems/webhook-id-reused", extensions: new Dictionary<string, object?> { ["eventId"] = webhookId });
        }

        if (result.Outcome == LedgerOutcome.Conflict)
        {
            LogConflict(logger, platform, webhookId, referralEvent.ReferralId, referralEvent.Status.DhcsName());
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Referral status not possible now", detail: result.Problem,
                type: "https://calaimhub/problems/illegal-referral-transition",
                extensions: new Dictionary<string, object?>
                {
                    ["referralId"] = referralEvent.ReferralId,
                    ["currentStatus"] = result.Current?.DhcsName(),
                    ["requestedStatus"] = referralEvent.Status.DhcsName(),
                });
        }

        var accepted = result.Event;
        LogAccepted(logger, platform, webhookId, accepted.ReferralId, accepted.Kind, accepted.Status.DhcsName(), result.Outcome);
        if (result.Outcome == LedgerOutcome.Duplicate)
        {
            http.HttpContext.Response.Headers[DuplicateHeader] = "true";
        }

        return Results.Accepted($"/api/referrals/{Uri.EscapeDataString(accepted.ReferralId)}", new WebhookAccepted(
            accepted.ReferralId, accepted.PlatformReferralId, accepted.EventId, accepted.Kind, accepted.Status, accepted.TaskStatus));
    }

    private static ReferralReading ReadGeneric(byte[] body, string webhookId, string platform, DateTimeOffset receivedAt)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return GenericReferralEventReader.Read(document.RootElement, webhookId, platform, receivedAt);
        }
        catch (JsonException e)
        {
            return new(null, [new("$", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})")]);
        }
    }


    internal static IResult Invalid(IReadOnlyList<ReferralFieldError> errors) =>
        FieldProblems.Invalid(errors, e => e.Field, e => e.Message, "Invalid referral event");

    // Only ids, statuses and field names are logged: payload values (CIN, names) never are.
    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} from {Platform}: referral {ReferralId} {Kind} '{Status}' {Outcome}")]
    private static partial void LogAccepted(ILogger logger, string platform, string eventId, string referralId, ReferralEventKind kind, string status, LedgerOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook from {Platform} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string platform, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} from {Platform} invalid at field {Field}")]
    private static partial void LogInvalid(ILogger logger, string platform, string eventId, string field);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} from {Platform}: referral {ReferralId} cannot take '{Status}' now")]
    private static partial void LogConflict(ILogger logger, string platform, string eventId, string referralId, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventId} from {Platform} refused: the id was used before for a different body")]
    private static partial void LogIdReused(ILogger logger, string platform, string eventId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook platform {Platform} refused: {Problem}")]
    private static partial void LogSecretProblem(ILogger logger, string platform, string problem);
}

/// <param name="ReferralId">The hub's referral id, <c>{platform}:{platformReferralId}</c>.</param>
public sealed record WebhookAccepted(string ReferralId, string PlatformReferralId, string EventId, ReferralEventKind Kind, ReferralStatus Status, string TaskStatus);
