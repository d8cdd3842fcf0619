using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CalAimHub.Functions.Extensions;

namespace CalAimHub.Functions.Referrals;

// Request bodies of the referral and provider routes as the OpenAPI document shows them; GenericReferralEventReader and
// ProviderDirectoryReader implement them field by field (docs/webhooks.md), and the contract tests keep both true.

[Description("A referral event in the hub's own format (docs/webhooks.md), sent signed per Standard Webhooks. FHIR platforms send an SDOHCC ServiceRequest, Task or Bundle as application/fhir+json instead.")]
public sealed record ReferralEventBody
{
    public required ReferralEventType Type { get; init; }

    [Description("The platform's id of the referral: 1-64 letters, digits, '-' or '.'.")]
    public required string ReferralId { get; init; }

    [Description("When it happened at the platform (ISO 8601); defaults to the time received.")]
    public DateTimeOffset? OccurredAt { get; init; }

    [Description("DHCS closed-loop referral status; required for referral.status-changed.")]
    [CodeList(CodeList.ReferralStatuses)]
    public string? Status { get; init; }

    [Description("Required when declined, closed or cancelled: why.")]
    public string? Reason { get; init; }

    [Description("Required for referral.created.")]
    public ReferralServiceBody? Service { get; init; }

    [Description("Required for referral.created.")]
    public ReferralMemberBody? Member { get; init; }

    [Description("Required for referral.created.")]
    public ReferringEntityBody? ReferringEntity { get; init; }

    [Description("NPI of the provider the platform chose; empty lets the hub route by service, county and capacity.")]
    public string? ReceivingProviderNpi { get; init; }

    public ReferralUrgencyBody? Urgency { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<ReferralEventType>))]
public enum ReferralEventType
{
    [JsonStringEnumMemberName("referral.created")] Created,
    [JsonStringEnumMemberName("referral.status-changed")] StatusChanged,
    [JsonStringEnumMemberName("referral.cancelled")] Cancelled,
}

[JsonConverter(typeof(JsonStringEnumConverter<ReferralUrgencyBody>))]
public enum ReferralUrgencyBody
{
    [JsonStringEnumMemberName("routine")] Routine,
    [JsonStringEnumMemberName("urgent")] Urgent,
    [JsonStringEnumMemberName("discharge")] Discharge,
}

public sealed record ReferralServiceBody
{
    [Description("'ecm' or a Community Supports service.")]
    [CodeList(CodeList.ReferralServices)]
    public required string Code { get; init; }

    [Description("For 'ecm': the member's Populations of Focus.")]
    [CodeList(CodeList.PopulationsOfFocus)]
    public IReadOnlyList<string>? PopulationsOfFocus { get; init; }
}

[Description("PHI: never logged or echoed.")]
public sealed record ReferralMemberBody
{
    [Description("Medi-Cal CIN: 8 digits followed by a letter.")]
    public required string Cin { get; init; }

    [Description("California county of residence (drives routing).")]
    [CodeList(CodeList.Counties)]
    public string? County { get; init; }
}

public sealed record ReferringEntityBody
{
    public required string Name { get; init; }

    public string? Npi { get; init; }
}

[Description("A provider in the directory (routing input).")]
public sealed record ProviderBody
{
    public required string Name { get; init; }

    [Description("Services it offers: 'ecm' and/or Community Supports services.")]
    [CodeList(CodeList.ReferralServices)]
    public required IReadOnlyList<string> Services { get; init; }

    [Description("California counties it serves.")]
    [CodeList(CodeList.Counties)]
    public required IReadOnlyList<string> Counties { get; init; }

    [Description("ECM specialties (needs 'ecm' in services).")]
    [CodeList(CodeList.PopulationsOfFocus)]
    public IReadOnlyList<string>? PopulationsOfFocus { get; init; }

    public required ProviderCapacityBody Capacity { get; init; }
}

public sealed record ProviderCapacityBody
{
    [Description("Members served now.")]
    public required int Serving { get; init; }

    [Description("Members it can serve.")]
    public required int AbleToServe { get; init; }
}

[Description("An Open Referral HSDS 3.x export: organizations with their services, locations and service areas.")]
public sealed record HsdsExportBody
{
    [Description("HSDS organizations, each with services (attributes carry the CalAIM service codes), locations, service areas and identifiers (the NPI).")]
    public required IReadOnlyList<JsonObject> Organizations { get; init; }

    [Description("Services (top level or nested in organizations); status 'active' ones are imported.")]
    public IReadOnlyList<JsonObject>? Services { get; init; }

    [Description("Locations with addresses; the address region gives the California county served.")]
    public IReadOnlyList<JsonObject>? Locations { get; init; }

    [JsonPropertyName("service_at_locations")]
    public IReadOnlyList<JsonObject>? ServiceAtLocations { get; init; }

    [JsonPropertyName("organization_identifiers")]
    public IReadOnlyList<JsonObject>? OrganizationIdentifiers { get; init; }

    public IReadOnlyList<JsonObject>? Attributes { get; init; }

    public IReadOnlyList<JsonObject>? Addresses { get; init; }
}
