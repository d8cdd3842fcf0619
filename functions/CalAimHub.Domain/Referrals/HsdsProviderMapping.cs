using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.CodeSets;

namespace CalAimHub.Domain.Referrals;

/// <summary>An HSDS object the import left out, and why (ids and codes only: directory data is organizational).</summary>
/// <param name="Entity"><c>organization</c>, <c>service</c>, <c>location</c> or <c>service_at_location</c>.</param>
/// <param name="Id">The object's HSDS id, or <c>#{index}</c> in its array when it has none.</param>
public sealed record HsdsSkipped(string Entity, string Id, string Reason);

/// <summary>The directory entries an HSDS export maps to, one per NPI, and what was skipped.</summary>
public sealed record HsdsMapping(IReadOnlyList<ProviderDirectoryEntry> Entries, IReadOnlyList<HsdsSkipped> Skipped);

/// <summary>
/// <para>
/// THE mapping from an Open Referral HSDS 3.x export to <see cref="ProviderDirectoryEntry"/> (the routing input). Every
/// HSDS field the hub reads is named here, and only here; docs/webhooks.md ("Provider directory: HSDS import") mirrors it.
/// </para>
/// <para>Input: a JSON object with the arrays <c>organizations</c>, <c>services</c>, <c>locations</c>,
/// <c>service_at_locations</c> (HSDS "nested" form: an organization's <c>organization_identifiers</c>, a service's
/// <c>attributes</c> and <c>capacities</c>, a location's <c>addresses</c> inside their parent; the same link tables may
/// also come as top-level arrays <c>organization_identifiers</c>, <c>attributes</c>, <c>service_capacities</c>,
/// <c>addresses</c> linked by <c>organization_id</c> / <c>link_id</c> / <c>service_id</c> / <c>location_id</c>, and
/// services may be nested in <c>organizations[].services</c>).</para>
/// <list type="table">
/// <listheader><term>Entry field</term><description>HSDS source</description></listheader>
/// <item><term>Npi</term><description>A service attribute whose <c>taxonomy_term</c> code or taxonomy is <c>NPI</c>
/// (its <c>value</c> is the NPI), else the service organization's <c>organization_identifiers[]</c> entry whose
/// <c>identifier_type</c> or <c>identifier_scheme</c> is NPI (<c>NPI</c>, <c>US-NPI</c>,
/// <c>http://hl7.org/fhir/sid/us-npi</c>); its <c>identifier</c> must pass <see cref="NationalProviderIdentifier"/>.
/// Services are grouped by NPI: one entry per NPI.</description></item>
/// <item><term>Name</term><description><c>organization.name</c> (else the first service's <c>name</c>).</description></item>
/// <item><term>Services</term><description>Codes of <c>service.attributes[].taxonomy_term.code</c> that are <c>ecm</c> or a
/// Community Supports id (<see cref="CommunitySupports"/>), case-insensitive. Only services with
/// <c>status</c> = <c>active</c>.</description></item>
/// <item><term>PopulationsOfFocus</term><description>Codes of the same attributes that are Population of Focus ids,
/// on services that are ECM.</description></item>
/// <item><term>Counties</term><description><c>addresses[].region</c> (HSDS: "typically a county") of the locations linked
/// to the service by <c>service_at_locations</c>, when a California county (<see cref="CaliforniaCounties"/>) and
/// <c>state_province</c> is empty, <c>CA</c> or <c>California</c>.</description></item>
/// <item><term>Capacity</term><description>Sum over the services' <c>capacities[]</c> (HSDS 3.1 <c>service_capacity</c>):
/// <c>ableToServe</c> = <c>maximum</c> (or <c>available</c> when no maximum), <c>serving</c> = <c>maximum</c> −
/// <c>available</c> (never below 0).</description></item>
/// <item><term>Source</term><description><c>hsds:{organization.id}</c>.</description></item>
/// </list>
/// <para>Skipped (and reported): objects without an <c>id</c>; services that are not active, have no NPI or an invalid
/// one, no ECM/Community Supports code, no California county, or no capacity; an NPI claimed by two organizations
/// (the later one is skipped); organizations none of whose services map. Lists are sorted, so the same export always
/// gives the same entries (the import is idempotent).</para>
/// </summary>
public static class HsdsProviderMapping
{
    public const string SourcePrefix = "hsds:";

    private static readonly string[] NpiSchemes = ["npi", "us-npi", "http://hl7.org/fhir/sid/us-npi"];

    private static readonly string[] TopLevelArrays =
        ["organizations", "services", "locations", "service_at_locations", "organization_identifiers", "attributes", "service_capacities", "addresses"];

    /// <summary>The entries, or (when the export's shape is wrong) errors naming the field; then nothing may be stored.</summary>
    public static (HsdsMapping? Mapping, IReadOnlyList<ReferralFieldError> Errors) Map(JsonElement export)
    {
        if (export.ValueKind != JsonValueKind.Object)
        {
            return (null, [new("$", "the body must be a JSON object with organizations, services, locations and service_at_locations arrays (HSDS 3.x)")]);
        }

        var errors = TopLevelArrays
            .Where(name => export.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
            .Select(name => new ReferralFieldError(name, "must be an array of HSDS objects"))
            .ToList();
        if (!export.TryGetProperty("organizations", out var organizationsArray) || organizationsArray.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new("organizations", "is required: the HSDS organizations (with their organization_identifiers)"));
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var skipped = new List<HsdsSkipped>();
        var top = new Links(export);

        // Organizations (and services nested in them).
        var organizations = new Dictionary<string, Organization>(StringComparer.Ordinal);
        var services = new List<(JsonElement Service, string? OrganizationId, string Key)>();
        var index = 0;
        foreach (var o in organizationsArray.EnumerateArray())
        {
            var key = $"#{index++}";
            if (Id(o) is not { } id)
            {
                skipped.Add(new("organization", key, "has no id"));
                continue;
            }

            var identifiers = Nested(o, "organization_identifiers").Concat(top.Of("organization_identifiers", "organization_id", id));
            var npis = identifiers.Where(IsNpiIdentifier).Select(i => Text(i, "identifier")).ToList();
            organizations[id] = new Organization(id, Text(o, "name") is { Length: > 0 and <= 200 } name ? name : null, npis);
            var nested = 0;
            foreach (var s in Nested(o, "services"))
            {
                services.Add((s, id, $"#{id}/{nested++}"));
            }
        }

        index = 0;
        foreach (var s in Array(export, "services"))
        {
            services.Add((s, null, $"#{index++}"));
        }

        // Locations → California counties.
        var counties = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        void AddLocation(JsonElement l, string key)
        {
            if (Id(l) is not { } id)
            {
                skipped.Add(new("location", key, "has no id"));
                return;
            }

            var found = Nested(l, "addresses").Concat(top.Of("addresses", "location_id", id))
                .Where(a => Text(a, "state_province") is null or "" || Text(a, "state_province")!.Trim() is var st && (st.Equals("CA", StringComparison.OrdinalIgnoreCase) || st.Equals("California", StringComparison.OrdinalIgnoreCase)))
                .Select(a => CaliforniaCounties.Find(Text(a, "region")))
                .OfType<string>()
                .ToList();
            counties[id] = found;
        }

        index = 0;
        foreach (var l in Array(export, "locations"))
        {
            AddLocation(l, $"#{index++}");
        }

        // service_at_locations (top level, or nested in a service with an optional nested location).
        var locationsOf = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Link(JsonElement sal, string? serviceId, string key)
        {
            if (Id(sal) is not { } id)
            {
                skipped.Add(new("service_at_location", key, "has no id"));
                return;
            }

            if (sal.TryGetProperty("location", out var nestedLocation) && nestedLocation.ValueKind == JsonValueKind.Object && Id(nestedLocation) is { } nestedId && !counties.ContainsKey(nestedId))
            {
                AddLocation(nestedLocation, $"#{id}/location");
            }

            var service = Text(sal, "service_id") ?? serviceId;
            var location = Text(sal, "location_id") ?? (sal.TryGetProperty("location", out var l) && l.ValueKind == JsonValueKind.Object ? Id(l) : null);
            if (service is null || location is null)
            {
                skipped.Add(new("service_at_location", id, "needs service_id and location_id"));
                return;
            }

            if (!locationsOf.TryGetValue(service, out var list))
            {
                locationsOf[service] = list = [];
            }

            list.Add(location);
        }

        index = 0;
        foreach (var sal in Array(export, "service_at_locations"))
        {
            Link(sal, null, $"#{index++}");
        }

        foreach (var (s, _, key) in services)
        {
            foreach (var sal in Nested(s, "service_at_locations"))
            {
                Link(sal, Id(s), $"#{Id(s) ?? key}/service_at_location");
            }
        }

        // Services → per-NPI accumulators.
        var byNpi = new Dictionary<string, Accumulator>(StringComparer.Ordinal);
        foreach (var (s, nestedIn, key) in services)
        {
            if (Id(s) is not { } id)
            {
                skipped.Add(new("service", key, "has no id"));
                continue;
            }

            var skip = (string reason) => skipped.Add(new("service", id, reason));
            var organizationId = Text(s, "organization_id") ?? nestedIn;
            if (organizationId is null || !organizations.TryGetValue(organizationId, out var organization))
            {
                skip(organizationId is null ? "has no organization_id" : $"its organization '{organizationId}' is not in the export (or was skipped)");
                continue;
            }

            if (!string.Equals(Text(s, "status"), "active", StringComparison.OrdinalIgnoreCase))
            {
                skip($"status is '{Text(s, "status") ?? "(none)"}'; only active services are routed to");
                continue;
            }

            var attributes = Nested(s, "attributes").Concat(top.Of("attributes", "link_id", id)).ToList();
            var npiAttribute = attributes.FirstOrDefault(a => Term(a) is { } t && (IsNpiWord(Text(t, "code")) || IsNpiWord(Text(t, "taxonomy"))));
            IReadOnlyList<string?> npis = npiAttribute.ValueKind == JsonValueKind.Object ? new[] { Text(npiAttribute, "value") } : organization.Npis;
            if (npis.Count == 0 || npis[0] is not { } npi)
            {
                skip($"no NPI: give organization '{organization.Id}' an organization_identifiers entry with identifier_type 'NPI' (or the service an NPI attribute)");
                continue;
            }

            if (NationalProviderIdentifier.Problem(npi) is { } npiProblem)
            {
                skip($"NPI '{npi}' {npiProblem}");
                continue;
            }

            var codes = attributes.Select(a => Term(a) is { } t ? Text(t, "code")?.Trim().ToLowerInvariant() : null).OfType<string>().ToList();
            var calaim = codes.Where(c => c == ReferralService.Ecm || CommunitySupports.Current.Find(c) is not null).Distinct().ToList();
            if (calaim.Count == 0)
            {
                skip($"no taxonomy_term code for ECM ('{ReferralService.Ecm}') or a Community Supports service");
                continue;
            }

            var serviceCounties = (locationsOf.GetValueOrDefault(id) ?? []).SelectMany(l => counties.GetValueOrDefault(l) ?? []).Distinct().ToList();
            if (serviceCounties.Count == 0)
            {
                skip("no location with a California county (addresses[].region) is linked to it by service_at_locations");
                continue;
            }

            var capacities = Nested(s, "capacities").Concat(top.Of("service_capacities", "service_id", id)).Select(Capacity).OfType<ProviderCapacity>().ToList();
            if (capacities.Count == 0)
            {
                skip("no capacities entry with a whole-number 'available' (HSDS service_capacity)");
                continue;
            }

            if (byNpi.TryGetValue(npi, out var existing) && existing.OrganizationId != organization.Id)
            {
                skip($"NPI '{npi}' is already used by organization '{existing.OrganizationId}'");
                continue;
            }

            var accumulator = existing ?? (byNpi[npi] = new Accumulator(organization.Id, organization.Name ?? Text(s, "name")?.Trim() ?? organization.Id));
            accumulator.Services.UnionWith(calaim);
            accumulator.Counties.UnionWith(serviceCounties);
            if (calaim.Contains(ReferralService.Ecm))
            {
                accumulator.Populations.UnionWith(codes.Where(c => PopulationsOfFocus.Current.Find(c) is not null));
            }

            foreach (var capacity in capacities)
            {
                accumulator.Serving += capacity.Serving;
                accumulator.AbleToServe += capacity.AbleToServe;
            }
        }

        foreach (var organization in organizations.Values.Where(o => byNpi.Values.All(a => a.OrganizationId != o.Id)))
        {
            skipped.Add(new("organization", organization.Id, "none of its services maps to a directory entry (see the services skipped)"));
        }

        var entries = byNpi
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => new ProviderDirectoryEntry(
                p.Key,
                p.Value.Name.Length <= 200 ? p.Value.Name : p.Value.Name[..200],
                [.. p.Value.Services.Order(StringComparer.Ordinal)],
                [.. p.Value.Counties.Order(StringComparer.Ordinal)],
                [.. p.Value.Populations.Order(StringComparer.Ordinal)],
                new ProviderCapacity((int)Math.Min(p.Value.Serving, int.MaxValue), (int)Math.Min(p.Value.AbleToServe, int.MaxValue)),
                SourcePrefix + p.Value.OrganizationId))
            .ToList();
        return (new HsdsMapping(entries, skipped), []);
    }

    private static ProviderCapacity? Capacity(JsonElement capacity)
    {
        static int? Count(JsonElement c, string name) =>
            c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) && d >= 0 && d == decimal.Truncate(d) && d <= int.MaxValue ? (int)d : null;

        if (capacity.ValueKind != JsonValueKind.Object || Count(capacity, "available") is not { } available)
        {
            return null;
        }

        var maximum = Count(capacity, "maximum") ?? available;
        return new ProviderCapacity(Math.Max(0, maximum - available), maximum);
    }

    private static bool IsNpiIdentifier(JsonElement identifier) =>
        identifier.ValueKind == JsonValueKind.Object && (IsNpiWord(Text(identifier, "identifier_type")) || IsNpiWord(Text(identifier, "identifier_scheme")));

    private static bool IsNpiWord(string? text) => text is not null && NpiSchemes.Contains(text.Trim(), StringComparer.OrdinalIgnoreCase);

    private static JsonElement? Term(JsonElement attribute) =>
        attribute.ValueKind == JsonValueKind.Object && attribute.TryGetProperty("taxonomy_term", out var term) && term.ValueKind == JsonValueKind.Object ? term : null;

    private static string? Id(JsonElement element) => element.ValueKind == JsonValueKind.Object && Text(element, "id") is { Length: > 0 } id ? id : null;

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!.Trim(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;

    private static IEnumerable<JsonElement> Nested(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object)
            : [];

    private static IEnumerable<JsonElement> Array(JsonElement export, string name) =>
        export.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [];

    /// <summary>Top-level link tables, indexed by their foreign key.</summary>
    private sealed class Links(JsonElement export)
    {
        private readonly Dictionary<string, ILookup<string, JsonElement>> tables = new(StringComparer.Ordinal);

        public IEnumerable<JsonElement> Of(string table, string foreignKey, string parentId)
        {
            if (!tables.TryGetValue(table, out var lookup))
            {
                tables[table] = lookup = Array(export, table).Where(e => e.ValueKind == JsonValueKind.Object && Text(e, foreignKey) is not null)
                    .ToLookup(e => Text(e, foreignKey)!, StringComparer.Ordinal);
            }

            return lookup[parentId];
        }
    }

    private sealed record Organization(string Id, string? Name, IReadOnlyList<string?> Npis);

    private sealed class Accumulator(string organizationId, string name)
    {
        public string OrganizationId => organizationId;
        public string Name => name;
        public HashSet<string> Services { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Counties { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Populations { get; } = new(StringComparer.Ordinal);
        public long Serving { get; set; }
        public long AbleToServe { get; set; }
    }
}
