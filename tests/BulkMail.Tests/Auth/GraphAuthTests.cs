using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;
using StackExchange.Redis;

namespace BulkMail.Tests.Auth;

/// <summary>
/// Sending as the signed-in user (OnBehalfOf) and as the app (ClientCredentials) through MSAL against an Entra token
/// endpoint on loopback, with the Graph sandbox demanding the bearer tokens Entra issued — as Microsoft Graph does.
/// </summary>
public class GraphAuthTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly long[] Five = [10011, 10012, 10013, 10014, 10015];

    private static async Task<(FakeEntra Entra, EngineHarness Engine)> StartAsync(RedisServerFixture redis, string graphAuth, bool worker,
        Action<FakeEntra>? entra = null, string? secret = null)
    {
        var fake = await FakeEntra.StartAsync();
        entra?.Invoke(fake);
        var engine = await EngineHarness.StartAsync(redis, fake.Settings(graphAuth, secret),
            graph: g => g.ValidateAccessToken = fake.ValidateGraphToken, worker: worker, services: fake.Trust);
        return (fake, engine);
    }

    /// <summary>A second API instance on the same Redis and sandboxes, with its worker on: it never sees the user.</summary>
    private static BulkMailApplication StartWorker(EngineHarness e, FakeEntra entra)
    {
        var settings = new Dictionary<string, string?>(e.AllSettings) { ["Sending:WorkerEnabled"] = "true" };
        return BulkMailApplication.StartWith(e.Hrbc, settings, entra.Trust);
    }

    [Fact]
    public async Task On_behalf_of_the_user_a_worker_on_another_instance_sends_every_message_with_their_token_from_the_shared_cache()
    {
        var (entra, e) = await StartAsync(redis, "OnBehalfOf", worker: false);
        await using var _ = entra;
        await using var __ = e;

        // Without the user's token there is nothing to act on: 401, nothing stored.
        var anonymous = await e.Http.PostAsJsonAsync("/api/mailings", EngineHarness.Newsletter(Five), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("sign", (await anonymous.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await e.Http.GetFromJsonAsync<JsonElement[]>("/api/mailings", Ct) ?? []);
        Assert.Empty(entra.Grants);

        e.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", entra.SignIn(EngineHarness.User));
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Five));
        var obo = Assert.Single(entra.Grants);
        Assert.Equal(("on_behalf_of", EngineHarness.User), (obo.Type, obo.User));
        Assert.Contains("https://graph.microsoft.com/Mail.Send", obo.Scope.Split(' '));
        Assert.Contains("https://graph.microsoft.com/Mail.ReadWrite", obo.Scope.Split(' '));

        await using var worker = StartWorker(e, entra);
        var done = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(5, done.GetProperty("sent").GetInt32());
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(5, sent.Count);
        Assert.Equal(5, sent.SelectMany(m => m.To).Distinct().Count());
        // Every Graph call carried a token Entra issued for this user; none was refused.
        Assert.DoesNotContain(e.Graph.Requests, r => r.Status is 401 or 403);
        // The worker instance used the session from Redis: no new grant of its own (the access token was still fresh).
        Assert.Single(entra.Grants);

        // The shared cache is encrypted: neither token is readable in Redis.
        await using var mux = await ConnectionMultiplexer.ConnectAsync(e.Redis);
        var keys = mux.GetServers()[0].Keys(pattern: e.Prefix + "tc:*").ToList();
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            var value = (byte[])(await mux.GetDatabase().StringGetAsync(key))!;
            var text = System.Text.Encoding.Latin1.GetString(value);
            Assert.DoesNotContain("graph-at-", text, StringComparison.Ordinal);
            Assert.DoesNotContain("graph-rt-", text, StringComparison.Ordinal);
            Assert.True(await mux.GetDatabase().KeyTimeToLiveAsync(key) > TimeSpan.FromDays(80));
        }
    }

    [Fact]
    public async Task A_revoked_sign_in_pauses_the_mailing_with_no_attempt_used_and_resume_with_a_fresh_sign_in_sends_each_once()
    {
        // Tokens that need renewing on every call, so the revocation is met at once.
        var (entra, e) = await StartAsync(redis, "OnBehalfOf", worker: false, entra: f => f.AccessTokenLifetime = 60);
        await using var _ = entra;
        await using var __ = e;
        e.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", entra.SignIn(EngineHarness.User));
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Five));
        entra.RevokeSessions(EngineHarness.User); // e.g. a password reset before the worker gets to it

        await using var worker = StartWorker(e, entra);
        var paused = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Paused");
        var reason = paused.GetProperty("pausedReason").GetString()!;
        Assert.Contains("Resume", reason, StringComparison.Ordinal);
        Assert.Contains("AADSTS50173", reason, StringComparison.Ordinal);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Equal(0, paused.GetProperty("failed").GetInt32());
        // The pane in Japanese reads why, in Japanese (the list and the status alike).
        using (var ja = new HttpRequestMessage(HttpMethod.Get, $"/api/mailings/{id}"))
        {
            ja.Headers.AcceptLanguage.ParseAdd("ja");
            var japanese = (await (await e.Http.SendAsync(ja, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("pausedReason").GetString()!;
            Assert.StartsWith("Microsoft 365 が demo@bulkmail.example としての BulkMail のサインインを拒否しました（invalid_grant: AADSTS50173", japanese, StringComparison.Ordinal);
            Assert.Contains("「再開」", japanese, StringComparison.Ordinal);
        }
        var csv = Csv.Parse(await e.CsvAsync(id));
        Assert.All(csv.Skip(1), row => Assert.Equal(("Pending", "0"), (row[8], row[10])));

        // Resume from the pane carries a fresh token: a new session, and the mailing finishes.
        e.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", entra.SignIn(EngineHarness.User));
        var resumed = await e.Http.PostAsync($"/api/mailings/{id}/resume", null, Ct);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var done = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(5, done.GetProperty("sent").GetInt32());
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(5, sent.Count);
        Assert.Equal(5, sent.SelectMany(m => m.To).Distinct().Count()); // each recipient exactly once
        Assert.Equal(2, entra.Grants.Count(g => g.Type == "on_behalf_of"));
        Assert.Contains(entra.Grants, g => g.Type == "refresh_token"); // renewed on its own between calls
    }

    [Fact]
    public async Task Without_consent_submit_and_test_send_are_refused_with_the_entra_code_and_nothing_is_stored()
    {
        var (entra, e) = await StartAsync(redis, "OnBehalfOf", worker: true, entra: f => f.ConsentGranted = false);
        await using var _ = entra;
        await using var __ = e;
        e.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", entra.SignIn(EngineHarness.User));
        foreach (var path in new[] { "/api/mailings", "/api/mailings/test" })
        {
            var response = await e.Http.PostAsJsonAsync(path, EngineHarness.Newsletter(Five), Ct);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal("invalid_grant", problem.GetProperty("entraCode").GetString());
            Assert.Contains("AADSTS65001", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Contains("Mail.Send", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        // The task pane in Japanese gets the same problem in Japanese, the Entra code kept.
        using var ja = new HttpRequestMessage(HttpMethod.Post, "/api/mailings") { Content = JsonContent.Create(EngineHarness.Newsletter(Five)) };
        ja.Headers.AcceptLanguage.ParseAdd("ja-JP");
        var japanese = await (await e.Http.SendAsync(ja, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("BulkMail にはあなたとして送信する権限がありません", japanese.GetProperty("title").GetString());
        Assert.Contains("管理者", japanese.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("AADSTS65001", japanese.GetProperty("detail").GetString(), StringComparison.Ordinal);

        Assert.Empty(await e.Http.GetFromJsonAsync<JsonElement[]>("/api/mailings", Ct) ?? []);
        Assert.Empty(e.Graph.Requests);
    }

    [Fact]
    public async Task App_only_sends_for_the_mailbox_with_a_client_credentials_token_and_a_refused_secret_pauses_the_mailing()
    {
        var (entra, e) = await StartAsync(redis, "ClientCredentials", worker: true);
        await using var _ = entra;
        await using var __ = e;
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Five)); // no user token needed
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(5, e.Graph.Sent(EngineHarness.User).Count);
        Assert.DoesNotContain(e.Graph.Requests, r => r.Status is 401 or 403);
        Assert.All(entra.Grants, g => Assert.Equal(("client_credentials", "https://graph.microsoft.com/.default"), (g.Type, g.Scope)));
        Assert.Single(entra.Grants); // MSAL keeps the app token until it nears expiry

        var (badEntra, bad) = await StartAsync(redis, "ClientCredentials", worker: true, secret: "an-old-rotated-secret");
        await using var ___ = badEntra;
        await using var ____ = bad;
        var badId = await bad.SubmitAsync(EngineHarness.Newsletter(Five));
        var paused = await bad.WaitForAsync(badId, TimeSpan.FromMinutes(1), "Paused");
        Assert.Contains("AADSTS7000215", paused.GetProperty("pausedReason").GetString(), StringComparison.Ordinal);
        Assert.Empty(bad.Graph.Sent(EngineHarness.User));
        Assert.DoesNotContain("an-old-rotated-secret", paused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_graph_refuses_pauses_the_mailing_and_resume_gets_a_new_one_not_the_cached_one()
    {
        var (entra, e) = await StartAsync(redis, "ClientCredentials", worker: true);
        await using var _ = entra;
        await using var __ = e;
        var warm = await e.SubmitAsync(EngineHarness.Newsletter(Five[..1]));
        await e.WaitForAsync(warm, TimeSpan.FromMinutes(1), "Completed");
        var grantsBefore = entra.Grants.Count;
        Assert.True(grantsBefore >= 1);

        entra.InvalidateGraphTokens(); // BulkMail still holds an unexpired token that Graph now refuses
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Five[1..]));
        var paused = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Paused");
        Assert.Contains("InvalidAuthenticationToken", paused.GetProperty("pausedReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, paused.GetProperty("failed").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsync($"/api/mailings/{id}/resume", null, Ct)).StatusCode);
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        // Completing at all needs a token Graph accepts: a fresh one, not MSAL's cached (refused) one.
        Assert.True(entra.Grants.Count > grantsBefore);
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(Five.Length, sent.Count);
        Assert.Equal(Five.Length, sent.SelectMany(m => m.To).Distinct().Count());
    }

    [Fact]
    public async Task In_production_with_the_app_registration_and_redis_the_api_starts_and_refuses_calls_without_a_token()
    {
        redis.Require();
        await using var hrbc = await HrbcHarness.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["environment"] = "Production",
            ["OptOut:SigningKey"] = "an-unsubscribe-link-signing-key-of-40-chars",
            ["OptOut:PublicBaseUrl"] = "https://bulkmail.example",
            ["OptOut:OrganizationName"] = "株式会社サンプル人材",
            ["OptOut:PostalAddress"] = "東京都千代田区千代田1-1",
            ["Auth:Mode"] = "EntraId",
            ["Graph:Auth"] = "OnBehalfOf",
            // no AzureAd:Instance: the public cloud by default
            ["AzureAd:TenantId"] = FakeEntra.TenantId,
            ["AzureAd:ClientId"] = FakeEntra.ClientId,
            ["AzureAd:ClientSecret"] = FakeEntra.ClientSecret,
            ["Addin:ClientId"] = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Store:KeyPrefix"] = RedisServerFixture.NewPrefix(),
        };
        await using var api = BulkMailApplication.StartWith(hrbc, settings);
        using var http = api.CreateClient();
        var health = await http.GetAsync("/healthz", Ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var checks = (await health.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("hrbc").GetProperty("status").GetString());
        foreach (var path in new[] { "/api/mailings", "/api/templates", "/api/hrbc/resumes" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(path, Ct)).StatusCode);
        }
        // The demo's stand-ins are not there in production.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/sandbox/mailbox", Ct)).StatusCode);
        // The pane's settings are open (it reads them before sign-in) and name this tenant's apps.
        var pane = await http.GetFromJsonAsync<JsonElement>("/addin/config.json", Ct);
        Assert.Equal("Production", pane.GetProperty("environment").GetString());
        Assert.Equal("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", pane.GetProperty("clientId").GetString());
        Assert.Equal(FakeEntra.ClientId, pane.GetProperty("apiAppId").GetString());
        Assert.Equal($"https://login.microsoftonline.com/{FakeEntra.TenantId}", pane.GetProperty("authority").GetString());
    }

    [Theory]
    [InlineData("OnBehalfOf", null, null, "AzureAd:TenantId")]
    [InlineData("ClientCredentials", "5d2f8c41-3b6a-4e7d-8f90-1a2b3c4d5e6f", null, "AzureAd:ClientSecret")]
    [InlineData("OnBehalfOf", "5d2f8c41-3b6a-4e7d-8f90-1a2b3c4d5e6f", "/run/secrets/bulkmail.pfx", "Graph:TokenCacheKey")]
    public void Sending_through_Entra_without_the_app_registration_fails_at_start_up_naming_the_keys(string auth, string? clientId, string? certificate, string key)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Graph:Auth"] = auth,
            ["AzureAd:ClientId"] = clientId,
            ["AzureAd:TenantId"] = clientId is null ? null : FakeEntra.TenantId,
            ["AzureAd:ClientCredentials:0:SourceType"] = certificate is null ? null : "Path",
            ["AzureAd:ClientCredentials:0:CertificateDiskPath"] = certificate,
        };
        var error = Assert.ThrowsAny<Exception>(() => BulkMailApplication.Start(settings).Dispose());
        Assert.Contains(key, error.ToString(), StringComparison.Ordinal);
    }
}
