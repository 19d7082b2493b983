using BulkMail.Api.Infrastructure;
using System.Collections.Concurrent;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings.Scheduling;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>
/// Wakes this process's dispatcher: at once (a submit, a resume) or when a mailing falls due earlier than it planned to
/// look (a notice from the due index, from any instance). A notice while it works is kept for its next sleep.
/// </summary>
public sealed class MailingSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private long _sleepUntilMs = long.MinValue; // MinValue: not sleeping
    private long _earliestNoticeMs = long.MaxValue;

    public void Notify() => Notify(DateTimeOffset.MinValue);

    public void Notify(DateTimeOffset at)
    {
        var ms = at == DateTimeOffset.MinValue ? long.MinValue : at.ToUnixTimeMilliseconds();
        var seen = Interlocked.Read(ref _earliestNoticeMs);
        while (ms < seen && Interlocked.CompareExchange(ref _earliestNoticeMs, ms, seen) != seen)
        {
            seen = Interlocked.Read(ref _earliestNoticeMs);
        }
        if (ms < Interlocked.Read(ref _sleepUntilMs))
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
        }
    }

    /// <summary>Sleeps until <paramref name="until"/>, or the earliest notice, whichever comes first.</summary>
    public async Task WaitUntilAsync(DateTimeOffset until, TimeProvider time, CancellationToken cancellationToken)
    {
        while (_signal.Wait(0))
        {
            // a release left from before this sleep: its notice is in _earliestNoticeMs
        }
        var untilMs = Math.Min(until.ToUnixTimeMilliseconds(), Interlocked.Exchange(ref _earliestNoticeMs, long.MaxValue));
        Interlocked.Exchange(ref _sleepUntilMs, untilMs);
        try
        {
            // a notice that came between the read above and the store: Notify read the old _sleepUntilMs
            var wakeMs = Math.Min(untilMs, Interlocked.Read(ref _earliestNoticeMs));
            var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (wakeMs <= nowMs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return;
            }
            var delay = TimeSpan.FromMilliseconds(wakeMs - nowMs);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var sleep = Task.Delay(delay, time, cts.Token);
            var signal = _signal.WaitAsync(cts.Token);
            await Task.WhenAny(sleep, signal).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        finally
        {
            Interlocked.Exchange(ref _sleepUntilMs, long.MinValue);
        }
    }
}

/// <summary>
/// Sends mailings: any number of these (one per API process) share one store, one per-mailbox limiter and one due
/// index (docs/architecture.md, Mailing engine: Dispatch). The dispatcher sleeps until the earliest mailing falls due
/// or a notice says one did, takes the due ones (each is then this instance's for a hold) and runs a tick for each:
/// up to <c>Sending:MaxConcurrency</c> lanes that take a pacing grant, claim a delivery under a lease and hand it to
/// <see cref="DeliveryStep"/> (the exactly-once protocol), for as long as nothing makes them wait. What would make them
/// wait (the pacing window, a Retry-After, the schedule, a lease held elsewhere) becomes the mailing's next due time:
/// a waiting mailing costs no work and no Redis traffic on any instance until then.
/// </summary>
public sealed partial class MailingWorker(
    IMailingStore store,
    IDueIndex due,
    IMailboxLimiter limiter,
    DeliveryStep step,
    MailingScheduler scheduler,
    IServiceScopeFactory scopes,
    MailingSignal signal,
    IOptions<SendingOptions> options,
    IOptions<BounceOptions> bounces,
    IOptions<ReplyOptions> replies,
    TimeProvider time,
    WorkerHeartbeat heartbeat,
    BulkMailTelemetry telemetry,
    ILogger<MailingWorker> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Tick> _running = new();
    // What a mailing's ticks on this instance share: its plan (the spec never changes) and its files, read once.
    private readonly ConcurrentDictionary<string, CachedRun> _runs = new();
    private SendingOptions O => options.Value;

    /// <summary>A mailing's tick on this instance: its current ticket (a newer one when it is taken again while the
    /// tick runs) and whether that happened (something changed: it is looked at again at once).</summary>
    private sealed class Tick(DueMailing ticket)
    {
        public readonly Lock Gate = new();
        public DueMailing Ticket = ticket;
        public bool Woken;
        public bool Closed; // its due time is being written: a take from now on starts a new tick
        public Task Run = Task.CompletedTask;
    }

    private sealed record CachedRun(MailingPlan Plan, IReadOnlyList<MailAttachment>? Attachments, long Bytes)
    {
        public DateTimeOffset LastUsed { get; set; }
    }

    // Files kept across ticks up to this many bytes per instance; beyond, a tick reads them again.
    private const long CachedFileBytes = 256L * 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await due.SubscribeAsync(at => signal.Notify(at), stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without notices the worker still looks every IdleWake.
            Log.PollFailed(logger, LogSafe.Of(e));
        }
        var nextRepair = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            heartbeat.Beat(due.IdleCap);
            var wakeAt = now + due.IdleCap;
            try
            {
                if (now >= nextRepair)
                {
                    nextRepair = now + O.RepairInterval;
                    if (await due.TryLeadRepairAsync(now, O.RepairInterval, stoppingToken).ConfigureAwait(false))
                    {
                        await due.RepairAsync(await store.ActiveMailingIdsAsync(stoppingToken).ConfigureAwait(false), now, stoppingToken).ConfigureAwait(false);
                    }
                }
                var free = O.MaxMailingsPerInstance - _running.Count;
                if (free > 0)
                {
                    var take = await due.TakeAsync(now, free, O.MailingHold, stoppingToken, _running.Count).ConfigureAwait(false);
                    foreach (var ticket in take.Taken)
                    {
                        if (ticket.DueAt is { } dueAt)
                        {
                            telemetry.DueLag.Record(Math.Max(0, (now - dueAt).TotalSeconds));
                        }
                        Start(ticket, stoppingToken);
                    }
                    telemetry.SetDueWaiting(take.StillDue);
                    // still due but no room: a tick that ends wakes the loop (Finished)
                    if (take.StillDue == 0 && take.NextDueAt is { } next && next < wakeAt)
                    {
                        wakeAt = next;
                    }
                    else if (take.LeftToOthers)
                    {
                        // the other instances' share: look again in case one of them is gone
                        wakeAt = now + IDueIndex.ShareGrace;
                    }
                }
                EvictIdleRuns(now);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.PollFailed(logger, LogSafe.Of(e));
                wakeAt = now + TimeSpan.FromSeconds(1);
            }
            telemetry.SetActiveMailings(_running.Count);
            try
            {
                await signal.WaitUntilAsync(wakeAt, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(_running.Values.Select(t => t.Run)).ConfigureAwait(false);
    }

    private void Start(DueMailing ticket, CancellationToken stoppingToken)
    {
        var id = ticket.MailingId;
        if (_running.TryGetValue(id, out var runningTick))
        {
            // Woken while this instance still works on it: the running tick holds the new ticket and looks again at once.
            lock (runningTick.Gate)
            {
                if (!runningTick.Closed)
                {
                    runningTick.Ticket = ticket;
                    runningTick.Woken = true;
                    return;
                }
            }
        }
        var tick = new Tick(ticket);
        _running[id] = tick;
        tick.Run = Task.Run(async () =>
        {
            try
            {
                await TickAsync(tick, stoppingToken).ConfigureAwait(false);
            }
            finally
            {
                _running.TryRemove(new KeyValuePair<string, Tick>(id, tick));
                signal.Notify(); // there may be mailings waiting for room
            }
        }, CancellationToken.None);
    }

    /// <summary>One turn of a due mailing, holding it (renewed) until its next due time is known.</summary>
    private async Task TickAsync(Tick tick, CancellationToken stoppingToken)
    {
        using var holding = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var ticket = tick.Ticket;
        var renewals = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(O.MailingHold / 3, time, holding.Token).ConfigureAwait(false);
                    var hold = (time.GetUtcNow() + O.MailingHold).ToUnixTimeMilliseconds();
                    DueMailing current;
                    lock (tick.Gate)
                    {
                        current = tick.Ticket;
                    }
                    if (await due.RenewAsync(current, hold, holding.Token).ConfigureAwait(false))
                    {
                        lock (tick.Gate)
                        {
                            if (tick.Ticket == current)
                            {
                                tick.Ticket = current with { Hold = hold };
                            }
                        }
                    }
                    // else: woken meanwhile; whoever takes it next hands its ticket to this tick, or runs its own
                }
            }
            catch (OperationCanceledException)
            {
                // the tick ended
            }
        }, CancellationToken.None);
        DateTimeOffset? next;
        try
        {
            next = await RunAsync(ticket.MailingId, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down: any other instance may go on at once (leases of deliveries in flight run out first)
            next = time.GetUtcNow();
        }
        catch (Exception e)
        {
            Log.MailingRunFailed(logger, ticket.MailingId, LogSafe.Of(e));
            next = time.GetUtcNow() + TimeSpan.FromSeconds(5);
        }
        await holding.CancelAsync().ConfigureAwait(false);
        await renewals.ConfigureAwait(false);
        DueMailing last;
        lock (tick.Gate)
        {
            last = tick.Ticket;
            if (tick.Woken)
            {
                next = time.GetUtcNow(); // something changed while it ran: look again now
            }
            tick.Closed = true;
        }
        try
        {
            await due.FinishAsync(last, next, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // the hold runs out and any instance takes it again
            Log.MailingRunFailed(logger, ticket.MailingId, LogSafe.Of(e));
        }
    }

    /// <summary>Does what the mailing's state asks for now; returns when it is due next (null: when an event says so).</summary>
    private async Task<DateTimeOffset?> RunAsync(string id, CancellationToken cancellationToken)
    {
        // HRBC clients are typed HttpClients: resolved per tick, never held by this singleton.
        await using var scope = scopes.CreateAsyncScope();
        var planner = scope.ServiceProvider.GetRequiredService<MailingPlanner>();
        var expansion = scope.ServiceProvider.GetRequiredService<MailingExpansionRunner>();
        var followUps = scope.ServiceProvider.GetRequiredService<FollowUpRunner>();
        var mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            _runs.TryRemove(id, out _);
            return null;
        }
        // One trace from the submit on: this tick's expansion pages, deliveries and follow-ups are its spans' children.
        using var span = telemetry.Source.StartActivity("bulkmail.tick", System.Diagnostics.ActivityKind.Internal,
            System.Diagnostics.ActivityContext.TryParse(mailing.TraceParent, null, out var submitted) ? submitted : default);
        span?.SetTag("bulkmail.mailing.id", id);
        span?.SetTag("bulkmail.mailing.state", mailing.State.ToString());
        if (mailing.State == MailingState.Scheduled)
        {
            // any instance promotes it when due: one atomic step, so only one of them does
            if (await PromoteIfDueAsync(mailing, cancellationToken).ConfigureAwait(false) is { } notYet)
            {
                return await WithFollowUpsAsync(mailing, notYet, followUps, cancellationToken).ConfigureAwait(false);
            }
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } promoted)
            {
                return null;
            }
            mailing = promoted;
        }
        var runPlan = _runs.TryGetValue(id, out var cached) ? null : new RunPlan(planner, mailing.Spec);
        if (mailing.State == MailingState.Preparing)
        {
            await expansion.RunAsync(id, cancellationToken, runPlan ?? new RunPlan(planner, mailing.Spec)).ConfigureAwait(false);
            mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (mailing is null)
            {
                return null;
            }
            if (mailing.State == MailingState.Preparing)
            {
                // another instance holds the expansion, or HRBC failed it for now
                return time.GetUtcNow() + TimeSpan.FromSeconds(2);
            }
        }
        if (mailing.State is not (MailingState.Queued or MailingState.Sending) && !mailing.Spec.HasFollowUps)
        {
            return await AfterAsync(mailing, null, cancellationToken).ConfigureAwait(false);
        }
        var run = cached ?? await LoadRunAsync(mailing, runPlan!, cancellationToken).ConfigureAwait(false);
        run.LastUsed = time.GetUtcNow();
        DateTimeOffset? lanesNext = null;
        var sending = Task.CompletedTask;
        if (mailing.State is MailingState.Queued or MailingState.Sending)
        {
            var attachments = run.Attachments ?? (mailing.Spec.Attachments.Count > 0
                ? await store.GetAttachmentsAsync(mailing.Id, cancellationToken).ConfigureAwait(false)
                : []);
            if (attachments.Count != mailing.Spec.Attachments.Count)
            {
                // Never send without the files the user confirmed.
                await store.TransitionAsync(mailing.Id, [MailingState.Queued, MailingState.Sending], MailingState.Paused,
                    CodedText.Of(PausedCode.AttachmentsMissing).English, time.GetUtcNow(), cancellationToken,
                    PauseCodes.AttachmentsMissing).ConfigureAwait(false);
                return null;
            }
            var sendRun = new MailingRun(mailing, run.Plan, attachments, run.Bytes);
            var lanes = SendThenParkAsync(sendRun, cancellationToken);
            sending = lanes;
            await Task.WhenAll(lanes, followUps.RunAsync(mailing, run.Plan, sending, cancellationToken)).ConfigureAwait(false);
            lanesNext = await lanes.ConfigureAwait(false);
        }
        else
        {
            // paused, cancelled or parked: sent mail's follow-ups are still written
            await followUps.RunAsync(mailing, run.Plan, sending, cancellationToken).ConfigureAwait(false);
        }
        return await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } after
            ? await AfterAsync(after, lanesNext, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private async Task<CachedRun> LoadRunAsync(Mailing mailing, RunPlan runPlan, CancellationToken cancellationToken)
    {
        var plan = await runPlan.GetAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<MailAttachment> attachments = mailing.Spec.Attachments.Count > 0
            ? await store.GetAttachmentsAsync(mailing.Id, cancellationToken).ConfigureAwait(false)
            : [];
        var bytes = attachments.Count == 0 ? 0 : MailSizing.UploadCost(attachments, System.Text.Encoding.UTF8.GetByteCount(mailing.Spec.Body) + 4096);
        var fileBytes = attachments.Sum(a => (long)a.Content.Length);
        var kept = _runs.Values.Sum(r => r.Attachments?.Sum(a => (long)a.Content.Length) ?? 0);
        var run = new CachedRun(plan, kept + fileBytes <= CachedFileBytes ? attachments : null, bytes) { LastUsed = time.GetUtcNow() };
        // Files that did not fit are read again by each tick; a mailing missing its files is never cached.
        if (attachments.Count == mailing.Spec.Attachments.Count)
        {
            _runs[mailing.Id] = run;
        }
        return run with { Attachments = attachments };
    }

    private void EvictIdleRuns(DateTimeOffset now)
    {
        foreach (var (id, run) in _runs)
        {
            if (now - run.LastUsed > TimeSpan.FromMinutes(10) && !_running.ContainsKey(id))
            {
                _runs.TryRemove(id, out _);
            }
        }
    }

    /// <summary>After a tick: when the mailing is due next, from its state, the lanes' answer and its follow-ups.</summary>
    private async Task<DateTimeOffset?> AfterAsync(Mailing mailing, DateTimeOffset? lanesNext, CancellationToken cancellationToken)
    {
        var followUp = mailing.Spec.HasFollowUps ? await store.NextFollowUpAtAsync(mailing.Id, cancellationToken).ConfigureAwait(false) : null;
        DateTimeOffset? next;
        switch (mailing.State)
        {
            case MailingState.Queued or MailingState.Sending:
                // Nothing to wait for, yet not done: the last completions are landing. Look again shortly.
                next = lanesNext ?? time.GetUtcNow() + TimeSpan.FromSeconds(1);
                break;
            case MailingState.Scheduled:
                next = mailing.Schedule is { } schedule && scheduler.NextOpening(schedule, time.GetUtcNow()) is { } open ? open.Start : null;
                break;
            case MailingState.Preparing:
                next = time.GetUtcNow();
                break;
            default:
                next = null; // Ready and Paused wait for the user; a final one is done
                break;
        }
        next = Earlier(next, followUp);
        if (next is null && MailingStates.IsFinal(mailing.State))
        {
            _runs.TryRemove(mailing.Id, out _);
            if ((await store.GetCountsAsync(mailing.Id, cancellationToken).ConfigureAwait(false)).Sent > 0)
            {
                // Replies and bounces come back for days: the Inbox reader reads this mailbox for them.
                await store.WatchBouncesAsync(mailing.Id, time.GetUtcNow() + InboxWatch.For(bounces.Value, replies.Value), cancellationToken).ConfigureAwait(false);
            }
        }
        return next;
    }

    private async Task<DateTimeOffset?> WithFollowUpsAsync(Mailing mailing, DateTimeOffset next, FollowUpRunner followUps, CancellationToken cancellationToken)
    {
        if (!mailing.Spec.HasFollowUps || await store.NextFollowUpAtAsync(mailing.Id, cancellationToken).ConfigureAwait(false) is not { } at)
        {
            return next;
        }
        if (at <= time.GetUtcNow())
        {
            // parked by its window with sent mail's follow-ups due
            var plan = _runs.TryGetValue(mailing.Id, out var cached) ? cached.Plan : null;
            if (plan is not null)
            {
                await followUps.RunAsync(mailing with { State = MailingState.Sending }, plan, Task.CompletedTask, cancellationToken).ConfigureAwait(false);
                at = await store.NextFollowUpAtAsync(mailing.Id, cancellationToken).ConfigureAwait(false) ?? next;
            }
        }
        return Earlier(next, at);
    }

    private static DateTimeOffset? Earlier(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>Scheduled → Queued once its NotBefore has come and its window is open, with the opening's end. Null when
    /// promoted (or promoted by another instance); else when to look again.</summary>
    private async Task<DateTimeOffset?> PromoteIfDueAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (mailing.Schedule is not { } schedule)
        {
            return now + TimeSpan.FromHours(1); // not written by this version: nothing to promote it by
        }
        if (scheduler.NextOpening(schedule, now) is not { } open)
        {
            return now + TimeSpan.FromHours(1); // the window never opens again: the user reschedules or cancels
        }
        if (open.Start > now)
        {
            return open.Start;
        }
        if (await store.PromoteAsync(mailing.Id, schedule.Stamp, open.End, now, cancellationToken).ConfigureAwait(false))
        {
            Log.Promoted(logger, mailing.Id);
        }
        return null;
    }

    /// <summary>The lanes, then: when they stopped because the window closed (the claim refuses from its end on), the
    /// mailing goes back to Scheduled until the next opening. What was in flight has finished by then; nothing new was
    /// claimed. Returns when the lanes would have had to wait until (null: nothing left for them).</summary>
    private async Task<DateTimeOffset?> SendThenParkAsync(MailingRun run, CancellationToken cancellationToken)
    {
        var lanes = new LaneGroup { Active = O.MaxConcurrency };
        var next = await Task.WhenAll(Enumerable.Range(0, O.MaxConcurrency).Select(_ => LaneAsync(run, lanes, cancellationToken))).ConfigureAwait(false);
        if (await store.ParkAsync(run.Mailing.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            Log.Parked(logger, run.Mailing.Id);
        }
        return next.Aggregate((DateTimeOffset?)null, Earlier);
    }

    private sealed class LaneGroup
    {
        public int Active;

        // Completed (and replaced) when a lane hands back a pacing grant it could not use: the siblings sleeping
        // until a later slot ask again, or the slot it took and freed goes by unused until the next one.
        private TaskCompletionSource _handedBack = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HandedBack => Volatile.Read(ref _handedBack).Task;

        public void HandBack() => Interlocked.Exchange(ref _handedBack, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>A grant that sent nothing: uncounted, and the sibling lanes refused while it was counted (they would sleep
    /// until the window's next slot) ask again.</summary>
    private async Task HandBackAsync(string mailbox, string token, LaneGroup lanes, CancellationToken cancellationToken)
    {
        await limiter.CancelAsync(mailbox, token, cancellationToken).ConfigureAwait(false);
        lanes.HandBack();
    }

    /// <summary>Sleeps for <paramref name="wait"/>, or less when a sibling lane hands back a grant meanwhile.</summary>
    private async Task NapAsync(TimeSpan wait, LaneGroup lanes, CancellationToken cancellationToken)
    {
        var handedBack = lanes.HandedBack;
        using var nap = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sleep = Task.Delay(wait, time, nap.Token);
        if (await Task.WhenAny(sleep, handedBack).ConfigureAwait(false) != sleep)
        {
            await nap.CancelAsync().ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    // A wait this short is the mailing sending, not waiting: the lane waits for it itself.
    private static readonly TimeSpan ShortWait = TimeSpan.FromMilliseconds(200);

    // A lane sleeps out a pacing wait this long itself (a timer, no Redis) rather than leave the tick: a mailing between
    // two slots of one window is still sending. Longer waits are the due index's, so a waiting mailing costs nothing.
    private static readonly TimeSpan SleepInLane = TimeSpan.FromSeconds(2);

    /// <summary>Sends deliveries one after another until something makes it wait; returns until when.</summary>
    private async Task<DateTimeOffset?> LaneAsync(MailingRun run, LaneGroup lanes, CancellationToken cancellationToken)
    {
        try
        {
            return await LaneCoreAsync(run, lanes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref lanes.Active);
        }
    }

    private async Task<DateTimeOffset?> LaneCoreAsync(MailingRun run, LaneGroup lanes, CancellationToken cancellationToken)
    {
        var mailing = run.Mailing;
        while (!cancellationToken.IsCancellationRequested)
        {
            var grant = await limiter.TryAcquireAsync(mailing.Mailbox, O.Limits, time.GetUtcNow(), cancellationToken, run.UploadBytes).ConfigureAwait(false);
            // Each send's wait for pacing: none, or what the mailbox's limits ask before it may go.
            telemetry.PacingDelay.Record(grant.Granted ? 0 : grant.Wait.TotalSeconds);
            if (!grant.Granted)
            {
                if (PreparesAhead(run, grant))
                {
                    if (await PrepareThenSendAsync(run, lanes, cancellationToken).ConfigureAwait(false) is { } wait)
                    {
                        return wait;
                    }
                    continue;
                }
                // The other lanes of this mailing free their slots within moments; any other wait is the due index's.
                if (WaitsHere(grant, lanes))
                {
                    await Task.Delay(Min(grant.Wait, ShortWait), time, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                // A pacing slot a few seconds off is slept out here, until its draft is due: a lane that left would come
                // back only with the next tick, and the slots it would have used go by with fewer lanes to send in them.
                var due = DueFor(run, grant);
                if (grant.Reason == LimitReason.Rate && due - time.GetUtcNow() is var nap && nap <= SleepInLane)
                {
                    await NapAsync(nap, lanes, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                return due;
            }
            ClaimResult claimed;
            try
            {
                claimed = await ClaimAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await limiter.CancelAsync(mailing.Mailbox, grant.Token!, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            if (claimed.Claim is not { } claim)
            {
                await HandBackAsync(mailing.Mailbox, grant.Token!, lanes, cancellationToken).ConfigureAwait(false);
                // nothing ready: the next one's time, or when a lease held elsewhere runs out (its worker may be dead);
                // neither: the mailing is done, paused or cancelled
                return claimed.NextReadyAt ?? claimed.LeaseEndsAt;
            }
            try
            {
                if (!await step.ProcessAsync(run, claim, cancellationToken, grant.Token).ConfigureAwait(false))
                {
                    // Nothing went out with it (skipped, found sent by an earlier attempt, given up, refused before the
                    // send): Microsoft counts sends, so the window and the day do not count this one either.
                    await HandBackAsync(mailing.Mailbox, grant.Token!, lanes, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await limiter.ReleaseAsync(mailing.Mailbox, grant.Token!, CancellationToken.None, run.UploadBytes > 0 ? time.GetUtcNow() : null).ConfigureAwait(false);
            }
        }
        return null;
    }

    /// <summary>Whether the next message's draft is made now, ahead of its send: only when the messages-per-minute window
    /// frees a slot soon. A draft is a request, not a message, so the window does not count it; a Retry-After, the daily
    /// limit or the upload budget (the draft carries the attachments) hold the draft as well.</summary>
    private bool PreparesAhead(MailingRun run, LimiterDecision refused) => Preparable(run, refused) && refused.Wait <= O.PrepareAhead;

    private static bool Preparable(MailingRun run, LimiterDecision refused) => refused.Reason == LimitReason.Rate && run.UploadBytes == 0;

    /// <summary>A wait the lane sits out itself: a short one, or a sibling lane's request that ends within moments.</summary>
    private static bool WaitsHere(LimiterDecision refused, LaneGroup lanes) =>
        refused.Wait <= ShortWait || refused.Reason == LimitReason.Concurrency && Volatile.Read(ref lanes.Active) > 1;

    /// <summary>When the mailing is due again after a refusal: a little before the window frees a slot when the draft
    /// can be made ahead, so the send goes as the slot frees rather than a draft's round trip (and a dispatch) after.</summary>
    private DateTimeOffset DueFor(MailingRun run, LimiterDecision refused)
    {
        var ahead = Preparable(run, refused) ? O.PrepareAhead : TimeSpan.Zero;
        return time.GetUtcNow() + refused.Wait - Min(ahead, refused.Wait);
    }

    /// <summary>
    /// One delivery whose draft is made before its pacing slot frees: a concurrency slot for the draft (a request like any
    /// other), then the send's grant once the slot frees. Null when the lane goes on; else when the mailing is due (the
    /// slot went to another lane or instance and the next is not soon: the delivery is back in the queue with its draft).
    /// </summary>
    private async Task<DateTimeOffset?> PrepareThenSendAsync(MailingRun run, LaneGroup lanes, CancellationToken cancellationToken)
    {
        var mailbox = run.Mailing.Mailbox;
        var read = await limiter.TryAcquireReadAsync(mailbox, O.Limits, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (!read.Granted)
        {
            if (WaitsHere(read, lanes))
            {
                await Task.Delay(Min(read.Wait, ShortWait), time, cancellationToken).ConfigureAwait(false);
                return null;
            }
            return time.GetUtcNow() + read.Wait;
        }
        var drafting = read.Token;
        string? sending = null;
        DateTimeOffset? dueAt = null;
        try
        {
            var claimed = await ClaimAsync(run.Mailing.Id, cancellationToken).ConfigureAwait(false);
            if (claimed.Claim is not { } claim)
            {
                return claimed.NextReadyAt ?? claimed.LeaseEndsAt;
            }
            await step.ProcessAsync(run, claim, cancellationToken, awaitGrant: async ct =>
            {
                // The draft is done: its concurrency slot is freed before the send's grant takes one of its own.
                await limiter.ReleaseAsync(mailbox, drafting!, CancellationToken.None).ConfigureAwait(false);
                drafting = null;
                // A draft waits for its slot this long at most; then it goes back to the queue (other lanes or instances
                // may hold the mailbox's requests for longer). Its lease was just renewed with its record: the send goes
                // within half of it, so no other worker can have taken the delivery over by then.
                var giveUpAt = time.GetUtcNow() + Min(O.PrepareAhead + O.PrepareAhead + TimeSpan.FromSeconds(1), O.DeliveryLease / 2);
                while (true)
                {
                    var asked = time.GetUtcNow();
                    var grant = await limiter.TryAcquireAsync(mailbox, O.Limits, asked, ct).ConfigureAwait(false);
                    if (grant.Granted)
                    {
                        sending = grant.Token;
                        return sending;
                    }
                    if (time.GetUtcNow() >= giveUpAt)
                    {
                        dueAt = time.GetUtcNow() + grant.Wait;
                        return null;
                    }
                    if (grant.Reason == LimitReason.Concurrency)
                    {
                        await Task.Delay(Min(grant.Wait, ShortWait), time, ct).ConfigureAwait(false);
                    }
                    else if (grant.Reason == LimitReason.Rate && grant.Wait <= O.PrepareAhead + ShortWait)
                    {
                        // the wait counts from when it was asked: the answer's round trip is not slept again
                        var left = asked + grant.Wait - time.GetUtcNow();
                        if (left > TimeSpan.Zero)
                        {
                            await NapAsync(left, lanes, ct).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        dueAt = DueFor(run, grant);
                        return null;
                    }
                }
            }).ConfigureAwait(false);
            return dueAt;
        }
        finally
        {
            if (drafting is not null)
            {
                await limiter.ReleaseAsync(mailbox, drafting, CancellationToken.None).ConfigureAwait(false);
            }
            if (sending is not null)
            {
                await limiter.ReleaseAsync(mailbox, sending, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The next delivery under a lease token made here: if the claim's answer is lost with Redis, the delivery
    /// it may have taken goes back to the queue once Redis answers (DeliveryStep.ReturnLostClaimAsync).</summary>
    private async Task<ClaimResult> ClaimAsync(string mailingId, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid().ToString("N");
        try
        {
            return await store.ClaimAsync(mailingId, O.DeliveryLease, time.GetUtcNow(), cancellationToken, token).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreUnavailableExceptionHandler.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            await step.ReturnLostClaimAsync(mailingId, token, cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Warning, "Worker poll failed")]
        public static partial void PollFailed(ILogger logger, Exception exception);

        [LoggerMessage(51, LogLevel.Error, "Mailing {MailingId}: the tick stopped; the mailing is due again in a few seconds")]
        public static partial void MailingRunFailed(ILogger logger, string mailingId, Exception exception);

        [LoggerMessage(140, LogLevel.Information, "Mailing {MailingId}: scheduled time reached and window open; queued")]
        public static partial void Promoted(ILogger logger, string mailingId);

        [LoggerMessage(141, LogLevel.Information, "Mailing {MailingId}: the sending window closed; scheduled until it opens again")]
        public static partial void Parked(ILogger logger, string mailingId);
    }
}
