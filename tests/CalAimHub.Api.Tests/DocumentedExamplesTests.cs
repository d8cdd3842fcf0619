using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CalAimHub.Api.Tests;

/// <summary>
/// Every request example in the OpenAPI document is sent to the live handler and gets a status the document lists
/// (2xx where the example is meant to succeed), and every field the document calls required, left out of its example,
/// is refused naming that field: the document and the readers cannot drift apart.
/// </summary>
public sealed class DocumentedExamplesTests : IClassFixture<ApiHub>
{
    /// <summary>Examples whose documented answer depends on the instance's state rather than on the body.</summary>
    private static readonly HashSet<string> StateDependent = new(StringComparer.Ordinal) { "RequestReauthorization", "RecordInvoiceRemittance" };

    /// <summary>State-dependent examples whose body is checked before the instance is looked up: their required fields are checked anyway.</summary>
    private static readonly HashSet<string> BodyCheckedFirst = new(StringComparer.Ordinal) { "RecordInvoiceRemittance" };

    /// <summary>The order a staff member would use them in: request, extend, decide, record the notices.</summary>
    private static readonly string[] Sequence =
    [
        "RequestAuthorization", "ExtendAuthorizationReview", "DecideAuthorization", "RecordAuthorizationNoticesSent", "RequestReauthorization",
        "LookUpMemberAuthorizations", "PutProvider", "ImportProviderDirectory", "ReceiveReferralWebhook", "StartWorkflow", "RaiseWorkflowEvent",
        "RecordInvoiceRemittance", "RecordMemberConsent", "SearchMemberConsents", "SearchMemberDisclosures",
    ];

    private readonly ApiHub hub;

    public DocumentedExamplesTests(ApiHub hub) => this.hub = hub;

    [Fact]
    public async Task Every_documented_example_gets_a_documented_answer()
    {
        var operations = ExampleOperations().ToDictionary(o => o.Id, StringComparer.Ordinal);
        Assert.Equal(Sequence.Order(StringComparer.Ordinal), operations.Keys.Order(StringComparer.Ordinal));
        string? authorizationId = null;
        string? probeId = null;
        var answers = new List<string>();

        foreach (var id in Sequence)
        {
            var operation = operations[id];
            using var response = await SendAsync(operation, operation.Example, id == "RaiseWorkflowEvent" ? probeId : authorizationId, $"example-{id}");
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            answers.Add($"{id}: {status}");

            Assert.True(operation.Documented.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                $"{id} answered {status}, which the document does not list ({string.Join(", ", operation.Documented)}): {body}");
            if (!StateDependent.Contains(id))
            {
                Assert.True(status is >= 200 and < 300, $"{id} answered {status}: {body}");
            }

            if (id == "RequestAuthorization")
            {
                authorizationId = JsonNode.Parse(body)!["authorizationId"]!.GetValue<string>();
            }
            else if (id == "StartWorkflow")
            {
                probeId = JsonNode.Parse(body)!["id"]!.GetValue<string>();
            }
        }

        Assert.Equal(Sequence.Length, answers.Count);
    }

    [Fact]
    public async Task Leaving_out_a_required_field_of_an_example_is_refused_naming_that_field()
    {
        var checkedFields = 0;
        foreach (var operation in ExampleOperations().Where(o => o.Required.Count > 0 && (!StateDependent.Contains(o.Id) || BodyCheckedFirst.Contains(o.Id))))
        {
            string? authorizationId = null;
            if (operation.Path.Contains("{id}", StringComparison.Ordinal))
            {
                var created = ExampleOperations().Single(o => o.Id == "RequestAuthorization");
                var fresh = created.Example.DeepClone();
                fresh["memberCin"] = $"9{Random.Shared.Next(1000000, 9999999)}B";
                using var response = await SendAsync(created, fresh, null, "fresh");
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                authorizationId = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["authorizationId"]!.GetValue<string>();
            }

            foreach (var field in operation.Required)
            {
                var body = operation.Example.DeepClone().AsObject();
                body.Remove(field);

                using var response = await SendAsync(operation, body, authorizationId, $"without-{operation.Id}-{field}");
                var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{operation.Id} without '{field}' answered {(int)response.StatusCode}: {problem.ToJsonString()}");
                Assert.Contains($"'{field}'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
                checkedFields++;
            }
        }

        Assert.True(checkedFields >= 12, $"only {checkedFields} required fields checked");
    }

    /// <param name="instanceId">The authorization (or workflow instance) the route's id names.</param>
    private async Task<HttpResponseMessage> SendAsync(ExampleOperation operation, JsonNode body, string? instanceId, string webhookId)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        if (operation.Id == "ReceiveReferralWebhook")
        {
            using var signed = ApiHub.SignedWebhook(bytes, webhookId);
            return await hub.Client.SendAsync(signed);
        }

        var path = operation.Path
            .Replace("{id}", instanceId ?? "auth-missing", StringComparison.Ordinal)
            .Replace("{instanceId}", instanceId ?? "auth-missing", StringComparison.Ordinal)
            // The generic workflow routes are shown on the operations probe (domain types have their own APIs).
            .Replace("{type}", "workflow-probe", StringComparison.Ordinal)
            .Replace("{eventName}", "ping", StringComparison.Ordinal)
            .Replace("{npi}", "1234567893", StringComparison.Ordinal)
            .Replace("{platform}", ApiHub.Platform, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(operation.Method), new Uri(path, UriKind.Relative))
        {
            Content = new ByteArrayContent(bytes) { Headers = { ContentType = new("application/json") } },
        };
        return await hub.Client.SendAsync(request);
    }

    private IEnumerable<ExampleOperation> ExampleOperations()
    {
        var schemas = hub.Document["components"]!["schemas"]!;
        foreach (var (path, operations) in hub.Document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in operations!.AsObject())
            {
                if (operation?["requestBody"]?["content"]?["application/json"] is not JsonObject media || media["example"] is not { } example)
                {
                    continue;
                }

                var schema = media["schema"]!["$ref"] is { } reference ? schemas[reference.GetValue<string>().Split('/')[^1]] : media["schema"];
                var required = schema?["required"]?.AsArray().Select(n => n!.GetValue<string>()).ToArray() ?? [];
                yield return new ExampleOperation(operation["operationId"]!.GetValue<string>(), method.ToUpperInvariant(), path, example,
                    [.. operation["responses"]!.AsObject().Select(r => r.Key)], required);
            }
        }
    }

    private sealed record ExampleOperation(string Id, string Method, string Path, JsonNode Example, IReadOnlyList<string> Documented, IReadOnlyList<string> Required);
}
