using CalAimHub.Hosting.Http;
using System.Reflection;
using System.Text.Json.Nodes;
using CalAimHub.Domain.CodeSets;
using CalAimHub.Domain.Referrals;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace CalAimHub.Functions.Extensions;

/// <summary>
/// The API contract, derived from the endpoints: OpenAPI 3.1 at <c>GET /api/openapi.json</c> (request and response
/// schemas from the records the routes declare, enums from the hub's code sets, problem+json answers, one realistic
/// example per request body from <c>samples/requests/{operationId}.json</c>) and an interactive reference at
/// <c>/api/docs</c> whose script is embedded in the app (no CDN, no web fonts, no telemetry).
/// </summary>
public static class ApiContract
{
    public const string DocumentRoute = "/api/openapi.json";
    public const string ReferenceRoute = "/api/docs";
    public const string ExampleResourcePrefix = "requests/";

    public static void AddApiContract(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RouteQueryParameters>();
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "CalAimHub",
                    Version = typeof(ApiContract).Assembly.GetName().Version?.ToString(3) ?? "0",
                    Description = "The integration hub between a Medi-Cal managed care plan and its CalAIM partners: ECM and Community Supports "
                        + "authorizations with every deadline clock, closed-loop referrals (signed webhooks, generic JSON or FHIR R4), partner files "
                        + "and the durable workflows behind them. Every refusal is RFC 9457 problem+json naming the field; no member data is ever "
                        + "placed in a URL (use the POST lookups).",
                };
                document.Servers = [new OpenApiServer { Url = "/" }];
                return Task.CompletedTask;
            });
            o.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(CodeListAttribute), inherit: false) is [CodeListAttribute list, ..])
                {
                    var target = schema.Items is OpenApiSchema items && schema.Type is { } t && t.HasFlag(JsonSchemaType.Array) ? items : schema;
                    target.Enum = [.. list.Codes().Select(c => (JsonNode)JsonValue.Create(c))];
                }

                return Task.CompletedTask;
            });
            o.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<RequestBodyContract>().FirstOrDefault() is { } body)
                {
                    IOpenApiSchema schema = body.Type == typeof(Stream)
                        ? new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" }
                        : await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = body.ContentTypes.ToDictionary(t => t, _ => new OpenApiMediaType { Schema = schema }),
                    };
                }

                foreach (var parameter in context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryParameterContract>().SelectMany(c => c.Parameters))
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = parameter.Name,
                        In = ParameterLocation.Query,
                        Description = parameter.Description,
                        Required = parameter.Required,
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                    });
                }

                // Every staff route can refuse a caller: no signed-in principal (401) or not the role it needs (403).
                if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any())
                {
                    operation.Responses ??= [];
                    operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No signed-in staff member (problem+json, type .../sign-in-required)" });
                    operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The signed-in staff member lacks the role this route needs (problem+json naming it)" });
                }

                if (operation.OperationId is { } id && operation.RequestBody?.Content is { } content && Example(id) is { } example)
                {
                    // The hub's own JSON only: a FHIR body on the same route is a different document.
                    if (content.TryGetValue("application/json", out var media) && media is OpenApiMediaType concrete)
                    {
                        concrete.Example = example.DeepClone();
                    }
                }
            });
        });
    }

    public static void MapApiContract(this WebApplication app)
    {
        // The contract is public (it holds no data); the routes it describes are not.
        app.MapOpenApi(DocumentRoute).AllowAnonymous();
        app.MapScalarApiReference(ReferenceRoute, o =>
        {
            o.OpenApiRoutePattern = DocumentRoute;
            o.Title = "CalAimHub API";
            o.DefaultFonts = false;
            o.Telemetry = false;
            o.HideClientButton = true;
        }).AllowAnonymous();
    }

    /// <summary>The sample request body documented for an operation, or null.</summary>
    public static JsonNode? Example(string operationId)
    {
        using var stream = typeof(ApiContract).Assembly.GetManifestResourceStream(ExampleResourcePrefix + operationId + ".json");
        return stream is null ? null : JsonNode.Parse(stream);
    }

    /// <summary>Operation ids that have a documented example.</summary>
    public static IReadOnlyList<string> ExampleOperations() =>
        [.. typeof(ApiContract).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ExampleResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Select(n => n[ExampleResourcePrefix.Length..^".json".Length])];
}

/// <summary>The codes a string (or string array) property takes, from the hub's code sets: the document's enum is the data the code checks against.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class CodeListAttribute(CodeList list) : Attribute
{
    public CodeList List { get; } = list;

    public IEnumerable<string> Codes() => List switch
    {
        CodeList.CommunitySupports => CommunitySupports.Current.Entries.Select(e => e.Id),
        CodeList.PopulationsOfFocus => PopulationsOfFocus.Current.Entries.Select(e => e.Id),
        CodeList.EligibilityCriteria => PopulationsOfFocus.Current.Entries.SelectMany(p => p.Criteria).Select(c => c.Code)
            .Concat(CommunitySupports.Current.Entries.SelectMany(s => s.Criteria).Select(c => c.Code)).Distinct(StringComparer.Ordinal),
        CodeList.ReferralServices => ["ecm", .. CommunitySupports.Current.Entries.Select(e => e.Id)],
        CodeList.ReferralStatuses => ReferralStatuses.DhcsNames.Select(n => n.Value),
        CodeList.Counties => CaliforniaCounties.Names,
        _ => [],
    };
}

public enum CodeList
{
    CommunitySupports,
    PopulationsOfFocus,
    EligibilityCriteria,
    ReferralServices,
    ReferralStatuses,
    Counties,
}
