using BulkMail.Api.Infrastructure;
using BulkMail.Api.Auth;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;

namespace BulkMail.Tests.Auth;

/// <summary>
/// What every token cache store keeps to, with MSAL's real cache and the fake Entra endpoint: a session begun by one
/// MSAL application is found by another attached to the same store (another instance of the API), and by none other.
/// Run against Redis and memory.
/// </summary>
public abstract class TokenCacheStoreContract : ContractSuite
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly GraphOptions Graph = new() { InstanceDiscovery = false };

    protected abstract ITokenCacheStore CreateStoreCore();

    private sealed class TrustingHttp(FakeEntra entra) : IMsalHttpClientFactory
    {
        private readonly HttpClient _client = new(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None || cert?.Thumbprint == entra.Certificate.Thumbprint,
        });

        public HttpClient GetHttpClient() => _client;
    }

    private static ILongRunningWebApi App(FakeEntra entra, ITokenCacheStore store)
    {
        var app = ConfidentialClientApplicationBuilder.Create(FakeEntra.ClientId)
            .WithAuthority(new Uri(entra.Instance, FakeEntra.TenantId))
            .WithInstanceDiscovery(false)
            .WithClientSecret(FakeEntra.ClientSecret)
            .WithHttpClientFactory(new TrustingHttp(entra))
            .Build();
        store.Attach(app.UserTokenCache);
        return (ILongRunningWebApi)app;
    }

    [Fact]
    [Covers(nameof(ITokenCacheStore.Attach))]
    public async Task A_session_begun_by_one_instance_is_found_by_another_on_the_same_store_and_by_no_other()
    {
        await using var entra = await FakeEntra.StartAsync();
        var store = Track(CreateStoreCore());
        string? session = MsalGraphTokens.SessionKey("alice@example.com");

        var begun = await App(entra, store).InitiateLongRunningProcessInWebApi(Graph.DelegatedScopes, entra.SignIn("alice@example.com"), ref session)
            .ExecuteAsync(Ct);
        var found = await App(entra, store).AcquireTokenInLongRunningProcess(Graph.DelegatedScopes, session).ExecuteAsync(Ct);

        Assert.Equal(begun.AccessToken, found.AccessToken);
        Assert.Equal(TokenSource.Cache, found.AuthenticationResultMetadata.TokenSource);
        Assert.Single(entra.Grants); // one on-behalf-of grant: the second instance asked Entra for nothing
        var elsewhere = App(entra, CreateStoreCore()); // another store (another deployment, or a restart of the demo)
        var missing = await Assert.ThrowsAsync<MsalClientException>(() =>
            elsewhere.AcquireTokenInLongRunningProcess(Graph.DelegatedScopes, session).ExecuteAsync(Ct));
        Assert.Equal(MsalError.OboCacheKeyNotInCacheError, missing.ErrorCode);
    }
}

public sealed class RedisTokenCacheStoreTests(RedisServerFixture redis) : TokenCacheStoreContract
{
    private readonly string _prefix = RedisServerFixture.NewPrefix();
    private int _stores;

    // Each store its own prefix: "another store" must not share keys with the first.
    protected override ITokenCacheStore CreateStoreCore() =>
        new RedisTokenCacheStore(redis.Require(), Options.Create(new GraphOptions()),
            Options.Create(new EntraAppOptions { ClientSecret = FakeEntra.ClientSecret }),
            Options.Create(new MailingStoreOptions { KeyPrefix = $"{_prefix}{Interlocked.Increment(ref _stores)}:" }));
}

public sealed class InMemoryTokenCacheStoreTests : TokenCacheStoreContract
{
    protected override ITokenCacheStore CreateStoreCore() => new InMemoryTokenCacheStore();
}
