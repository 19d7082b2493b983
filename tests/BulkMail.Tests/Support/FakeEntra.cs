using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BulkMail.Sandbox.Graph;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BulkMail.Tests.Support;

/// <summary>
/// Entra ID's token endpoint at the protocol edge (sign-in cannot run here): HTTPS on loopback with a throw-away
/// certificate, <c>/{tenant}/oauth2/v2.0/token</c> answering the on-behalf-of (jwt-bearer), refresh_token and
/// client_credentials grants the way the Microsoft identity platform does, AADSTS errors included. It issues opaque
/// Graph tokens that <see cref="ValidateGraphToken"/> recognises, so the Graph sandbox can demand real bearer tokens.
/// </summary>
public sealed class FakeEntra : IAsyncDisposable
{
    public const string TenantId = "7a3c1e52-0d4b-4f5e-9a61-2b8c7d9e0f13";
    public const string ClientId = "5d2f8c41-3b6a-4e7d-8f90-1a2b3c4d5e6f";
    public const string ClientSecret = "bulkmail-test-secret~0123456789";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (string? User, bool AppOnly, DateTimeOffset Expires)> _graphTokens = new();
    private readonly ConcurrentDictionary<string, string> _apiTokens = new(); // token for BulkMail's API → user
    private readonly ConcurrentDictionary<string, (string User, string Scope)> _refreshTokens = new();
    private readonly ConcurrentQueue<Grant> _grants = new();

    private FakeEntra(WebApplication app, X509Certificate2 certificate, Uri instance)
    {
        _app = app;
        Certificate = certificate;
        Instance = instance;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>What <c>AzureAd:Instance</c> points at, e.g. <c>https://127.0.0.1:41234/</c>.</summary>
    public Uri Instance { get; }

    /// <summary>Seconds a Graph access token lives. MSAL renews tokens with under 5 minutes left, so 60 makes every call renew.</summary>
    public int AccessTokenLifetime { get; set; } = 3600;

    /// <summary>False: the on-behalf-of grant fails with AADSTS65001 (no consent for Mail.Send / Mail.ReadWrite).</summary>
    public bool ConsentGranted { get; set; } = true;

    public IReadOnlyList<Grant> Grants => [.. _grants];

    public sealed record Grant(string Type, string? User, string Scope);

    /// <summary>Settings that point the API at this endpoint as its app registration.</summary>
    public Dictionary<string, string?> Settings(string graphAuth, string? secret = null) => new()
    {
        ["Graph:Auth"] = graphAuth,
        ["Graph:InstanceDiscovery"] = "false",
        ["Graph:Resource"] = "https://graph.microsoft.com",
        ["AzureAd:Instance"] = Instance.ToString(),
        ["AzureAd:TenantId"] = TenantId,
        ["AzureAd:ClientId"] = ClientId,
        ["AzureAd:ClientSecret"] = secret ?? ClientSecret,
    };

    /// <summary>MSAL's HTTP client trusts this endpoint's certificate (and nothing else new).</summary>
    public void Trust(IServiceCollection services) =>
        services.AddHttpClient(BulkMail.Api.Auth.MsalGraphTokens.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None || cert?.Thumbprint == Certificate.Thumbprint,
        });

    /// <summary>A token the user's Outlook would hold for BulkMail's API (what the task pane sends as its bearer token).</summary>
    public string SignIn(string user)
    {
        var token = Jwt(new JsonObject { ["aud"] = $"api://{ClientId}", ["preferred_username"] = user, ["nonce"] = Guid.NewGuid().ToString("N") });
        _apiTokens[token] = user;
        return token;
    }

    /// <summary>The user's refresh tokens stop working (password reset, sign-out everywhere, account disabled).</summary>
    public void RevokeSessions(string user)
    {
        foreach (var (rt, v) in _refreshTokens)
        {
            if (string.Equals(v.User, user, StringComparison.OrdinalIgnoreCase))
            {
                _refreshTokens.TryRemove(rt, out _);
            }
        }
        foreach (var (at, v) in _graphTokens)
        {
            if (string.Equals(v.User, user, StringComparison.OrdinalIgnoreCase))
            {
                _graphTokens.TryRemove(at, out _);
            }
        }
    }

    /// <summary>Every Graph token issued so far stops working (e.g. Continuous Access Evaluation after an admin action):
    /// Graph answers 401 to them, while the client may still hold them as unexpired.</summary>
    public void InvalidateGraphTokens() => _graphTokens.Clear();

    public SandboxCaller? ValidateGraphToken(string token) =>
        _graphTokens.TryGetValue(token, out var t) && t.Expires > DateTimeOffset.UtcNow ? new SandboxCaller(t.User, t.AppOnly) : null;

    public static async Task<FakeEntra> StartAsync()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=fake-entra.localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        FakeEntra? self = null;
        app.MapPost("/{tenant}/oauth2/v2.0/token", (HttpContext ctx, string tenant) => self!.TokenAsync(ctx, tenant));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Urls.First();
        self = new FakeEntra(app, certificate, new Uri(address.TrimEnd('/') + "/"));
        return self;
    }

    private async Task TokenAsync(HttpContext ctx, string tenant)
    {
        var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
        string? F(string name) => form.TryGetValue(name, out var v) ? v.ToString() : null;
        if (tenant != TenantId)
        {
            await ErrorAsync(ctx, 400, "invalid_request", 90002, $"Tenant '{tenant}' not found.");
            return;
        }
        if (F("client_id") != ClientId || F("client_secret") != ClientSecret)
        {
            await ErrorAsync(ctx, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
            return;
        }
        var scope = F("scope") ?? "";
        switch (F("grant_type"))
        {
            case "urn:ietf:params:oauth:grant-type:jwt-bearer" when F("requested_token_use") == "on_behalf_of":
            {
                if (F("assertion") is not { } assertion || !_apiTokens.TryGetValue(assertion, out var user))
                {
                    await ErrorAsync(ctx, 400, "invalid_grant", 50013, "Assertion failed signature validation.");
                    return;
                }
                _grants.Enqueue(new Grant("on_behalf_of", user, scope));
                if (!ConsentGranted)
                {
                    await ErrorAsync(ctx, 400, "invalid_grant", 65001,
                        $"The user or administrator has not consented to use the application with ID '{ClientId}'. Send an interactive authorization request for this user and resource.",
                        suberror: "consent_required");
                    return;
                }
                await IssueAsync(ctx, user, scope, refresh: true);
                return;
            }
            case "refresh_token":
            {
                // Like Entra, a redeemed refresh token stays valid until it expires or is revoked.
                if (F("refresh_token") is not { } rt || !_refreshTokens.TryGetValue(rt, out var session))
                {
                    await ErrorAsync(ctx, 400, "invalid_grant", 50173,
                        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.");
                    return;
                }
                _grants.Enqueue(new Grant("refresh_token", session.User, scope));
                await IssueAsync(ctx, session.User, scope, refresh: true);
                return;
            }
            case "client_credentials":
                _grants.Enqueue(new Grant("client_credentials", null, scope));
                if (!scope.EndsWith("/.default", StringComparison.Ordinal))
                {
                    await ErrorAsync(ctx, 400, "invalid_scope", 1002012, $"The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
                    return;
                }
                await IssueAsync(ctx, null, scope, refresh: false);
                return;
            default:
                await ErrorAsync(ctx, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
                return;
        }
    }

    private async Task IssueAsync(HttpContext ctx, string? user, string scope, bool refresh)
    {
        var access = "graph-at-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _graphTokens[access] = (user, user is null, DateTimeOffset.UtcNow.AddSeconds(AccessTokenLifetime));
        var body = new JsonObject
        {
            ["token_type"] = "Bearer",
            // Entra answers with the scopes granted, without offline_access/openid/profile.
            ["scope"] = string.Join(' ', scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => s.Contains('/'))),
            ["expires_in"] = AccessTokenLifetime,
            ["ext_expires_in"] = AccessTokenLifetime,
            ["access_token"] = access,
        };
        if (user is not null)
        {
            var oid = new Guid(MD5.HashData(Encoding.UTF8.GetBytes(user.ToLowerInvariant()))).ToString();
            if (refresh)
            {
                var rt = "graph-rt-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                _refreshTokens[rt] = (user, scope);
                body["refresh_token"] = rt;
            }
            body["id_token"] = Jwt(new JsonObject
            {
                ["aud"] = ClientId, ["iss"] = $"{Instance}{TenantId}/v2.0", ["oid"] = oid, ["sub"] = oid, ["tid"] = TenantId,
                ["preferred_username"] = user, ["name"] = user, ["ver"] = "2.0",
                ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["exp"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(),
            });
            body["client_info"] = Base64Url(Encoding.UTF8.GetBytes(new JsonObject { ["uid"] = oid, ["utid"] = TenantId }.ToJsonString()));
        }
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private static async Task ErrorAsync(HttpContext ctx, int status, string error, int code, string description, string? suberror = null)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        var body = new JsonObject
        {
            ["error"] = error,
            ["error_description"] = $"AADSTS{code}: {description} Trace ID: {Guid.NewGuid()} Correlation ID: {Guid.NewGuid()} Timestamp: {DateTime.UtcNow:yyyy-MM-dd HH:mm:ssZ}",
            ["error_codes"] = new JsonArray(code),
            ["timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["trace_id"] = Guid.NewGuid().ToString(),
            ["correlation_id"] = Guid.NewGuid().ToString(),
        };
        if (suberror is not null)
        {
            body["suberror"] = suberror;
        }
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private static string Jwt(JsonObject claims) =>
        $"{Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}"u8.ToArray())}.{Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }
}
