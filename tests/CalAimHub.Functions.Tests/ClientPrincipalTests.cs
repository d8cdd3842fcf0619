using System.Security.Claims;
using System.Text;
using CalAimHub.Functions.Staff;
using CalAimHub.Hosting.Staff;

namespace CalAimHub.Functions.Tests;

/// <summary>Reading X-MS-CLIENT-PRINCIPAL as App Service authentication writes it for a Microsoft Entra sign-in.</summary>
public sealed class ClientPrincipalTests
{
    // Easy Auth's shape for Entra: role_typ names the long role claim type while app roles arrive as "roles" claims.
    private const string EasyAuthPayload = """
        {"auth_typ":"aad","claims":[
          {"typ":"http://schemas.microsoft.com/identity/claims/objectidentifier","val":"0f7a1c2e-0000-4000-8000-000000000001"},
          {"typ":"preferred_username","val":"dana@plan.example"},
          {"typ":"name","val":"Dana Decider"},
          {"typ":"roles","val":"viewer"},
          {"typ":"roles","val":"decider"}],
         "name_typ":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
         "role_typ":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}
        """;

    [Fact]
    public void An_entra_principal_gives_its_name_object_id_and_app_roles()
    {
        var principal = ClientPrincipal.TryDecode(Convert.ToBase64String(Encoding.UTF8.GetBytes(EasyAuthPayload)))!;

        var user = new ClaimsPrincipal(ClientPrincipalAuthentication.ToIdentity(principal));

        Assert.Equal("Dana Decider", user.Identity!.Name);
        Assert.Equal("0f7a1c2e-0000-4000-8000-000000000001", user.FindFirst(ClientPrincipal.ObjectIdType)!.Value);
        Assert.True(user.IsInRole("viewer"));
        Assert.True(user.IsInRole("decider"));
        Assert.False(user.IsInRole("operator"));
        Assert.Equal(["viewer", "decider"], StaffAccess.Roles(user));
    }

    [Fact]
    public void The_development_identity_round_trips_through_the_header()
    {
        var header = ClientPrincipal.Development("dana", ["operator"]).Encode();

        var user = new ClaimsPrincipal(ClientPrincipalAuthentication.ToIdentity(ClientPrincipal.TryDecode(header)!));

        Assert.Equal("dana", user.Identity!.Name);
        Assert.Equal(["operator"], StaffAccess.Roles(user));
    }

    [Theory]
    [InlineData("")]
    [InlineData("%%%")]
    [InlineData("bm90IGpzb24=")] // "not json"
    [InlineData("eyJhdXRoX3R5cCI6ImFhZCJ9")] // {"auth_typ":"aad"}: no claims
    public void A_header_that_is_not_a_client_principal_reads_as_none(string header) => Assert.Null(ClientPrincipal.TryDecode(header));

    [Theory]
    [InlineData("X-MS-CLIENT-PRINCIPAL", true)]
    [InlineData("x-ms-client-principal-name", true)]
    [InlineData("X-MS-CLIENT-PRINCIPAL-IDP", true)]
    [InlineData("X-MS-TOKEN-AAD-ID-TOKEN", true)]
    [InlineData("X-MS-REQUEST-ID", false)]
    [InlineData("Authorization", false)]
    public void The_headers_app_service_authentication_owns(string header, bool owned) => Assert.Equal(owned, ClientPrincipal.IsOwnedHeader(header));
}
