using System.Security.Claims;
using System.Text.Encodings.Web;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;

namespace BulkMail.Api.Auth;

public enum AuthMode { EntraId, Development }

/// <summary>The signed-in user as the mailing sees them: who owns it, which mailbox sends, and the <c>User.*</c> tags.</summary>
/// <param name="Tenant">The organisation the user belongs to, which owns the suppression list (docs/opt-out.md): the
/// Entra tenant id (<c>tid</c> claim) when the token has one, otherwise <see cref="DefaultTenant"/> (Development sign-in,
/// one organisation per deployment).</param>
public sealed record Sender(string Id, string Mailbox, string DisplayName, string Tenant = Sender.DefaultTenant)
{
    public const string DefaultTenant = "default";
}

/// <summary>The <c>Auth</c> section.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.EntraId;

    /// <summary>Development mode: the user when the request names none.</summary>
    public string DevelopmentUser { get; set; } = "demo@bulkmail.example";

    /// <summary>EntraId mode: the delegated scope a token must carry (the one the task pane asks for).</summary>
    public string RequiredScope { get; set; } = "access_as_user";
}

public static class AuthSetup
{
    public const string DevelopmentScheme = "Development";
    public const string UserHeader = "X-BulkMail-User";
    public const string UserNameHeader = "X-BulkMail-User-Name";

    /// <summary>EntraId: bearer tokens for the API's own scope (Microsoft.Identity.Web). Development: the user named by a
    /// header, for the demo and tests only (refused outside Development).</summary>
    public static WebApplicationBuilder AddBulkMailAuth(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        builder.Services.AddSingleton<UserIdOf>(user => user.Sender().Id);
        builder.AddGraphTokens();
        if (options.Mode == AuthMode.Development)
        {
            if (!builder.Environment.AllowsDemo())
            {
                throw new InvalidOperationException(builder.Environment.Refusal("Auth:Mode=Development (it trusts a request header for the user)") + " Use EntraId.");
            }
            builder.Services.AddAuthentication(DevelopmentScheme)
                .AddScheme<AuthenticationSchemeOptions, DevelopmentAuthenticationHandler>(DevelopmentScheme, null);
        }
        else
        {
            var azureAd = builder.Configuration.GetSection("AzureAd");
            if (string.IsNullOrEmpty(azureAd["ClientId"]) || string.IsNullOrEmpty(azureAd["TenantId"]))
            {
                throw new InvalidOperationException(
                    "Auth:Mode is EntraId (the default) but AzureAd:ClientId and AzureAd:TenantId are not set. Register the API in Entra ID " +
                    "and set them, or set Auth:Mode=Development for the demo and tests.");
            }
            if (string.IsNullOrEmpty(azureAd["Instance"]))
            {
                // Microsoft.Identity.Web has no default and would fail every request (even /healthz) without it.
                azureAd["Instance"] = "https://login.microsoftonline.com/";
            }
            builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddMicrosoftIdentityWebApi(azureAd);
            // A token for this API is not enough: it must be a user's, with the scope the pane asks for (an app-only
            // token or one issued for another purpose gets 403).
            builder.Services.AddRequiredScopeAuthorization();
            builder.Services.AddAuthorizationBuilder().SetDefaultPolicy(new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser().RequireScope(options.RequiredScope).Build());
            return builder;
        }
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>The signed-in user as a sender: who owns mailings and which mailbox sends them.</summary>
    /// <summary>How BulkMail gets Graph tokens to send as the user (Graph:Auth): the app registration's credential
    /// (checked at start-up, naming the keys to set), MSAL's token cache (Redis, or memory in Development) and the
    /// authentication the Graph client uses.</summary>
    private static void AddGraphTokens(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EntraAppOptions>().BindConfiguration(EntraAppOptions.Section);
        services.AddSingleton<IValidateOptions<GraphOptions>>(sp => new GraphCredentialCheck(sp.GetRequiredService<IOptions<EntraAppOptions>>()));
        services.AddHttpClient(MsalGraphTokens.HttpClientName);
        services.AddSingleton<IGraphTokens, MsalGraphTokens>();
        if (builder.UsesRedis())
        {
            services.AddSingleton<ITokenCacheStore, RedisTokenCacheStore>();
        }
        else
        {
            services.AddSingleton<ITokenCacheStore, InMemoryTokenCacheStore>();
        }
        services.AddSingleton<IAuthenticationProvider>(sp => sp.GetRequiredService<IOptions<GraphOptions>>().Value.Auth == GraphAuthMode.None
            ? new AnonymousAuthenticationProvider()
            : new GraphTokenAuthenticationProvider(sp.GetRequiredService<IGraphTokens>()));
    }

    public static Sender Sender(this ClaimsPrincipal user)
    {
        // v2.0 tokens carry preferred_username; v1.0 tokens upn (mapped to ClaimTypes.Upn unless inbound mapping is off).
        var mail = user.FindFirstValue("preferred_username") ?? user.FindFirstValue(ClaimTypes.Email) ?? user.FindFirstValue(ClaimTypes.Upn)
            ?? user.FindFirstValue("upn") ?? user.FindFirstValue("email")
            ?? user.Identity?.Name ?? throw new InvalidOperationException("The signed-in user has no mail address claim.");
        var id = user.FindFirstValue("oid") ?? user.FindFirstValue("http://schemas.microsoft.com/identity/claims/objectidentifier") ?? mail;
        var name = user.FindFirstValue("name") ?? mail;
        var tenant = user.FindFirstValue("tid") ?? user.FindFirstValue("http://schemas.microsoft.com/identity/claims/tenantid");
        return new Sender(id.ToLowerInvariant(), mail, name, string.IsNullOrEmpty(tenant) ? Auth.Sender.DefaultTenant : tenant.ToLowerInvariant());
    }
}

/// <summary>Development only: the user is whoever the <c>X-BulkMail-User</c> header says (default from config).</summary>
public sealed class DevelopmentAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IOptions<AuthOptions> auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var user = Request.Headers[AuthSetup.UserHeader].FirstOrDefault() is { Length: > 0 } header ? header : auth.Value.DevelopmentUser;
        var name = Request.Headers[AuthSetup.UserNameHeader].FirstOrDefault() is { Length: > 0 } n ? n : DisplayNameOf(user);
        var identity = new ClaimsIdentity(
        [
            new Claim("preferred_username", user),
            new Claim("name", name),
            new Claim(ClaimTypes.Name, user),
        ], AuthSetup.DevelopmentScheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), AuthSetup.DevelopmentScheme)));
    }

    private static string DisplayNameOf(string mail) => mail == "demo@bulkmail.example" ? "デモ ユーザー" : mail.Split('@')[0];
}
