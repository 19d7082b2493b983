using System.Globalization;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Mailings;

/// <summary>This instance's lease token for a mailing's expansion and follow-ups: one per process, so that a mailing's
/// next tick here goes on under the lease the last one took.</summary>
public sealed class WorkerToken
{
    public string Value { get; } = Guid.NewGuid().ToString("N");
}

/// <summary>A mailing a worker took from the due index, with the hold it wrote (its ticket: a later change shows).</summary>
/// <param name="DueAt">When it became due (null: woken by an event, "now").</param>
public sealed record DueMailing(string MailingId, DateTimeOffset? DueAt, long Hold);

/// <summary>What one take found: the mailings taken, how many are still due (not taken: no capacity) and when the
/// next one falls due.</summary>
public sealed record DueTake(IReadOnlyList<DueMailing> Taken, int StillDue, DateTimeOffset? NextDueAt)
{
    /// <summary>Due mailings left to the other instances as theirs to take (their fair share); if they have not taken
    /// them <see cref="IDueIndex.ShareGrace"/> from now, any instance does.</summary>
    public bool LeftToOthers { get; init; }
}

/// <summary>
/// Every mailing that may need a worker, by when it next does (docs/architecture.md, Mailing engine: Dispatch). A
/// mailing waiting for its pacing window, its schedule, a Retry-After or a lease costs nothing here until it is due: one
/// sorted set of all of them, read by each instance when the earliest falls due or a wake-up says something changed.
/// Taking a mailing moves it a hold into the future, so a worker that dies with it loses it for that long only.
/// </summary>
public interface IDueIndex
{
    /// <summary>Due at <paramref name="at"/> or earlier (an earlier time it already has stays); tells every instance.</summary>
    Task WakeAsync(string mailingId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Takes up to <paramref name="max"/> mailings due at <paramref name="now"/>, each held for <paramref name="hold"/>.
    /// Where several instances share the index, at most this instance's fair share: the due and running mailings spread
    /// evenly over the live instances, <paramref name="running"/> being how many this one runs now (a mailing due for a
    /// while is taken whatever the share, so one that a dead instance's share left behind waits no longer than that).</summary>
    Task<DueTake> TakeAsync(DateTimeOffset now, int max, TimeSpan hold, CancellationToken cancellationToken, int running = 0);

    /// <summary>Holds a taken mailing longer; false when it was woken meanwhile (another worker may take it too: the
    /// limiter and the claims keep that safe).</summary>
    Task<bool> RenewAsync(DueMailing ticket, long hold, CancellationToken cancellationToken);

    /// <summary>The worker is done with it: due again at <paramref name="next"/> (null: not until an event wakes it). When it
    /// was woken meanwhile, the earlier of the two times stays and nothing is dropped.</summary>
    Task FinishAsync(DueMailing ticket, DateTimeOffset? next, CancellationToken cancellationToken);

    /// <summary>Puts mailings the store counts as active but the index lacks (a lost write) due at <paramref name="now"/>.</summary>
    Task RepairAsync(IReadOnlyList<string> activeIds, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Whether this instance does the repair sweep now (one instance per <paramref name="every"/>).</summary>
    Task<bool> TryLeadRepairAsync(DateTimeOffset now, TimeSpan every, CancellationToken cancellationToken);

    /// <summary>Calls <paramref name="wake"/> with the due time whenever any instance makes a mailing due.</summary>
    Task SubscribeAsync(Action<DateTimeOffset> wake, CancellationToken cancellationToken);

    /// <summary>How long a worker may sleep with nothing due before it looks again (wake-ups may be lost).</summary>
    TimeSpan IdleCap { get; }

    /// <summary>How long a due mailing is left to the instance whose fair share it is before any instance takes it.</summary>
    static TimeSpan ShareGrace => TimeSpan.FromSeconds(1);
}

/// <summary>The due index on Redis: one sorted set <c>due</c> (mailing id → due ms, 0 = now), a wake-up channel and the
/// repair lock. Each step is one key (the set) or one script on it, so it lives in one cluster slot.</summary>
public sealed class RedisDueIndex(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> options, IOptions<SendingOptions> sending, WorkerToken me)
    : IDueIndex
{
    private string P => options.Value.KeyPrefix;
    private RedisKey Due => KeyOf(P);
    // The live instances (instance → when it last looked) and what each runs (instance → mailings), for the fair share.
    private RedisKey Instances => $"{P}{{due}}:instances";
    private RedisKey Load => $"{P}{{due}}:load";
    private RedisKey RepairLock => $"{P}{{due}}:repair";
    private RedisChannel Channel => ChannelOf(P);

    /// <summary>The set's key; the mailing store wakes a mailing there on every change that may give it work.</summary>
    internal static RedisKey KeyOf(string prefix) => $"{prefix}{{due}}";

    internal static RedisChannel ChannelOf(string prefix) => RedisChannel.Literal($"{prefix}due-wake");

    public TimeSpan IdleCap => sending.Value.IdleWake;

    // Like every key, the set expires a retention after its last change (renewed by every change): it outlives any
    // mailing in it, whose own keys expire after the same time.
    private long TtlMs => (long)options.Value.Retention.TotalMilliseconds;

    // ZADD LT adds a missing member and never moves one later.
    private static readonly LuaScript WakeScript = LuaScript.Prepare("""
        redis.call('ZADD', @Due, 'LT', @At, @Id)
        redis.call('PEXPIRE', @Due, @TtlMs)
        return 1
        """);

    // An instance is live while it looks at least every LiveMs (its dispatcher looks at least every IdleWake).
    private static readonly LuaScript TakeScript = LuaScript.Prepare("""
        local now, hold, max, mine = tonumber(@Now), tonumber(@Hold), tonumber(@Max), tonumber(@Running)
        redis.call('ZADD', @Instances, now, @Me)
        for _, gone in ipairs(redis.call('ZRANGEBYSCORE', @Instances, '-inf', now - tonumber(@LiveMs))) do
          redis.call('ZREM', @Instances, gone)
          redis.call('HDEL', @Load, gone)
        end
        local live = redis.call('ZCARD', @Instances)
        local left = 0
        if live > 1 then
          local others = 0
          local loads = redis.call('HGETALL', @Load)
          for i = 1, #loads, 2 do
            if loads[i] ~= @Me then others = others + tonumber(loads[i + 1]) end
          end
          local due = redis.call('ZCOUNT', @Due, '-inf', now)
          local share = math.ceil((others + mine + due) / live) - mine
          -- due for longer than the grace: nobody whose share it was took it (gone, or busy): whoever looks takes it
          local overdue = redis.call('ZCOUNT', @Due, '-inf', now - tonumber(@GraceMs))
          if share < overdue then share = overdue end
          if share < 0 then share = 0 end
          if share < max then
            if due > share then left = 1 end
            max = share
          end
        end
        local items = redis.call('ZRANGEBYSCORE', @Due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
        local taken = {}
        for i = 1, #items, 2 do
          redis.call('ZADD', @Due, hold, items[i])
          taken[#taken + 1] = items[i]
          taken[#taken + 1] = items[i + 1]
        end
        local still = redis.call('ZCOUNT', @Due, '-inf', now)
        local first = redis.call('ZRANGE', @Due, 0, 0, 'WITHSCORES')
        redis.call('HSET', @Load, @Me, mine + #taken / 2)
        redis.call('PEXPIRE', @Instances, @TtlMs)
        redis.call('PEXPIRE', @Load, @TtlMs)
        return { taken, still, first[2] or '', left }
        """);

    private static readonly LuaScript RenewScript = LuaScript.Prepare("""
        if tonumber(redis.call('ZSCORE', @Due, @Id) or '-1') ~= tonumber(@Hold) then return 0 end
        redis.call('ZADD', @Due, @NewHold, @Id)
        return 1
        """);

    // @Next '' = not due until an event wakes it.
    private static readonly LuaScript FinishScript = LuaScript.Prepare("""
        local current = redis.call('ZSCORE', @Due, @Id)
        if current and tonumber(current) == tonumber(@Hold) then
          if @Next == '' then redis.call('ZREM', @Due, @Id) return 1 end
          redis.call('ZADD', @Due, @Next, @Id)
          redis.call('PEXPIRE', @Due, @TtlMs)
          return 1
        end
        if @Next ~= '' then
          redis.call('ZADD', @Due, 'LT', @Next, @Id)
          redis.call('PEXPIRE', @Due, @TtlMs)
        end
        return 0
        """);

    public async Task WakeAsync(string mailingId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        await db.ScriptEvaluateAsync(WakeScript, new { Due, At = at.ToUnixTimeMilliseconds(), Id = mailingId, TtlMs }).ConfigureAwait(false);
        await db.PublishAsync(Channel, at.ToUnixTimeMilliseconds(), CommandFlags.FireAndForget).ConfigureAwait(false);
    }

    public async Task<DueTake> TakeAsync(DateTimeOffset now, int max, TimeSpan hold, CancellationToken cancellationToken, int running = 0)
    {
        var holdMs = (now + hold).ToUnixTimeMilliseconds();
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(TakeScript, new
        {
            Due, Instances, Load, Now = now.ToUnixTimeMilliseconds(), Hold = holdMs, Max = Math.Max(0, max), Running = Math.Max(0, running), Me = me.Value,
            LiveMs = (long)(2 * IdleCap + TimeSpan.FromSeconds(5)).TotalMilliseconds, GraceMs = (long)IDueIndex.ShareGrace.TotalMilliseconds, TtlMs,
        }).ConfigureAwait(false))!;
        var items = (RedisResult[])r[0]!;
        var taken = new List<DueMailing>(items.Length / 2);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            var dueMs = (long)double.Parse((string)items[i + 1]!, CultureInfo.InvariantCulture);
            taken.Add(new DueMailing((string)items[i]!, dueMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(dueMs) : null, holdMs));
        }
        var next = (string?)r[2];
        return new DueTake(taken, (int)r[1],
            string.IsNullOrEmpty(next) ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)double.Parse(next, CultureInfo.InvariantCulture)))
        {
            LeftToOthers = (int)r[3] == 1,
        };
    }

    public async Task<bool> RenewAsync(DueMailing ticket, long hold, CancellationToken cancellationToken) =>
        (int)await redis.GetDatabase().ScriptEvaluateAsync(RenewScript, new { Due, Id = ticket.MailingId, ticket.Hold, NewHold = hold }).ConfigureAwait(false) == 1;

    public async Task FinishAsync(DueMailing ticket, DateTimeOffset? next, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        await db.ScriptEvaluateAsync(FinishScript, new
        {
            Due, Id = ticket.MailingId, ticket.Hold, Next = next is { } n ? n.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) : "", TtlMs,
        }).ConfigureAwait(false);
        if (next is { } at)
        {
            // Other instances may sleep past it.
            await db.PublishAsync(Channel, at.ToUnixTimeMilliseconds(), CommandFlags.FireAndForget).ConfigureAwait(false);
        }
    }

    public async Task RepairAsync(IReadOnlyList<string> activeIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (activeIds.Count == 0)
        {
            return;
        }
        var db = redis.GetDatabase();
        var entries = activeIds.Select(id => new SortedSetEntry(id, now.ToUnixTimeMilliseconds())).ToArray();
        var added = await db.SortedSetAddAsync(Due, entries, SortedSetWhen.NotExists).ConfigureAwait(false);
        await db.KeyExpireAsync(Due, options.Value.Retention).ConfigureAwait(false);
        if (added > 0)
        {
            await db.PublishAsync(Channel, now.ToUnixTimeMilliseconds(), CommandFlags.FireAndForget).ConfigureAwait(false);
        }
    }

    public Task<bool> TryLeadRepairAsync(DateTimeOffset now, TimeSpan every, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(RepairLock, now.ToUnixTimeMilliseconds(), every, When.NotExists);

    public async Task SubscribeAsync(Action<DateTimeOffset> wake, CancellationToken cancellationToken)
    {
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(Channel, (_, value) =>
        {
            if (long.TryParse((string?)value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
            {
                wake(DateTimeOffset.FromUnixTimeMilliseconds(ms));
            }
        }).ConfigureAwait(false);
        // Messages published while the connection was down are lost: look again when it is back.
        redis.ConnectionRestored += (_, _) => wake(DateTimeOffset.MinValue);
    }
}

/// <summary>The due index in process memory (the demo's store): the same rules; a mailing the store counts as active
/// and the index has never seen is due at once, so nothing needs to tell it about new mailings.</summary>
public sealed class InMemoryDueIndex : IDueIndex
{
    private readonly IMailingStore store;
    private readonly IOptions<SendingOptions> sending;
    private readonly Lock _gate = new();

    public InMemoryDueIndex(IMailingStore store, IOptions<SendingOptions> sending)
    {
        this.store = store;
        this.sending = sending;
        if (store is InMemoryMailingStore memory)
        {
            // as the Redis store wakes a mailing in the Redis index on every change that may give it work
            memory.Activated += (id, at) => _ = WakeAsync(id, at, CancellationToken.None);
        }
    }
    private readonly Dictionary<string, long> _due = new(StringComparer.Ordinal);
    private readonly List<Action<DateTimeOffset>> _subscribers = [];

    // Memory costs nothing to look at: as often as the old poll.
    public TimeSpan IdleCap => sending.Value.PollInterval;

    public Task WakeAsync(string mailingId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var ms = at.ToUnixTimeMilliseconds();
        lock (_gate)
        {
            _due[mailingId] = _due.TryGetValue(mailingId, out var current) ? Math.Min(current, ms) : ms;
        }
        Notify(at);
        return Task.CompletedTask;
    }

    // One process: no other instance to share with.
    public async Task<DueTake> TakeAsync(DateTimeOffset now, int max, TimeSpan hold, CancellationToken cancellationToken, int running = 0)
    {
        var active = await store.ActiveMailingIdsAsync(cancellationToken).ConfigureAwait(false);
        var nowMs = now.ToUnixTimeMilliseconds();
        var holdMs = (now + hold).ToUnixTimeMilliseconds();
        lock (_gate)
        {
            foreach (var id in active)
            {
                _due.TryAdd(id, nowMs); // new to the index: due from now
            }
            var due = _due.Where(d => d.Value <= nowMs).OrderBy(d => d.Value).ThenBy(d => d.Key, StringComparer.Ordinal).ToList();
            var taken = due.Take(Math.Max(0, max)).Select(d => new DueMailing(d.Key, d.Value > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(d.Value) : null, holdMs)).ToList();
            foreach (var t in taken)
            {
                _due[t.MailingId] = holdMs;
            }
            long? next = _due.Count == 0 ? null : _due.Values.Min();
            return new DueTake(taken, due.Count - taken.Count, next is { } n ? DateTimeOffset.FromUnixTimeMilliseconds(n) : null);
        }
    }

    public Task<bool> RenewAsync(DueMailing ticket, long hold, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_due.TryGetValue(ticket.MailingId, out var current) || current != ticket.Hold)
            {
                return Task.FromResult(false);
            }
            _due[ticket.MailingId] = hold;
            return Task.FromResult(true);
        }
    }

    public Task FinishAsync(DueMailing ticket, DateTimeOffset? next, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var unchanged = _due.TryGetValue(ticket.MailingId, out var current) && current == ticket.Hold;
            if (unchanged && next is null)
            {
                // A mailing the store still counts as active comes back at the next take.
                _due.Remove(ticket.MailingId);
            }
            else if (next is { } at)
            {
                var ms = at.ToUnixTimeMilliseconds();
                _due[ticket.MailingId] = unchanged || !_due.ContainsKey(ticket.MailingId) ? ms : Math.Min(current, ms);
            }
        }
        if (next is { } wakeAt)
        {
            Notify(wakeAt);
        }
        return Task.CompletedTask;
    }

    public Task RepairAsync(IReadOnlyList<string> activeIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var id in activeIds)
            {
                _due.TryAdd(id, now.ToUnixTimeMilliseconds());
            }
        }
        return Task.CompletedTask;
    }

    public Task<bool> TryLeadRepairAsync(DateTimeOffset now, TimeSpan every, CancellationToken cancellationToken) => Task.FromResult(true);

    public Task SubscribeAsync(Action<DateTimeOffset> wake, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _subscribers.Add(wake);
        }
        return Task.CompletedTask;
    }

    private void Notify(DateTimeOffset at)
    {
        Action<DateTimeOffset>[] subscribers;
        lock (_gate)
        {
            subscribers = [.. _subscribers];
        }
        foreach (var s in subscribers)
        {
            s(at);
        }
    }
}
