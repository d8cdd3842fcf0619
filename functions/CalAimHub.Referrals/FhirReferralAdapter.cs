using System.Text.Json;
using CalAimHub.Domain.Authorizations;
using CalAimHub.Domain.Referrals;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;
using FhirTask = Hl7.Fhir.Model.Task;

namespace CalAimHub.Referrals;

/// <summary>
/// FHIR R4 referrals per HL7 Gravity SDOH Clinical Care (STU3): an SDOHCC <c>ServiceRequest</c> (the referral) with its
/// SDOHCC "Task For Referral Management" (fulfil it), status changes as <c>Task</c> updates. Accepts a single
/// <c>Task</c>, a single <c>ServiceRequest</c>, or a transaction <c>Bundle</c> holding them (and the <c>Patient</c>).
/// Structure and value sets are checked by the Firely deserializer; the profile's own rules (intent, code, focus,
/// required elements, statusReason) are checked here. Every error names the FHIR element.
/// </summary>
public static partial class FhirReferralAdapter
{
    /// <summary>Identifier system for the member's Medi-Cal CIN (ours: DHCS publishes no FHIR system for it).</summary>
    public const string CinSystem = "urn:calaimhub:medi-cal-cin";

    /// <summary>Code system for the referred service: <c>ecm</c> or a Community Supports service id.</summary>
    public const string ServiceSystem = "urn:calaimhub:calaim-service";

    /// <summary>Code system for ECM Populations of Focus (ids as in the hub's code set), used in <c>ServiceRequest.reasonCode</c>.</summary>
    public const string PopulationOfFocusSystem = "urn:calaimhub:population-of-focus";

    /// <summary>
    /// Code system for DHCS eligibility criteria the referrer attests to (the hub's criterion codes), used in
    /// <c>ServiceRequest.reasonCode</c> beside the Population of Focus: e.g. <c>transitioning-from-incarceration</c>, which
    /// makes Justice-Involved ECM presumptive. DHCS publishes no FHIR codes for its criteria, and SDOHCC leaves
    /// <c>reasonCode</c> open to any code system, so the reason for the referral carries both the population and the facts.
    /// </summary>
    public const string EligibilityCriterionSystem = "urn:calaimhub:eligibility-criterion";

    public const string NpiSystem = "http://hl7.org/fhir/sid/us-npi";
    public const string TaskCodeSystem = "http://hl7.org/fhir/CodeSystem/task-code";

    private static readonly FhirJsonDeserializer Deserializer = new(new DeserializerSettings());

    public static ReferralReading Read(ReadOnlySpan<byte> body, string eventId, string platform, DateTimeOffset receivedAt)
    {
        Resource? resource;
        IEnumerable<CodedException> issues;
        try
        {
            var reader = new Utf8JsonReader(body);
            Deserializer.TryDeserializeResource(ref reader, out resource, out issues);
        }
        catch (JsonException e)
        {
            return Fail("$", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }

        var structural = issues.Select(Describe).ToList();
        if (structural.Count > 0)
        {
            return new(null, structural);
        }

        var errors = new List<ReferralFieldError>();
        var parts = Parts(resource!, errors);
        if (errors.Count > 0)
        {
            return new(null, errors);
        }

        return Map(parts, eventId, platform, receivedAt);
    }

    private static ReferralReading Map(ReferralParts parts, string eventId, string platform, DateTimeOffset receivedAt)
    {
        var errors = new List<ReferralFieldError>();
        var (request, task, patients, requestFullUrl) = parts;
        if (request is null && task is null)
        {
            return Fail("resourceType", "must be a Task, a ServiceRequest, or a transaction Bundle holding the referral's ServiceRequest and Task");
        }

        TaskStatusMapping? mapping = null;
        string? referralId = null;
        if (task is not null)
        {
            mapping = CheckTask(task, request, requestFullUrl, errors, out referralId);
        }

        if (request is not null)
        {
            if (string.IsNullOrEmpty(request.Id))
            {
                errors.Add(new("ServiceRequest.id", "is required: the referral's id on the platform"));
            }
            else if (!ReferralIdentifiers.IsPlatformReferralId(request.Id))
            {
                errors.Add(new("ServiceRequest.id", "must be a FHIR id: 1-64 letters, digits, '-' or '.'"));
            }
            else
            {
                referralId = request.Id;
            }

            if (task is null && request.Status != RequestStatus.Active)
            {
                errors.Add(new("ServiceRequest.status", "must be 'active' for a new referral; report later statuses as Task updates"));
            }
        }

        var kind = mapping?.TaskStatus switch
        {
            "cancelled" or "entered-in-error" => ReferralEventKind.Cancelled,
            "requested" or null when request is not null => ReferralEventKind.Created,
            _ => ReferralEventKind.StatusChanged,
        };

        ReferralService? service = null;
        MemberReference? member = null;
        ReferringEntity? referrer = null;
        IReadOnlyList<string>? facts = null;
        string? receiving = null;
        if (request is not null)
        {
            patients = WithContained(patients, request);
            service = Service(request, errors);
            member = Member(request.Subject, "ServiceRequest.subject", patients, errors) ?? (task is null ? null : Member(task.For, "Task.for", patients, new List<ReferralFieldError>()));
            referrer = Referrer(request.Requester, "ServiceRequest.requester", errors);
            facts = SupportingFacts(request, errors);
            receiving = Npi(request.Performer.FirstOrDefault(), "ServiceRequest.performer[0]", errors);
        }

        if (kind == ReferralEventKind.Created)
        {
            if (service is null && !errors.Any(e => e.Field.StartsWith("ServiceRequest.code", StringComparison.Ordinal) || e.Field.StartsWith("ServiceRequest.reasonCode", StringComparison.Ordinal)))
            {
                errors.Add(new("ServiceRequest.code", $"is required: a coding with system '{ServiceSystem}' and code 'ecm' or a Community Supports service id"));
            }

            if (member is null && !errors.Any(e => e.Field.StartsWith("ServiceRequest.subject", StringComparison.Ordinal) || e.Field.StartsWith("Patient.", StringComparison.Ordinal)))
            {
                errors.Add(new("ServiceRequest.subject", $"is required: the member, as an identifier (system '{CinSystem}') or a reference to a Patient in the Bundle that has one"));
            }

            if (referrer is null && !errors.Any(e => e.Field.StartsWith("ServiceRequest.requester", StringComparison.Ordinal)))
            {
                errors.Add(new("ServiceRequest.requester", "is required: the referring organization (display, and identifier with system '" + NpiSystem + "' when it has an NPI)"));
            }
        }

        if (errors.Count > 0)
        {
            return new(null, errors);
        }

        var status = mapping?.DhcsStatus ?? ReferralStatus.Pending;
        var reason = task?.StatusReason?.Text is { Length: > 0 } text ? text.Trim() : mapping?.ImpliedReason;
        var urgency = (task?.Priority ?? request?.Priority) is RequestPriority.Urgent or RequestPriority.Asap or RequestPriority.Stat
            ? ReferralUrgency.Urgent
            : ReferralUrgency.Routine;
        var occurredAt = Instant(task?.LastModifiedElement) ?? Instant(task?.AuthoredOnElement) ?? Instant(request?.AuthoredOnElement) ?? receivedAt;
        return new(new ReferralEvent(
            eventId, platform, ReferralEvent.HubReferralId(platform, referralId!), referralId!, kind, status,
            mapping?.TaskStatus ?? ReferralStatusMap.ToTaskStatus(status, reason), reason, service, member, referrer, receiving, urgency, occurredAt, receivedAt,
            kind == ReferralEventKind.Created ? facts : null), []);
    }

    /// <summary>The SDOHCC Task For Referral Management rules; returns the status row, and the referral id from <c>Task.focus</c>.</summary>
    private static TaskStatusMapping? CheckTask(FhirTask task, ServiceRequest? request, string? requestFullUrl, List<ReferralFieldError> errors, out string? referralId)
    {
        referralId = null;
        TaskStatusMapping? mapping = null;
        var code = task.Status is { } s ? EnumUtility.GetLiteral(s) : null;
        if (code is null)
        {
            errors.Add(new("Task.status", "is required"));
        }
        else if (ReferralStatusMap.ExcludedByProfile.Contains(code))
        {
            errors.Add(new("Task.status", $"'{code}' is not in the SDOHCC Referral Task Status value set; use one of {ReferralStatusMap.AllTaskStatuses}"));
        }
        else if ((mapping = ReferralStatusMap.FromTaskStatus(code)) is { DhcsStatus: null })
        {
            errors.Add(new("Task.status", $"'{code}' is not actionable yet ({mapping.Meaning}); send the Task when it is 'requested'"));
        }
        else if (mapping is { ReasonRequired: true } && string.IsNullOrWhiteSpace(task.StatusReason?.Text))
        {
            errors.Add(new("Task.statusReason.text", $"is required when Task.status is '{code}': why ({mapping.Meaning})"));
        }

        if (task.Intent != FhirTask.TaskIntent.Order)
        {
            errors.Add(new("Task.intent", "must be 'order' (SDOHCC Task For Referral Management)"));
        }

        if (task.Code?.Coding.Any(c => c.System == TaskCodeSystem && c.Code == "fulfill") != true)
        {
            errors.Add(new("Task.code", $"must be {TaskCodeSystem}#fulfill"));
        }

        if (task.For is null)
        {
            errors.Add(new("Task.for", "is required: the member"));
        }

        if (string.IsNullOrEmpty(task.AuthoredOn))
        {
            errors.Add(new("Task.authoredOn", "is required"));
        }

        if (task.Requester is null)
        {
            errors.Add(new("Task.requester", "is required: the referring organization or practitioner role"));
        }

        var focus = task.Focus?.Reference;
        if (string.IsNullOrEmpty(focus))
        {
            errors.Add(new("Task.focus", "is required: a reference to the referral's ServiceRequest ('ServiceRequest/{id}')"));
        }
        else if (request is not null)
        {
            if (focus != $"ServiceRequest/{request.Id}" && focus != requestFullUrl)
            {
                errors.Add(new("Task.focus", "must reference the ServiceRequest in the Bundle"));
            }
        }
        else if (focus.StartsWith("ServiceRequest/", StringComparison.Ordinal) && ReferralIdentifiers.IsPlatformReferralId(focus["ServiceRequest/".Length..]))
        {
            referralId = focus["ServiceRequest/".Length..];
        }
        else
        {
            errors.Add(new("Task.focus", "must be 'ServiceRequest/{id}', the referral's ServiceRequest"));
        }

        return mapping;
    }

    private static ReferralService? Service(ServiceRequest request, List<ReferralFieldError> errors)
    {
        var code = request.Code?.Coding.FirstOrDefault(c => c.System == ServiceSystem)?.Code;
        if (code is null)
        {
            return null;
        }

        var populations = request.ReasonCode.SelectMany(c => c.Coding).Where(c => c.System == PopulationOfFocusSystem).Select(c => c.Code ?? "").ToList();
        if (ReferralService.Problem(code, populations) is { } problem)
        {
            errors.Add(new(problem.Field == "code" ? "ServiceRequest.code" : "ServiceRequest.reasonCode" + problem.Field["populationsOfFocus".Length..], problem.Message));
            return null;
        }

        return new ReferralService(code, populations);
    }

    /// <summary>The eligibility facts in <c>ServiceRequest.reasonCode</c> (system <see cref="EligibilityCriterionSystem"/>); a bad one is named, not echoed.</summary>
    private static IReadOnlyList<string>? SupportingFacts(ServiceRequest request, List<ReferralFieldError> errors)
    {
        var facts = new List<string>();
        for (var i = 0; i < request.ReasonCode.Count; i++)
        {
            for (var j = 0; j < request.ReasonCode[i].Coding.Count; j++)
            {
                if (request.ReasonCode[i].Coding[j] is { System: EligibilityCriterionSystem } coding)
                {
                    if (coding.Code is { } code && ReferralEligibility.IsCriterion(code))
                    {
                        facts.Add(code);
                    }
                    else
                    {
                        errors.Add(new($"ServiceRequest.reasonCode[{i}].coding[{j}].code", ReferralEligibility.NotACriterion));
                    }
                }
            }
        }

        return facts.Count == 0 ? null : [.. facts.Distinct(StringComparer.Ordinal)];
    }

    private static MemberReference? Member(ResourceReference? subject, string field, IReadOnlyDictionary<string, Patient> patients, List<ReferralFieldError> errors)
    {
        if (subject is null)
        {
            return null;
        }

        var patient = subject.Reference is { } reference ? patients.GetValueOrDefault(reference) : null;
        var identifier = subject.Identifier is { System: CinSystem } direct
            ? direct
            : patient?.Identifier.FirstOrDefault(i => i.System == CinSystem);
        if (identifier is null)
        {
            errors.Add(new(field, $"must identify the member by Medi-Cal CIN: identifier with system '{CinSystem}', or a reference to a Patient in the Bundle that has one"));
            return null;
        }

        var cin = identifier.Value?.Trim().ToUpperInvariant();
        if (cin is null || !AuthorizationRequestReader.IsCin(cin))
        {
            // The value is member data: never echoed.
            errors.Add(new(field, "has a CIN identifier that is not a Medi-Cal CIN (8 digits followed by a letter)"));
            return null;
        }

        var before = errors.Count;
        var county = patient is null ? null : County(patient, errors);
        return errors.Count > before ? null : new MemberReference(cin, county);
    }

    /// <summary>
    /// The member's county of residence: <c>Address.district</c> ("county", FHIR R4) of the Patient's current home address.
    /// </summary>
    /// <remarks>
    /// Why the address and not an extension: Gravity SDOHCC's subject is a US Core Patient, whose address is a plain R4
    /// Address; a conformant EHR fills <c>district</c> with the county when it knows it, and no published extension
    /// carries a member's county. Old and billing addresses are skipped, a home address wins over others, and an address
    /// in another state has no California county (routing then ignores the county). The value is never echoed.
    /// </remarks>
    private static string? County(Patient patient, List<ReferralFieldError> errors)
    {
        var found = patient.Address
            .Select((address, index) => (Address: address, Index: index))
            .Where(a => !string.IsNullOrWhiteSpace(a.Address.District) && a.Address.Use is not (Address.AddressUse.Old or Address.AddressUse.Billing))
            .Where(a => string.IsNullOrWhiteSpace(a.Address.State) || InCalifornia(a.Address.State))
            .OrderByDescending(a => a.Address.Use == Address.AddressUse.Home)
            .Cast<(Address Address, int Index)?>()
            .FirstOrDefault();
        if (found is not { } home)
        {
            return null;
        }

        var county = CaliforniaCounties.Find(home.Address.District);
        if (county is null)
        {
            errors.Add(new($"Patient.address[{home.Index}].district", CaliforniaCounties.NotACounty));
        }

        return county;
    }

    private static bool InCalifornia(string state) =>
        string.Equals(state.Trim(), "CA", StringComparison.OrdinalIgnoreCase) || string.Equals(state.Trim(), "California", StringComparison.OrdinalIgnoreCase);

    /// <summary>The Bundle's Patients plus those contained in the ServiceRequest (<c>subject</c> = <c>#id</c>).</summary>
    private static IReadOnlyDictionary<string, Patient> WithContained(IReadOnlyDictionary<string, Patient> patients, ServiceRequest request)
    {
        var contained = request.Contained.OfType<Patient>().Where(p => !string.IsNullOrEmpty(p.Id)).ToList();
        if (contained.Count == 0)
        {
            return patients;
        }

        var all = new Dictionary<string, Patient>(patients, StringComparer.Ordinal);
        foreach (var patient in contained)
        {
            all["#" + patient.Id] = patient;
        }

        return all;
    }

    private static ReferringEntity? Referrer(ResourceReference? requester, string field, List<ReferralFieldError> errors)
    {
        if (requester is null)
        {
            return null;
        }

        var npi = Npi(requester, field, errors);
        if (string.IsNullOrWhiteSpace(requester.Display))
        {
            errors.Add(new(field + ".display", "is required: the referring organization's name"));
            return null;
        }

        return new ReferringEntity(requester.Display.Trim(), npi);
    }

    private static string? Npi(ResourceReference? reference, string field, List<ReferralFieldError> errors)
    {
        if (reference?.Identifier is not { System: NpiSystem } identifier)
        {
            return null;
        }

        if (NationalProviderIdentifier.Problem(identifier.Value) is { } problem)
        {
            errors.Add(new(field + ".identifier.value", problem));
            return null;
        }

        return identifier.Value;
    }

    private static ReferralParts Parts(Resource resource, List<ReferralFieldError> errors)
    {
        switch (resource)
        {
            case FhirTask task:
                return new ReferralParts(null, task, new Dictionary<string, Patient>(), null);
            case ServiceRequest request:
                return new(request, null, new Dictionary<string, Patient>(), null);
            case Bundle bundle:
                if (bundle.Type != Bundle.BundleType.Transaction)
                {
                    errors.Add(new("Bundle.type", "must be 'transaction'"));
                }

                ServiceRequest? foundRequest = null;
                string? requestFullUrl = null;
                FhirTask? foundTask = null;
                var patients = new Dictionary<string, Patient>(StringComparer.Ordinal);
                for (var i = 0; i < bundle.Entry.Count; i++)
                {
                    var entry = bundle.Entry[i];
                    switch (entry.Resource)
                    {
                        case ServiceRequest r when foundRequest is null:
                            (foundRequest, requestFullUrl) = (r, entry.FullUrl);
                            break;
                        case FhirTask t when foundTask is null:
                            foundTask = t;
                            break;
                        case Patient p:
                            if (entry.FullUrl is { Length: > 0 } url)
                            {
                                patients[url] = p;
                            }

                            if (p.Id is { Length: > 0 } id)
                            {
                                patients["Patient/" + id] = p;
                            }

                            break;
                        case ServiceRequest or FhirTask:
                            errors.Add(new($"Bundle.entry[{i}].resource", "one referral per Bundle: only one ServiceRequest and one Task"));
                            break;
                        case null:
                            errors.Add(new($"Bundle.entry[{i}].resource", "is required"));
                            break;
                        default:
                            errors.Add(new($"Bundle.entry[{i}].resource", $"a {entry.Resource.TypeName} is not part of a referral; send the ServiceRequest, its Task and the Patient"));
                            break;
                    }
                }

                return new(foundRequest, foundTask, patients, requestFullUrl);
            default:
                errors.Add(new("resourceType", $"a {resource.TypeName} is not a referral; send a Task, a ServiceRequest or a transaction Bundle"));
                return new(null, null, new Dictionary<string, Patient>(), null);
        }
    }

    /// <summary>
    /// A Firely issue as a field error: its instance path (e.g. <c>Task.status</c>) and its message without the location
    /// suffix and without the value it quotes (<see cref="WithoutValues"/>).
    /// </summary>
    private static ReferralFieldError Describe(CodedException issue)
    {
        var path = (issue as ExtendedCodedException)?.InstancePath;
        var message = issue.Message;
        var at = message.IndexOf(" At ", StringComparison.Ordinal);
        return new(path is null or "$this" ? "$" : path, WithoutValues(at > 0 ? message[..at] : message));
    }

    /// <summary>
    /// The parser's message with every value from the payload taken out. Firely quotes the offending value ("Literal
    /// '1961-13-02' cannot be parsed as a date", "Value 'x' is not a correct code…", "… with value 'x'"), and in a
    /// referral that value may be a birth date, a name or an identifier: member data that must not come back in an
    /// answer (which platforms log) nor reach ours. Names the FHIR specification defines (element, type, value set,
    /// enumeration) stay, since they are what the sender needs to fix; any other quoted text is masked.
    /// </summary>
    public static string WithoutValues(string message)
    {
        var text = LeadingValue().Replace(message, "");
        text = TrailingValue().Replace(text, "");
        text = TypedValue().Replace(text, "${kind}");
        text = Quoted().Replace(text, m =>
        {
            var before = text[..m.Index].TrimEnd();
            var word = before[(before.LastIndexOf(' ') + 1)..];
            return KeptAfter.Contains(word) ? m.Value : "'…'";
        });

        // Last resort for a message shape not foreseen above: no run of digits (a CIN, a birth date, a phone) survives.
        return Digits().Replace(text, "…");
    }

    private static readonly HashSet<string> KeptAfter = new(StringComparer.OrdinalIgnoreCase)
    {
        "valueset", "element", "elements", "property", "member", "type", "enumeration", "resourceType", "resource", "choice",
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:String value|Value|Literal|Cannot convert(?: string value)?) '[^']*' ")]
    private static partial System.Text.RegularExpressions.Regex LeadingValue();

    [System.Text.RegularExpressions.GeneratedRegex(@",? with value '[^']*'")]
    private static partial System.Text.RegularExpressions.Regex TrailingValue();

    [System.Text.RegularExpressions.GeneratedRegex(@"'[^']*'")]
    private static partial System.Text.RegularExpressions.Regex Quoted();

    /// <summary>"integer 19610402 is not the right type…", "string '1961-13-02' is not a correct literal…": the kind stays.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\b(?<kind>integer|number|decimal|boolean|string) (?:'[^']*'|\S+)(?= is not)")]
    private static partial System.Text.RegularExpressions.Regex TypedValue();

    [System.Text.RegularExpressions.GeneratedRegex(@"\d{3,}")]
    private static partial System.Text.RegularExpressions.Regex Digits();

    private static DateTimeOffset? Instant(FhirDateTime? value) =>
        value is not null && value.TryToDateTimeOffset(out var instant) ? instant : null;

    private static ReferralReading Fail(string field, string message) => new(null, [new(field, message)]);

    private sealed record ReferralParts(ServiceRequest? Request, FhirTask? Task, IReadOnlyDictionary<string, Patient> Patients, string? RequestFullUrl);
}
