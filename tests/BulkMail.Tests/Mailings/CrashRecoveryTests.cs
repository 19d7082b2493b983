using BulkMail.Tests.Support;

namespace BulkMail.Tests.Mailings;

/// <summary>Workers in other processes: killed with SIGKILL mid-mailing, and two at once on one Redis.</summary>
public class CrashRecoveryTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> WorkerSettings(EngineHarness e)
    {
        var settings = EngineHarness.Settings(e.Hrbc, e.GraphHost, e.Redis, e.Prefix);
        settings["Sending:WorkerEnabled"] = "true";
        settings["Sending:MessagesPerMinute"] = "600";
        settings["Sending:DeliveryLease"] = "00:00:05";
        return settings;
    }

    [Fact]
    public async Task A_worker_killed_mid_mailing_then_restarted_sends_each_address_exactly_once()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var ids = Enumerable.Range(10001, 260).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        e.Graph.Faults.Latency = TimeSpan.FromMilliseconds(30);

        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        await using (var first = ApiProcess.Start(WorkerSettings(e)))
        {
            var until = DateTime.UtcNow.AddMinutes(2);
            while (e.Graph.Sent(EngineHarness.User).Count < 60 && DateTime.UtcNow < until)
            {
                await Task.Delay(50, Ct);
            }
            await first.KillAsync();
        }
        var sentAtCrash = e.Graph.Sent(EngineHarness.User).Count;
        Assert.InRange(sentAtCrash, 60, expected.Count - 1);

        await using var second = ApiProcess.Start(WorkerSettings(e));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(3), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User).Select(m => m.To[0]).ToList();
        Assert.Equal(expected.Select(x => x.Address).Order(StringComparer.OrdinalIgnoreCase), sent.Order(StringComparer.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Two_api_processes_sharing_one_redis_send_each_address_exactly_once()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var ids = Enumerable.Range(10301, 200).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        e.Graph.Faults.Seed = 5;
        e.Graph.Faults.LostAnswerRate = 0.05;

        await using var a = ApiProcess.Start(WorkerSettings(e));
        await using var b = ApiProcess.Start(WorkerSettings(e));
        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(3), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User).Select(m => m.To[0]).ToList();
        Assert.Equal(expected.Select(x => x.Address).Order(StringComparer.OrdinalIgnoreCase), sent.Order(StringComparer.OrdinalIgnoreCase));
        Assert.False(a.HasExited);
        Assert.False(b.HasExited);
    }
}
