using BulkMail.Api.Infrastructure;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;

namespace BulkMail.Api.Auth;

/// <summary>The API's own app registration as a confidential client (the <c>AzureAd</c> section, Microsoft.Identity.Web's
/// names): with it BulkMail gets Graph tokens on behalf of the signed-in user, or for itself (app-only).</summary>
public sealed class EntraAppOptions
{
    public const string Section = "AzureAd";

    public string Instance { get; set; } = "https://login.microsoftonline.com/";
    public string? TenantId { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }

    /// <summary>Microsoft.Identity.Web's credential list; <c>ClientSecret</c> and <c>Path</c> (a PFX file) are read.</summary>
    public List<EntraCredential> ClientCredentials { get; set; } = [];

    public string? Secret => ClientSecret is { Length: > 0 } s ? s
        : ClientCredentials.FirstOrDefault(c => string.Equals(c.SourceType, "ClientSecret", StringComparison.OrdinalIgnoreCase))?.ClientSecret;

    public EntraCredential? Certificate => ClientCredentials.FirstOrDefault(c =>
        string.Equals(c.SourceType, "Path", StringComparison.OrdinalIgnoreCase) && c.CertificateDiskPath is { Length: > 0 });

    /// <summary>Why Graph tokens cannot be had with this configuration, or null.</summary>
    public string? Problem(GraphAuthMode mode)
    {
        if (mode == GraphAuthMode.None)
        {
            return null;
        }
        if (string.IsNullOrEmpty(ClientId) || string.IsNullOrEmpty(TenantId))
        {
            return $"Graph:Auth={mode} needs the API's app registration: set AzureAd:TenantId and AzureAd:ClientId.";
        }
        if (Secret is null && Certificate is null)
        {
            return $"Graph:Auth={mode} needs the app registration's credential: set AzureAd:ClientSecret, or AzureAd:ClientCredentials " +
                "with SourceType ClientSecret or Path (a PFX certificate file).";
        }
        return null;
    }
}

/// <summary>Start-up check: Graph:Auth OnBehalfOf or ClientCredentials without the app registration's credential fails
/// with the keys to set, not at the first send.</summary>
public sealed class GraphCredentialCheck(IOptions<EntraAppOptions> entra) : IValidateOptions<GraphOptions>
{
    public ValidateOptionsResult Validate(string? name, GraphOptions options)
    {
        if (entra.Value.Problem(options.Auth) is { } problem)
        {
            return ValidateOptionsResult.Fail(problem);
        }
        // The shared token cache is sealed with a key derived from the client secret; a certificate gives none.
        return options.Auth == GraphAuthMode.OnBehalfOf && entra.Value.Secret is null && string.IsNullOrEmpty(options.TokenCacheKey)
            ? ValidateOptionsResult.Fail("Graph:Auth=OnBehalfOf with a certificate credential needs Graph:TokenCacheKey (32 or more random characters) " +
                "to encrypt the users' sessions in Redis.")
            : ValidateOptionsResult.Success;
    }
}

public sealed class EntraCredential
{
    public string? SourceType { get; set; }
    public string? ClientSecret { get; set; }
    public string? CertificateDiskPath { get; set; }
    public string? CertificatePassword { get; set; }
}

/// <summary>Graph access tokens for a mailbox, whichever way <c>Graph:Auth</c> says.</summary>
public interface IGraphTokens
{
    /// <summary>In a request of the signed-in user (OnBehalfOf): exchanges their token for a long-running session that
    /// the workers use later — after the request, on any instance — to act as them. Nothing to do otherwise.</summary>
    Task BeginSessionAsync(string mailbox, string userAccessToken, CancellationToken cancellationToken);

    /// <summary>A token for calls on this mailbox; a <see cref="GraphSendException"/> of kind
    /// <see cref="GraphFailureKind.SignInRequired"/> when only the user (or the administrator) can mend it.</summary>
    Task<string> AccessTokenAsync(string mailbox, CancellationToken cancellationToken);

    /// <summary>Graph refused this mailbox's token: do not hand it out again.</summary>
    void Forget(string mailbox);
}

/// <summary>
/// MSAL.NET as a confidential client. OnBehalfOf uses MSAL's long-running OBO: the user's token is exchanged once per
/// submit/resume, keyed by the mailbox, and the refresh token lets workers act for the days a large mailing takes.
/// The user token cache lives in <see cref="ITokenCacheStore"/> (Redis when configured, encrypted), so every
/// instance shares it.
/// </summary>
public sealed class MsalGraphTokens(IOptions<GraphOptions> graph, IOptions<EntraAppOptions> entra, IHttpClientFactory httpClients,
    ITokenCacheStore cacheStore, TimeProvider time) : IGraphTokens
{
    public const string HttpClientName = "BulkMail.Entra";

    private readonly Lazy<IConfidentialClientApplication> _app = new(() => Build(graph.Value, entra.Value, httpClients, cacheStore));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _gates = new();

    /// <summary>The last token per session, used until 5 minutes before it expires (MSAL's own rule): without it every
    /// Graph call would read and decrypt the session's cache entry from Redis.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Token, DateTimeOffset ExpiresOn)> _recent = new();
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromMinutes(5);

    /// <summary>Sessions whose token Graph refused: the next acquisition skips MSAL's cached token too.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _refused = new();

    private GraphOptions G => graph.Value;

    public static string SessionKey(string mailbox) => "bulkmail-obo:" + mailbox.ToLowerInvariant();

    /// <summary>One token per user session (OnBehalfOf), one for the app (ClientCredentials).</summary>
    private string KeyOf(string mailbox) => G.Auth == GraphAuthMode.OnBehalfOf ? SessionKey(mailbox) : "";

    public async Task BeginSessionAsync(string mailbox, string userAccessToken, CancellationToken cancellationToken)
    {
        if (G.Auth != GraphAuthMode.OnBehalfOf)
        {
            return;
        }
        var key = SessionKey(mailbox);
        try
        {
            await ((ILongRunningWebApi)_app.Value).InitiateLongRunningProcessInWebApi(G.DelegatedScopes, userAccessToken, ref key)
                .ExecuteAsync(cancellationToken).ConfigureAwait(false);
            _recent.TryRemove(key, out _); // a new session: the next call takes its token
        }
        catch (MsalException e)
        {
            throw Translate(e);
        }
    }

    public async Task<string> AccessTokenAsync(string mailbox, CancellationToken cancellationToken)
    {
        // One acquisition per mailbox at a time: the lanes of a mailing then share one renewal instead of racing to
        // Entra with the same refresh token and overwriting each other's cache entry.
        var key = KeyOf(mailbox);
        if (Fresh(key) is { } known)
        {
            return known;
        }
        var gate = _gates.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh(key) is { } renewed)
            {
                return renewed; // another lane renewed it while this one waited
            }
            var force = _refused.TryRemove(key, out _);
            var result = G.Auth switch
            {
                GraphAuthMode.OnBehalfOf => await ((ILongRunningWebApi)_app.Value)
                    .AcquireTokenInLongRunningProcess(G.DelegatedScopes, SessionKey(mailbox)).WithForceRefresh(force)
                    .ExecuteAsync(cancellationToken).ConfigureAwait(false),
                GraphAuthMode.ClientCredentials => await _app.Value.AcquireTokenForClient([G.AppScope]).WithForceRefresh(force)
                    .ExecuteAsync(cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException("Graph:Auth=None takes no token."),
            };
            _recent[key] = (result.AccessToken, result.ExpiresOn);
            return result.AccessToken;
        }
        catch (MsalException e)
        {
            _recent.TryRemove(key, out _);
            throw Translate(e);
        }
        finally
        {
            gate.Release();
        }
    }

    public void Forget(string mailbox)
    {
        var key = KeyOf(mailbox);
        _recent.TryRemove(key, out _);
        _refused[key] = true;
    }

    private string? Fresh(string key) =>
        _recent.TryGetValue(key, out var recent) && recent.ExpiresOn - time.GetUtcNow() > ExpiryMargin ? recent.Token : null;

    /// <summary>Entra's answer as the worker needs it: retry later, or stop until someone signs in or grants consent.</summary>
    private static GraphSendException Translate(MsalException e)
    {
        if (e is MsalServiceException { StatusCode: 429 or >= 500 } busy)
        {
            return new GraphSendException(GraphFailureKind.Transient, busy.ErrorCode, "Entra ID is busy or unavailable; retrying.",
                busy.Headers?.RetryAfter?.Delta, false, e);
        }
        if (e is MsalClientException { ErrorCode: "request_timeout" or "service_not_available" })
        {
            return new GraphSendException(GraphFailureKind.Transient, e.ErrorCode, "Entra ID did not answer in time; retrying.", null, false, e);
        }
        // The message never carries tokens; it names the AADSTS code an administrator can look up.
        var reason = e.ErrorCode == MsalError.OboCacheKeyNotInCacheError
            ? "No Microsoft 365 sign-in is on record for this mailbox."
            : FirstLine(e.Message);
        return new GraphSendException(GraphFailureKind.SignInRequired, e.ErrorCode, reason, null, false, e);
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] : line;
    }

    private static IConfidentialClientApplication Build(GraphOptions graph, EntraAppOptions entra, IHttpClientFactory httpClients, ITokenCacheStore cacheStore)
    {
        var builder = ConfidentialClientApplicationBuilder.Create(entra.ClientId)
            .WithAuthority(new Uri(new Uri(entra.Instance.TrimEnd('/') + "/"), entra.TenantId))
            .WithInstanceDiscovery(graph.InstanceDiscovery)
            .WithHttpClientFactory(new MsalHttpClients(httpClients));
        if (entra.Certificate is { } c)
        {
            builder = builder.WithCertificate(X509CertificateLoader.LoadPkcs12FromFile(c.CertificateDiskPath!, c.CertificatePassword));
        }
        else
        {
            builder = builder.WithClientSecret(entra.Secret);
        }
        var app = builder.Build();
        cacheStore.Attach(app.UserTokenCache);
        return app;
    }

    /// <summary>MSAL's HTTP through IHttpClientFactory (proxies, handler lifetimes, test certificates configured in one place).</summary>
    private sealed class MsalHttpClients(IHttpClientFactory factory) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => factory.CreateClient(HttpClientName);
    }
}

/// <summary>Where MSAL's user token cache is kept between calls and across instances.</summary>
public interface ITokenCacheStore
{
    void Attach(ITokenCache cache);
}

/// <summary>
/// The user token cache in Redis, one entry per OBO session, encrypted with AES-GCM: refresh tokens are credentials,
/// and Redis is often shared. The key comes from <c>Graph:TokenCacheKey</c> or, without it, from the client secret
/// (rotating the secret then just asks users to open BulkMail again).
/// </summary>
public sealed class RedisTokenCacheStore(StackExchange.Redis.IConnectionMultiplexer redis, IOptions<GraphOptions> graph, IOptions<EntraAppOptions> entra,
    IOptions<MailingStoreOptions> store) : ITokenCacheStore
{
    /// <summary>A refresh token lives up to 90 days; an unused session goes with it.</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);
    private readonly Lazy<byte[]> _key = new(() => TokenCacheCrypto.KeyOf(graph.Value, entra.Value));

    public void Attach(ITokenCache cache)
    {
        cache.SetBeforeAccessAsync(async args =>
        {
            var data = await redis.GetDatabase().StringGetAsync(KeyOf(args.SuggestedCacheKey)).ConfigureAwait(false);
            if (data.HasValue && TokenCacheCrypto.Open(_key.Value, (byte[])data!) is { } plain)
            {
                args.TokenCache.DeserializeMsalV3(plain);
            }
        });
        cache.SetAfterAccessAsync(async args =>
        {
            if (args.HasStateChanged && args.SuggestedCacheKey is not null)
            {
                await redis.GetDatabase().StringSetAsync(KeyOf(args.SuggestedCacheKey), TokenCacheCrypto.Seal(_key.Value, args.TokenCache.SerializeMsalV3()),
                    Lifetime).ConfigureAwait(false);
            }
        });
    }

    private StackExchange.Redis.RedisKey KeyOf(string? suggested) =>
        $"{store.Value.KeyPrefix}tc:{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(suggested ?? "")))}";
}

/// <summary>One process only (no Redis configured): MSAL's cache per session, in memory.</summary>
public sealed class InMemoryTokenCacheStore : ITokenCacheStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _entries = new();

    public void Attach(ITokenCache cache)
    {
        cache.SetBeforeAccess(args =>
        {
            if (args.SuggestedCacheKey is { } k && _entries.TryGetValue(k, out var data))
            {
                args.TokenCache.DeserializeMsalV3(data);
            }
        });
        cache.SetAfterAccess(args =>
        {
            if (args.HasStateChanged && args.SuggestedCacheKey is { } k)
            {
                _entries[k] = args.TokenCache.SerializeMsalV3();
            }
        });
    }
}

public static class TokenCacheCrypto
{
    public static byte[] KeyOf(GraphOptions graph, EntraAppOptions entra)
    {
        if (graph.TokenCacheKey is { Length: > 0 } configured)
        {
            return SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(configured));
        }
        var secret = entra.Secret ?? throw new InvalidOperationException(
            "Set Graph:TokenCacheKey: with a certificate credential there is no secret to derive the token cache's key from.");
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, System.Text.Encoding.UTF8.GetBytes(secret), 32, info: "BulkMail token cache v1"u8.ToArray());
    }

    public static byte[] Seal(byte[] key, byte[] plain)
    {
        var sealedData = new byte[12 + 16 + plain.Length];
        RandomNumberGenerator.Fill(sealedData.AsSpan(0, 12));
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(sealedData.AsSpan(0, 12), plain, sealedData.AsSpan(28), sealedData.AsSpan(12, 16));
        return sealedData;
    }

    /// <summary>Null when the entry was sealed with another key (a rotated secret): the session is simply gone.</summary>
    public static byte[]? Open(byte[] key, byte[] sealedData)
    {
        if (sealedData.Length < 28)
        {
            return null;
        }
        var plain = new byte[sealedData.Length - 28];
        using var aes = new AesGcm(key, 16);
        try
        {
            aes.Decrypt(sealedData.AsSpan(0, 12), sealedData.AsSpan(28), sealedData.AsSpan(12, 16), plain);
            return plain;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }
}

/// <summary>Kiota's authentication for Graph requests: the token of the mailbox the URL names (<c>/users/{mailbox}/…</c>).</summary>
public sealed class GraphTokenAuthenticationProvider(IGraphTokens tokens) : Microsoft.Kiota.Abstractions.Authentication.IAuthenticationProvider
{
    public async Task AuthenticateRequestAsync(Microsoft.Kiota.Abstractions.RequestInformation request,
        Dictionary<string, object>? additionalAuthenticationContext = null, CancellationToken cancellationToken = default)
    {
        var mailbox = MailboxOf(request.URI) ?? throw new InvalidOperationException($"BulkMail calls Graph only as /users/{{mailbox}}/…, not {request.URI.AbsolutePath}.");
        var token = await tokens.AccessTokenAsync(mailbox, cancellationToken).ConfigureAwait(false);
        request.Headers.TryAdd("Authorization", "Bearer " + token);
    }

    public static string? MailboxOf(Uri uri)
    {
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.FindIndex(segments, s => s.Equals("users", StringComparison.OrdinalIgnoreCase));
        return at >= 0 && at + 1 < segments.Length ? Uri.UnescapeDataString(segments[at + 1]) : null;
    }
}
