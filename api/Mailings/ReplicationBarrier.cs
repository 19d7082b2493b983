using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Mailings;

/// <summary>The replication settings of the <c>Sending</c> section (docs/reliability.md, Redis Cluster and failover).</summary>
public sealed class ReplicationOptions
{
    /// <summary><c>Auto</c>: one replica must acknowledge a delivery's record before its send when the master holding the
    /// mailing has replicas; <c>0</c>: never wait; <c>N</c>: N replicas, always.</summary>
    [RegularExpression("^((?i:auto)|[0-9])$", ErrorMessage = "Sending:ReplicaAcks is Auto or a number of replicas from 0 to 9.")]
    public string ReplicaAcks { get; set; } = "Auto";

    /// <summary>How long a send waits for the acknowledgement before the delivery is put back for later.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan ReplicaAckTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Null: automatic. (A method: the configuration binder reads properties, also before validation.)</summary>
    public int? RequiredAcks() => int.TryParse(ReplicaAcks, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
}

/// <summary>
/// Holds a send until the delivery's record (its claim and its draft id, written just before) would survive a failover
/// of the Redis master that holds it. Replication is asynchronous: a master that fails over can lose its last
/// acknowledged writes, and a delivery whose claim and draft id were lost is claimed again as never tried — sent again
/// without a lookup. A lost completion is harmless (the lease runs out and the lookup finds the sent message).
/// </summary>
public interface IReplicationBarrier
{
    /// <summary>True when the record is confirmed where a failover keeps it (or nothing needs that: memory, no replicas);
    /// false: do not send now.</summary>
    Task<bool> ConfirmAsync(DeliveryClaim claim, Delivery recorded, CancellationToken cancellationToken);

    /// <summary>How long a delivery whose record was not confirmed waits before it is tried again.</summary>
    TimeSpan HoldFor { get; }
}

/// <summary>The in-memory store: nothing is replicated, nothing can fail over.</summary>
public sealed class NoReplicationBarrier : IReplicationBarrier
{
    public Task<bool> ConfirmAsync(DeliveryClaim claim, Delivery recorded, CancellationToken cancellationToken) => Task.FromResult(true);

    public TimeSpan HoldFor => TimeSpan.Zero;
}

/// <summary>
/// <c>WAIT</c> on the master that holds the mailing, on a connection of its own: WAIT blocks the connection it is sent
/// on until the replicas acknowledge or the timeout passes, which on the shared multiplexed connection would hold up
/// every other command of this process to that master. WAIT covers the writes made on its own connection, so the
/// barrier first writes on it: a script that checks the master has this delivery's record (the claim's lease token and
/// the draft id) and renews the mailing's TTL, as every change does. Replication is one ordered stream per master, so a
/// replica that has acknowledged that write has the record written before it. A master that does not have the record
/// (it took over without it) says no, and the send waits; so does one that does not answer.
/// </summary>
public sealed partial class RedisReplicationBarrier(
    IConnectionMultiplexer redis,
    IOptions<MailingStoreOptions> store,
    IOptions<ReplicationOptions> options,
    TimeProvider time,
    ILogger<RedisReplicationBarrier> logger) : IReplicationBarrier, IAsyncDisposable
{
    // KEYS: meta, o (seq → lease token), d (seq → delivery json); ARGV: seq, token, draft id, ttl ms.
    private const string ConfirmScript = """
        if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
        local json = redis.call('HGET', KEYS[3], ARGV[1])
        if not json or cjson.decode(json)['draftId'] ~= ARGV[3] then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    private static readonly TimeSpan TopologyFor = TimeSpan.FromSeconds(5);
    private readonly Lazy<Task<ConnectionMultiplexer>> _own = new(() => ConnectionMultiplexer.ConnectAsync(Own(redis.Configuration, options.Value.ReplicaAckTimeout)));
    private readonly ConcurrentDictionary<EndPoint, (int Replicas, DateTimeOffset Until)> _replicas = new();
    private readonly ConcurrentDictionary<EndPoint, DateTimeOffset> _failingUntil = new();

    private ReplicationOptions O => options.Value;

    /// <summary>After a failed acknowledgement the master's sends wait this long without asking again (so a lost replica
    /// costs one timeout per period, not one per delivery).</summary>
    public TimeSpan HoldFor => O.ReplicaAckTimeout * 2 < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : O.ReplicaAckTimeout * 2;

    public async Task<bool> ConfirmAsync(DeliveryClaim claim, Delivery recorded, CancellationToken cancellationToken)
    {
        if (O.RequiredAcks() == 0)
        {
            return true;
        }
        var prefix = store.Value.KeyPrefix;
        var meta = RedisMailingStore.KeyOf(prefix, claim.MailingId, "meta");
        try
        {
            // The master of the mailing's slot as this process sees it now (no round trip).
            var endpoint = redis.GetServer(meta, null, CommandFlags.DemandMaster).EndPoint;
            var needed = O.RequiredAcks() ?? (await ReplicasAsync(endpoint).ConfigureAwait(false) > 0 ? 1 : 0);
            if (needed == 0)
            {
                return true;
            }
            if (_failingUntil.TryGetValue(endpoint, out var until) && until > time.GetUtcNow())
            {
                return false;
            }
            return await WaitAsync(endpoint, claim, recorded, needed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or RedisCommandException or TimeoutException)
        {
            Log.Unavailable(logger, e.GetType().Name);
            return false;
        }
    }

    private async Task<bool> WaitAsync(EndPoint endpoint, DeliveryClaim claim, Delivery recorded, int needed, CancellationToken cancellationToken)
    {
        var own = await _own.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var server = own.GetServer(endpoint);
        var prefix = store.Value.KeyPrefix;
        var meta = RedisMailingStore.KeyOf(prefix, claim.MailingId, "meta");
        try
        {
            // Both on one server, never redirected: WAIT counts only for the node that ran the script.
            var confirmed = (int)await server.ExecuteAsync("EVAL", [ConfirmScript, 3, meta,
                RedisMailingStore.KeyOf(prefix, claim.MailingId, "o"), RedisMailingStore.KeyOf(prefix, claim.MailingId, "d"),
                recorded.Seq, claim.LeaseToken, recorded.DraftId ?? "", (long)store.Value.Retention.TotalMilliseconds], CommandFlags.NoRedirect)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            if (confirmed != 1)
            {
                Log.NotRecorded(logger, claim.MailingId, recorded.Seq);
                return false;
            }
            var acks = (int)await server.ExecuteAsync("WAIT", [needed, (long)O.ReplicaAckTimeout.TotalMilliseconds], CommandFlags.NoRedirect)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            if (acks >= needed)
            {
                if (_failingUntil.TryRemove(endpoint, out _))
                {
                    Log.Recovered(logger, endpoint.ToString() ?? "");
                }
                return true;
            }
            Fail(endpoint, $"{acks} of {needed} replicas acknowledged in {O.ReplicaAckTimeout.TotalMilliseconds:0} ms");
            return false;
        }
        catch (Exception e) when (e is RedisException or RedisCommandException or TimeoutException)
        {
            Fail(endpoint, e.GetType().Name);
            return false;
        }
    }

    private void Fail(EndPoint endpoint, string why)
    {
        var first = !_failingUntil.ContainsKey(endpoint);
        _failingUntil[endpoint] = time.GetUtcNow() + HoldFor;
        if (first)
        {
            Log.Unconfirmed(logger, endpoint.ToString() ?? "", why, (int)HoldFor.TotalMilliseconds);
        }
    }

    /// <summary>The replicas the master has, looked up every few seconds: those the cluster's topology lists for it
    /// (linked or not — a replica that is cut off must still hold sends, it may be promoted without the record) and
    /// those connected to it (ROLE; the only view a standalone master gives). Never fewer than this process has seen
    /// for that master before: a replica does not stop counting by falling out of view.</summary>
    private async Task<int> ReplicasAsync(EndPoint endpoint)
    {
        var now = time.GetUtcNow();
        if (_replicas.TryGetValue(endpoint, out var known) && known.Until > now)
        {
            return known.Replicas;
        }
        // Any node's view of the topology names the master's replicas (not only the master's own view, which the client
        // may not have loaded).
        var listed = redis.GetServers().Select(s => s.ClusterConfiguration?[endpoint]?.Children.Count ?? 0).DefaultIfEmpty(0).Max();
        var connected = await redis.GetServer(endpoint).RoleAsync().ConfigureAwait(false) is Role.Master master ? master.Replicas.Count : 0;
        var replicas = Math.Max(Math.Max(listed, connected), known.Replicas);
        if (replicas != known.Replicas)
        {
            Log.Replicas(logger, endpoint.ToString() ?? "", replicas);
        }
        _replicas[endpoint] = (replicas, now + TopologyFor);
        return replicas;
    }

    /// <summary>The shared connection's configuration for a connection of the barrier's own.</summary>
    private static ConfigurationOptions Own(string configuration, TimeSpan ackTimeout)
    {
        var own = ConfigurationOptions.Parse(configuration);
        own.AbortOnConnectFail = false;
        // a WAIT answers after its timeout at the latest: never give up on it before
        own.AsyncTimeout = Math.Max(own.AsyncTimeout, (int)ackTimeout.TotalMilliseconds + 1000);
        own.ClientName = "bulkmail-replication-barrier";
        return own;
    }

    public async ValueTask DisposeAsync()
    {
        if (_own.IsValueCreated && _own.Value.IsCompletedSuccessfully)
        {
            await (await _own.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(160, LogLevel.Warning, "Redis {Endpoint}: sends held for {HoldMs} ms, replicas did not confirm the deliveries' records ({Why})")]
        public static partial void Unconfirmed(ILogger logger, string endpoint, string why, int holdMs);

        [LoggerMessage(161, LogLevel.Information, "Redis {Endpoint}: replicas confirm again, sends continue")]
        public static partial void Recovered(ILogger logger, string endpoint);

        [LoggerMessage(164, LogLevel.Information, "Redis {Endpoint}: {Replicas} replicas; sends wait for one to hold each delivery's record")]
        public static partial void Replicas(ILogger logger, string endpoint, int replicas);

        [LoggerMessage(163, LogLevel.Warning, "Redis: sends held, the replication barrier could not reach the master ({Error})")]
        public static partial void Unavailable(ILogger logger, string error);

        [LoggerMessage(162, LogLevel.Warning, "Mailing {MailingId}: the master does not hold delivery {Seq}'s record (a failover lost it?); not sent")]
        public static partial void NotRecorded(ILogger logger, string mailingId, int seq);
    }
}
