using System.Globalization;
using System.Text.Json;
using CalAimHub.Domain.Authorizations;

namespace CalAimHub.Domain.Referrals;

/// <summary>
/// Reads the hub's own referral event format (docs/webhooks.md) into a <see cref="ReferralEvent"/>, or the fields that
/// are wrong. Unknown fields are refused too: a misspelt <c>reason</c> must not be silently dropped.
/// </summary>
public static class GenericReferralEventReader
{
    public const string Created = "referral.created";
    public const string StatusChanged = "referral.status-changed";
    public const string Cancelled = "referral.cancelled";
    public const int MaxTextLength = 200;

    private static readonly IReadOnlyDictionary<string, ReferralEventKind> Types = new Dictionary<string, ReferralEventKind>(StringComparer.Ordinal)
    {
        [Created] = ReferralEventKind.Created,
        [StatusChanged] = ReferralEventKind.StatusChanged,
        [Cancelled] = ReferralEventKind.Cancelled,
    };

    private static readonly HashSet<string> Fields = new(StringComparer.Ordinal)
    {
        "type", "referralId", "occurredAt", "status", "reason", "service", "member", "referringEntity", "receivingProviderNpi", "urgency",
        "supportingFacts",
    };

    private static readonly HashSet<string> MemberFields = new(StringComparer.Ordinal) { "cin", "county" };

    public static ReferralReading Read(JsonElement body, string eventId, string platform, DateTimeOffset receivedAt)
    {
        var errors = new List<ReferralFieldError>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return new(null, [new("$", "the body must be a JSON object")]);
        }

        foreach (var property in body.EnumerateObject())
        {
            if (!Fields.Contains(property.Name))
            {
                errors.Add(new(property.Name, "is not a field of the referral event; see docs/webhooks.md"));
            }
        }

        var typeText = Text(body, "type", errors);
        ReferralEventKind? kind = typeText is null ? null : Types.TryGetValue(typeText, out var k) ? k : null;
        if (kind is null && !errors.Any(e => e.Field == "type"))
        {
            errors.Add(new("type", $"must be '{Created}', '{StatusChanged}' or '{Cancelled}'"));
        }

        var referralId = Text(body, "referralId", errors);
        if (referralId is null && !errors.Any(e => e.Field == "referralId"))
        {
            errors.Add(new("referralId", "is required: the platform's id of the referral"));
        }
        else if (referralId is not null && !ReferralIdentifiers.IsPlatformReferralId(referralId))
        {
            errors.Add(new("referralId", "must be 1-64 letters, digits, '-' or '.', starting with a letter or digit"));
        }

        var occurredAt = Timestamp(body, "occurredAt", errors);
        var reason = Text(body, "reason", errors);
        var status = Status(body, kind, errors);
        if (status is { } s && s.ReasonRequired() && reason is null && !errors.Any(e => e.Field == "reason"))
        {
            errors.Add(new("reason", kind == ReferralEventKind.Cancelled
                ? "is required when a referral is cancelled: the closure reason"
                : $"is required when the status is '{s.DhcsName()}': {(s == ReferralStatus.Declined ? "why the provider declined" : $"the closure reason, e.g. '{ReferralStatuses.ServicesReceived}'")}"));
        }

        var service = Service(body, errors);
        var member = Member(body, errors);
        var referrer = Referrer(body, errors);
        if (kind == ReferralEventKind.Created)
        {
            Require(body, "service", "is required when a referral is created: {\"code\":\"ecm\",\"populationsOfFocus\":[…]} or {\"code\":\"<Community Supports service>\"}", errors);
            Require(body, "member", "is required when a referral is created: {\"cin\":\"<Medi-Cal CIN>\"}", errors);
            Require(body, "referringEntity", "is required when a referral is created: {\"name\":…,\"npi\":…}", errors);
        }

        var receiving = Text(body, "receivingProviderNpi", errors);
        if (receiving is not null && NationalProviderIdentifier.Problem(receiving) is { } npiProblem)
        {
            errors.Add(new("receivingProviderNpi", npiProblem));
        }

        var urgencyText = Text(body, "urgency", errors);
        ReferralUrgency? urgency = urgencyText switch
        {
            null or "routine" => ReferralUrgency.Routine,
            "urgent" => ReferralUrgency.Urgent,
            "discharge" => ReferralUrgency.Discharge,
            _ => null,
        };
        if (urgency is null && !errors.Any(e => e.Field == "urgency"))
        {
            errors.Add(new("urgency", "must be 'routine', 'urgent' or 'discharge'"));
        }

        var facts = SupportingFacts(body, kind, errors);
        if (errors.Count > 0)
        {
            return new(null, errors);
        }

        return new(new ReferralEvent(
            eventId,
            platform,
            ReferralEvent.HubReferralId(platform, referralId!),
            referralId!,
            kind!.Value,
            status!.Value,
            ReferralStatusMap.ToTaskStatus(status.Value, reason),
            reason,
            service,
            member,
            referrer,
            receiving,
            urgency!.Value,
            occurredAt!.Value,
            receivedAt,
            facts), []);
    }

    /// <summary><c>supportingFacts</c>: criterion codes, on a created referral only; a bad one is named by its index, not echoed.</summary>
    private static IReadOnlyList<string>? SupportingFacts(JsonElement body, ReferralEventKind? kind, List<ReferralFieldError> errors)
    {
        if (!Present(body, "supportingFacts", out var list))
        {
            return null;
        }

        if (kind is not ReferralEventKind.Created)
        {
            errors.Add(new("supportingFacts", $"applies to '{Created}' only: the facts go to the authorization the new referral starts"));
            return null;
        }

        if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            errors.Add(new("supportingFacts", "must be an array of DHCS eligibility criterion codes"));
            return null;
        }

        var facts = list.EnumerateArray().Select(e => e.GetString()!.Trim()).ToList();
        for (var i = 0; i < facts.Count; i++)
        {
            if (!ReferralEligibility.IsCriterion(facts[i]))
            {
                errors.Add(new($"supportingFacts[{i}]", ReferralEligibility.NotACriterion));
            }
        }

        return facts.Count == 0 ? null : [.. facts.Distinct(StringComparer.Ordinal)];
    }

    private static ReferralStatus? Status(JsonElement body, ReferralEventKind? kind, List<ReferralFieldError> errors)
    {
        var text = Text(body, "status", errors);
        if (errors.Any(e => e.Field == "status"))
        {
            return null;
        }

        var status = text is null ? null : ReferralStatuses.Parse(text);
        if (text is not null && status is null)
        {
            errors.Add(new("status", $"'{text}' is not a DHCS referral status; use one of {ReferralStatuses.AllNames}"));
            return null;
        }

        switch (kind)
        {
            case ReferralEventKind.Created when status is null or ReferralStatus.Pending:
                return ReferralStatus.Pending;
            case ReferralEventKind.Created:
                errors.Add(new("status", "a new referral is 'Pending'; report later statuses with 'referral.status-changed'"));
                return null;
            case ReferralEventKind.Cancelled when status is null or ReferralStatus.ReferralLoopClosed:
                return ReferralStatus.ReferralLoopClosed;
            case ReferralEventKind.Cancelled:
                errors.Add(new("status", "a cancelled referral is 'Referral Loop Closed'; leave 'status' out"));
                return null;
            case ReferralEventKind.StatusChanged when status is null:
                errors.Add(new("status", $"is required for '{StatusChanged}': one of {ReferralStatuses.AllNames}"));
                return null;
            default:
                return status;
        }
    }

    private static ReferralService? Service(JsonElement body, List<ReferralFieldError> errors)
    {
        if (!Present(body, "service", out var service))
        {
            return null;
        }

        if (service.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("service", "must be an object: {\"code\":…,\"populationsOfFocus\":[…]}"));
            return null;
        }

        var before = errors.Count;
        var code = Text(service, "code", errors, "service.");
        var populations = new List<string>();
        if (Present(service, "populationsOfFocus", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            {
                errors.Add(new("service.populationsOfFocus", "must be an array of Population of Focus ids"));
            }
            else
            {
                populations.AddRange(list.EnumerateArray().Select(e => e.GetString()!.Trim()));
            }
        }

        if (errors.Count > before)
        {
            return null;
        }

        if (ReferralService.Problem(code, populations) is { } problem)
        {
            errors.Add(new("service." + problem.Field, problem.Message));
            return null;
        }

        return new ReferralService(code!, populations);
    }

    private static MemberReference? Member(JsonElement body, List<ReferralFieldError> errors)
    {
        if (!Present(body, "member", out var member))
        {
            return null;
        }

        if (member.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("member", "must be an object: {\"cin\":…,\"county\":…}"));
            return null;
        }

        foreach (var property in member.EnumerateObject().Where(p => !MemberFields.Contains(p.Name)))
        {
            errors.Add(new("member." + property.Name, "is not a field of the member; use cin and county"));
        }

        var county = County(member, errors);
        var cin = Text(member, "cin", errors, "member.")?.ToUpperInvariant();
        if (cin is null)
        {
            if (!errors.Any(e => e.Field == "member.cin"))
            {
                errors.Add(new("member.cin", "is required: the member's Medi-Cal CIN"));
            }

            return null;
        }

        // The value is never echoed: it is member data.
        if (!AuthorizationRequestReader.IsCin(cin))
        {
            errors.Add(new("member.cin", "must be a Medi-Cal CIN: 8 digits followed by a letter"));
            return null;
        }

        return errors.Any(e => e.Field.StartsWith("member.", StringComparison.Ordinal)) ? null : new MemberReference(cin, county);
    }

    /// <summary>The member's county of residence, canonical ("los angeles county" → "Los Angeles"); optional.</summary>
    private static string? County(JsonElement member, List<ReferralFieldError> errors)
    {
        var text = Text(member, "county", errors, "member.");
        if (text is null)
        {
            return null;
        }

        // The value is not echoed either: a county is a HIPAA identifier.
        var county = CaliforniaCounties.Find(text);
        if (county is null)
        {
            errors.Add(new("member.county", CaliforniaCounties.NotACounty));
        }

        return county;
    }

    private static ReferringEntity? Referrer(JsonElement body, List<ReferralFieldError> errors)
    {
        if (!Present(body, "referringEntity", out var referrer))
        {
            return null;
        }

        if (referrer.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("referringEntity", "must be an object: {\"name\":…,\"npi\":…}"));
            return null;
        }

        var name = Text(referrer, "name", errors, "referringEntity.");
        var npi = Text(referrer, "npi", errors, "referringEntity.");
        if (name is null && !errors.Any(e => e.Field == "referringEntity.name"))
        {
            errors.Add(new("referringEntity.name", "is required: the referring organization's name"));
        }

        if (npi is not null && NationalProviderIdentifier.Problem(npi) is { } problem)
        {
            errors.Add(new("referringEntity.npi", problem));
        }

        return name is null || errors.Any(e => e.Field.StartsWith("referringEntity.", StringComparison.Ordinal)) ? null : new ReferringEntity(name, npi);
    }

    private static DateTimeOffset? Timestamp(JsonElement body, string name, List<ReferralFieldError> errors)
    {
        var text = Text(body, name, errors);
        if (text is null)
        {
            if (!errors.Any(e => e.Field == name))
            {
                errors.Add(new(name, "is required: when it happened, ISO 8601 with a UTC offset, e.g. 2026-07-01T09:30:00-07:00"));
            }

            return null;
        }

        // An offset is required: a local time without one is ambiguous across the Pacific DST change.
        if (!DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var value)
            || !(text.EndsWith('Z') || text.Length > 6 && text[^6] is '+' or '-'))
        {
            errors.Add(new(name, "must be ISO 8601 with a UTC offset, e.g. 2026-07-01T09:30:00-07:00 or 2026-07-01T16:30:00Z"));
            return null;
        }

        return value;
    }

    private static void Require(JsonElement body, string name, string message, List<ReferralFieldError> errors)
    {
        if (!Present(body, name, out _) && !errors.Any(e => e.Field == name || e.Field.StartsWith(name + ".", StringComparison.Ordinal)))
        {
            errors.Add(new(name, message));
        }
    }

    private static bool Present(JsonElement body, string name, out JsonElement value) =>
        body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static string? Text(JsonElement body, string name, List<ReferralFieldError> errors, string prefix = "")
    {
        if (!Present(body, name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(prefix + name, "must be a string"));
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length > MaxTextLength)
        {
            errors.Add(new(prefix + name, $"must be at most {MaxTextLength} characters"));
            return null;
        }

        return text.Length == 0 ? null : text;
    }
}

/// <summary>The event, or the fields that are wrong (never both).</summary>
public sealed record ReferralReading(ReferralEvent? Event, IReadOnlyList<ReferralFieldError> Errors);
