namespace CalAimHub.Referrals.Tests;

/// <summary>Payloads shared by the adapter and end-to-end tests. The member data in them must never reach a log.</summary>
public static class ReferralSamples
{
    public const string Cin = "91234567A";
    public const string ReferrerNpi = "1234567893";

    public static string GenericCreated(
        string referralId = "R-1001", string service = """{"code":"ecm","populationsOfFocus":["experiencing-homelessness-adults"]}""", string? county = null) => $$"""
        {
          "type": "referral.created",
          "referralId": "{{referralId}}",
          "occurredAt": "2026-07-02T09:30:00-07:00",
          "service": {{service}},
          "member": { "cin": "{{Cin}}"{{(county is null ? "" : $", \"county\": \"{county}\"")}} },
          "referringEntity": { "name": "St. Rosa Delgado Medical Center", "npi": "{{ReferrerNpi}}" },
          "urgency": "discharge"
        }
        """;

    public static string GenericStatus(string referralId, string status, string? reason = null) => $$"""
        {
          "type": "referral.status-changed",
          "referralId": "{{referralId}}",
          "occurredAt": "2026-07-03T10:00:00Z",
          "status": "{{status}}"{{(reason is null ? "" : $",\n  \"reason\": \"{reason}\"")}}
        }
        """;

    public static string FhirTask(string status, string serviceRequestId = "sr-77", string? statusReason = null) => $$"""
        {
          "resourceType": "Task",
          "id": "task-{{serviceRequestId}}",
          "status": "{{status}}",
          {{(statusReason is null ? "" : $"\"statusReason\": {{ \"text\": \"{statusReason}\" }},")}}
          "intent": "order",
          "code": { "coding": [ { "system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill" } ] },
          "focus": { "reference": "ServiceRequest/{{serviceRequestId}}" },
          "for": { "reference": "Patient/p1" },
          "authoredOn": "2026-07-02T09:30:00-07:00",
          "lastModified": "2026-07-03T08:00:00-07:00",
          "requester": { "reference": "Organization/o1", "display": "Valley Clinic" }
        }
        """;

    /// <param name="addresses">The Patient's <c>address</c> array (JSON), e.g. with the county in <c>district</c>; none when null.</param>
    public static string FhirBundle(
        string serviceRequestId = "sr-77", string taskStatus = "requested", string serviceCode = "ecm", string population = "experiencing-homelessness-adults", string? addresses = null) => $$"""
        {
          "resourceType": "Bundle",
          "type": "transaction",
          "entry": [
            {
              "fullUrl": "urn:uuid:0b1c1f1e-0000-4000-8000-000000000001",
              "resource": {
                "resourceType": "Patient",
                "id": "p1",
                "identifier": [ { "system": "urn:calaimhub:medi-cal-cin", "value": "{{Cin}}" } ],
                "name": [ { "family": "Delgado", "given": [ "Rosa" ] } ],{{(addresses is null ? "" : $"\n                \"address\": {addresses},")}}
                "birthDate": "1961-04-02"
              },
              "request": { "method": "PUT", "url": "Patient/p1" }
            },
            {
              "fullUrl": "urn:uuid:0b1c1f1e-0000-4000-8000-000000000002",
              "resource": {
                "resourceType": "ServiceRequest",
                "id": "{{serviceRequestId}}",
                "status": "active",
                "intent": "order",
                "priority": "urgent",
                "code": { "coding": [ { "system": "urn:calaimhub:calaim-service", "code": "{{serviceCode}}" } ] },
                "reasonCode": [ { "coding": [ { "system": "urn:calaimhub:population-of-focus", "code": "{{population}}" } ] } ],
                "subject": { "reference": "Patient/p1" },
                "authoredOn": "2026-07-02T09:30:00-07:00",
                "requester": { "display": "Valley Clinic", "identifier": { "system": "http://hl7.org/fhir/sid/us-npi", "value": "{{ReferrerNpi}}" } }
              },
              "request": { "method": "PUT", "url": "ServiceRequest/{{serviceRequestId}}" }
            },
            {
              "resource": {{FhirTask(taskStatus, serviceRequestId)}},
              "request": { "method": "PUT", "url": "Task/task-{{serviceRequestId}}" }
            }
          ]
        }
        """;

    /// <summary>A lone SDOHCC ServiceRequest (a new referral) whose subject is a Patient contained in it.</summary>
    public static string FhirServiceRequestWithContainedPatient(string district) => $$"""
        {
          "resourceType": "ServiceRequest",
          "id": "sr-88",
          "contained": [
            {
              "resourceType": "Patient",
              "id": "member",
              "identifier": [ { "system": "urn:calaimhub:medi-cal-cin", "value": "{{Cin}}" } ],
              "address": [ { "use": "home", "line": [ "12 Harbor Way" ], "city": "Oakland", "district": "{{district}}", "state": "CA" } ]
            }
          ],
          "status": "active",
          "intent": "order",
          "code": { "coding": [ { "system": "urn:calaimhub:calaim-service", "code": "medically-tailored-meals" } ] },
          "subject": { "reference": "#member" },
          "authoredOn": "2026-07-02T09:30:00-07:00",
          "requester": { "display": "Valley Clinic", "identifier": { "system": "http://hl7.org/fhir/sid/us-npi", "value": "{{ReferrerNpi}}" } }
        }
        """;
}
