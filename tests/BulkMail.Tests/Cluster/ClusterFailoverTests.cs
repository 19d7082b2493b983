using System.Diagnostics;
using BulkMail.Tests.Mailings;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Cluster;

/// <summary>
/// A master failover that loses writes, mid-mailing: the replica of the master holding the mailing is cut off from it
/// so it falls behind, the master is killed (SIGKILL), and the stale replica takes over (CLUSTER FAILOVER TAKEOVER) —
/// everything the master acknowledged during the stop is gone. With the replication barrier nothing was sent whose
/// record was not on the replica, so every address gets its mail once; without it (ReplicaAcks=0) the sends of the lost
/// window go out again. Each class kills a master of its own cluster.
/// </summary>
public abstract class ClusterFailoverSuite(RedisClusterFixture cluster, string replicaAcks)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected async Task<(int Sent, int Duplicates, int Lost)> FailOverMidMailingAsync()
    {
        var clock = Stopwatch.StartNew();
        await using var e = await EngineHarness.StartAsync(cluster, new Dictionary<string, string?>
        {
            ["Sending:ReplicaAcks"] = replicaAcks,
            ["Sending:ReplicaAckTimeout"] = "00:00:00.200",
            ["Sending:DeliveryLease"] = "00:00:05",
        });
        var ids = Enumerable.Range(10001, 200).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        e.Graph.Faults.Latency = TimeSpan.FromMilliseconds(20);

        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        var until = DateTime.UtcNow.AddSeconds(40);
        while (e.Graph.Sent(EngineHarness.User).Count < 20 && DateTime.UtcNow < until)
        {
            await Task.Delay(20, Ct);
        }
        var master = cluster.MasterOf($"{e.Prefix}{{m:{id}}}:meta");
        var replica = await cluster.ReplicaOfAsync(master);
        // Cut the replica off: a wrong masterauth keeps it from linking again after its link is dropped. (A stopped
        // process would not do: what the master sent waits in the kernel's socket buffers and arrives after all.)
        Assert.Contains("OK", await cluster.CliAsync(replica, "config set masterauth not-the-password"), StringComparison.Ordinal);
        await cluster.CliAsync(replica, "client kill type master");
        var atFreeze = e.Graph.Sent(EngineHarness.User).Count;
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        await cluster.KillAsync(master);
        var atKill = e.Graph.Sent(EngineHarness.User).Count;
        Assert.Contains("OK", await cluster.CliAsync(replica, "cluster failover takeover"), StringComparison.Ordinal);
        var promoted = DateTime.UtcNow.AddSeconds(20);
        while (await cluster.RoleOfAsync(replica) != "master" && DateTime.UtcNow < promoted)
        {
            await Task.Delay(100, Ct);
        }
        Assert.Equal("master", await cluster.RoleOfAsync(replica));

        await e.WaitForAsync(id, TimeSpan.FromSeconds(90), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        var (duplicates, lost) = ClusterEngineTests.Tally(expected.Select(x => x.Address), sent.Select(m => m.To[0]));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"failover (ReplicaAcks={replicaAcks}): sent {sent.Count} for {expected.Count} deliveries, duplicates {duplicates}, lost {lost}; " +
            $"{atFreeze} sent when the replica was cut off, {atKill} when the master was killed; {clock.Elapsed.TotalSeconds:0.0} s");
        return (sent.Count, duplicates, lost);
    }
}

public sealed class ClusterFailoverTests(RedisClusterFixture cluster) : ClusterFailoverSuite(cluster, "Auto"), IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task A_failover_that_loses_the_masters_last_writes_sends_no_address_twice()
    {
        var (_, duplicates, lost) = await FailOverMidMailingAsync();
        Assert.Equal(0, duplicates);
        Assert.Equal(0, lost);
    }
}

public sealed class ClusterFailoverWithoutBarrierTests(RedisClusterFixture cluster) : ClusterFailoverSuite(cluster, "0"), IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task Without_the_barrier_the_same_failover_sends_the_lost_window_again()
    {
        // The control: what the barrier prevents happens without it, so the test above can see it.
        var (_, duplicates, lost) = await FailOverMidMailingAsync();
        Assert.True(duplicates > 0, "the sends the failover forgot went out a second time");
        Assert.Equal(0, lost);
    }
}
