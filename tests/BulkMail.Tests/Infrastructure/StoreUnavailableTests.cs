using System.Net;
using System.Text.Json;
using BulkMail.Tests.Support;
using StackExchange.Redis;

namespace BulkMail.Tests.Infrastructure;

/// <summary>Redis not answering is "try again shortly" (503, Retry-After, a coded problem), not a server fault (500).</summary>
public sealed class StoreUnavailableTests(RedisServerFixture shared)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_request_while_redis_does_not_answer_gets_503_with_retry_after_and_works_again_once_it_answers()
    {
        // Its own redis-server: pausing it must not hold up the tests running alongside.
        await using var redis = await shared.StartOwnAsync();
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        using (var before = await e.Http.GetAsync("/api/mailings", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        // Every client's commands wait for 8 s: longer than the client's 5 s timeout.
        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "PAUSE", "8000", "ALL");
        var paused = DateTime.UtcNow;

        using var during = await e.Http.GetAsync("/api/mailings", Ct);
        var body = await during.Content.ReadAsStringAsync(Ct);
        Assert.True(during.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)during.StatusCode}: {body}");
        Assert.Equal(TimeSpan.FromSeconds(5), during.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", during.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("StoreUnavailable", problem.GetProperty("code").GetString());
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Contains("5 seconds", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Once Redis answers again, so does the API (nothing was left broken).
        var resumeAt = paused + TimeSpan.FromSeconds(8.5);
        if (resumeAt > DateTime.UtcNow)
        {
            await Task.Delay(resumeAt - DateTime.UtcNow, Ct);
        }
        using var after = await e.Http.GetAsync("/api/mailings", Ct);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
