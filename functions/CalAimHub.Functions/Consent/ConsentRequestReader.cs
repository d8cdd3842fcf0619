using System.Globalization;
using System.Text;
using System.Text.Json;
using CalAimHub.Domain;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Consent;
using CalAimHub.Ingestion.Inbound;

namespace CalAimHub.Functions.Consent;

public sealed record FieldError(string Field, string Message);

/// <summary>
/// Reads the consent routes' bodies field by field, so every problem names its field; a CIN is never echoed (PHI).
/// Unknown properties are refused: a misspelt <c>choices</c> would otherwise record a consent that shares everything.
/// </summary>
public static class ConsentRequestReader
{
    public const int MaxText = 256;
    public const int MaxRecipients = 100;

    private static readonly HashSet<string> ConsentFields = new(StringComparer.Ordinal)
    {
        "cin", "kind", "formVersion", "sourceDocument", "effectiveOn", "expiresOn", "choices", "part2Recipients", "recipients",
    };

    private static readonly HashSet<string> SearchFields = new(StringComparer.Ordinal) { "cin" };
    private static readonly HashSet<string> DisclosureSearchFields = new(StringComparer.Ordinal) { "cin", "from", "to", "top", "continuation" };

    /// <summary>The id of a consent document: its kind and source document, hashed (so it carries no member data).</summary>
    public static string ConsentIdOf(ConsentKind kind, string sourceDocument) =>
        "consent-" + StableHash.Hex((kind == ConsentKind.Revocation ? "revocation" : "grant") + "\n" + sourceDocument, 12);

    public static (MemberConsent? Consent, List<FieldError> Errors) ReadConsent(JsonElement body, DateTimeOffset now, DisclosureCategories categories)
    {
        var errors = Unknown(body, ConsentFields);
        var cin = Cin(body, errors);
        var kindText = Text(body, "kind", errors, required: true);
        ConsentKind? kind = kindText switch
        {
            null => null,
            "grant" => ConsentKind.Grant,
            "revocation" => ConsentKind.Revocation,
            _ => null,
        };
        if (kindText is not null && kind is null)
        {
            errors.Add(new("kind", "must be 'grant' or 'revocation'"));
        }

        var formVersion = Text(body, "formVersion", errors, required: true);
        var sourceDocument = Text(body, "sourceDocument", errors, required: true);
        var effectiveOn = Date(body, "effectiveOn", errors, required: true);
        var expiresOn = Date(body, "expiresOn", errors, required: false);
        if (effectiveOn is { } from && expiresOn is { } until && until < from)
        {
            errors.Add(new("expiresOn", "must not be before effectiveOn"));
        }

        var choices = Choices(body, errors, categories);
        var part2 = Recipients(body, "part2Recipients", errors) ?? [];
        var recipients = Recipients(body, "recipients", errors) ?? [DisclosureCategories.AnyRecipient];
        if (recipients.Count == 0)
        {
            errors.Add(new("recipients", "must name at least one recipient, or [\"any\"]"));
        }

        if (kind == ConsentKind.Revocation)
        {
            if (choices.Count > 0)
            {
                errors.Add(new("choices", "must be left out of a revocation: it sets every choice to do-not-share"));
            }

            if (part2.Count > 0)
            {
                errors.Add(new("part2Recipients", "must be left out of a revocation: it withdraws any Part 2 consent"));
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new MemberConsent(ConsentIdOf(kind!.Value, sourceDocument!), cin!, kind.Value, formVersion!, sourceDocument!, effectiveOn!.Value, expiresOn,
            choices, part2, recipients, now), errors);
    }

    public static (string? Cin, List<FieldError> Errors) ReadSearch(JsonElement body)
    {
        var errors = Unknown(body, SearchFields);
        var cin = Cin(body, errors);
        return (errors.Count == 0 ? cin : null, errors);
    }

    public static (DisclosureSearch? Search, List<FieldError> Errors) ReadDisclosureSearch(JsonElement body, int defaultTop, int maxTop)
    {
        var errors = Unknown(body, DisclosureSearchFields);
        var cin = Cin(body, errors);
        var from = Instant(body, "from", errors);
        var to = Instant(body, "to", errors);
        if (from is { } start && to is { } end && start > end)
        {
            errors.Add(new("from", "must not be after 'to'"));
        }

        var top = defaultTop;
        if (body.TryGetProperty("top", out var topValue) && topValue.ValueKind != JsonValueKind.Null
            && !(topValue.ValueKind == JsonValueKind.Number && topValue.TryGetInt32(out top) && top >= 1 && top <= maxTop))
        {
            errors.Add(new("top", $"must be a whole number from 1 to {maxTop} (default {defaultTop})"));
        }

        var continuation = Text(body, "continuation", errors, required: false, max: 4096);
        return errors.Count > 0 ? (null, errors) : (new DisclosureSearch(cin!, from, to, top, continuation), errors);
    }

    private static List<FieldError> Unknown(JsonElement body, HashSet<string> known) =>
        [.. body.EnumerateObject().Where(p => !known.Contains(p.Name)).Select(p => new FieldError(p.Name, $"is not a field of this body; the fields are {string.Join(", ", known)}"))];

    private static string? Cin(JsonElement body, List<FieldError> errors)
    {
        var text = Text(body, "cin", errors, required: true);
        if (text is null)
        {
            return null;
        }

        var cin = text.Trim().ToUpperInvariant();
        if (!AuthorizationRequestReader.IsCin(cin))
        {
            errors.Add(new("cin", "must be a Medi-Cal CIN: 8 digits followed by a letter"));
            return null;
        }

        return cin;
    }

    private static string? Text(JsonElement body, string name, List<FieldError> errors, bool required, int max = MaxText)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(name, "is required"));
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(name, "must be a string"));
            return null;
        }

        var text = value.GetString()!;
        if (text.Trim().Length == 0 || text.Length > max || text.Any(char.IsControl))
        {
            errors.Add(new(name, $"must be 1 to {max} characters without control characters"));
            return null;
        }

        return text;
    }

    private static DateOnly? Date(JsonElement body, string name, List<FieldError> errors, bool required)
    {
        var text = Text(body, name, errors, required);
        if (text is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        errors.Add(new(name, "must be a date: yyyy-MM-dd"));
        return null;
    }

    private static DateTimeOffset? Instant(JsonElement body, string name, List<FieldError> errors)
    {
        var text = Text(body, name, errors, required: false);
        if (text is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant;
        }

        errors.Add(new(name, "must be an ISO 8601 date and time, e.g. 2026-11-01T00:00:00Z"));
        return null;
    }

    private static Dictionary<string, ConsentChoice> Choices(JsonElement body, List<FieldError> errors, DisclosureCategories categories)
    {
        var choices = new Dictionary<string, ConsentChoice>(StringComparer.Ordinal);
        if (!body.TryGetProperty("choices", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return choices;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("choices", "must be an object: category → 'share' or 'do-not-share'"));
            return choices;
        }

        var controlled = categories.All.Where(c => c.ConsentControlled).Select(c => c.Id).ToArray();
        foreach (var choice in value.EnumerateObject())
        {
            var field = $"choices.{choice.Name}";
            if (!categories.IsCategory(choice.Name) || !categories[choice.Name].ConsentControlled)
            {
                errors.Add(new(field, categories.IsCategory(choice.Name)
                    ? $"'{choice.Name}' is not consent-controlled (the assignment itself is sent under plan operations); the categories a consent decides are {string.Join(", ", controlled)}"
                    : $"is not a disclosure category; the categories a consent decides are {string.Join(", ", controlled)}"));
                continue;
            }

            switch (choice.Value.ValueKind == JsonValueKind.String ? choice.Value.GetString() : null)
            {
                case "share":
                    choices[choice.Name] = ConsentChoice.Share;
                    break;
                case "do-not-share":
                    choices[choice.Name] = ConsentChoice.DoNotShare;
                    break;
                default:
                    errors.Add(new(field, "must be 'share' or 'do-not-share'"));
                    break;
            }
        }

        return choices;
    }

    private static List<string>? Recipients(JsonElement body, string name, List<FieldError> errors)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > MaxRecipients)
        {
            errors.Add(new(name, $"must be an array of at most {MaxRecipients} provider ids, or [\"any\"]"));
            return null;
        }

        var recipients = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { } id || !(id == DisclosureCategories.AnyRecipient || InboundPath.IsId(id)))
            {
                errors.Add(new(name, "must hold provider ids (1 to 64 letters, digits, '-' or '_') or \"any\""));
                return null;
            }

            recipients.Add(id);
        }

        return [.. recipients.Distinct(StringComparer.Ordinal)];
    }
}

public sealed record DisclosureSearch(string Cin, DateTimeOffset? From, DateTimeOffset? To, int Top, string? Continuation);
