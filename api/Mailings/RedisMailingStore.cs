using BulkMail.Api.Mail;
using BulkMail.Api.Infrastructure;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Mailings;

/// <summary>
/// The mailing store on Redis. Each mailing's keys share the hash tag <c>{m:ID}</c> (one cluster slot), so every
/// change of a delivery and its counters is one Lua script: atomic across workers and processes.
/// Keys: <c>meta</c> (hash: spec, state, counters, expansion cursor), <c>d</c> (hash seq → delivery JSON),
/// <c>q</c> (zset seq → ready-at ms), <c>l</c> (zset seq → lease expiry ms), <c>o</c> (hash seq → lease token),
/// <c>f</c> (set of failed seqs), <c>p</c> (zset seq → due ms: sent deliveries whose HRBC follow-up is not yet written),
/// <c>a</c> (hash: the attachments every message carries, written before the mailing), <c>s</c> (hash: reason code →
/// skipped deliveries, counted in the step that stores them). Outside the tag: <c>active</c>, <c>user:OWNER</c>, <c>idem:OWNER:KEY</c> (OWNER = <see cref="OwnerKey"/>, the SHA-256 of the owner id).
/// </summary>
public sealed class RedisMailingStore(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> options) : IMailingStore
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private IDatabase Db => redis.GetDatabase();
    private string P => options.Value.KeyPrefix;
    private long TtlMs => (long)options.Value.Retention.TotalMilliseconds;

    private RedisKey Meta(string id) => $"{P}{{m:{id}}}:meta";
    private RedisKey D(string id) => $"{P}{{m:{id}}}:d";
    private RedisKey Q(string id) => $"{P}{{m:{id}}}:q";
    private RedisKey L(string id) => $"{P}{{m:{id}}}:l";
    private RedisKey O(string id) => $"{P}{{m:{id}}}:o";
    private RedisKey F(string id) => $"{P}{{m:{id}}}:f";
    private RedisKey Fu(string id) => $"{P}{{m:{id}}}:p";
    private RedisKey A(string id) => $"{P}{{m:{id}}}:a";
    private RedisKey S(string id) => $"{P}{{m:{id}}}:s";
    private RedisKey[] All(string id) => [Meta(id), D(id), Q(id), L(id), O(id), F(id), Fu(id), A(id), S(id)];
    private RedisKey Active => $"{P}active";
    private RedisKey BounceWatch => $"{P}bounce-watch";
    // Owners are hashed to a fixed length (OwnerKey), so "owner:key" cannot be read two ways.
    private RedisKey User(string owner) => $"{P}user:{OwnerKey.Of(owner)}";
    private RedisKey Idem(string owner, string key) => $"{P}idem:{OwnerKey.Of(owner)}:{key}";

    // Shared Lua: KEYS = meta, d, q, l, o, f, p, a, s (All(id)); ARGV[1] = ttl ms.
    private const string Prelude = """
        local meta, d, q, l, o, f, p, sk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[9]
        local ttl = tonumber(ARGV[1])
        local function touch()
          for i = 1, #KEYS do if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end end
        end
        -- a mailing is done when its scope is expanded, nothing is queued or leased and every follow-up is written
        local function checkDone(now)
          if redis.call('HGET', meta, 'expDone') ~= '1' then return end
          if redis.call('ZCARD', q) > 0 or redis.call('ZCARD', l) > 0 then return end
          local state = redis.call('HGET', meta, 'state')
          if redis.call('ZCARD', p) > 0 and state ~= 'Cancelled' then return end
          if state == 'Queued' or state == 'Sending' or state == 'Preparing' then
            redis.call('HSET', meta, 'state', 'Completed', 'finishedAt', now)
          elseif state == 'Cancelled' and redis.call('HEXISTS', meta, 'finishedAt') == 0 then
            redis.call('HSET', meta, 'finishedAt', now)
          end
        end
        local counterOf = { Sent = 'sent', Failed = 'failed', Skipped = 'skipped', Bounced = 'bounced', Cancelled = 'cancelled' }
        """;

    private const string CreateScript = Prelude + """
        if redis.call('EXISTS', meta) == 1 then return 0 end
        redis.call('HSET', meta, 'doc', ARGV[2], 'state', 'Preparing', 'createdAt', ARGV[3],
          'total', 0, 'sent', 0, 'failed', 0, 'skipped', 0, 'bounced', 0, 'cancelled', 0, 'streak', 0,
          'cursor', 0, 'expDone', 0, 'phaseUpdates', 0, 'held', ARGV[4])
        touch()
        return 1
        """;

    private const string TransitionScript = Prelude + """
        local state = redis.call('HGET', meta, 'state')
        if not state then return nil end
        local to, reason, now = ARGV[2], ARGV[3], ARGV[4]
        for i = 7, #ARGV do
          if ARGV[i] == state then
            redis.call('HSET', meta, 'state', to)
            if to == 'Paused' then
              redis.call('HSET', meta, 'reason', reason, 'pauseCode', ARGV[5], 'pauseArgs', ARGV[6])
            else
              redis.call('HDEL', meta, 'reason', 'pauseCode', 'pauseArgs')
            end
            if to == 'Sending' then redis.call('HSET', meta, 'streak', 0) end
            if to == 'Completed' or to == 'Failed' or to == 'Cancelled' then redis.call('HSET', meta, 'finishedAt', now) end
            if to == 'Cancelled' and redis.call('ZCARD', l) > 0 then redis.call('HDEL', meta, 'finishedAt') end
            touch()
            return 1
          end
        end
        return 0
        """;

    // ARGV: ttl, now. Ready → Queued; a mailing with nothing to send completes at once.
    private const string StartScript = Prelude + """
        if redis.call('HGET', meta, 'state') ~= 'Ready' then return 0 end
        redis.call('HSET', meta, 'state', 'Queued', 'held', 0)
        checkDone(ARGV[2])
        touch()
        return 1
        """;

    // ARGV: ttl, token, now, n, then (seq, phaseUpdate, attempts, retryAtMs or '', progress, codes) per delivery. Only the follow-up
    // fields change, so a bounce recorded meanwhile is kept.
    private const string RecordFollowUpsScript = Prelude + """
        if redis.call('HGET', meta, 'fuToken') ~= ARGV[2] then return 0 end
        local n = tonumber(ARGV[4])
        for i = 0, n - 1 do
          local seq = ARGV[5 + i * 6]
          local json = redis.call('HGET', d, seq)
          if json then
            local delivery = cjson.decode(json)
            delivery['phaseUpdate'] = ARGV[6 + i * 6]
            delivery['followUpAttempts'] = tonumber(ARGV[7 + i * 6])
            delivery['followUp'] = cjson.decode(ARGV[9 + i * 6])
            -- never empty (an empty Lua table would encode as an object): null instead
            delivery['phaseUpdateCodes'] = cjson.decode(ARGV[10 + i * 6])
            redis.call('HSET', d, seq, cjson.encode(delivery))
          end
          local retryAt = ARGV[8 + i * 6]
          if retryAt == '' or not json then redis.call('ZREM', p, seq) else redis.call('ZADD', p, retryAt, seq) end
        end
        checkDone(ARGV[3])
        touch()
        return 1
        """;

    // One lease per kind of background work on a mailing (expansion, follow-ups), held in meta fields.
    // ARGV: ttl, token, now, until, tokenField, untilField, doneField ('' = none: a finished job takes no lease)
    private const string LeaseScript = Prelude + """
        local token, now, untilMs = ARGV[2], tonumber(ARGV[3]), ARGV[4]
        if redis.call('EXISTS', meta) == 0 then return 0 end -- deleted or expired: never recreate it without a TTL
        local holder = redis.call('HGET', meta, ARGV[5])
        local heldUntil = tonumber(redis.call('HGET', meta, ARGV[6]) or '0')
        if ARGV[7] ~= '' and redis.call('HGET', meta, ARGV[7]) == '1' then return 0 end
        if holder and holder ~= token and heldUntil > now then return 0 end
        redis.call('HSET', meta, ARGV[5], token, ARGV[6], untilMs)
        return 1
        """;

    // ARGV: ttl, token, expectedPosition, newPosition, done, now, firstSeq, phaseUpdates, scopeTotal ('' = unknown),
    // then (json, status, reasonCode) triples
    private const string AppendScript = Prelude + """
        if redis.call('HGET', meta, 'expToken') ~= ARGV[2] then return -1 end
        if redis.call('HGET', meta, 'cursor') ~= ARGV[3] then return -2 end
        local total = tonumber(redis.call('HGET', meta, 'total'))
        local seq = tonumber(ARGV[7])
        if total + 1 ~= seq then return -3 end
        local state = redis.call('HGET', meta, 'state')
        local n = 0
        for i = 10, #ARGV, 3 do
          redis.call('HSET', d, seq, ARGV[i])
          local status = ARGV[i + 1]
          if status == 'Pending' then
            if state == 'Cancelled' then
              redis.call('HINCRBY', meta, 'cancelled', 1)
            else
              -- queued by ready time: a delivery put back after a 429 goes before those appended after it
              redis.call('ZADD', q, ARGV[6], seq)
            end
          elseif counterOf[status] then
            redis.call('HINCRBY', meta, counterOf[status], 1)
            if status == 'Skipped' then redis.call('HINCRBY', sk, ARGV[i + 2], 1) end
          end
          seq = seq + 1
          n = n + 1
        end
        redis.call('HSET', meta, 'total', total + n, 'cursor', ARGV[4])
        redis.call('HINCRBY', meta, 'phaseUpdates', tonumber(ARGV[8]))
        if ARGV[9] ~= '' then redis.call('HSET', meta, 'scopeTotal', ARGV[9]) end
        if ARGV[5] == '1' then
          redis.call('HSET', meta, 'expDone', 1)
          if state == 'Preparing' then
            -- a held mailing waits for Start with its exact figures; nothing is claimable until then
            if redis.call('HGET', meta, 'held') == '1' then redis.call('HSET', meta, 'state', 'Ready')
            else redis.call('HSET', meta, 'state', 'Queued') end
          end
          checkDone(ARGV[6])
        end
        touch()
        return n
        """;

    // ARGV: ttl, now, leaseMs, token
    private const string ClaimScript = Prelude + """
        local now, lease, token = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
        local state = redis.call('HGET', meta, 'state')
        if state ~= 'Queued' and state ~= 'Sending' then return { '', '' } end
        -- deliveries whose worker died come back first; their draft id makes the next worker look them up
        local expired = redis.call('ZRANGEBYSCORE', l, '-inf', now, 'LIMIT', 0, 100)
        for _, s in ipairs(expired) do
          redis.call('ZREM', l, s)
          redis.call('HDEL', o, s)
          redis.call('ZADD', q, 0, s)
        end
        local first = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
        if #first == 0 then return { '', '' } end
        if tonumber(first[2]) > now then return { '', first[2] } end
        local s = first[1]
        redis.call('ZREM', q, s)
        redis.call('ZADD', l, now + lease, s)
        redis.call('HSET', o, s, token)
        if state == 'Queued' then redis.call('HSET', meta, 'state', 'Sending', 'startedAt', now) end
        -- the lease keys may be new; the others were given their TTL when stored and get it again on completion
        redis.call('PEXPIRE', l, ttl)
        redis.call('PEXPIRE', o, ttl)
        return { s, redis.call('HGET', d, s) }
        """;

    // ARGV: ttl, seq, token, json, leaseUntil
    private const string UpdateClaimedScript = Prelude + """
        if redis.call('HGET', o, ARGV[2]) ~= ARGV[3] then return 0 end
        redis.call('HSET', d, ARGV[2], ARGV[4])
        redis.call('ZADD', l, 'XX', ARGV[5], ARGV[2])
        return 1
        """;

    // ARGV: ttl, seq, token, json, status, maxStreak, now, pauseReason, followUp (1 = queue the HRBC follow-up),
    // pauseArgs (json), reasonCode
    private const string CompleteScript = Prelude + """
        local seq, status = ARGV[2], ARGV[5]
        if redis.call('HGET', o, seq) ~= ARGV[3] then return 0 end
        redis.call('HDEL', o, seq)
        redis.call('ZREM', l, seq)
        redis.call('HSET', d, seq, ARGV[4])
        if status == 'Sent' and ARGV[9] == '1' then redis.call('ZADD', p, ARGV[7], seq) end
        if counterOf[status] then redis.call('HINCRBY', meta, counterOf[status], 1) end
        if status == 'Skipped' then redis.call('HINCRBY', sk, ARGV[11], 1) end
        if status == 'Failed' then
          redis.call('SADD', f, seq)
          local streak = redis.call('HINCRBY', meta, 'streak', 1)
          local state = redis.call('HGET', meta, 'state')
          if streak >= tonumber(ARGV[6]) and (state == 'Sending' or state == 'Queued') then
            redis.call('HSET', meta, 'state', 'Paused', 'reason', ARGV[8], 'pauseCode', 'FailureStreak', 'pauseArgs', ARGV[10])
          end
        elseif status == 'Sent' then
          redis.call('HSET', meta, 'streak', 0)
          redis.call('HDEL', meta, 'errCode', 'errMsg', 'errAt', 'errRetry')
        end
        checkDone(ARGV[7])
        touch()
        return 1
        """;

    // ARGV: ttl, seq, token, json, notBefore, now, cancelledJson
    private const string ReleaseScript = Prelude + """
        local seq = ARGV[2]
        if redis.call('HGET', o, seq) ~= ARGV[3] then return 0 end
        redis.call('HDEL', o, seq)
        redis.call('ZREM', l, seq)
        if redis.call('HGET', meta, 'state') == 'Cancelled' then
          redis.call('HSET', d, seq, ARGV[7])
          redis.call('HINCRBY', meta, 'cancelled', 1)
          checkDone(ARGV[6])
        else
          redis.call('HSET', d, seq, ARGV[4])
          redis.call('ZADD', q, ARGV[5], seq)
        end
        touch()
        return 1
        """;

    // ARGV: ttl, seq, json, newStatus
    private const string UpdateDeliveryScript = Prelude + """
        local seq, status = ARGV[2], ARGV[4]
        local old = redis.call('HGET', d, seq)
        if not old then return 0 end
        local oldStatus = cjson.decode(old)['status']
        redis.call('HSET', d, seq, ARGV[3])
        if oldStatus ~= status then
          if counterOf[oldStatus] then redis.call('HINCRBY', meta, counterOf[oldStatus], -1) end
          if counterOf[status] then redis.call('HINCRBY', meta, counterOf[status], 1) end
          if oldStatus == 'Failed' then redis.call('SREM', f, seq) end
          if status == 'Failed' then redis.call('SADD', f, seq) end
        end
        touch()
        return 1
        """;

    // ARGV: ttl, now, reason
    private const string CancelQueuedScript = Prelude + """
        if redis.call('EXISTS', meta) == 0 then return 0 end
        local seqs = redis.call('ZRANGE', q, 0, -1)
        for _, s in ipairs(seqs) do
          local delivery = cjson.decode(redis.call('HGET', d, s))
          delivery['status'] = 'Cancelled'
          delivery['reason'] = ARGV[3]
          delivery['reasonCode'] = 'CancelledBeforeSend'
          redis.call('HSET', d, s, cjson.encode(delivery))
        end
        redis.call('DEL', q)
        redis.call('HINCRBY', meta, 'cancelled', #seqs)
        checkDone(ARGV[2])
        touch()
        return #seqs
        """;

    // ARGV: ttl, now
    private const string RequeueFailedScript = Prelude + """
        if redis.call('EXISTS', meta) == 0 then return 0 end
        local seqs = redis.call('SMEMBERS', f)
        for _, s in ipairs(seqs) do
          local delivery = cjson.decode(redis.call('HGET', d, s))
          delivery['status'] = 'Pending'
          delivery['reason'] = cjson.null
          delivery['reasonCode'] = cjson.null
          delivery['reasonArgs'] = cjson.null
          delivery['attempts'] = 0
          delivery['draftId'] = cjson.null
          delivery['needsLookup'] = false
          redis.call('HSET', d, s, cjson.encode(delivery))
          redis.call('ZADD', q, ARGV[2], s)
        end
        redis.call('DEL', f)
        if #seqs > 0 then
          -- inside the branch: with no failures -#seqs is Lua's -0, which Redis refuses as an integer ("-0")
          redis.call('HINCRBY', meta, 'failed', -#seqs)
          local state = redis.call('HGET', meta, 'state')
          if state == 'Completed' or state == 'Paused' or state == 'Sending' or state == 'Queued' then
            redis.call('HSET', meta, 'state', 'Sending', 'streak', 0)
            redis.call('HDEL', meta, 'finishedAt', 'reason', 'pauseCode', 'pauseArgs')
          end
        end
        touch()
        return #seqs
        """;

    // Every key in the mailing's hash tag goes, in the step that checks the state (MailingStates.IsDeletable):
    // 1 deleted, 0 still running, -1 no such mailing.
    private const string DeleteScript = Prelude + """
        local state = redis.call('HGET', meta, 'state')
        if not state then return -1 end
        local held = redis.call('HGET', meta, 'held') == '1'
        local finished = redis.call('HEXISTS', meta, 'finishedAt') == 1
        local final = state == 'Completed' or state == 'Cancelled' or state == 'Failed'
        if not (state == 'Ready' or (state == 'Preparing' and held) or (final and finished)) then return 0 end
        redis.call('DEL', unpack(KEYS))
        return 1
        """;

    public async Task<Mailing> CreateAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        var db = Db;
        var id = mailing.Id;
        if (mailing.IdempotencyKey is { Length: > 0 } key)
        {
            // The key is claimed first and separately (it lives outside the mailing's slot). If an earlier
            // attempt claimed it and died before storing the mailing, that mailing id is reused.
            var idem = Idem(mailing.Owner, key);
            if (!await db.StringSetAsync(idem, id, options.Value.Retention, When.NotExists).ConfigureAwait(false))
            {
                id = (string?)await db.StringGetAsync(idem).ConfigureAwait(false) ?? id;
                if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    return existing;
                }
                mailing = mailing with { Id = id };
            }
        }
        var doc = JsonSerializer.Serialize(mailing with { State = MailingState.Preparing }, Json);
        await db.ScriptEvaluateAsync(CreateScript, All(id), [TtlMs, doc, Ms(mailing.CreatedAt), mailing.Held ? 1 : 0]).ConfigureAwait(false);
        await AddActiveAsync(db, id).ConfigureAwait(false);
        await db.SortedSetAddAsync(User(mailing.Owner), id, mailing.CreatedAt.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        await db.KeyExpireAsync(User(mailing.Owner), options.Value.Retention).ConfigureAwait(false);
        return (await GetAsync(id, cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<Mailing?> GetAsync(string mailingId, CancellationToken cancellationToken)
    {
        var values = await Db.HashGetAsync(Meta(mailingId), ["doc", "state", "reason", "startedAt", "finishedAt", "pauseCode", "pauseArgs", "held"]).ConfigureAwait(false);
        if (values[0].IsNull)
        {
            return null;
        }
        var mailing = JsonSerializer.Deserialize<Mailing>((string)values[0]!, Json)!;
        return mailing with
        {
            State = Enum.Parse<MailingState>((string)values[1]!),
            PausedReason = values[2].IsNull ? null : (string?)values[2],
            StartedAt = FromMs(values[3]),
            FinishedAt = FromMs(values[4]),
            PausedCode = values[5].IsNullOrEmpty ? null : (string?)values[5],
            PausedArgs = values[6].IsNullOrEmpty ? null : JsonSerializer.Deserialize<Dictionary<string, string>>((string)values[6]!, Json),
            Held = (string?)values[7] == "1",
        };
    }

    public async Task<string> ClaimIdempotencyKeyAsync(string owner, string key, string mailingId, CancellationToken cancellationToken)
    {
        var idem = Idem(owner, key);
        return await Db.StringSetAsync(idem, mailingId, options.Value.Retention, When.NotExists).ConfigureAwait(false)
            ? mailingId
            : (string?)await Db.StringGetAsync(idem).ConfigureAwait(false) ?? mailingId;
    }

    public async Task<Mailing?> FindByIdempotencyKeyAsync(string owner, string key, CancellationToken cancellationToken) =>
        (string?)await Db.StringGetAsync(Idem(owner, key)).ConfigureAwait(false) is { } id
            ? await GetAsync(id, cancellationToken).ConfigureAwait(false)
            : null;

    public async Task<IReadOnlyList<Mailing>> ListAsync(string owner, int max, CancellationToken cancellationToken)
    {
        var ids = await Db.SortedSetRangeByRankAsync(User(owner), 0, max - 1, Order.Descending).ConfigureAwait(false);
        var list = new List<Mailing>();
        foreach (var id in ids)
        {
            if (await GetAsync(id!, cancellationToken).ConfigureAwait(false) is { } m)
            {
                list.Add(m);
            }
            else
            {
                await Db.SortedSetRemoveAsync(User(owner), id).ConfigureAwait(false); // expired (Retention:Days) or deleted
            }
        }
        return list;
    }

    public async Task<MailingCounts> GetCountsAsync(string mailingId, CancellationToken cancellationToken)
    {
        var v = await Db.HashGetAsync(Meta(mailingId), ["total", "sent", "failed", "skipped", "bounced", "cancelled"]).ConfigureAwait(false);
        var followUps = await Db.SortedSetLengthAsync(Fu(mailingId)).ConfigureAwait(false);
        return new MailingCounts(Int(v[0]), Int(v[1]), Int(v[2]), Int(v[3]), Int(v[4]), Int(v[5])) { FollowUpsPending = (int)followUps };
    }

    public async Task<MailingFigures> GetFiguresAsync(string mailingId, CancellationToken cancellationToken)
    {
        var db = Db;
        var v = await db.HashGetAsync(Meta(mailingId), ["phaseUpdates", "cursor", "scopeTotal", "errCode", "errMsg", "errAt", "errRetry"]).ConfigureAwait(false);
        var skips = await db.HashGetAllAsync(S(mailingId)).ConfigureAwait(false);
        return new MailingFigures
        {
            PhaseUpdates = Int(v[0]),
            Counted = Int(v[1]),
            ScopeTotal = v[2].IsNullOrEmpty ? null : (int)v[2],
            SkippedByReason = skips.ToDictionary(h => (string)h.Name!, h => (int)h.Value, StringComparer.Ordinal),
            LastError = v[3].IsNullOrEmpty ? null : new MailingError((string)v[3]!, (string?)v[4] ?? "", FromMs(v[5]) ?? DateTimeOffset.UnixEpoch, FromMs(v[6])),
        };
    }

    public async Task<IReadOnlyList<string>> ActiveMailingIdsAsync(CancellationToken cancellationToken)
    {
        var db = Db;
        var ids = await db.SetMembersAsync(Active).ConfigureAwait(false);
        var active = new List<string>();
        foreach (var id in ids)
        {
            var state = await db.HashGetAsync(Meta(id!), "state").ConfigureAwait(false);
            // Follow-ups of sent mail are written even when the mailing is paused or cancelled.
            var followUps = !state.IsNull && await db.SortedSetLengthAsync(Fu(id!)).ConfigureAwait(false) > 0;
            if (state.IsNull || (MailingStates.IsFinal(Enum.Parse<MailingState>((string)state!)) && !followUps))
            {
                await db.SetRemoveAsync(Active, id).ConfigureAwait(false); // finished: stop looking at it
            }
            else if ((string)state! is not (nameof(MailingState.Paused) or nameof(MailingState.Ready)) || followUps)
            {
                active.Add(id!);
            }
        }
        return active;
    }

    public async Task<(Mailing? Mailing, bool Changed)> TransitionAsync(string mailingId, IReadOnlyCollection<MailingState> from, MailingState to,
        string? reason, DateTimeOffset now, CancellationToken cancellationToken,
        string? pausedCode = null, IReadOnlyDictionary<string, string>? pausedArgs = null)
    {
        RedisValue[] args = [TtlMs, to.ToString(), reason ?? "", Ms(now), pausedCode ?? "",
            pausedArgs is null ? "" : JsonSerializer.Serialize(pausedArgs, Json), .. from.Select(s => (RedisValue)s.ToString())];
        var result = await Db.ScriptEvaluateAsync(TransitionScript, All(mailingId), args).ConfigureAwait(false);
        var changed = !result.IsNull && (int)result == 1;
        if (changed && !MailingStates.IsFinal(to))
        {
            await AddActiveAsync(Db, mailingId).ConfigureAwait(false);
        }
        return (await GetAsync(mailingId, cancellationToken).ConfigureAwait(false), changed);
    }

    public async Task<(Mailing? Mailing, bool Changed)> StartAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = (int)await Db.ScriptEvaluateAsync(StartScript, All(mailingId), [TtlMs, Ms(now)]).ConfigureAwait(false) == 1;
        if (changed)
        {
            await AddActiveAsync(Db, mailingId).ConfigureAwait(false);
        }
        return (await GetAsync(mailingId, cancellationToken).ConfigureAwait(false), changed);
    }

    public async Task RecordErrorAsync(string mailingId, MailingError error, CancellationToken cancellationToken)
    {
        // Only on a mailing that exists (a stray write must not create a meta hash without a TTL).
        const string script = """
            if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
            redis.call('HSET', KEYS[1], 'errCode', ARGV[1], 'errMsg', ARGV[2], 'errAt', ARGV[3], 'errRetry', ARGV[4])
            return 1
            """;
        await Db.ScriptEvaluateAsync(script, [Meta(mailingId)],
            [error.GraphCode, error.GraphMessage, Ms(error.At), error.RetryAt is { } r ? Ms(r) : ""]).ConfigureAwait(false);
    }

    public async Task<ExpansionCursor> GetExpansionAsync(string mailingId, CancellationToken cancellationToken)
    {
        var v = await Db.HashGetAsync(Meta(mailingId), ["cursor", "expDone"]).ConfigureAwait(false);
        return new ExpansionCursor(Int(v[0]), (string?)v[1] == "1");
    }

    public async Task<bool> TryLeaseExpansionAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(LeaseScript, All(mailingId),
            [TtlMs, token, Ms(now), Ms(now + lease), "expToken", "expUntil", "expDone"]).ConfigureAwait(false) == 1;

    public async Task<bool> AppendDeliveriesAsync(string mailingId, string token, int expectedPosition, int newPosition,
        IReadOnlyList<Delivery> deliveries, bool done, DateTimeOffset now, CancellationToken cancellationToken, PageFigures? figures = null)
    {
        var firstSeq = deliveries.Count > 0 ? deliveries[0].Seq
            : Int(await Db.HashGetAsync(Meta(mailingId), "total").ConfigureAwait(false)) + 1;
        figures ??= PageFigures.None;
        var args = new List<RedisValue> { TtlMs, token, expectedPosition, newPosition, done ? 1 : 0, Ms(now), firstSeq,
            figures.PhaseUpdates, figures.ScopeTotal is { } t ? t : "" };
        foreach (var d in deliveries)
        {
            args.Add(JsonSerializer.Serialize(d, Json));
            args.Add(d.Status.ToString());
            args.Add(d.ReasonCode ?? UnknownReason);
        }
        var n = (int)await Db.ScriptEvaluateAsync(AppendScript, All(mailingId), [.. args]).ConfigureAwait(false);
        return n >= 0;
    }

    public async Task<ClaimResult> ClaimAsync(string mailingId, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid().ToString("N");
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(ClaimScript, All(mailingId),
            [TtlMs, now.ToUnixTimeMilliseconds(), (long)lease.TotalMilliseconds, token]).ConfigureAwait(false))!;
        var seq = (string?)r[0];
        if (string.IsNullOrEmpty(seq))
        {
            var next = (string?)r[1];
            return new ClaimResult(null, string.IsNullOrEmpty(next) ? null
                : DateTimeOffset.FromUnixTimeMilliseconds((long)double.Parse(next, CultureInfo.InvariantCulture)));
        }
        var delivery = JsonSerializer.Deserialize<Delivery>((string)r[1]!, Json)!;
        return new ClaimResult(new DeliveryClaim(mailingId, delivery, token), null);
    }

    public async Task<bool> UpdateClaimedAsync(DeliveryClaim claim, Delivery updated, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(UpdateClaimedScript, All(claim.MailingId),
            [TtlMs, updated.Seq, claim.LeaseToken, JsonSerializer.Serialize(updated, Json), Ms(now + lease)]).ConfigureAwait(false) == 1;

    public async Task<bool> CompleteAsync(DeliveryClaim claim, Delivery final, int maxFailureStreak, DateTimeOffset now, CancellationToken cancellationToken,
        bool followUp = false) =>
        (int)await Db.ScriptEvaluateAsync(CompleteScript, All(claim.MailingId),
            [TtlMs, final.Seq, claim.LeaseToken, JsonSerializer.Serialize(final, Json), final.Status.ToString(),
             maxFailureStreak, Ms(now), PauseReason(maxFailureStreak), followUp ? 1 : 0,
             JsonSerializer.Serialize(PauseArgs(maxFailureStreak), Json), final.ReasonCode ?? UnknownReason]).ConfigureAwait(false) == 1;

    public async Task<bool> ReleaseAsync(DeliveryClaim claim, Delivery updated, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        var cancelled = updated with { Status = DeliveryStatus.Cancelled, Reason = "Cancelled before it was sent", ReasonCode = ReasonCodes.CancelledBeforeSend };
        return (int)await Db.ScriptEvaluateAsync(ReleaseScript, All(claim.MailingId),
            [TtlMs, updated.Seq, claim.LeaseToken, JsonSerializer.Serialize(updated, Json), notBefore.ToUnixTimeMilliseconds(),
             Ms(notBefore), JsonSerializer.Serialize(cancelled, Json)]).ConfigureAwait(false) == 1;
    }

    public async Task UpdateDeliveryAsync(string mailingId, Delivery updated, CancellationToken cancellationToken) =>
        await Db.ScriptEvaluateAsync(UpdateDeliveryScript, All(mailingId),
            [TtlMs, updated.Seq, JsonSerializer.Serialize(updated, Json), updated.Status.ToString()]).ConfigureAwait(false);

    public async Task<int> CancelQueuedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(CancelQueuedScript, All(mailingId), [TtlMs, Ms(now), "Cancelled before it was sent"]).ConfigureAwait(false);

    public async Task<int> RequeueFailedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var n = (int)await Db.ScriptEvaluateAsync(RequeueFailedScript, All(mailingId), [TtlMs, Ms(now)]).ConfigureAwait(false);
        if (n > 0)
        {
            await AddActiveAsync(Db, mailingId).ConfigureAwait(false);
        }
        return n;
    }

    public async Task SaveAttachmentsAsync(string mailingId, IReadOnlyList<MailAttachment> files, CancellationToken cancellationToken)
    {
        var entries = new List<HashEntry> { new("index", JsonSerializer.Serialize(files.Select(f => f.Info).ToList(), Json)) };
        entries.AddRange(files.Select((f, i) => new HashEntry(i.ToString(CultureInfo.InvariantCulture), f.Content)));
        var tx = Db.CreateTransaction();
        tx.AddCondition(Condition.KeyNotExists(A(mailingId)));
        _ = tx.HashSetAsync(A(mailingId), [.. entries]);
        _ = tx.KeyExpireAsync(A(mailingId), options.Value.Retention);
        await tx.ExecuteAsync().ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<MailAttachment>> GetAttachmentsAsync(string mailingId, CancellationToken cancellationToken)
    {
        var index = await Db.HashGetAsync(A(mailingId), "index").ConfigureAwait(false);
        if (index.IsNull)
        {
            return [];
        }
        var infos = JsonSerializer.Deserialize<List<AttachmentInfo>>((string)index!, Json)!;
        var contents = await Db.HashGetAsync(A(mailingId), [.. infos.Select((_, i) => (RedisValue)i.ToString(CultureInfo.InvariantCulture))]).ConfigureAwait(false);
        return [.. infos.Select((info, i) => new MailAttachment(info.Name, info.ContentType, (byte[])contents[i]!))];
    }

    public async Task<bool> TryLeaseFollowUpsAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(LeaseScript, All(mailingId),
            [TtlMs, token, Ms(now), Ms(now + lease), "fuToken", "fuUntil", ""]).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<Delivery>> DueFollowUpsAsync(string mailingId, int max, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var seqs = await Db.SortedSetRangeByScoreAsync(Fu(mailingId), double.NegativeInfinity, now.ToUnixTimeMilliseconds(), take: max).ConfigureAwait(false);
        if (seqs.Length == 0)
        {
            return [];
        }
        var jsons = await Db.HashGetAsync(D(mailingId), seqs).ConfigureAwait(false);
        return [.. jsons.Where(j => !j.IsNull).Select(j => JsonSerializer.Deserialize<Delivery>((string)j!, Json)!)];
    }

    public async Task<DateTimeOffset?> NextFollowUpAtAsync(string mailingId, CancellationToken cancellationToken)
    {
        var first = await Db.SortedSetRangeByRankWithScoresAsync(Fu(mailingId), 0, 0).ConfigureAwait(false);
        return first.Length == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)first[0].Score);
    }

    public async Task<bool> RecordFollowUpsAsync(string mailingId, string token, IReadOnlyList<FollowUpOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var args = new List<RedisValue> { TtlMs, token, Ms(now), outcomes.Count };
        foreach (var o in outcomes)
        {
            args.Add(o.Seq);
            args.Add(o.PhaseUpdate);
            args.Add(o.Attempts);
            args.Add(o.RetryAt is { } at ? Ms(at) : "");
            args.Add(JsonSerializer.Serialize(o.Progress, Json));
            args.Add(o.Codes.Count == 0 ? "null" : JsonSerializer.Serialize(o.Codes, Json));
        }
        return (int)await Db.ScriptEvaluateAsync(RecordFollowUpsScript, All(mailingId), [.. args]).ConfigureAwait(false) == 1;
    }

    public async Task WatchBouncesAsync(string mailingId, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await Db.SortedSetAddAsync(BounceWatch, mailingId, until.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        await Db.KeyExpireAsync(BounceWatch, options.Value.Retention).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> BounceWatchesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Db.SortedSetRemoveRangeByScoreAsync(BounceWatch, double.NegativeInfinity, now.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return [.. (await Db.SortedSetRangeByRankAsync(BounceWatch).ConfigureAwait(false)).Select(v => (string)v!)];
    }

    public async Task<MailingDeletion> DeleteAsync(string mailingId, CancellationToken cancellationToken)
    {
        var db = Db;
        var mailing = await GetAsync(mailingId, cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return MailingDeletion.NotFound;
        }
        var result = (int)await db.ScriptEvaluateAsync(DeleteScript, All(mailingId), [TtlMs]).ConfigureAwait(false);
        if (result != 1)
        {
            return result == 0 ? MailingDeletion.NotDeletable : MailingDeletion.NotFound;
        }
        // The references outside the hash tag (other slots in a cluster, so not in the script). Each reader already
        // skips a reference whose mailing is gone, so a crash between the two steps leaves nothing visible.
        await db.SortedSetRemoveAsync(User(mailing.Owner), mailingId).ConfigureAwait(false);
        await db.SetRemoveAsync(Active, mailingId).ConfigureAwait(false);
        await db.SortedSetRemoveAsync(BounceWatch, mailingId).ConfigureAwait(false);
        if (mailing.IdempotencyKey is { Length: > 0 } key)
        {
            // only if the key still names this mailing
            await db.ScriptEvaluateAsync("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                [Idem(mailing.Owner, key)], [mailingId]).ConfigureAwait(false);
        }
        return MailingDeletion.Deleted;
    }

    public async Task<Delivery?> GetDeliveryAsync(string mailingId, int seq, CancellationToken cancellationToken)
    {
        var json = await Db.HashGetAsync(D(mailingId), seq).ConfigureAwait(false);
        return json.IsNull ? null : JsonSerializer.Deserialize<Delivery>((string)json!, Json);
    }

    public async IAsyncEnumerable<Delivery> ReadDeliveriesAsync(string mailingId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var total = (await GetCountsAsync(mailingId, cancellationToken).ConfigureAwait(false)).Total;
        const int batch = 500;
        for (var from = 1; from <= total; from += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seqs = Enumerable.Range(from, Math.Min(batch, total - from + 1)).Select(s => (RedisValue)s).ToArray();
            var values = await Db.HashGetAsync(D(mailingId), seqs).ConfigureAwait(false);
            foreach (var v in values)
            {
                if (!v.IsNull)
                {
                    yield return JsonSerializer.Deserialize<Delivery>((string)v!, Json)!;
                }
            }
        }
    }

    // The active set is global (not one mailing's); it expires too, renewed whenever a mailing joins it.
    private async Task AddActiveAsync(IDatabase db, string id)
    {
        await db.SetAddAsync(Active, id).ConfigureAwait(false);
        await db.KeyExpireAsync(Active, options.Value.Retention).ConfigureAwait(false);
    }

    /// <summary>The skip counter of a delivery stored without a reason code (none today; data from before codes).</summary>
    internal const string UnknownReason = "Unknown";

    internal static Dictionary<string, string> PauseArgs(int streak) => new() { ["count"] = streak.ToString(CultureInfo.InvariantCulture) };

    internal static string PauseReason(int streak) => CodedText.Of(PausedCode.FailureStreak, ("count", streak)).English;

    private static string Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset? FromMs(RedisValue v) =>
        v.IsNull ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)double.Parse((string)v!, CultureInfo.InvariantCulture));

    private static int Int(RedisValue v) => v.IsNull ? 0 : (int)v;
}
