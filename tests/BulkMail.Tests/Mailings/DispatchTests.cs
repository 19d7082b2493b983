using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace BulkMail.Tests.Mailings;

/// <summary>
/// The due index (docs/architecture.md, Mailing engine: Dispatch): a mailing waiting for its pacing window costs no Redis
/// traffic on any instance until it is due, and several instances share its deliveries with the pacing held.
/// </summary>
public sealed class DispatchTests(RedisServerFixture shared)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_mailing_waiting_for_its_pacing_window_costs_no_redis_commands_on_two_instances_and_is_sent_once_at_the_pace()
    {
        // Its own redis-server: the command count is this test's alone (the shared one serves tests running alongside).
        await using var redis = await shared.StartOwnAsync();
        // 4 a minute on a clock 5 times faster: each pacing window is ~12 real seconds.
        var clock = new ScaledTimeProvider(5);
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Sending:MessagesPerMinute"] = "4",
            // the pacing margin, in the scaled clock's seconds (1 real second)
            ["Sending:PacingMargin"] = "00:00:05",
        }, time: clock);
        await using var second = BulkMailApplication.StartWith(e.Hrbc, new Dictionary<string, string?>(e.AllSettings), s => s.AddSingleton<TimeProvider>(clock));
        var ids = Enumerable.Range(10001, 9).Select(i => (long)i).ToList();
        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids, ["Resume.P_Mail"]));

        // The first window's four, then the mailing waits ~60 (scaled) seconds for the next.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (e.Graph.Sent(EngineHarness.User).Count < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }
        Assert.Equal(4, e.Graph.Sent(EngineHarness.User).Count);
        var firstSent = e.Graph.Sent(EngineHarness.User)[0].SentAt!.Value;
        await Task.Delay(TimeSpan.FromSeconds(0.3), Ct); // the last completions land
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var statsBefore = await CommandStatsAsync(server);
        var before = await CommandsAsync(server);
        var measuredFrom = clock.GetUtcNow();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct); // 10 s on the mailing's clock, well inside the wait
        var after = await CommandsAsync(server);
        var statsAfter = await CommandStatsAsync(server);
        var which = string.Join(", ", statsAfter.Where(kv => kv.Value != statsBefore.GetValueOrDefault(kv.Key)).Select(kv => $"{kv.Key} +{kv.Value - statsBefore.GetValueOrDefault(kv.Key)}"));
        var measured = (clock.GetUtcNow() - measuredFrom).TotalSeconds;
        Assert.True(clock.GetUtcNow() < firstSent + TimeSpan.FromSeconds(60), "the measurement ended inside the pacing wait");
        Assert.Equal(4, e.Graph.Sent(EngineHarness.User).Count);
        // All that may remain are the two instances' idle looks at the due index (Sending:IdleWake, 15 s: one script
        // each, which also marks the instance live and counts what it runs for the fair share: ZADD, ZRANGEBYSCORE,
        // ZCARD, HGETALL, ZCOUNT, ZRANGE, HSET, PEXPIRE on the index's own keys) and the repair sweep's lock (SET NX):
        // nothing that reads or writes the mailing, its deliveries or its mailbox's pacing. The INFO calls are the
        // test's own.
        var idleLook = new HashSet<string> { "cmdstat_evalsha", "cmdstat_zrangebyscore", "cmdstat_zcount", "cmdstat_zrange", "cmdstat_set", "cmdstat_info",
            "cmdstat_zadd", "cmdstat_zcard", "cmdstat_hgetall", "cmdstat_hset", "cmdstat_pexpire", "cmdstat_zrem", "cmdstat_hdel" };
        var delta = statsAfter.ToDictionary(kv => kv.Key, kv => kv.Value - statsBefore.GetValueOrDefault(kv.Key)).Where(kv => kv.Value > 0).ToList();
        Assert.True(delta.All(kv => idleLook.Contains(kv.Key)), $"commands while the mailing waited: {which}");
        var looks = delta.Where(kv => kv.Key == "cmdstat_evalsha").Sum(kv => kv.Value);
        Assert.True(looks <= 2 * (long)Math.Ceiling(measured / 15 + 1), $"{looks} idle looks by two instances in {measured:0.0} s: {which}");
        // Per waiting mailing that is nothing at all; per instance ≤ 15 commands per IdleWake, however many mailings wait.
        var perSecond = (after - before - 1 - 15 * looks) / measured;
        Assert.True(perSecond <= 0.5, $"{after - before - 1} Redis commands in {measured:0.0} s while the mailing waited ({perSecond:0.00}/s): {which}");

        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(2), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.True(status.GetProperty("messages").GetInt32() == sent.Count, $"{sent.Count} sent: {status}");
        // each delivery once (two of these sample resumes share an address, so addresses are not the key)
        var twice = sent.GroupBy(m => m.Headers["X-BulkMail-Delivery"], StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => string.Join("/", g.Select(m => m.Headers.GetValueOrDefault("X-BulkMail-Delivery") + "@" + m.SentAt!.Value.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture)))).ToList();
        Assert.True(twice.Count == 0, "mailed twice: " + string.Join("; ", twice));
        // the pace held across the two instances: never more than 4 in any 60 (scaled) seconds
        var times = sent.Select(m => m.SentAt!.Value).Order().ToList();
        for (var i = 4; i < times.Count; i++)
        {
            Assert.True(times[i] - times[i - 4] >= TimeSpan.FromSeconds(60), $"send {i} came {(times[i] - times[i - 4]).TotalSeconds:0.0} s after send {i - 4}");
        }
    }

    // cmdstat_zadd → calls (the INFO between the two counts is among them)
    private static async Task<Dictionary<string, long>> CommandStatsAsync(IServer server) =>
        (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(kv => kv.Key,
            kv => long.Parse(kv.Value.Split(',')[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<long> CommandsAsync(IServer server)
    {
        var stats = await server.InfoAsync("stats");
        return long.Parse(stats.SelectMany(g => g).First(kv => kv.Key == "total_commands_processed").Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
