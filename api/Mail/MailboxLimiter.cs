using Microsoft.Extensions.Options;
using StackExchange.Redis;
using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Mail;

/// <summary>Why a send has to wait.</summary>
public enum LimitReason { None, Throttled, Concurrency, Rate, Daily, Upload }

/// <summary>A grant (with its token) or how long to wait and why.</summary>
public sealed record LimiterDecision(string? Token, TimeSpan Wait, LimitReason Reason)
{
    public bool Granted => Token is not null;
}

/// <summary>Where one mailbox's pacing stands now (read only; for the status's wait reason and ETA).</summary>
/// <param name="BlockedUntil">Graph's Retry-After holds the mailbox until then (null: not blocked).</param>
/// <param name="SendsInWindow">Sends counted in the current messages-per-minute window.</param>
/// <param name="WindowFreesAt">When the oldest of them leaves the window.</param>
/// <param name="UploadBytes">Attachment bytes counted in the current upload window.</param>
/// <param name="UploadFreesAt">When the oldest of them leaves it.</param>
/// <param name="Daily">Recipients counted in the last 24 h.</param>
/// <param name="DailyFreesAt">When the oldest of them leaves the 24-h window.</param>
public sealed record MailboxPace(DateTimeOffset? BlockedUntil, int SendsInWindow, DateTimeOffset? WindowFreesAt, long UploadBytes,
    DateTimeOffset? UploadFreesAt, int Daily, DateTimeOffset? DailyFreesAt);

/// <summary>The pace of one sender mailbox, from <c>Sending:*</c>.</summary>
/// <param name="RateWindow">The window of <paramref name="MessagesPerMinute"/>: a minute plus a margin, because a send
/// reaches Microsoft a little after its grant and two grants exactly a minute apart could arrive a little less.</param>
public sealed record MailboxLimits(int MessagesPerMinute, int MaxConcurrency, int DailyRecipientLimit, TimeSpan InFlightLease)
{
    public TimeSpan RateWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Bytes a mailbox may upload in <see cref="UploadWindow"/> (Outlook: 150 MB per 5 minutes, POST/PUT/PATCH).</summary>
    public long UploadBudgetBytes { get; init; } = 140L * 1024 * 1024;

    public TimeSpan UploadWindow { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Paces every send of one mailbox, across all workers and processes: at most N messages in any 60 s, at most
/// C requests in flight, at most D recipients in any 24 h, and nothing while Graph's Retry-After holds.
/// Time is passed in (from <see cref="TimeProvider"/>) so that tests drive it with a fake clock.
/// </summary>
public interface IMailboxLimiter
{
    /// <param name="uploadBytes">What the send will upload (attachments); counted against the upload budget.</param>
    Task<LimiterDecision> TryAcquireAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken, long uploadBytes = 0);

    /// <summary>A concurrency slot for a request that sends nothing (the Inbox reader's list, MIME and move calls): counted
    /// against the mailbox's concurrent requests and held off by Retry-After, not against the messages per minute, the
    /// daily recipients or the upload budget. Freed with <see cref="ReleaseAsync"/> (or when its lease runs out).</summary>
    Task<LimiterDecision> TryAcquireReadAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The request finished: frees its concurrency slot (the send stays counted). With <paramref name="now"/>, its
    /// uploads are counted from now: Graph counts upload bytes when they arrive, which can be long after the grant.</summary>
    Task ReleaseAsync(string mailbox, string token, CancellationToken cancellationToken, DateTimeOffset? now = null);

    /// <summary>The grant's message is being sent, or its send has just answered: it counts in the messages-per-minute
    /// window from now, never earlier (Microsoft counts a message when it receives the send; the draft before it can take
    /// seconds, the call itself too). A grant the window has already dropped stays dropped.</summary>
    Task StampAsync(string mailbox, string token, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Nothing was sent with this grant (no delivery was ready): uncount it.</summary>
    Task CancelAsync(string mailbox, string token, CancellationToken cancellationToken);

    /// <summary>Graph said 429: no request for this mailbox before <paramref name="until"/>.</summary>
    Task BlockAsync(string mailbox, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>Recipients counted in the last 24 h, and when the oldest of them leaves the window.</summary>
    Task<(int Count, DateTimeOffset? OldestLeavesAt)> DailyUsageAsync(string mailbox, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Where the mailbox's pacing stands at <paramref name="now"/>; changes nothing.</summary>
    Task<MailboxPace> PaceAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken);
}

public sealed class RedisMailboxLimiter(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> options) : IMailboxLimiter
{
    private const long Minute = 60_000, Day = 86_400_000;

    // Named parameters (LuaScript.Prepare): the mailbox's keys are RedisKey members, sent as KEYS too, all in one hash tag.
    // Keys: sends, inflight, daily, blocked, uploads (zset token → time), uploadBytes (hash token → bytes).
    private static readonly LuaScript AcquireScript = LuaScript.Prepare("""
        local sends, inflight, daily, blocked, uploads, uploadBytes = @Sends, @Inflight, @Daily, @Blocked, @Uploads, @UploadBytes
        local now = tonumber(@Now)
        local blockedUntil = tonumber(redis.call('GET', blocked) or '0')
        if blockedUntil > now then return { 0, blockedUntil - now, 'Throttled' } end
        local window = tonumber(@WindowMs)
        redis.call('ZREMRANGEBYSCORE', sends, '-inf', now - window)
        redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
        redis.call('ZREMRANGEBYSCORE', daily, '-inf', now - 86400000)
        if redis.call('ZCARD', inflight) >= tonumber(@MaxConcurrency) then
          local first = redis.call('ZRANGE', inflight, 0, 0, 'WITHSCORES')
          return { 0, math.min(tonumber(first[2]) - now, 250), 'Concurrency' }
        end
        if redis.call('ZCARD', daily) >= tonumber(@DailyLimit) then
          local first = redis.call('ZRANGE', daily, 0, 0, 'WITHSCORES')
          return { 0, tonumber(first[2]) + 86400000 - now, 'Daily' }
        end
        if redis.call('ZCARD', sends) >= tonumber(@PerMinute) then
          local first = redis.call('ZRANGE', sends, 0, 0, 'WITHSCORES')
          return { 0, tonumber(first[2]) + window - now, 'Rate' }
        end
        local token, retention = @Token, @RetentionMs
        local bytes, uploadWindow = tonumber(@Bytes), tonumber(@UploadWindowMs)
        if bytes > 0 then
          local expired = redis.call('ZRANGEBYSCORE', uploads, '-inf', now - uploadWindow)
          for _, t in ipairs(expired) do redis.call('HDEL', uploadBytes, t) end
          redis.call('ZREMRANGEBYSCORE', uploads, '-inf', now - uploadWindow)
          local used = 0
          for _, v in ipairs(redis.call('HVALS', uploadBytes)) do used = used + tonumber(v) end
          if used > 0 and used + bytes > tonumber(@Budget) then
            local first = redis.call('ZRANGE', uploads, 0, 0, 'WITHSCORES')
            return { 0, math.max(1, tonumber(first[2]) + uploadWindow - now), 'Upload' }
          end
          redis.call('ZADD', uploads, now, token)
          redis.call('HSET', uploadBytes, token, bytes)
          redis.call('PEXPIRE', uploads, retention)
          redis.call('PEXPIRE', uploadBytes, retention)
        end
        redis.call('ZADD', sends, now, token)
        redis.call('ZADD', daily, now, token)
        redis.call('ZADD', inflight, now + tonumber(@LeaseMs), token)
        for _, key in ipairs({ sends, inflight, daily }) do redis.call('PEXPIRE', key, retention) end
        return { 1, 0, 'None' }
        """);

    private static readonly LuaScript AcquireReadScript = LuaScript.Prepare("""
        local now = tonumber(@Now)
        local blockedUntil = tonumber(redis.call('GET', @Blocked) or '0')
        if blockedUntil > now then return { 0, blockedUntil - now, 'Throttled' } end
        redis.call('ZREMRANGEBYSCORE', @Inflight, '-inf', now)
        if redis.call('ZCARD', @Inflight) >= tonumber(@MaxConcurrency) then
          local first = redis.call('ZRANGE', @Inflight, 0, 0, 'WITHSCORES')
          return { 0, math.min(tonumber(first[2]) - now, 250), 'Concurrency' }
        end
        redis.call('ZADD', @Inflight, now + tonumber(@LeaseMs), @Token)
        redis.call('PEXPIRE', @Inflight, @RetentionMs)
        return { 1, 0, 'None' }
        """);

    private string P => options.Value.KeyPrefix;

    // Every call of a send needs the mailbox's tag: hashed once per mailbox, not three times per message. Bounded: the
    // mailboxes of one instance's users, cleared if it ever holds more.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _tags = new(StringComparer.Ordinal);
    private const int MaxTags = 10_000;

    // The mailbox is hashed (OwnerKey): an address may contain '}' or ':', which must not change the key's hash tag.
    private string Tag(string mailbox)
    {
        if (_tags.TryGetValue(mailbox, out var tag))
        {
            return tag;
        }
        if (_tags.Count >= MaxTags)
        {
            _tags.Clear();
        }
        return _tags[mailbox] = $"{P}{{mb:{OwnerKey.Of(mailbox)}}}";
    }

    private RedisKey[] Keys(string mailbox)
    {
        var k = new MailboxKeys(Tag(mailbox));
        return [k.Sends, k.Inflight, k.Daily, k.Blocked, k.Uploads, k.UploadBytes];
    }

    private class MailboxKeys(string tag)
    {
        public RedisKey Sends { get; } = $"{tag}:sends";
        public RedisKey Inflight { get; } = $"{tag}:inflight";
        public RedisKey Daily { get; } = $"{tag}:daily";
        public RedisKey Blocked { get; } = $"{tag}:blocked";
        public RedisKey Uploads { get; } = $"{tag}:uploads";
        public RedisKey UploadBytes { get; } = $"{tag}:uploadBytes";
    }

    private sealed class AcquireArgs(string tag) : MailboxKeys(tag)
    {
        public required long Now { get; init; }
        public required int PerMinute { get; init; }
        public required int MaxConcurrency { get; init; }
        public required int DailyLimit { get; init; }
        public required string Token { get; init; }
        public required long LeaseMs { get; init; }
        public required long RetentionMs { get; init; }
        public required long WindowMs { get; init; }
        public required long Bytes { get; init; }
        public required long Budget { get; init; }
        public required long UploadWindowMs { get; init; }
    }

    private sealed class PaceArgs(string tag) : MailboxKeys(tag)
    {
        public required long Now { get; init; }
        public required long WindowMs { get; init; }
        public required long UploadWindowMs { get; init; }
    }

    public async Task<LimiterDecision> TryAcquireAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken, long uploadBytes = 0)
    {
        var token = Guid.NewGuid().ToString("N");
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AcquireScript, new AcquireArgs(Tag(mailbox))
        {
            Now = now.ToUnixTimeMilliseconds(), PerMinute = limits.MessagesPerMinute, MaxConcurrency = limits.MaxConcurrency,
            DailyLimit = limits.DailyRecipientLimit, Token = token, LeaseMs = (long)limits.InFlightLease.TotalMilliseconds, RetentionMs = Day * 2,
            WindowMs = (long)limits.RateWindow.TotalMilliseconds, Bytes = uploadBytes, Budget = limits.UploadBudgetBytes,
            UploadWindowMs = (long)limits.UploadWindow.TotalMilliseconds,
        }).ConfigureAwait(false))!;
        return (int)r[0] == 1
            ? new LimiterDecision(token, TimeSpan.Zero, LimitReason.None)
            : new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Max(1, (long)r[1])), Enum.Parse<LimitReason>((string)r[2]!));
    }

    public async Task<LimiterDecision> TryAcquireReadAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid().ToString("N");
        var k = new MailboxKeys(Tag(mailbox));
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AcquireReadScript, new
        {
            k.Inflight, k.Blocked, Now = now.ToUnixTimeMilliseconds(), limits.MaxConcurrency, Token = token,
            LeaseMs = (long)limits.InFlightLease.TotalMilliseconds, RetentionMs = Day * 2,
        }).ConfigureAwait(false))!;
        return (int)r[0] == 1
            ? new LimiterDecision(token, TimeSpan.Zero, LimitReason.None)
            : new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Max(1, (long)r[1])), Enum.Parse<LimitReason>((string)r[2]!));
    }

    // Fire and forget: the slot also frees itself when its lease runs out, so the send need not wait for this.
    public Task ReleaseAsync(string mailbox, string token, CancellationToken cancellationToken, DateTimeOffset? now = null)
    {
        var db = redis.GetDatabase();
        var tag = Tag(mailbox);
        if (now is { } at)
        {
            _ = db.SortedSetAddAsync($"{tag}:uploads", token, at.ToUnixTimeMilliseconds(), SortedSetWhen.Exists, CommandFlags.FireAndForget);
        }
        return db.SortedSetRemoveAsync($"{tag}:inflight", token, CommandFlags.FireAndForget);
    }

    // Only later, and only an entry still counted: never re-adds one the window or a cancel removed. Fire and forget
    // (a round trip less before every send): commands on the connection run in order, so the stamp is applied before
    // any later grant is decided, and the send need not wait for Redis to say so. A send is stamped as its call goes
    // out and again at its answer; if the answer's stamp is lost with the connection, the send counts from its call,
    // a moment earlier than Microsoft counted it — which the window's margin (Sending:PacingMargin) covers.
    public Task StampAsync(string mailbox, string token, DateTimeOffset now, CancellationToken cancellationToken) =>
        redis.GetDatabase().SortedSetAddAsync($"{Tag(mailbox)}:sends", token, now.ToUnixTimeMilliseconds(),
            SortedSetWhen.Exists | SortedSetWhen.GreaterThan, CommandFlags.FireAndForget);

    public async Task CancelAsync(string mailbox, string token, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var keys = Keys(mailbox);
        // pipelined: one round trip, not five (each removal stands alone; the keys share the mailbox's slot)
        await Task.WhenAll(
            db.SortedSetRemoveAsync(keys[0], token),
            db.SortedSetRemoveAsync(keys[1], token),
            db.SortedSetRemoveAsync(keys[2], token),
            db.SortedSetRemoveAsync(keys[4], token),
            db.HashDeleteAsync(keys[5], token)).ConfigureAwait(false);
    }

    // Keep the later of two Retry-Afters.
    private static readonly LuaScript BlockScript = LuaScript.Prepare("""
        local current = tonumber(redis.call('GET', @Blocked) or '0')
        if tonumber(@Until) > current then redis.call('SET', @Blocked, @Until, 'PX', @TtlMs) end
        return 1
        """);

    public async Task BlockAsync(string mailbox, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await redis.GetDatabase().ScriptEvaluateAsync(BlockScript, new
        {
            Blocked = Keys(mailbox)[3], Until = until.ToUnixTimeMilliseconds(), TtlMs = Minute * 60,
        }).ConfigureAwait(false);
    }

    public async Task<(int Count, DateTimeOffset? OldestLeavesAt)> DailyUsageAsync(string mailbox, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var key = Keys(mailbox)[2];
        var since = now.ToUnixTimeMilliseconds() - Day;
        var count = await db.SortedSetLengthAsync(key, since + 1, double.PositiveInfinity).ConfigureAwait(false);
        var oldest = await db.SortedSetRangeByScoreWithScoresAsync(key, since + 1, double.PositiveInfinity, take: 1).ConfigureAwait(false);
        return ((int)count, oldest.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)oldest[0].Score + Day));
    }

    // Reads only (expired entries are filtered, not removed).
    private static readonly LuaScript PaceScript = LuaScript.Prepare("""
        local now, window, uploadWindow = tonumber(@Now), tonumber(@WindowMs), tonumber(@UploadWindowMs)
        local blocked = tonumber(redis.call('GET', @Blocked) or '0')
        local sends = redis.call('ZRANGEBYSCORE', @Sends, '(' .. (now - window), '+inf', 'WITHSCORES')
        local daily = redis.call('ZRANGEBYSCORE', @Daily, '(' .. (now - 86400000), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
        local dailyCount = redis.call('ZCOUNT', @Daily, '(' .. (now - 86400000), '+inf')
        local uploads = redis.call('ZRANGEBYSCORE', @Uploads, '(' .. (now - uploadWindow), '+inf', 'WITHSCORES')
        local bytes = 0
        for i = 1, #uploads, 2 do bytes = bytes + tonumber(redis.call('HGET', @UploadBytes, uploads[i]) or '0') end
        return { tostring(blocked), tostring(#sends / 2), sends[2] or '', tostring(bytes), uploads[2] or '', tostring(dailyCount), daily[2] or '' }
        """);

    public async Task<MailboxPace> PaceAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var r = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(PaceScript, new PaceArgs(Tag(mailbox))
        {
            Now = now.ToUnixTimeMilliseconds(), WindowMs = (long)limits.RateWindow.TotalMilliseconds,
            UploadWindowMs = (long)limits.UploadWindow.TotalMilliseconds,
        }).ConfigureAwait(false))!;
        static long? Ms(RedisResult v) => (string?)v is { Length: > 0 } t ? (long)double.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : null;
        static DateTimeOffset? At(long? ms, long plus) => ms is { } m ? DateTimeOffset.FromUnixTimeMilliseconds(m + plus) : null;
        var blocked = Ms(r[0]) ?? 0;
        return new MailboxPace(
            blocked > now.ToUnixTimeMilliseconds() ? DateTimeOffset.FromUnixTimeMilliseconds(blocked) : null,
            (int)(Ms(r[1]) ?? 0), At(Ms(r[2]), (long)limits.RateWindow.TotalMilliseconds),
            Ms(r[3]) ?? 0, At(Ms(r[4]), (long)limits.UploadWindow.TotalMilliseconds),
            (int)(Ms(r[5]) ?? 0), At(Ms(r[6]), Day));
    }
}

/// <summary>The same limiter in memory, for the demo (one process, no Redis).</summary>
public sealed class InMemoryMailboxLimiter : IMailboxLimiter
{
    private sealed class State
    {
        public readonly List<(long At, string Token)> Sends = [];
        public readonly List<(long At, string Token)> Daily = [];
        public readonly Dictionary<string, long> InFlight = [];
        public readonly List<(long At, string Token, long Bytes)> Uploads = [];
        public long BlockedUntil;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _mailboxes = new(StringComparer.OrdinalIgnoreCase);

    public Task<LimiterDecision> TryAcquireAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken, long uploadBytes = 0)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            var t = now.ToUnixTimeMilliseconds();
            if (s.BlockedUntil > t)
            {
                return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(s.BlockedUntil - t), LimitReason.Throttled));
            }
            var window = (long)limits.RateWindow.TotalMilliseconds;
            s.Sends.RemoveAll(x => x.At <= t - window);
            s.Daily.RemoveAll(x => x.At <= t - 86_400_000);
            foreach (var expired in s.InFlight.Where(x => x.Value <= t).Select(x => x.Key).ToList())
            {
                s.InFlight.Remove(expired);
            }
            if (s.InFlight.Count >= limits.MaxConcurrency)
            {
                return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Clamp(s.InFlight.Values.Min() - t, 1, 250)), LimitReason.Concurrency));
            }
            if (s.Daily.Count >= limits.DailyRecipientLimit)
            {
                return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Max(1, s.Daily[0].At + 86_400_000 - t)), LimitReason.Daily));
            }
            if (s.Sends.Count >= limits.MessagesPerMinute)
            {
                return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Max(1, s.Sends[0].At + window - t)), LimitReason.Rate));
            }
            var uploadWindow = (long)limits.UploadWindow.TotalMilliseconds;
            if (uploadBytes > 0)
            {
                s.Uploads.RemoveAll(x => x.At <= t - uploadWindow);
                var used = s.Uploads.Sum(x => x.Bytes);
                if (used > 0 && used + uploadBytes > limits.UploadBudgetBytes)
                {
                    return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Max(1, s.Uploads[0].At + uploadWindow - t)), LimitReason.Upload));
                }
            }
            var token = Guid.NewGuid().ToString("N");
            if (uploadBytes > 0)
            {
                s.Uploads.Add((t, token, uploadBytes));
            }
            s.Sends.Add((t, token));
            s.Daily.Add((t, token));
            s.InFlight[token] = t + (long)limits.InFlightLease.TotalMilliseconds;
            return Task.FromResult(new LimiterDecision(token, TimeSpan.Zero, LimitReason.None));
        }
    }

    public Task<LimiterDecision> TryAcquireReadAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            var t = now.ToUnixTimeMilliseconds();
            if (s.BlockedUntil > t)
            {
                return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(s.BlockedUntil - t), LimitReason.Throttled));
            }
            foreach (var expired in s.InFlight.Where(x => x.Value <= t).Select(x => x.Key).ToList())
            {
                s.InFlight.Remove(expired);
            }
            if (s.InFlight.Count >= limits.MaxConcurrency)
            {
                return Task.FromResult(new LimiterDecision(null, TimeSpan.FromMilliseconds(Math.Clamp(s.InFlight.Values.Min() - t, 1, 250)), LimitReason.Concurrency));
            }
            var token = Guid.NewGuid().ToString("N");
            s.InFlight[token] = t + (long)limits.InFlightLease.TotalMilliseconds;
            return Task.FromResult(new LimiterDecision(token, TimeSpan.Zero, LimitReason.None));
        }
    }

    public Task ReleaseAsync(string mailbox, string token, CancellationToken cancellationToken, DateTimeOffset? now = null)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            s.InFlight.Remove(token);
            var i = s.Uploads.FindIndex(x => x.Token == token);
            if (now is { } at && i >= 0)
            {
                var entry = s.Uploads[i];
                s.Uploads.RemoveAt(i);
                s.Uploads.Add((at.ToUnixTimeMilliseconds(), token, entry.Bytes));
                s.Uploads.Sort((a, b) => a.At.CompareTo(b.At));
            }
        }
        return Task.CompletedTask;
    }

    public Task StampAsync(string mailbox, string token, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Restamp(Get(mailbox), token, now);
        }
        return Task.CompletedTask;
    }

    private static void Restamp(State s, string token, DateTimeOffset now)
    {
        var i = s.Sends.FindIndex(x => x.Token == token);
        if (i >= 0 && now.ToUnixTimeMilliseconds() > s.Sends[i].At)
        {
            s.Sends.RemoveAt(i);
            s.Sends.Add((now.ToUnixTimeMilliseconds(), token));
            s.Sends.Sort((a, b) => a.At.CompareTo(b.At));
        }
    }

    public Task CancelAsync(string mailbox, string token, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            s.InFlight.Remove(token);
            s.Sends.RemoveAll(x => x.Token == token);
            s.Daily.RemoveAll(x => x.Token == token);
            s.Uploads.RemoveAll(x => x.Token == token);
        }
        return Task.CompletedTask;
    }

    public Task BlockAsync(string mailbox, DateTimeOffset until, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            s.BlockedUntil = Math.Max(s.BlockedUntil, until.ToUnixTimeMilliseconds());
        }
        return Task.CompletedTask;
    }

    public Task<(int Count, DateTimeOffset? OldestLeavesAt)> DailyUsageAsync(string mailbox, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            var t = now.ToUnixTimeMilliseconds();
            var live = s.Daily.Where(x => x.At > t - 86_400_000).ToList();
            return Task.FromResult((live.Count, live.Count == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(live[0].At + 86_400_000)));
        }
    }

    public Task<MailboxPace> PaceAsync(string mailbox, MailboxLimits limits, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var s = Get(mailbox);
            var t = now.ToUnixTimeMilliseconds();
            var window = (long)limits.RateWindow.TotalMilliseconds;
            var uploadWindow = (long)limits.UploadWindow.TotalMilliseconds;
            var sends = s.Sends.Where(x => x.At > t - window).ToList();
            var uploads = s.Uploads.Where(x => x.At > t - uploadWindow).ToList();
            var daily = s.Daily.Where(x => x.At > t - 86_400_000).ToList();
            static DateTimeOffset? At(IEnumerable<long> times, long plus) =>
                times.Any() ? DateTimeOffset.FromUnixTimeMilliseconds(times.Min() + plus) : null;
            return Task.FromResult(new MailboxPace(
                s.BlockedUntil > t ? DateTimeOffset.FromUnixTimeMilliseconds(s.BlockedUntil) : null,
                sends.Count, At(sends.Select(x => x.At), window),
                uploads.Sum(x => x.Bytes), At(uploads.Select(x => x.At), uploadWindow),
                daily.Count, At(daily.Select(x => x.At), 86_400_000)));
        }
    }

    private State Get(string mailbox)
    {
        if (!_mailboxes.TryGetValue(mailbox, out var s))
        {
            _mailboxes[mailbox] = s = new State();
        }
        return s;
    }
}
