using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using CalAimHub.Hosting.Staff;

namespace CalAimHub.Api.Tests;

/// <summary>The consent routes: the privacy role, exact problems naming the field (never echoing the CIN), nothing stored on a refusal, idempotent recording.</summary>
public sealed class ConsentApiTests(StaffHub hub) : IClassFixture<StaffHub>
{
    private static readonly string Privacy = ClientPrincipal.Development("pat", [StaffRoles.Privacy]).Encode();

    private static HttpRequestMessage Post(string path, object body, string principal)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        request.Headers.Add(ClientPrincipal.Header, principal);
        return request;
    }

    private static object Grant(string cin, string document, object? choices = null, string kind = "grant") => new
    {
        cin,
        kind,
        formVersion = "ascmi-ab133-2024",
        sourceDocument = document,
        effectiveOn = "2026-11-15",
        choices,
    };

    private async Task<int> StoredConsentsAsync(string cin)
    {
        var count = 0;
        await foreach (var _ in hub.Hub.Storage.Tables.GetTableClient("MemberConsents").QueryAsync<TableEntity>(e => e.PartitionKey == cin))
        {
            count++;
        }

        return count;
    }

    private static async Task<JsonNode> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(text)!;
    }

    [Theory]
    [InlineData("/api/members/consents")]
    [InlineData("/api/members/consents/search")]
    [InlineData("/api/members/disclosures/search")]
    public async Task A_viewer_without_the_privacy_role_is_403(string path)
    {
        using var response = await hub.Handler.SendAsync(Post(path, new { cin = "91234567A" }, ClientPrincipal.Development("vera", [StaffRoles.Viewer, StaffRoles.Operator]).Encode()));

        var problem = await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal($"POST {path} needs the 'privacy' role; vera has viewer, operator", problem["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"cin":"1234"}""", "'cin' must be a Medi-Cal CIN: 8 digits followed by a letter (and 4 more; see errors)")]
    [InlineData("""{"cin":"91234567A","kind":"revocation","formVersion":"ascmi-revocation-2024","sourceDocument":"r.pdf","effectiveOn":"2026-11-15","choices":{"contact":"share"}}""",
        "'choices' must be left out of a revocation: it sets every choice to do-not-share")]
    [InlineData("""{"cin":"91234567A","kind":"grant","formVersion":"f","sourceDocument":"d.pdf","effectiveOn":"2026-11-15","choises":{}}""",
        "'choises' is not a field of this body; the fields are cin, kind, formVersion, sourceDocument, effectiveOn, expiresOn, choices, part2Recipients, recipients")]
    [InlineData("""{"cin":"91234567A","kind":"grant","formVersion":"f","sourceDocument":"d.pdf","effectiveOn":"2026-11-15","choices":{"contact":"maybe"}}""",
        "'choices.contact' must be 'share' or 'do-not-share'")]
    [InlineData("""{"cin":"91234567A","kind":"grant","formVersion":"f","sourceDocument":"d.pdf","effectiveOn":"2026-11-15","expiresOn":"2026-11-14"}""",
        "'expiresOn' must not be before effectiveOn")]
    [InlineData("""{"cin":"91234567A","kind":"grant","formVersion":"f","sourceDocument":"d.pdf","effectiveOn":"2026-11-15","part2Recipients":["../x"]}""",
        "'part2Recipients' must hold provider ids (1 to 64 letters, digits, '-' or '_') or \"any\"")]
    public async Task A_bad_consent_is_400_naming_the_field_and_stores_nothing(string body, string detail)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/members/consents", UriKind.Relative))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(ClientPrincipal.Header, Privacy);
        using var response = await hub.Handler.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("Invalid consent request", problem["title"]!.GetValue<string>());
        Assert.Equal(detail, problem["detail"]!.GetValue<string>());
        Assert.DoesNotContain("1234", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await StoredConsentsAsync("91234567A"));
    }

    [Fact]
    public async Task Identity_is_not_a_choice_a_consent_can_make()
    {
        using var response = await hub.Handler.SendAsync(Post("/api/members/consents", Grant("91234560A", "d0.pdf", new Dictionary<string, string> { ["identity"] = "do-not-share" }), Privacy));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith("'choices.identity' 'identity' is not consent-controlled (the assignment itself is sent under plan operations); the categories a consent decides are contact, ",
            problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recording_the_same_document_again_is_200_and_a_changed_copy_is_409()
    {
        const string cin = "91234561B";
        using var created = await hub.Handler.SendAsync(Post("/api/members/consents", Grant(cin, "forms/same.pdf", new Dictionary<string, string> { ["contact"] = "do-not-share" }), Privacy));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var consent = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.StartsWith("consent-", consent["consentId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("do-not-share", consent["choices"]!["contact"]!.GetValue<string>());
        Assert.Equal(["any"], consent["recipients"]!.AsArray().Select(r => r!.GetValue<string>()));

        using var again = await hub.Handler.SendAsync(Post("/api/members/consents", Grant(cin, "forms/same.pdf", new Dictionary<string, string> { ["contact"] = "do-not-share" }), Privacy));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        using var changed = await hub.Handler.SendAsync(Post("/api/members/consents", Grant(cin, "forms/same.pdf", new Dictionary<string, string> { ["contact"] = "share" }), Privacy));
        var problem = await ProblemAsync(changed, HttpStatusCode.Conflict);
        Assert.Equal("Consent already recorded differently", problem["title"]!.GetValue<string>());
        Assert.Equal(1, await StoredConsentsAsync(cin));

        using var search = await hub.Handler.SendAsync(Post("/api/members/consents/search", new { cin }, Privacy));
        var found = JsonNode.Parse(await search.Content.ReadAsStringAsync())!;
        Assert.Equal(consent["consentId"]!.GetValue<string>(), Assert.Single(found["consents"]!.AsArray())!["consentId"]!.GetValue<string>());
        Assert.Contains(found["categories"]!.AsArray(), c => c!["id"]!.GetValue<string>() == "substance-use-disorder" && c["part2"]!.GetValue<bool>());
    }
}
