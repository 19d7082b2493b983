using BulkMail.Api.Infrastructure;
using System.Collections.Concurrent;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings.Scheduling;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>Wakes the worker of this process at once (after a submit or resume) instead of at the next poll.</summary>
public sealed class MailingSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
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

    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, time, cts.Token);
        var signal = _signal.WaitAsync(cts.Token);
        await Task.WhenAny(delay, signal).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>
/// Sends mailings: any number of these (one per API process) share one store and one per-mailbox limiter.
/// Per mailing, up to <c>Sending:MaxConcurrency</c> lanes each take a pacing grant, claim a delivery under a lease
/// and hand it to <see cref="DeliveryStep"/> (the exactly-once protocol: docs/architecture.md, Mailing engine: Worker).
/// </summary>
public sealed partial class MailingWorker(
    IMailingStore store,
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
    private readonly ConcurrentDictionary<string, Task> _running = new();
    private SendingOptions O => options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            heartbeat.Beat(O.PollInterval);
            try
            {
                foreach (var id in await store.ActiveMailingIdsAsync(stoppingToken).ConfigureAwait(false))
                {
                    if (!_running.ContainsKey(id))
                    {
                        _running[id] = Task.Run(async () =>
                        {
                            try
                            {
                                await RunMailingAsync(id, stoppingToken).ConfigureAwait(false);
                            }
                            finally
                            {
                                _running.TryRemove(id, out _);
                            }
                        }, CancellationToken.None);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.PollFailed(logger, LogSafe.Of(e));
            }
            telemetry.SetActiveMailings(_running.Count);
            try
            {
                await signal.WaitAsync(O.PollInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(_running.Values).ConfigureAwait(false);
    }

    private async Task RunMailingAsync(string id, CancellationToken cancellationToken)
    {
        // HRBC clients are typed HttpClients: resolved per run, never held by this singleton.
        await using var scope = scopes.CreateAsyncScope();
        var planner = scope.ServiceProvider.GetRequiredService<MailingPlanner>();
        var expansion = scope.ServiceProvider.GetRequiredService<MailingExpansionRunner>();
        var followUps = scope.ServiceProvider.GetRequiredService<FollowUpRunner>();
        try
        {
            var mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (mailing is null)
            {
                return;
            }
            if (mailing.State == MailingState.Scheduled)
            {
                // any instance's worker promotes it when due: one atomic step, so only one of them does
                if (!await PromoteIfDueAsync(mailing, cancellationToken).ConfigureAwait(false)
                    || await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } promoted)
                {
                    return;
                }
                mailing = promoted;
            }
            // One plan per run (the spec never changes): expansion and sending share it.
            var runPlan = new RunPlan(planner, mailing.Spec);
            if (mailing.State == MailingState.Preparing)
            {
                await expansion.RunAsync(id, cancellationToken, runPlan).ConfigureAwait(false);
                mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            }
            if (mailing is null || mailing.State == MailingState.Preparing)
            {
                return;
            }
            var plan = await runPlan.GetAsync(cancellationToken).ConfigureAwait(false);
            var sending = Task.CompletedTask;
            if (mailing.State is MailingState.Queued or MailingState.Sending)
            {
                var attachments = mailing.Spec.Attachments.Count > 0
                    ? await store.GetAttachmentsAsync(mailing.Id, cancellationToken).ConfigureAwait(false)
                    : [];
                if (attachments.Count != mailing.Spec.Attachments.Count)
                {
                    // Never send without the files the user confirmed.
                    await store.TransitionAsync(mailing.Id, [MailingState.Queued, MailingState.Sending], MailingState.Paused,
                        CodedText.Of(PausedCode.AttachmentsMissing).English, time.GetUtcNow(), cancellationToken,
                        PauseCodes.AttachmentsMissing).ConfigureAwait(false);
                    return;
                }
                var run = new MailingRun(mailing, plan, attachments,
                    attachments.Count == 0 ? 0 : MailSizing.UploadCost(attachments, System.Text.Encoding.UTF8.GetByteCount(mailing.Spec.Body) + 4096));
                sending = SendThenParkAsync(run, cancellationToken);
            }
            // Follow-ups (HRBC phase, activity) are written alongside, and after the last send.
            await Task.WhenAll(sending, followUps.RunAsync(mailing, plan, sending, cancellationToken)).ConfigureAwait(false);
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } done && MailingStates.IsFinal(done.State)
                && (await store.GetCountsAsync(id, cancellationToken).ConfigureAwait(false)).Sent > 0)
            {
                // Bounces come back for days: the scanner reads this mailbox for them.
                // Replies and bounces come back for days: the Inbox reader reads this mailbox for them.
                await store.WatchBouncesAsync(id, time.GetUtcNow() + InboxWatch.For(bounces.Value, replies.Value), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // shutting down: leases run out and another worker (or this one after restart) continues
        }
        catch (Exception e)
        {
            Log.MailingRunFailed(logger, id, LogSafe.Of(e));
        }
    }

    /// <summary>Scheduled → Queued once its NotBefore has come and its window is open, with the opening's end.</summary>
    private async Task<bool> PromoteIfDueAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (mailing.Schedule is not { } schedule || scheduler.NextOpening(schedule, now) is not { } open || open.Start > now)
        {
            return false;
        }
        var promoted = await store.PromoteAsync(mailing.Id, schedule.Stamp, open.End, now, cancellationToken).ConfigureAwait(false);
        if (promoted)
        {
            Log.Promoted(logger, mailing.Id);
        }
        return promoted;
    }

    /// <summary>The lanes, then: when they stopped because the window closed (the claim refuses from its end on), the
    /// mailing goes back to Scheduled until the next opening. What was in flight has finished by then; nothing new was claimed.</summary>
    private async Task SendThenParkAsync(MailingRun run, CancellationToken cancellationToken)
    {
        await Task.WhenAll(Enumerable.Range(0, O.MaxConcurrency).Select(_ => LaneAsync(run, cancellationToken))).ConfigureAwait(false);
        if (await store.ParkAsync(run.Mailing.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            Log.Parked(logger, run.Mailing.Id);
        }
    }

    private async Task LaneAsync(MailingRun run, CancellationToken cancellationToken)
    {
        var mailing = run.Mailing;
        DateTimeOffset? waitingSince = null; // for the pacing-delay metric
        while (!cancellationToken.IsCancellationRequested)
        {
            var grant = await limiter.TryAcquireAsync(mailing.Mailbox, O.Limits, time.GetUtcNow(), cancellationToken, run.UploadBytes).ConfigureAwait(false);
            if (grant.Granted)
            {
                telemetry.PacingDelay.Record(waitingSince is { } since ? (time.GetUtcNow() - since).TotalSeconds : 0);
                waitingSince = null;
            }
            else
            {
                waitingSince ??= time.GetUtcNow();
                if (!await StillSendingAsync(mailing.Id, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
                await Task.Delay(Min(grant.Wait, TimeSpan.FromSeconds(5)), time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            ClaimResult claimed;
            try
            {
                claimed = await store.ClaimAsync(mailing.Id, O.DeliveryLease, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await limiter.CancelAsync(mailing.Mailbox, grant.Token!, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            if (claimed.Claim is not { } claim)
            {
                await limiter.CancelAsync(mailing.Mailbox, grant.Token!, cancellationToken).ConfigureAwait(false);
                if (claimed.NextReadyAt is not { } next)
                {
                    return; // nothing queued: the mailing is done, paused, cancelled — or others hold the rest
                }
                await Task.Delay(Min(Max(next - time.GetUtcNow(), TimeSpan.FromMilliseconds(20)), TimeSpan.FromSeconds(1)), time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            try
            {
                await step.ProcessAsync(run, claim, cancellationToken, grant.Token).ConfigureAwait(false);
            }
            finally
            {
                await limiter.ReleaseAsync(mailing.Mailbox, grant.Token!, CancellationToken.None, run.UploadBytes > 0 ? time.GetUtcNow() : null).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> StillSendingAsync(string id, CancellationToken cancellationToken) =>
        (await store.GetAsync(id, cancellationToken).ConfigureAwait(false))?.State is MailingState.Queued or MailingState.Sending;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Warning, "Worker poll failed")]
        public static partial void PollFailed(ILogger logger, Exception exception);

        [LoggerMessage(51, LogLevel.Error, "Mailing {MailingId}: the run stopped; it is picked up again at the next poll")]
        public static partial void MailingRunFailed(ILogger logger, string mailingId, Exception exception);

        [LoggerMessage(140, LogLevel.Information, "Mailing {MailingId}: scheduled time reached and window open; queued")]
        public static partial void Promoted(ILogger logger, string mailingId);

        [LoggerMessage(141, LogLevel.Information, "Mailing {MailingId}: the sending window closed; scheduled until it opens again")]
        public static partial void Parked(ILogger logger, string mailingId);
    }
}
