using System.Globalization;
using System.Xml.Linq;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Hrbc;

/// <summary>An access/refresh token pair and when each expires (HRBC gives lifetimes in milliseconds).</summary>
public sealed record HrbcToken(string AccessToken, DateTimeOffset AccessExpiresAt, string RefreshToken, DateTimeOffset RefreshExpiresAt)
{
    /// <summary>When to stop using the access token: a little before expiry, so no request leaves with a lapsing token.</summary>
    public DateTimeOffset AccessRenewAt { get; init; } = AccessExpiresAt;

    public DateTimeOffset RefreshRenewAt { get; init; } = RefreshExpiresAt;

    public static HrbcToken Issued(DateTimeOffset issuedAt, string access, TimeSpan accessLifetime, string refresh, TimeSpan refreshLifetime) =>
        new(access, issuedAt + accessLifetime, refresh, issuedAt + refreshLifetime)
        {
            AccessRenewAt = issuedAt + accessLifetime - Margin(accessLifetime),
            RefreshRenewAt = issuedAt + refreshLifetime - Margin(refreshLifetime),
        };

    private static TimeSpan Margin(TimeSpan lifetime) =>
        TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(2).Ticks, lifetime.Ticks / 10));
}

/// <summary>Typed client for the authentication API: <c>GET /v1/oauth</c> (code_direct) and <c>POST /v1/token</c>.</summary>
public sealed class HrbcAuthClient(HttpClient http, IOptions<HrbcOptions> options, TimeProvider time)
{
    public async Task<string> GetCodeDirectAsync(CancellationToken cancellationToken)
    {
        var appId = options.Value.AppId ?? "";
        // code_direct takes neither redirect_url nor scope (scope is an error there).
        using var response = await http.GetAsync(
            $"v1/oauth?app_id={Uri.EscapeDataString(appId)}&response_type=code_direct", cancellationToken).ConfigureAwait(false);
        var root = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
        return root.Element("Code")?.Value is { Length: > 0 } code
            ? code
            : throw new HrbcProtocolException("The OAuth answer has no code.", (int)response.StatusCode);
    }

    public Task<HrbcToken> ExchangeCodeAsync(string code, CancellationToken cancellationToken) =>
        TokenAsync("oauth_code", code, cancellationToken);

    public Task<HrbcToken> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        TokenAsync("refresh_token", refreshToken, cancellationToken);

    private async Task<HrbcToken> TokenAsync(string grantType, string code, CancellationToken cancellationToken)
    {
        var o = options.Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["app_id"] = o.AppId ?? "",
            ["secret"] = o.Secret ?? "",
            ["grant_type"] = grantType,
            ["code"] = code,
        });
        var issuedAt = time.GetUtcNow(); // lifetimes count from before the request left, to stay on the safe side
        using var response = await http.PostAsync("v1/token", form, cancellationToken).ConfigureAwait(false);
        var root = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
        var access = root.Element("AccessToken")?.Value;
        var refresh = root.Element("RefreshToken")?.Value;
        if (string.IsNullOrEmpty(access) || string.IsNullOrEmpty(refresh))
        {
            throw new HrbcProtocolException("The token answer has no tokens.", (int)response.StatusCode);
        }
        return HrbcToken.Issued(issuedAt,
            access, Millis(root, "AccessTokenExpiresIn"),
            refresh, Millis(root, "RefreshTokenExpiresIn"));
    }

    private static TimeSpan Millis(XElement root, string name) =>
        long.TryParse(root.Element(name)?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : throw new HrbcProtocolException($"The token answer has no valid {name}.");

    private static async Task<XElement> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var root = await HrbcXml.TryLoadAsync(stream, cancellationToken).ConfigureAwait(false)
            ?? throw new HrbcProtocolException($"HRBC authentication answered HTTP {(int)response.StatusCode} without XML.", (int)response.StatusCode);
        var error = int.TryParse(root.Element("Error")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var e) ? e : -1;
        if (error != 0)
        {
            throw new HrbcAuthException(error, root.Element("Message")?.Value ?? "");
        }
        return root;
    }
}

/// <summary>
/// The process-wide token: shared by every request, refreshed before expiry by one caller at a time
/// (each auth call is billed, and parallel refreshes would invalidate each other's refresh tokens).
/// </summary>
public sealed partial class HrbcTokenStore(TimeProvider time, ILogger<HrbcTokenStore> logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile HrbcToken? _current;

    /// <summary>
    /// The access token to use. <paramref name="rejected"/> is a token HRBC just answered 401 for:
    /// it is replaced even if our clock thinks it is still valid.
    /// </summary>
    public async ValueTask<string> GetAccessTokenAsync(HrbcAuthClient auth, string? rejected, CancellationToken cancellationToken)
    {
        if (Usable(_current, rejected) is { } fast)
        {
            return fast;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var token = _current;
            if (Usable(token, rejected) is { } refreshedByOther)
            {
                return refreshedByOther;
            }
            if (token is not null && time.GetUtcNow() < token.RefreshRenewAt)
            {
                try
                {
                    _current = await auth.RefreshAsync(token.RefreshToken, cancellationToken).ConfigureAwait(false);
                    Log.Refreshed(logger);
                    return _current.AccessToken;
                }
                catch (HrbcAuthException e) when (e.NeedsNewCode || e.Code == 103)
                {
                    Log.RefreshRejected(logger, e.Code);
                }
            }
            var code = await auth.GetCodeDirectAsync(cancellationToken).ConfigureAwait(false);
            _current = await auth.ExchangeCodeAsync(code, cancellationToken).ConfigureAwait(false);
            Log.Authenticated(logger);
            return _current.AccessToken;
        }
        finally
        {
            _gate.Release();
        }
    }

    private string? Usable(HrbcToken? token, string? rejected) =>
        token is not null && token.AccessToken != rejected && time.GetUtcNow() < token.AccessRenewAt
            ? token.AccessToken
            : null;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "HRBC access token obtained with code_direct")]
        public static partial void Authenticated(ILogger logger);

        [LoggerMessage(2, LogLevel.Debug, "HRBC access token refreshed")]
        public static partial void Refreshed(ILogger logger);

        [LoggerMessage(3, LogLevel.Information, "HRBC refused the refresh token (error {Error}); asking for a new code")]
        public static partial void RefreshRejected(ILogger logger, int error);
    }
}
