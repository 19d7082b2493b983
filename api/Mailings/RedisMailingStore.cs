using BulkMail.Api.Mail;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings.Scheduling;
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
/// skipped deliveries, counted in the step that stores them), <c>r</c> (hash: record id → the seq of its first delivery,
/// for the preview). Outside the tag: <c>active</c>, <c>user:OWNER</c>, <c>running:OWNER</c> (set: the owner's mailings
/// that may be running, checked when counted), <c>idem:OWNER:KEY</c> (OWNER = <see cref="OwnerKey"/>, the SHA-256 of
/// the owner id).
/// </summary>
public sealed class RedisMailingStore(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> options) : IMailingStore
{
    internal static readonly JsonSerializerOptions Json = StoreJson.Options; // the one JSON form of every store

    private IDatabase Db => redis.GetDatabase();
    private string P => options.Value.KeyPrefix;
    private long TtlMs => (long)options.Value.Retention.TotalMilliseconds;

    /// <summary>A key of one mailing (in its hash tag); the replication barrier checks a delivery's record by them.</summary>
    internal static RedisKey KeyOf(string prefix, string id, string part) => $"{prefix}{{m:{id}}}:{part}";

    private RedisKey Meta(string id) => $"{P}{{m:{id}}}:meta";
    private RedisKey D(string id) => $"{P}{{m:{id}}}:d";
    private RedisKey Q(string id) => $"{P}{{m:{id}}}:q";
    private RedisKey L(string id) => $"{P}{{m:{id}}}:l";
    private RedisKey O(string id) => $"{P}{{m:{id}}}:o";
    private RedisKey F(string id) => $"{P}{{m:{id}}}:f";
    private RedisKey Fu(string id) => $"{P}{{m:{id}}}:p";
    private RedisKey A(string id) => $"{P}{{m:{id}}}:a";
    private RedisKey S(string id) => $"{P}{{m:{id}}}:s";
    private RedisKey R(string id) => $"{P}{{m:{id}}}:r";
    private RedisKey Active => $"{P}active";
    private RedisKey BounceWatch => $"{P}bounce-watch";
    private RedisKey InboxWatermark(string mailbox) => $"{P}inbox:{OwnerKey.Of(mailbox.ToLowerInvariant())}";
    // Owners are hashed to a fixed length (OwnerKey), so "owner:key" cannot be read two ways.
    private RedisKey User(string owner) => $"{P}user:{OwnerKey.Of(owner)}";
    private RedisKey Idem(string owner, string key) => $"{P}idem:{OwnerKey.Of(owner)}:{key}";
    private RedisKey Running(string owner) => $"{P}running:{OwnerKey.Of(owner)}";

    // Every script takes named parameters (LuaScript.Prepare): the keys of one mailing (RedisKey members, so they are
    // sent as KEYS too and a cluster routes the call by their shared hash tag) and its values. Lists travel as one
    // JSON parameter. The rules the scripts share with the in-memory store (completion, final, deletable) are tables
    // generated from the C# rules (MailingCompletion), never restated in Lua.
    private const string PreludeHead = """
        local meta, d, q, l, o, f, p, a, sk, r = @Meta, @D, @Q, @L, @O, @F, @Fu, @A, @S, @R
        local ttl = tonumber(@Ttl)

        """;

    private const string PreludeTail = """
        -- tells the status streams to read again (MailingChanges): a sharded channel with the mailing's hash tag,
        -- so a cluster publishes it on this shard
        local function announce() redis.call('SPUBLISH', string.sub(meta, 1, -5) .. 'changes', '') end
        local function touch()
          for i = 1, #KEYS do if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end end
          announce()
        end
        -- touch() for the step every message takes (its completion): renewing all ten keys costs twenty commands, so
        -- they are renewed at most once a minute (meta's TTL says when they last were: a mailing's keys may expire up
        -- to a minute before Retention after its last change), and a key this step may have created gets its TTL now
        local function touchOften(created)
          if ttl <= 120000 or redis.call('PTTL', meta) < ttl - 60000 then return touch() end
          for _, k in ipairs(created) do if redis.call('PTTL', k) == -1 then redis.call('PEXPIRE', k, ttl) end end
          announce()
        end
        local function flag(x) if x then return '1' else return '0' end end
        -- a mailing is done when its scope is expanded, nothing is queued or leased and every follow-up is written:
        -- the answer comes from the completion table (MailingCompletion.Decide)
        local function checkDone(now)
          local state = redis.call('HGET', meta, 'state')
          if not state then return end
          -- most completions land while others are queued or leased: then nothing more need be read
          local queued = redis.call('ZCARD', q) > 0
          if queued and waitsWhileQueued then return end
          local leased = redis.call('ZCARD', l) > 0
          if leased and waitsWhileLeased then return end
          local step = completion[state .. ':' .. flag(redis.call('HGET', meta, 'expDone') == '1')
            .. flag(queued) .. flag(leased)
            .. flag(redis.call('ZCARD', p) > 0) .. flag(redis.call('HEXISTS', meta, 'finishedAt') == 1)]
          if step == 'Complete' then
            redis.call('HSET', meta, 'state', 'Completed', 'finishedAt', now)
          elseif step == 'StampFinished' then
            redis.call('HSET', meta, 'finishedAt', now)
          end
        end
        local counterOf = { Sent = 'sent', Failed = 'failed', Skipped = 'skipped', Bounced = 'bounced', Cancelled = 'cancelled' }

        """;

    /// <summary>What every mailing script begins with (internal: a test holds checkDone to <see cref="MailingCompletion.Decide"/>).</summary>
    internal static readonly string Prelude = PreludeHead + MailingCompletion.LuaTables + PreludeTail;

    private static LuaScript Script(string body) => LuaScript.Prepare(Prelude + body);

    private static readonly LuaScript CreateScript = Script("""
        if redis.call('EXISTS', meta) == 1 then return 0 end
        redis.call('HSET', meta, 'doc', @Doc, 'state', 'Preparing', 'createdAt', @CreatedAt,
          'total', 0, 'sent', 0, 'failed', 0, 'skipped', 0, 'bounced', 0, 'cancelled', 0, 'streak', 0,
          'cursor', 0, 'expDone', 0, 'phaseUpdates', 0, 'held', @Held)
        touch()
        return 1
        """);

    // @From: the states it may leave, comma-separated.
    private static readonly LuaScript TransitionScript = Script("""
        local state = redis.call('HGET', meta, 'state')
        if not state then return nil end
        local to, reason, now = @To, @Reason, @Now
        for from in string.gmatch(@From, '[^,]+') do
          if from == state then
            redis.call('HSET', meta, 'state', to)
            if to == 'Paused' then
              redis.call('HSET', meta, 'reason', reason, 'pauseCode', @PauseCode, 'pauseArgs', @PauseArgs)
            else
              redis.call('HDEL', meta, 'reason', 'pauseCode', 'pauseArgs')
            end
            if to == 'Sending' then redis.call('HSET', meta, 'streak', 0) end
            if finalState[to] then redis.call('HSET', meta, 'finishedAt', now) end
            if to == 'Cancelled' and redis.call('ZCARD', l) > 0 then redis.call('HDEL', meta, 'finishedAt') end
            touch()
            return 1
          end
        end
        return 0
        """);

    // Ready → Queued; a mailing with nothing to send completes at once.
    private static readonly LuaScript StartScript = Script("""
        if redis.call('HGET', meta, 'state') ~= 'Ready' then return 0 end
        redis.call('HSET', meta, 'state', 'Queued', 'held', 0)
        checkDone(@Now)
        touch()
        return 1
        """);

    // Nothing of the mailing reached Microsoft 365: no outcome but skips, nothing claimed, never claimed (startedAt).
    private const string NothingHandedOver = """
        local function nothingHandedOver()
          return tonumber(redis.call('HGET', meta, 'sent')) + tonumber(redis.call('HGET', meta, 'failed'))
            + tonumber(redis.call('HGET', meta, 'bounced')) == 0
            and redis.call('ZCARD', l) == 0 and redis.call('HEXISTS', meta, 'startedAt') == 0
        end

        """;

    // Ready → Scheduled, or a new schedule for a Scheduled mailing that handed nothing over. @UndoUntil '' = none.
    private static readonly LuaScript ScheduleScript = Script(NothingHandedOver + """
        local state = redis.call('HGET', meta, 'state')
        if not state then return -1 end
        if not (state == 'Ready' or (state == 'Scheduled' and nothingHandedOver())) then return 0 end
        redis.call('HSET', meta, 'state', 'Scheduled', 'held', 0, 'schedule', @Schedule, 'stamp', @Stamp, 'gateFrom', @GateFrom)
        if @UndoUntil ~= '' then redis.call('HSET', meta, 'undoUntil', @UndoUntil) else redis.call('HDEL', meta, 'undoUntil') end
        redis.call('HDEL', meta, 'gateUntil')
        touch()
        return 1
        """);

    // Scheduled → Queued by the schedule named @Stamp once its NotBefore (gateFrom) has come. @GateUntil '' = no window.
    private static readonly LuaScript PromoteScript = Script("""
        local now = @Now
        if redis.call('HGET', meta, 'state') ~= 'Scheduled' or redis.call('HGET', meta, 'stamp') ~= @Stamp then return 0 end
        if tonumber(redis.call('HGET', meta, 'gateFrom') or '0') > tonumber(now) then return 0 end
        redis.call('HSET', meta, 'state', 'Queued')
        if @GateUntil ~= '' then redis.call('HSET', meta, 'gateUntil', @GateUntil) else redis.call('HDEL', meta, 'gateUntil') end
        checkDone(now)
        touch()
        return 1
        """);

    // Queued/Sending → Scheduled once the window opening (gateUntil) has ended, if deliveries are still queued; those of
    // a dead worker (expired leases) go back to the queue first. Deliveries in flight finish under their leases.
    private static readonly LuaScript ParkScript = Script("""
        local now = tonumber(@Now)
        local state = redis.call('HGET', meta, 'state')
        if state ~= 'Queued' and state ~= 'Sending' then return 0 end
        local gateUntil = redis.call('HGET', meta, 'gateUntil')
        if not gateUntil or tonumber(gateUntil) > now then return 0 end
        for _, s in ipairs(redis.call('ZRANGEBYSCORE', l, '-inf', now)) do
          redis.call('ZREM', l, s)
          redis.call('HDEL', o, s)
          redis.call('ZADD', q, 0, s)
        end
        if redis.call('ZCARD', q) == 0 then return 0 end
        redis.call('HSET', meta, 'state', 'Scheduled')
        touch()
        return 1
        """);

    // Scheduled → Cancelled while the undo window is open and nothing was handed over: 1 undone, 0 too late, -1 no mailing.
    private static readonly LuaScript UndoScript = Script(NothingHandedOver + """
        local now = @Now
        local state = redis.call('HGET', meta, 'state')
        if not state then return -1 end
        local undoUntil = redis.call('HGET', meta, 'undoUntil')
        if state ~= 'Scheduled' or not undoUntil or tonumber(undoUntil) <= tonumber(now) or not nothingHandedOver() then return 0 end
        redis.call('HSET', meta, 'state', 'Cancelled', 'finishedAt', now)
        redis.call('HDEL', meta, 'reason', 'pauseCode', 'pauseArgs')
        local seqs = redis.call('ZRANGE', q, 0, -1)
        for _, s in ipairs(seqs) do
          local delivery = cjson.decode(redis.call('HGET', d, s))
          delivery['status'] = 'Cancelled'
          delivery['reason'] = @Reason
          delivery['reasonCode'] = 'CancelledBeforeSend'
          redis.call('HSET', d, s, cjson.encode(delivery))
        end
        redis.call('DEL', q)
        if #seqs > 0 then redis.call('HINCRBY', meta, 'cancelled', #seqs) end
        checkDone(now)
        touch()
        return 1
        """);

    // @Outcomes: JSON [[seq, phaseUpdate, attempts, retryAtMs or '', progress json, codes json], ...]. Only the follow-up
    // fields change, so a bounce recorded meanwhile is kept.
    private static readonly LuaScript RecordFollowUpsScript = Script("""
        if redis.call('HGET', meta, 'fuToken') ~= @Token then return 0 end
        for _, out in ipairs(cjson.decode(@Outcomes)) do
          local seq = out[1]
          local json = redis.call('HGET', d, seq)
          if json then
            local delivery = cjson.decode(json)
            delivery['phaseUpdate'] = out[2]
            delivery['followUpAttempts'] = out[3]
            delivery['followUp'] = cjson.decode(out[5])
            -- never empty (an empty Lua table would encode as an object): null instead
            delivery['phaseUpdateCodes'] = cjson.decode(out[6])
            redis.call('HSET', d, seq, cjson.encode(delivery))
          end
          local retryAt = out[4]
          if retryAt == '' or not json then redis.call('ZREM', p, seq) else redis.call('ZADD', p, retryAt, seq) end
        end
        checkDone(@Now)
        touch()
        return 1
        """);

    // One lease per kind of background work on a mailing (expansion, follow-ups), held in meta fields.
    // @DoneField '' = none: a finished job takes no lease.
    private static readonly LuaScript LeaseScript = Script("""
        local token, now, untilMs = @Token, tonumber(@Now), @Until
        if redis.call('EXISTS', meta) == 0 then return 0 end -- deleted or expired: never recreate it without a TTL
        local holder = redis.call('HGET', meta, @TokenField)
        local heldUntil = tonumber(redis.call('HGET', meta, @UntilField) or '0')
        if @DoneField ~= '' and redis.call('HGET', meta, @DoneField) == '1' then return 0 end
        if holder and holder ~= token and heldUntil > now then return 0 end
        redis.call('HSET', meta, @TokenField, token, @UntilField, untilMs)
        return 1
        """);

    // @ScopeTotal '' = unknown; @Deliveries: JSON [[json, status, reasonCode, recordId], ...]. The record index r
    // (record id → its first seq) is written in the same step.
    private static readonly LuaScript AppendScript = Script("""
        if redis.call('HGET', meta, 'expToken') ~= @Token then return -1 end
        if redis.call('HGET', meta, 'cursor') ~= @Expected then return -2 end
        local total = tonumber(redis.call('HGET', meta, 'total'))
        local seq = tonumber(@FirstSeq)
        if total + 1 ~= seq then return -3 end
        local state = redis.call('HGET', meta, 'state')
        local now = @Now
        local n = 0
        for _, item in ipairs(cjson.decode(@Deliveries)) do
          redis.call('HSET', d, seq, item[1])
          redis.call('HSETNX', r, item[4], seq)
          local status = item[2]
          if status == 'Pending' then
            if state == 'Cancelled' then
              redis.call('HINCRBY', meta, 'cancelled', 1)
            else
              -- queued by ready time: a delivery put back after a 429 goes before those appended after it
              redis.call('ZADD', q, now, seq)
            end
          elseif counterOf[status] then
            redis.call('HINCRBY', meta, counterOf[status], 1)
            if status == 'Skipped' then redis.call('HINCRBY', sk, item[3], 1) end
          end
          seq = seq + 1
          n = n + 1
        end
        redis.call('HSET', meta, 'total', total + n, 'cursor', @NewPosition)
        redis.call('HINCRBY', meta, 'phaseUpdates', tonumber(@PhaseUpdates))
        if @ScopeTotal ~= '' then redis.call('HSET', meta, 'scopeTotal', @ScopeTotal) end
        if @Done == '1' then
          redis.call('HSET', meta, 'expDone', 1)
          if state == 'Preparing' then
            -- a held mailing waits for Start with its exact figures; nothing is claimable until then
            if redis.call('HGET', meta, 'held') == '1' then redis.call('HSET', meta, 'state', 'Ready')
            else redis.call('HSET', meta, 'state', 'Queued') end
          end
          checkDone(now)
        end
        touch()
        return n
        """);

    private static readonly LuaScript ClaimScript = Script("""
        local now, lease, token = tonumber(@Now), tonumber(@LeaseMs), @Token
        local state = redis.call('HGET', meta, 'state')
        if state ~= 'Queued' and state ~= 'Sending' then return { '', '' } end
        -- never before the schedule allows, never after the window opening it was queued in has closed
        local gateFrom, gateUntil = redis.call('HGET', meta, 'gateFrom'), redis.call('HGET', meta, 'gateUntil')
        if (gateFrom and tonumber(gateFrom) > now) or (gateUntil and tonumber(gateUntil) <= now) then return { '', '' } end
        -- deliveries whose worker died come back first; their draft id makes the next worker look them up
        local expired = redis.call('ZRANGEBYSCORE', l, '-inf', now, 'LIMIT', 0, 100)
        for _, s in ipairs(expired) do
          redis.call('ZREM', l, s)
          redis.call('HDEL', o, s)
          redis.call('ZADD', q, 0, s)
        end
        local first = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
        if #first == 0 then
          -- nothing queued: when the first lease held elsewhere runs out (its worker may have died)
          local held = redis.call('ZRANGE', l, 0, 0, 'WITHSCORES')
          return { '', '', held[2] or '' }
        end
        if tonumber(first[2]) > now then return { '', first[2], '' } end
        local s = first[1]
        redis.call('ZREM', q, s)
        redis.call('ZADD', l, now + lease, s)
        redis.call('HSET', o, s, token)
        if state == 'Queued' then redis.call('HSET', meta, 'state', 'Sending', 'startedAt', now) announce() end
        -- the lease keys may be new; the others were given their TTL when stored and get it again on completion
        redis.call('PEXPIRE', l, ttl)
        redis.call('PEXPIRE', o, ttl)
        return { s, redis.call('HGET', d, s), first[2] }
        """);

    private static readonly LuaScript UpdateClaimedScript = Script("""
        if redis.call('HGET', o, @Seq) ~= @Token then return 0 end
        redis.call('HSET', d, @Seq, @Json)
        redis.call('ZADD', l, 'XX', @LeaseUntil, @Seq)
        return 1
        """);

    // @FollowUp '1' = queue the HRBC follow-up; @PauseArgs json.
    private static readonly LuaScript CompleteScript = Script("""
        local seq, status, now = @Seq, @Status, @Now
        if redis.call('HGET', o, seq) ~= @Token then return 0 end
        redis.call('HDEL', o, seq)
        redis.call('ZREM', l, seq)
        redis.call('HSET', d, seq, @Json)
        if status == 'Sent' and @FollowUp == '1' then redis.call('ZADD', p, now, seq) end
        if counterOf[status] then redis.call('HINCRBY', meta, counterOf[status], 1) end
        if status == 'Skipped' then redis.call('HINCRBY', sk, @ReasonCode, 1) end
        if status == 'Failed' then
          redis.call('SADD', f, seq)
          local streak = redis.call('HINCRBY', meta, 'streak', 1)
          local state = redis.call('HGET', meta, 'state')
          if streak >= tonumber(@MaxStreak) and (state == 'Sending' or state == 'Queued') then
            redis.call('HSET', meta, 'state', 'Paused', 'reason', @PauseReason, 'pauseCode', 'FailureStreak', 'pauseArgs', @PauseArgs)
          end
        elseif status == 'Sent' then
          redis.call('HSET', meta, 'streak', 0)
          redis.call('HDEL', meta, 'errCode', 'errMsg', 'errAt', 'errRetry')
        end
        checkDone(now)
        -- the one key this outcome may have created
        if status == 'Failed' then touchOften({ f }) elseif status == 'Skipped' then touchOften({ sk })
        elseif status == 'Sent' and @FollowUp == '1' then touchOften({ p }) else touchOften({}) end
        return 1
        """);

    private static readonly LuaScript ReleaseScript = Script("""
        local seq = @Seq
        if redis.call('HGET', o, seq) ~= @Token then return 0 end
        redis.call('HDEL', o, seq)
        redis.call('ZREM', l, seq)
        if redis.call('HGET', meta, 'state') == 'Cancelled' then
          redis.call('HSET', d, seq, @CancelledJson)
          redis.call('HINCRBY', meta, 'cancelled', 1)
          checkDone(@Now)
        else
          redis.call('HSET', d, seq, @Json)
          redis.call('ZADD', q, @NotBefore, seq)
        end
        touch()
        return 1
        """);

    private static readonly LuaScript UpdateDeliveryScript = Script("""
        local seq, status = @Seq, @Status
        local old = redis.call('HGET', d, seq)
        if not old then return 0 end
        local oldStatus = cjson.decode(old)['status']
        redis.call('HSET', d, seq, @Json)
        if oldStatus ~= status then
          if counterOf[oldStatus] then redis.call('HINCRBY', meta, counterOf[oldStatus], -1) end
          if counterOf[status] then redis.call('HINCRBY', meta, counterOf[status], 1) end
          if oldStatus == 'Failed' then redis.call('SREM', f, seq) end
          if status == 'Failed' then redis.call('SADD', f, seq) end
        end
        touch()
        return 1
        """);

    private static readonly LuaScript MarkRepliedScript = Script("""
        local old = redis.call('HGET', d, @Seq)
        if not old then return 0 end
        local replied = cjson.decode(old)['repliedAt']
        if replied ~= nil and replied ~= cjson.null then return 0 end
        redis.call('HSET', d, @Seq, @Json)
        redis.call('HINCRBY', meta, 'replied', 1)
        touch()
        return 1
        """);

    private static readonly LuaScript WatermarkScript = LuaScript.Prepare("""
        local current = tonumber(redis.call('GET', @Key) or '0')
        if tonumber(@At) > current then redis.call('SET', @Key, @At) end
        redis.call('PEXPIRE', @Key, @Ttl)
        return 1
        """);

    private static readonly LuaScript CancelQueuedScript = Script("""
        if redis.call('EXISTS', meta) == 0 then return 0 end
        local seqs = redis.call('ZRANGE', q, 0, -1)
        for _, s in ipairs(seqs) do
          local delivery = cjson.decode(redis.call('HGET', d, s))
          delivery['status'] = 'Cancelled'
          delivery['reason'] = @Reason
          delivery['reasonCode'] = 'CancelledBeforeSend'
          redis.call('HSET', d, s, cjson.encode(delivery))
        end
        redis.call('DEL', q)
        redis.call('HINCRBY', meta, 'cancelled', #seqs)
        checkDone(@Now)
        touch()
        return #seqs
        """);

    private static readonly LuaScript RequeueFailedScript = Script("""
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
          redis.call('ZADD', q, @Now, s)
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
        """);

    // Every key in the mailing's hash tag goes, in the step that checks the state (the deletable table, from
    // MailingStates.IsDeletable): 1 deleted, 0 still running, -1 no such mailing.
    private static readonly LuaScript DeleteScript = Script("""
        local state = redis.call('HGET', meta, 'state')
        if not state then return -1 end
        local held = flag(redis.call('HGET', meta, 'held') == '1')
        local finished = flag(redis.call('HEXISTS', meta, 'finishedAt') == 1)
        if not deletable[state .. ':' .. held .. finished] then return 0 end
        redis.call('DEL', unpack(KEYS))
        announce()
        return 1
        """);

    // Only on a mailing that exists (a stray write must not create a meta hash without a TTL).
    private static readonly LuaScript RecordErrorScript = LuaScript.Prepare("""
        if redis.call('EXISTS', @Meta) == 0 then return 0 end
        redis.call('HSET', @Meta, 'errCode', @Code, 'errMsg', @Message, 'errAt', @At, 'errRetry', @RetryAt)
        redis.call('SPUBLISH', string.sub(@Meta, 1, -5) .. 'changes', '') -- the wait reason changed (announce())
        return 1
        """);

    // Only if the key still names this mailing.
    private static readonly LuaScript DeleteIdempotencyScript = LuaScript.Prepare(
        "if redis.call('GET', @Idem) == @Id then return redis.call('DEL', @Idem) end return 0");

    /// <summary>The parameters every mailing script has: the mailing's keys (sent as KEYS) and the retention.</summary>
    private class MailingArgs(RedisMailingStore s, string id)
    {
        public RedisKey Meta { get; } = s.Meta(id);
        public RedisKey D { get; } = s.D(id);
        public RedisKey Q { get; } = s.Q(id);
        public RedisKey L { get; } = s.L(id);
        public RedisKey O { get; } = s.O(id);
        public RedisKey F { get; } = s.F(id);
        public RedisKey Fu { get; } = s.Fu(id);
        public RedisKey A { get; } = s.A(id);
        public RedisKey S { get; } = s.S(id);
        public RedisKey R { get; } = s.R(id);
        public long Ttl { get; } = s.TtlMs;
    }

    private sealed class CreateArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Doc { get; init; }
        public required string CreatedAt { get; init; }
        public required int Held { get; init; }
    }

    private sealed class TransitionArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string To { get; init; }
        public required string Reason { get; init; }
        public required string Now { get; init; }
        public required string PauseCode { get; init; }
        public required string PauseArgs { get; init; }
        public required string From { get; init; }
    }

    private sealed class ScheduleArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Schedule { get; init; }
        public required string Stamp { get; init; }
        public required string GateFrom { get; init; }
        public required string UndoUntil { get; init; }
    }

    private sealed class PromoteArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Stamp { get; init; }
        public required string GateUntil { get; init; }
        public required string Now { get; init; }
    }

    private sealed class UndoArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Now { get; init; }
        public required string Reason { get; init; }
    }

    private sealed class NowArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Now { get; init; }
    }

    private sealed class RecordFollowUpsArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Token { get; init; }
        public required string Now { get; init; }
        public required string Outcomes { get; init; }
    }

    private sealed class LeaseArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Token { get; init; }
        public required string Now { get; init; }
        public required string Until { get; init; }
        public required string TokenField { get; init; }
        public required string UntilField { get; init; }
        public required string DoneField { get; init; }
    }

    private sealed class AppendArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Token { get; init; }
        public required int Expected { get; init; }
        public required int NewPosition { get; init; }
        public required int Done { get; init; }
        public required string Now { get; init; }
        public required int FirstSeq { get; init; }
        public required int PhaseUpdates { get; init; }
        public required string ScopeTotal { get; init; }
        public required string Deliveries { get; init; }
    }

    private sealed class ClaimArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required long Now { get; init; }
        public required long LeaseMs { get; init; }
        public required string Token { get; init; }
    }

    private sealed class UpdateClaimedArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required int Seq { get; init; }
        public required string Token { get; init; }
        public required string Json { get; init; }
        public required string LeaseUntil { get; init; }
    }

    private sealed class CompleteArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required int Seq { get; init; }
        public required string Token { get; init; }
        public required string Json { get; init; }
        public required string Status { get; init; }
        public required int MaxStreak { get; init; }
        public required string Now { get; init; }
        public required string PauseReason { get; init; }
        public required int FollowUp { get; init; }
        public required string PauseArgs { get; init; }
        public required string ReasonCode { get; init; }
    }

    private sealed class ReleaseArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required int Seq { get; init; }
        public required string Token { get; init; }
        public required string Json { get; init; }
        public required long NotBefore { get; init; }
        public required string Now { get; init; }
        public required string CancelledJson { get; init; }
    }

    private sealed class UpdateDeliveryArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required int Seq { get; init; }
        public required string Json { get; init; }
        public required string Status { get; init; }
    }

    private sealed class CancelQueuedArgs(RedisMailingStore s, string id) : MailingArgs(s, id)
    {
        public required string Now { get; init; }
        public required string Reason { get; init; }
    }

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
        // Indexed as running before it exists (a crash after the script leaves it counted) and again after (a count
        // that read it missing may have removed it meanwhile): the index may name more than run, never fewer.
        await AddRunningAsync(db, mailing.Owner, id).ConfigureAwait(false);
        await db.ScriptEvaluateAsync(CreateScript, new CreateArgs(this, id)
        {
            Doc = doc, CreatedAt = Ms(mailing.CreatedAt), Held = mailing.Held ? 1 : 0,
        }).ConfigureAwait(false);
        if (!mailing.Held)
        {
            await AddRunningAsync(db, mailing.Owner, id).ConfigureAwait(false);
        }
        await AddActiveAsync(db, id, mailing.CreatedAt).ConfigureAwait(false);
        await db.SortedSetAddAsync(User(mailing.Owner), id, mailing.CreatedAt.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        await db.KeyExpireAsync(User(mailing.Owner), options.Value.Retention).ConfigureAwait(false);
        // after the owner's list has it: the owner's status streams re-list
        await db.PublishAsync(RedisMailingChanges.OwnerChannel(P, mailing.Owner), "").ConfigureAwait(false);
        return (await GetAsync(id, cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<Mailing?> GetAsync(string mailingId, CancellationToken cancellationToken)
    {
        var values = await Db.HashGetAsync(Meta(mailingId), ["doc", "state", "reason", "startedAt", "finishedAt", "pauseCode", "pauseArgs", "held", "schedule", "gateUntil"]).ConfigureAwait(false);
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
            Schedule = values[8].IsNullOrEmpty ? null : JsonSerializer.Deserialize<MailingSchedule>((string)values[8]!, Json),
            OpenUntil = FromMs(values[9]),
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
        var v = await Db.HashGetAsync(Meta(mailingId), ["total", "sent", "failed", "skipped", "bounced", "cancelled", "replied"]).ConfigureAwait(false);
        var followUps = await Db.SortedSetLengthAsync(Fu(mailingId)).ConfigureAwait(false);
        return new MailingCounts(Int(v[0]), Int(v[1]), Int(v[2]), Int(v[3]), Int(v[4]), Int(v[5])) { FollowUpsPending = (int)followUps, Replied = Int(v[6]) };
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
        var result = await Db.ScriptEvaluateAsync(TransitionScript, new TransitionArgs(this, mailingId)
        {
            To = to.ToString(), Reason = reason ?? "", Now = Ms(now), PauseCode = pausedCode ?? "",
            PauseArgs = pausedArgs is null ? "" : JsonSerializer.Serialize(pausedArgs, Json),
            From = string.Join(',', from),
        }).ConfigureAwait(false);
        var changed = !result.IsNull && (int)result == 1;
        var after = await GetAsync(mailingId, cancellationToken).ConfigureAwait(false);
        if (changed && !MailingStates.IsFinal(to))
        {
            await AddActiveAsync(Db, mailingId, now).ConfigureAwait(false);
        }
        if (changed && after is not null && MailingStates.IsRunning(after.State, after.Held))
        {
            await AddRunningAsync(Db, after.Owner, mailingId).ConfigureAwait(false);
        }
        return (after, changed);
    }

    public async Task<(Mailing? Mailing, bool Changed)> StartAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = (int)await Db.ScriptEvaluateAsync(StartScript, new NowArgs(this, mailingId) { Now = Ms(now) }).ConfigureAwait(false) == 1;
        var after = await GetAsync(mailingId, cancellationToken).ConfigureAwait(false);
        if (changed)
        {
            await AddActiveAsync(Db, mailingId, now).ConfigureAwait(false);
            if (after is not null && MailingStates.IsRunning(after.State, after.Held))
            {
                await AddRunningAsync(Db, after.Owner, mailingId).ConfigureAwait(false);
            }
        }
        return (after, changed);
    }

    public async Task<(Mailing? Mailing, bool Changed)> ScheduleAsync(string mailingId, MailingSchedule schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = (int)await Db.ScriptEvaluateAsync(ScheduleScript, new ScheduleArgs(this, mailingId)
        {
            Schedule = JsonSerializer.Serialize(schedule, Json), Stamp = schedule.Stamp, GateFrom = Ms(schedule.NotBefore),
            UndoUntil = schedule.UndoUntil is { } u ? Ms(u) : "",
        }).ConfigureAwait(false) == 1;
        var after = await GetAsync(mailingId, cancellationToken).ConfigureAwait(false);
        if (changed)
        {
            // any instance's worker promotes it when due
            await AddActiveAsync(Db, mailingId, now).ConfigureAwait(false);
            if (after is not null && MailingStates.IsRunning(after.State, after.Held))
            {
                await AddRunningAsync(Db, after.Owner, mailingId).ConfigureAwait(false);
            }
        }
        return (after, changed);
    }

    public async Task<bool> PromoteAsync(string mailingId, string stamp, DateTimeOffset? openUntil, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(PromoteScript, new PromoteArgs(this, mailingId)
        {
            Stamp = stamp, GateUntil = openUntil is { } u ? Ms(u) : "", Now = Ms(now),
        }).ConfigureAwait(false) == 1;

    public async Task<bool> ParkAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(ParkScript, new NowArgs(this, mailingId) { Now = Ms(now) }).ConfigureAwait(false) == 1;

    public async Task<(Mailing? Mailing, bool Changed)> UndoAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = (int)await Db.ScriptEvaluateAsync(UndoScript, new UndoArgs(this, mailingId)
        {
            Now = Ms(now), Reason = "Cancelled before it was sent",
        }).ConfigureAwait(false) == 1;
        return (await GetAsync(mailingId, cancellationToken).ConfigureAwait(false), changed);
    }

    public async Task RecordErrorAsync(string mailingId, MailingError error, CancellationToken cancellationToken)
    {
        await Db.ScriptEvaluateAsync(RecordErrorScript, new
        {
            Meta = Meta(mailingId), Code = error.GraphCode, Message = error.GraphMessage, At = Ms(error.At),
            RetryAt = error.RetryAt is { } r ? Ms(r) : "",
        }).ConfigureAwait(false);
    }

    public async Task<ExpansionCursor> GetExpansionAsync(string mailingId, CancellationToken cancellationToken)
    {
        var v = await Db.HashGetAsync(Meta(mailingId), ["cursor", "expDone"]).ConfigureAwait(false);
        return new ExpansionCursor(Int(v[0]), (string?)v[1] == "1");
    }

    public async Task<bool> TryLeaseExpansionAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(LeaseScript, new LeaseArgs(this, mailingId)
        {
            Token = token, Now = Ms(now), Until = Ms(now + lease), TokenField = "expToken", UntilField = "expUntil", DoneField = "expDone",
        }).ConfigureAwait(false) == 1;

    public async Task<bool> AppendDeliveriesAsync(string mailingId, string token, int expectedPosition, int newPosition,
        IReadOnlyList<Delivery> deliveries, bool done, DateTimeOffset now, CancellationToken cancellationToken, PageFigures? figures = null)
    {
        var firstSeq = deliveries.Count > 0 ? deliveries[0].Seq
            : Int(await Db.HashGetAsync(Meta(mailingId), "total").ConfigureAwait(false)) + 1;
        figures ??= PageFigures.None;
        var items = deliveries.Select(d => new[]
        {
            JsonSerializer.Serialize(d, Json), d.Status.ToString(), d.ReasonCode ?? UnknownReason,
            d.RecordId.ToString(CultureInfo.InvariantCulture),
        });
        var n = (int)await Db.ScriptEvaluateAsync(AppendScript, new AppendArgs(this, mailingId)
        {
            Token = token, Expected = expectedPosition, NewPosition = newPosition, Done = done ? 1 : 0, Now = Ms(now), FirstSeq = firstSeq,
            PhaseUpdates = figures.PhaseUpdates, ScopeTotal = figures.ScopeTotal is { } t ? t.ToString(CultureInfo.InvariantCulture) : "",
            Deliveries = JsonSerializer.Serialize(items, Json),
        }).ConfigureAwait(false);
        return n >= 0;
    }

    public async Task<ClaimResult> ClaimAsync(string mailingId, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken, string? leaseToken = null)
    {
        var token = leaseToken ?? Guid.NewGuid().ToString("N");
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(ClaimScript, new ClaimArgs(this, mailingId)
        {
            Now = now.ToUnixTimeMilliseconds(), LeaseMs = (long)lease.TotalMilliseconds, Token = token,
        }).ConfigureAwait(false))!;
        var seq = (string?)r[0];
        var third = r.Length > 2 ? FromMs((string?)r[2] is { Length: > 0 } t ? t : RedisValue.Null) : null;
        if (string.IsNullOrEmpty(seq))
        {
            return new ClaimResult(null, FromMs((string?)r[1] is { Length: > 0 } next ? next : RedisValue.Null)) { LeaseEndsAt = third };
        }
        var delivery = JsonSerializer.Deserialize<Delivery>((string)r[1]!, Json)!;
        // a delivery re-queued from an expired lease is ready since "0": no lag to report
        return new ClaimResult(new DeliveryClaim(mailingId, delivery, token), null) { ReadyAt = third is { } at && at.ToUnixTimeMilliseconds() > 0 ? at : null };
    }

    // The lease owners hash holds only the deliveries in flight (a few per instance): read whole, no index needed.
    public async Task<Delivery?> LeasedUnderAsync(string mailingId, string leaseToken, CancellationToken cancellationToken)
    {
        var owners = await Db.HashGetAllAsync(O(mailingId)).ConfigureAwait(false);
        return owners.FirstOrDefault(x => x.Value == leaseToken) is { Name.HasValue: true } held
            ? await GetDeliveryAsync(mailingId, (int)held.Name, cancellationToken).ConfigureAwait(false)
            : null;
    }

    public async Task<bool> UpdateClaimedAsync(DeliveryClaim claim, Delivery updated, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(UpdateClaimedScript, new UpdateClaimedArgs(this, claim.MailingId)
        {
            Seq = updated.Seq, Token = claim.LeaseToken, Json = JsonSerializer.Serialize(updated, Json), LeaseUntil = Ms(now + lease),
        }).ConfigureAwait(false) == 1;

    public async Task<bool> CompleteAsync(DeliveryClaim claim, Delivery final, int maxFailureStreak, DateTimeOffset now, CancellationToken cancellationToken,
        bool followUp = false) =>
        (int)await Db.ScriptEvaluateAsync(CompleteScript, new CompleteArgs(this, claim.MailingId)
        {
            Seq = final.Seq, Token = claim.LeaseToken, Json = JsonSerializer.Serialize(final, Json), Status = final.Status.ToString(),
            MaxStreak = maxFailureStreak, Now = Ms(now), PauseReason = PauseReason(maxFailureStreak), FollowUp = followUp ? 1 : 0,
            PauseArgs = JsonSerializer.Serialize(PauseArgs(maxFailureStreak), Json), ReasonCode = final.ReasonCode ?? UnknownReason,
        }).ConfigureAwait(false) == 1;

    public async Task<bool> ReleaseAsync(DeliveryClaim claim, Delivery updated, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        var cancelled = updated with { Status = DeliveryStatus.Cancelled, Reason = "Cancelled before it was sent", ReasonCode = ReasonCodes.CancelledBeforeSend };
        return (int)await Db.ScriptEvaluateAsync(ReleaseScript, new ReleaseArgs(this, claim.MailingId)
        {
            Seq = updated.Seq, Token = claim.LeaseToken, Json = JsonSerializer.Serialize(updated, Json), NotBefore = notBefore.ToUnixTimeMilliseconds(),
            Now = Ms(notBefore), CancelledJson = JsonSerializer.Serialize(cancelled, Json),
        }).ConfigureAwait(false) == 1;
    }

    public async Task UpdateDeliveryAsync(string mailingId, Delivery updated, CancellationToken cancellationToken) =>
        await Db.ScriptEvaluateAsync(UpdateDeliveryScript, new UpdateDeliveryArgs(this, mailingId)
        {
            Seq = updated.Seq, Json = JsonSerializer.Serialize(updated, Json), Status = updated.Status.ToString(),
        }).ConfigureAwait(false);

    public async Task<bool> MarkRepliedAsync(string mailingId, Delivery updated, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(MarkRepliedScript, new UpdateDeliveryArgs(this, mailingId)
        {
            Seq = updated.Seq, Json = JsonSerializer.Serialize(updated, Json), Status = updated.Status.ToString(),
        }).ConfigureAwait(false) == 1;

    public async Task<DateTimeOffset?> GetInboxWatermarkAsync(string mailbox, CancellationToken cancellationToken) =>
        FromMs(await Db.StringGetAsync(InboxWatermark(mailbox)).ConfigureAwait(false));

    public async Task SetInboxWatermarkAsync(string mailbox, DateTimeOffset readUntil, CancellationToken cancellationToken) =>
        // forward only: a slower instance's older watermark never moves it back
        await Db.ScriptEvaluateAsync(WatermarkScript, new { Key = InboxWatermark(mailbox), At = readUntil.ToUnixTimeMilliseconds(), Ttl = (long)options.Value.Retention.TotalMilliseconds })
            .ConfigureAwait(false);

    public async Task<int> CancelQueuedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken) =>
        (int)await Db.ScriptEvaluateAsync(CancelQueuedScript, new CancelQueuedArgs(this, mailingId)
        {
            Now = Ms(now), Reason = "Cancelled before it was sent",
        }).ConfigureAwait(false);

    public async Task<int> RequeueFailedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var n = (int)await Db.ScriptEvaluateAsync(RequeueFailedScript, new NowArgs(this, mailingId) { Now = Ms(now) }).ConfigureAwait(false);
        if (n > 0)
        {
            await AddActiveAsync(Db, mailingId, now).ConfigureAwait(false);
            if (await GetAsync(mailingId, cancellationToken).ConfigureAwait(false) is { } m && MailingStates.IsRunning(m.State, m.Held))
            {
                await AddRunningAsync(Db, m.Owner, mailingId).ConfigureAwait(false);
            }
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
        (int)await Db.ScriptEvaluateAsync(LeaseScript, new LeaseArgs(this, mailingId)
        {
            Token = token, Now = Ms(now), Until = Ms(now + lease), TokenField = "fuToken", UntilField = "fuUntil", DoneField = "",
        }).ConfigureAwait(false) == 1;

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
        // [seq, phaseUpdate, attempts, retryAt ms or '', progress json, codes json ("null" when none)]
        var items = outcomes.Select(o => new object[]
        {
            o.Seq.ToString(CultureInfo.InvariantCulture), o.PhaseUpdate, o.Attempts, o.RetryAt is { } at ? Ms(at) : "",
            JsonSerializer.Serialize(o.Progress, Json), o.Codes.Count == 0 ? "null" : JsonSerializer.Serialize(o.Codes, Json),
        });
        return (int)await Db.ScriptEvaluateAsync(RecordFollowUpsScript, new RecordFollowUpsArgs(this, mailingId)
        {
            Token = token, Now = Ms(now), Outcomes = JsonSerializer.Serialize(items, Json),
        }).ConfigureAwait(false) == 1;
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
        var result = (int)await db.ScriptEvaluateAsync(DeleteScript, new MailingArgs(this, mailingId)).ConfigureAwait(false);
        if (result != 1)
        {
            return result == 0 ? MailingDeletion.NotDeletable : MailingDeletion.NotFound;
        }
        // The references outside the hash tag (other slots in a cluster, so not in the script). Each reader already
        // skips a reference whose mailing is gone, so a crash between the two steps leaves nothing visible.
        await db.SortedSetRemoveAsync(User(mailing.Owner), mailingId).ConfigureAwait(false);
        await db.SetRemoveAsync(Active, mailingId).ConfigureAwait(false);
        await db.SortedSetRemoveAsync(RedisDueIndex.KeyOf(P), mailingId).ConfigureAwait(false);
        await db.SetRemoveAsync(Running(mailing.Owner), mailingId).ConfigureAwait(false);
        await db.SortedSetRemoveAsync(BounceWatch, mailingId).ConfigureAwait(false);
        if (mailing.IdempotencyKey is { Length: > 0 } key)
        {
            await db.ScriptEvaluateAsync(DeleteIdempotencyScript, new { Idem = Idem(mailing.Owner, key), Id = mailingId }).ConfigureAwait(false);
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

    public async Task<Delivery?> FindDeliveryByRecordAsync(string mailingId, long recordId, CancellationToken cancellationToken)
    {
        var seq = await Db.HashGetAsync(R(mailingId), recordId).ConfigureAwait(false);
        return seq.IsNull ? null : await GetDeliveryAsync(mailingId, (int)seq, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> CountRunningAsync(string owner, CancellationToken cancellationToken)
    {
        // The index lives outside the mailings' hash tags (another slot in a cluster), so it is written next to the
        // state change, not in its script: it names every running mailing and maybe some that stopped since, which
        // are checked here and dropped. Reads the owner's running mailings, not their whole list.
        var db = Db;
        var running = 0;
        foreach (var id in await db.SetMembersAsync(Running(owner)).ConfigureAwait(false))
        {
            if (await IsRunningAsync(db, (string)id!).ConfigureAwait(false))
            {
                running++;
                continue;
            }
            await db.SetRemoveAsync(Running(owner), id).ConfigureAwait(false);
            // Every change that starts a mailing adds it after its script; one that came between the read and the
            // removal is seen here, so the index never loses a running mailing.
            if (await IsRunningAsync(db, (string)id!).ConfigureAwait(false))
            {
                await AddRunningAsync(db, owner, (string)id!).ConfigureAwait(false);
                running++;
            }
        }
        return running;
    }

    private async Task<bool> IsRunningAsync(IDatabase db, string id)
    {
        var v = await db.HashGetAsync(Meta(id), ["state", "held"]).ConfigureAwait(false);
        return !v[0].IsNull && MailingStates.IsRunning(Enum.Parse<MailingState>((string)v[0]!), (string?)v[1] == "1");
    }

    private async Task AddRunningAsync(IDatabase db, string owner, string id)
    {
        await db.SetAddAsync(Running(owner), id).ConfigureAwait(false);
        await db.KeyExpireAsync(Running(owner), options.Value.Retention).ConfigureAwait(false);
    }

    // The active set is global (not one mailing's); it expires too, renewed whenever a mailing joins it. The due index
    // (RedisDueIndex) gets it due now (an earlier time stays), and every instance hears of it.
    private async Task AddActiveAsync(IDatabase db, string id, DateTimeOffset now)
    {
        await db.SetAddAsync(Active, id).ConfigureAwait(false);
        await db.KeyExpireAsync(Active, options.Value.Retention).ConfigureAwait(false);
        await db.SortedSetAddAsync(RedisDueIndex.KeyOf(P), id, now.ToUnixTimeMilliseconds(), SortedSetWhen.LessThan).ConfigureAwait(false);
        await db.KeyExpireAsync(RedisDueIndex.KeyOf(P), options.Value.Retention).ConfigureAwait(false);
        await db.PublishAsync(RedisDueIndex.ChannelOf(P), now.ToUnixTimeMilliseconds(), CommandFlags.FireAndForget).ConfigureAwait(false);
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
