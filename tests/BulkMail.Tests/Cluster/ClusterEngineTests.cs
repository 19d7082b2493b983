using System.Diagnostics;
using System.Globalization;
using BulkMail.Tests.Mailings;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Cluster;

/// <summary>
/// The engine on a Redis Cluster of three masters with a replica each: three API processes sharing a paced mailing, one
/// killed with SIGKILL; the replication barrier on the normal path and with every replica unable to acknowledge.
/// The tests here leave the topology as they found it (the failover tests take a cluster of their own).
/// </summary>
public sealed class ClusterEngineTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // 10 messages per 5 s window (+0.5 s margin): the mailing's deliveries span ~4 windows of pacing. The window must be
    // longer than a cold process takes from its first grants to their sends (~3 s on a busy 2-core machine): a send
    // counts from when it finished, but a grant the window has already dropped cannot be moved.
    private const int PerWindow = 10;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    internal static Dictionary<string, string?> WorkerSettings(EngineHarness e, bool paced = true)
    {
        var settings = EngineHarness.Settings(e.Hrbc, e.GraphHost, e.Redis, e.Prefix);
        settings["Sending:WorkerEnabled"] = "true";
        settings["Sending:DeliveryLease"] = "00:00:05";
        if (paced)
        {
            settings["Sending:MessagesPerMinute"] = PerWindow.ToString(CultureInfo.InvariantCulture);
            settings["Sending:PacingWindow"] = Window.ToString();
            settings["Sending:PacingMargin"] = "00:00:00.500";
        }
        return settings;
    }

    [Fact]
    public Task Three_instances_on_a_cluster_one_killed_mid_mailing_send_each_address_once_at_the_pace() => KillOneOfThreeAsync(cluster);

    internal static async Task KillOneOfThreeAsync(IRedisFixture redis)
    {
        var clock = Stopwatch.StartNew();
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var ids = Enumerable.Range(10001, 40).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        e.Graph.Faults.Latency = TimeSpan.FromMilliseconds(30);

        // Every pacing grant, as the limiter records it (token → grant time), sampled until the end.
        var grants = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        var sendsKey = $"{e.Prefix}{{mb:{BulkMail.Api.Infrastructure.OwnerKey.Of(EngineHarness.User)}}}:sends";
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            var db = redis.Require().GetDatabase();
            while (!sampling.IsCancellationRequested)
            {
                foreach (var entry in await db.SortedSetRangeByRankWithScoresAsync(sendsKey))
                {
                    grants[(string)entry.Element!] = entry.Score;
                }
                await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None);
        await using var a = ApiProcess.Start(WorkerSettings(e));
        await using var b = ApiProcess.Start(WorkerSettings(e));
        await using var c = ApiProcess.Start(WorkerSettings(e));
        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        var until = DateTime.UtcNow.AddSeconds(40);
        while (e.Graph.Sent(EngineHarness.User).Count < 15 && DateTime.UtcNow < until)
        {
            await Task.Delay(50, Ct);
        }
        await a.KillAsync();
        var sentAtKill = e.Graph.Sent(EngineHarness.User).Count;
        Assert.InRange(sentAtKill, 15, expected.Count - 5); // in the second window: the rest is sent by the two left

        await e.WaitForAsync(id, TimeSpan.FromSeconds(90), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        var (duplicates, lost) = Tally(expected.Select(x => x.Address), sent.Select(m => m.To[0]));
        var busiest = BusiestWindow(sent.Select(m => m.SentAt!.Value), Window);
        var first = sent.Min(m => m.SentAt!.Value);
        await sampling.CancelAsync();
        await sampler;
        TestContext.Current.TestOutputHelper?.WriteLine($"grants ({grants.Count}) at " + string.Join(' ', grants.Values.Order()
            .Select(ms => (DateTimeOffset.FromUnixTimeMilliseconds((long)ms) - first).TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture))));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"cluster kill -9: sent {sent.Count}/{expected.Count}, duplicates {duplicates}, lost {lost}, killed at {sentAtKill}, " +
            $"busiest {Window.TotalSeconds:0} s window {busiest}/{PerWindow}, {clock.Elapsed.TotalSeconds:0.0} s; sends at " +
            string.Join(' ', sent.Select(m => (m.SentAt!.Value - first).TotalSeconds).Order().Select(t => t.ToString("0.00", CultureInfo.InvariantCulture))));
        Assert.Equal(0, duplicates);
        Assert.Equal(0, lost);
        Assert.Equal(expected.Count, sent.Count);
        Assert.InRange(busiest, 1, PerWindow);
        Assert.InRange(e.Graph.MaxObservedConcurrency(EngineHarness.User), 1, 4);
        Assert.False(b.HasExited);
        Assert.False(c.HasExited);
    }

    [Fact]
    public async Task Every_send_waits_for_a_replica_to_hold_its_record()
    {
        var waitsBefore = await WaitCallsAsync();
        await using var e = await EngineHarness.StartAsync(cluster);
        var ids = Enumerable.Range(10101, 30).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");

        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        await e.WaitForAsync(id, TimeSpan.FromSeconds(60), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User).Select(m => m.To[0]).ToList();
        Assert.Equal(expected.Select(x => x.Address).Order(StringComparer.OrdinalIgnoreCase), sent.Order(StringComparer.OrdinalIgnoreCase));
        // WAIT answered on the masters for every send (other tests' sends on this cluster only add to it)
        Assert.True(await WaitCallsAsync() - waitsBefore >= expected.Count, "every send is preceded by a WAIT");
    }

    [Fact]
    public async Task While_no_replica_can_acknowledge_nothing_is_sent_and_the_mailing_continues_once_they_can()
    {
        await using var e = await EngineHarness.StartAsync(cluster, new Dictionary<string, string?>
        {
            ["Sending:ReplicaAckTimeout"] = "00:00:00.200",
        });
        var ids = Enumerable.Range(10201, 30).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        var replicas = new List<int>();
        foreach (var port in cluster.Ports)
        {
            if (await cluster.RoleOfAsync(port) == "slave")
            {
                replicas.Add(port);
            }
        }
        Assert.Equal(3, replicas.Count);

        var frozenAt = DateTimeOffset.UtcNow;
        foreach (var replica in replicas)
        {
            await cluster.FreezeAsync(replica);
        }
        string id;
        try
        {
            id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
            // claimed (Sending: its expansion may take seconds on a loaded machine), then held back, not failed
            await e.WaitForAsync(id, TimeSpan.FromSeconds(30), "Sending");
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            Assert.Empty(e.Graph.Sent(EngineHarness.User));
            Assert.Equal("Sending", (await e.StatusAsync(id)).GetProperty("state").GetString());
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await cluster.ThawAsync(replica);
            }
        }
        var held = DateTimeOffset.UtcNow - frozenAt;
        await e.WaitForAsync(id, TimeSpan.FromSeconds(60), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"replicas frozen {held.TotalSeconds:0.0} s: sent {sent.Count}/{expected.Count}, first send {(sent.Min(m => m.SentAt!.Value) - frozenAt).TotalSeconds:0.0} s after the freeze began");
        Assert.Equal(expected.Select(x => x.Address).Order(StringComparer.OrdinalIgnoreCase), sent.Select(m => m.To[0]).Order(StringComparer.OrdinalIgnoreCase));
        Assert.True(await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(30)), "the replicas linked again");
    }

    /// <summary>Messages sent beyond each address's deliveries, and deliveries with no message.</summary>
    internal static (int Duplicates, int Lost) Tally(IEnumerable<string> expected, IEnumerable<string> sent)
    {
        var want = expected.GroupBy(a => a, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
        var got = sent.GroupBy(a => a, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
        return (got.Sum(g => Math.Max(0, g.Value - want.GetValueOrDefault(g.Key))), want.Sum(w => Math.Max(0, w.Value - got.GetValueOrDefault(w.Key))));
    }

    /// <summary>The most sends that arrived within any span of <paramref name="window"/>.</summary>
    internal static int BusiestWindow(IEnumerable<DateTimeOffset> times, TimeSpan window)
    {
        var sorted = times.Order().ToList();
        var most = 0;
        for (int i = 0, j = 0; i < sorted.Count; i++)
        {
            while (sorted[i] - sorted[j] >= window)
            {
                j++;
            }
            most = Math.Max(most, i - j + 1);
        }
        return most;
    }

    private async Task<long> WaitCallsAsync()
    {
        long calls = 0;
        foreach (var port in cluster.Ports)
        {
            var stats = await cluster.CliAsync(port, "info commandstats");
            var line = stats.Split('\n').FirstOrDefault(l => l.StartsWith("cmdstat_wait:", StringComparison.Ordinal));
            if (line is not null)
            {
                calls += long.Parse(line.Split("calls=")[1].Split(',')[0], CultureInfo.InvariantCulture);
            }
        }
        return calls;
    }
}

public sealed class ReplicationSettingsTests
{
    [Theory]
    [InlineData("Sending:ReplicaAcks", "sometimes")]
    [InlineData("Sending:ReplicaAcks", "10")]
    [InlineData("Sending:ReplicaAcks", "-1")]
    [InlineData("Sending:ReplicaAckTimeout", "00:00:00")]
    [InlineData("Sending:ReplicaAckTimeout", "00:01:00")]
    [InlineData("Sending:PacingWindow", "00:00:00.500")]
    public void A_replication_or_pacing_setting_out_of_range_stops_the_api_at_start_up(string key, string value)
    {
        var error = Assert.ThrowsAny<Exception>(() => BulkMailApplication.Start(new Dictionary<string, string?> { [key] = value }).Dispose());
        Assert.Contains(key.Split(':')[1], error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Auto", null)]
    [InlineData("auto", null)]
    [InlineData("0", 0)]
    [InlineData("2", 2)]
    public void Replica_acks_are_automatic_or_a_count(string value, int? expected) =>
        Assert.Equal(expected, new BulkMail.Api.Mailings.ReplicationOptions { ReplicaAcks = value }.RequiredAcks());
}
