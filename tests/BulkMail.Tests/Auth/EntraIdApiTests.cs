using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using BulkMail.Tests.Support;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace BulkMail.Tests.Auth;

/// <summary>
/// Auth:Mode=EntraId as in production (Microsoft.Identity.Web validating bearer tokens), with Entra's signing key
/// replaced at the protocol edge by a key of the test's own: the metadata document cannot be fetched here.
/// </summary>
public class EntraIdApiTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly string Issuer = $"https://login.microsoftonline.com/{FakeEntra.TenantId}/v2.0";

    private sealed class Tenant : IDisposable
    {
        public RSA Rsa { get; } = RSA.Create(2048);
        public RsaSecurityKey Key => new(Rsa) { KeyId = "test-key" };
        public void Dispose() => Rsa.Dispose();

        public string Token(string user, string? scope = "access_as_user", string? audience = null, string? issuer = null, TimeSpan? life = null)
        {
            var claims = new Dictionary<string, object>
            {
                ["oid"] = new Guid(MD5.HashData(System.Text.Encoding.UTF8.GetBytes(user))).ToString(),
                ["tid"] = FakeEntra.TenantId,
                ["preferred_username"] = user,
                ["name"] = "山田 太郎",
                ["ver"] = "2.0",
            };
            if (scope is not null)
            {
                claims["scp"] = scope;
            }
            var now = DateTime.UtcNow;
            return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer ?? Issuer,
                Audience = audience ?? FakeEntra.ClientId,
                Claims = claims,
                NotBefore = now.AddMinutes(-5),
                IssuedAt = now.AddMinutes(-5),
                Expires = now + (life ?? TimeSpan.FromHours(1)),
                SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.RsaSha256),
            });
        }

        /// <summary>Entra's metadata as the API would have fetched it: the issuer and this tenant's signing key.</summary>
        public void Trust(IServiceCollection services) =>
            services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o =>
            {
                var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
                configuration.SigningKeys.Add(Key);
                o.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
                // Microsoft.Identity.Web's issuer validator reads the issuer from the same metadata over the network.
                o.TokenValidationParameters.IssuerValidator = null;
                o.TokenValidationParameters.ValidIssuers = [Issuer];
            });
    }

    [Fact]
    public async Task Only_a_users_token_for_this_api_with_its_scope_gets_in_and_the_user_is_who_the_token_says()
    {
        redis.Require();
        using var tenant = new Tenant();
        await using var hrbc = await HrbcHarness.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["environment"] = "Production",
            ["OptOut:SigningKey"] = "an-unsubscribe-link-signing-key-of-40-chars",
            ["OptOut:PublicBaseUrl"] = "https://bulkmail.example",
            ["OptOut:OrganizationName"] = "株式会社サンプル人材",
            ["OptOut:PostalAddress"] = "東京都千代田区千代田1-1",
            ["Auth:Mode"] = "EntraId",
            ["Graph:Auth"] = "ClientCredentials",
            ["AzureAd:Instance"] = "https://login.microsoftonline.com/",
            ["AzureAd:TenantId"] = FakeEntra.TenantId,
            ["AzureAd:ClientId"] = FakeEntra.ClientId,
            ["AzureAd:ClientSecret"] = FakeEntra.ClientSecret,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Store:KeyPrefix"] = RedisServerFixture.NewPrefix(),
        };
        await using var api = BulkMailApplication.StartWith(hrbc, settings, tenant.Trust);
        using var http = api.CreateClient();

        async Task<HttpStatusCode> GetAs(string? token, string path = "/api/mailings")
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            return (await http.SendAsync(request, Ct)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(null));
        Assert.Equal(HttpStatusCode.OK, await GetAs(tenant.Token("yamada@agency.example")));
        Assert.Equal(HttpStatusCode.OK, await GetAs(tenant.Token("yamada@agency.example"), "/api/templates"));
        // a token of this tenant for this API with another scope (another app's): forbidden; with no scope or role at
        // all Microsoft.Identity.Web does not even sign it in
        Assert.Equal(HttpStatusCode.Forbidden, await GetAs(tenant.Token("yamada@agency.example", scope: "Files.Read")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(tenant.Token("yamada@agency.example", scope: null)));
        // not for this API, expired, or from another tenant / signed by someone else: not signed in at all
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(tenant.Token("yamada@agency.example", audience: "https://graph.microsoft.com")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(tenant.Token("yamada@agency.example", life: TimeSpan.FromMinutes(-10))));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(tenant.Token("yamada@agency.example",
            issuer: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0")));
        using (var stranger = new Tenant())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(stranger.Token("yamada@agency.example")));
        }
        // HRBC's data (candidates' personal data) is behind the same sign-in.
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAs(null, "/api/hrbc/resumes"));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAs(tenant.Token("yamada@agency.example", scope: "Files.Read"), "/api/hrbc/resumes"));

        // The token's user owns what they create: a template saved by one user is not listed for another.
        using var save = new HttpRequestMessage(HttpMethod.Post, "/api/templates")
        {
            Content = JsonContent.Create(new { name = "11月のお知らせ", mode = "Resumes", subject = "{{Person.P_Name}}様", body = "<p>本文</p>" }),
        };
        save.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.Token("yamada@agency.example"));
        Assert.True((await http.SendAsync(save, Ct)).IsSuccessStatusCode);
        foreach (var (user, count) in new[] { ("yamada@agency.example", 1), ("suzuki@agency.example", 0) })
        {
            using var list = new HttpRequestMessage(HttpMethod.Get, "/api/templates");
            list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.Token(user));
            var templates = await (await http.SendAsync(list, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal(count, templates.GetArrayLength());
        }
    }
}
