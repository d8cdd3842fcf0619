using System.Text.Json;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Authorizations;

/// <summary>
/// Reads and checks an authorization request body field by field, so every problem names its JSON field and says
/// how to fix it. Shared by the API and, later, ingestion and webhooks: the same command, the same answers.
/// </summary>
public static class AuthorizationRequestReader
{
    public const int MaxTextLength = 200;

    public static RequestReading Read(JsonElement body, string authorizationId, DateTimeOffset receivedAt, AuthorizationPolicy policy)
    {
        var errors = new List<FieldError>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return new RequestReading(null, [new FieldError("$", "the body must be a JSON object with memberCin, service, requestingProviderNpi, referringEntity and urgency")]);
        }

        var cin = Text(body, "memberCin", errors, required: true)?.ToUpperInvariant();
        if (cin is not null && !IsCin(cin))
        {
            // Never echo the value: it is PHI.
            errors.Add(new("memberCin", "must be a Medi-Cal CIN: 8 digits followed by a letter"));
        }

        var npi = Text(body, "requestingProviderNpi", errors, required: true);
        if (npi is not null && NationalProviderIdentifier.Problem(npi) is { } npiProblem)
        {
            errors.Add(new("requestingProviderNpi", npiProblem));
        }

        var referrer = Text(body, "referringEntity", errors, required: true);
        var urgencyText = Text(body, "urgency", errors, required: true);
        Urgency? urgency = urgencyText?.ToLowerInvariant() switch
        {
            null => null,
            "routine" => Urgency.Routine,
            "expedited" => Urgency.Expedited,
            _ => null,
        };
        if (urgencyText is not null && urgency is null)
        {
            errors.Add(new("urgency", "must be 'routine' or 'expedited'"));
        }

        var consent = Text(body, "consentReference", errors, required: false);
        var facts = Strings(body, "supportingFacts", errors) ?? [];
        var service = Service(body, errors, policy);

        if (service is not null)
        {
            var known = KnownFacts(policy);
            for (var i = 0; i < facts.Count; i++)
            {
                if (!known.Contains(facts[i]))
                {
                    errors.Add(new($"supportingFacts[{i}]", $"'{facts[i]}' is not a DHCS eligibility criterion code; use a code listed for the requested Population of Focus or service, or '{AuthorizationRequest.Part2Information}'"));
                }
            }
        }

        return errors.Count > 0
            ? new RequestReading(null, errors)
            : new RequestReading(new AuthorizationRequest(authorizationId, cin!, service!, npi!, referrer!, urgency!.Value, facts, consent, receivedAt), []);
    }

    /// <summary>Medi-Cal CIN: 9 characters, 8 digits then a letter.</summary>
    public static bool IsCin(string value) =>
        value.Length == 9 && value[..8].All(char.IsAsciiDigit) && char.IsAsciiLetterUpper(value[8]);

    private static RequestedService? Service(JsonElement body, List<FieldError> errors, AuthorizationPolicy policy)
    {
        if (!body.TryGetProperty("service", out var service) || service.ValueKind == JsonValueKind.Null)
        {
            errors.Add(new("service", "is required: {\"program\":\"ecm\",\"populationsOfFocus\":[…]} or {\"program\":\"community-supports\",\"services\":[…]}"));
            return null;
        }

        if (service.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("service", "must be an object with program and populationsOfFocus or services"));
            return null;
        }

        var before = errors.Count;
        var program = Text(service, "program", errors, required: true, prefix: "service.");
        switch (program)
        {
            case null:
                return null;
            case "ecm":
                var pofs = Strings(service, "populationsOfFocus", errors, "service.") ?? [];
                if (pofs.Count == 0 && errors.Count == before)
                {
                    errors.Add(new("service.populationsOfFocus", $"ECM needs at least one Population of Focus: {string.Join(", ", policy.PopulationsOfFocus.Ids)}"));
                }

                for (var i = 0; i < pofs.Count; i++)
                {
                    if (policy.PopulationsOfFocus.Find(pofs[i]) is null)
                    {
                        errors.Add(new($"service.populationsOfFocus[{i}]", $"'{pofs[i]}' is not an ECM Population of Focus; use one of {string.Join(", ", policy.PopulationsOfFocus.Ids)}"));
                    }
                }

                return errors.Count == before ? RequestedService.Ecm([.. pofs.Distinct()]) : null;
            case "community-supports":
                var services = Strings(service, "services", errors, "service.") ?? [];
                if (services.Count == 0 && errors.Count == before)
                {
                    errors.Add(new("service.services", "Community Supports needs one service, or the three housing services requested jointly"));
                }

                for (var i = 0; i < services.Count; i++)
                {
                    if (policy.CommunitySupports.Find(services[i]) is null)
                    {
                        errors.Add(new($"service.services[{i}]", $"'{services[i]}' is not a Community Supports service; use one of {string.Join(", ", policy.CommunitySupports.Ids)}"));
                    }
                }

                var distinct = services.Distinct().ToList();
                if (errors.Count == before && distinct.Count > 1 && !CommunitySupports.IsJointRequest(distinct))
                {
                    errors.Add(new("service.services", $"only the housing trio ({string.Join(", ", CommunitySupports.HousingTrio)}) may be requested jointly; send one request per other service"));
                }

                return errors.Count == before ? RequestedService.CommunitySupports([.. distinct]) : null;
            default:
                errors.Add(new("service.program", "must be 'ecm' or 'community-supports'"));
                return null;
        }
    }

    private static HashSet<string> KnownFacts(AuthorizationPolicy policy) =>
    [
        .. policy.PopulationsOfFocus.Entries.SelectMany(p => p.Criteria).Select(c => c.Code),
        .. policy.CommunitySupports.Entries.SelectMany(s => s.Criteria).Select(c => c.Code),
        AuthorizationRequest.Part2Information,
    ];

    private static string? Text(JsonElement obj, string name, List<FieldError> errors, bool required, string prefix = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(prefix + name, "is required"));
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(prefix + name, "must be a string"));
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length == 0)
        {
            errors.Add(new(prefix + name, required ? "is required and must not be blank" : "must not be blank; leave it out instead"));
            return null;
        }

        if (text.Length > MaxTextLength)
        {
            errors.Add(new(prefix + name, $"must be at most {MaxTextLength} characters"));
            return null;
        }

        return text;
    }

    private static List<string>? Strings(JsonElement obj, string name, List<FieldError> errors, string prefix = "")
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new(prefix + name, "must be an array of codes"));
            return null;
        }

        var list = new List<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
            {
                errors.Add(new($"{prefix}{name}[{i}]", "must be a non-blank code string"));
            }
            else
            {
                list.Add(item.GetString()!.Trim());
            }

            i++;
        }

        return list;
    }
}

/// <summary>One problem with one input field, for problem+json <c>errors</c>.</summary>
public sealed record FieldError(string Field, string Message);

public sealed record RequestReading(AuthorizationRequest? Request, IReadOnlyList<FieldError> Errors);
