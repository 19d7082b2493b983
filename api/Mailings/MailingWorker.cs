using BulkMail.Api.Infrastructure;
using System.Collections.Concurrent;
using BulkMail.Api.Mail;
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
/// and run the exactly-once protocol (docs/architecture.md, Mailing engine: Worker).
/// </summary>
public sealed partial class MailingWorker(
    IMailingStore store,
    IMailboxLimiter limiter,
    IMailSender sender,
    BulkMail.Api.Auth.IGraphTokens tokens,
    IServiceScopeFactory scopes,
    MailingSignal signal,
    IOptions<SendingOptions> options,
    IOptions<BounceOptions> bounces,
    TimeProvider time,
    ILogger<MailingWorker> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Task> _running = new();
    private SendingOptions O => options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
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
            if (mailing?.State == MailingState.Preparing)
            {
                await expansion.RunAsync(id, cancellationToken).ConfigureAwait(false);
                mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            }
            if (mailing is null || mailing.State == MailingState.Preparing)
            {
                return;
            }
            var plan = await planner.PlanAsync(mailing.Spec, cancellationToken).ConfigureAwait(false);
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
                sending = Task.WhenAll(Enumerable.Range(0, O.MaxConcurrency).Select(_ => LaneAsync(run, cancellationToken)));
            }
            // Follow-ups (HRBC phase, activity) are written alongside, and after the last send.
            await Task.WhenAll(sending, followUps.RunAsync(mailing, plan, sending, cancellationToken)).ConfigureAwait(false);
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } done && MailingStates.IsFinal(done.State)
                && (await store.GetCountsAsync(id, cancellationToken).ConfigureAwait(false)).Sent > 0)
            {
                // Bounces come back for days: the scanner reads this mailbox for them.
                await store.WatchBouncesAsync(id, time.GetUtcNow() + bounces.Value.WatchFor, cancellationToken).ConfigureAwait(false);
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

    /// <summary>What every lane of one mailing's run shares: the plan, the files (read once) and what each send uploads.</summary>
    private sealed record MailingRun(Mailing Mailing, MailingPlan Plan, IReadOnlyList<MailAttachment> Attachments, long UploadBytes);

    private async Task LaneAsync(MailingRun run, CancellationToken cancellationToken)
    {
        var mailing = run.Mailing;
        while (!cancellationToken.IsCancellationRequested)
        {
            var grant = await limiter.TryAcquireAsync(mailing.Mailbox, O.Limits, time.GetUtcNow(), cancellationToken, run.UploadBytes).ConfigureAwait(false);
            if (!grant.Granted)
            {
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
                await ProcessAsync(run, claim, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await limiter.ReleaseAsync(mailing.Mailbox, grant.Token!, CancellationToken.None, run.UploadBytes > 0 ? time.GetUtcNow() : null).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> StillSendingAsync(string id, CancellationToken cancellationToken) =>
        (await store.GetAsync(id, cancellationToken).ConfigureAwait(false))?.State is MailingState.Queued or MailingState.Sending;

    /// <summary>
    /// One delivery: look up the outcome of any earlier attempt that may have had unrecorded effects first (by the
    /// recorded draft id, or by the delivery id for a draft that was created but not recorded), then create the draft,
    /// record its id, send it. A send whose answer was lost is looked up before anything is retried, so no address gets
    /// the mail twice; a 429 is a definite refusal, so after one the next attempt needs no lookup.
    /// </summary>
    private async Task ProcessAsync(MailingRun run, DeliveryClaim claim, CancellationToken cancellationToken)
    {
        var (mailing, plan) = (run.Mailing, run.Plan);
        var mailbox = mailing.Mailbox;
        var deliveryId = Delivery.IdOf(mailing.Id, claim.Delivery.Seq);
        var current = claim.Delivery;
        var known = !current.NeedsLookup; // whether the mailbox's state for this delivery is known
        var sending = false;
        try
        {
            if (current.NeedsLookup)
            {
                if (current.DraftId is { } recorded)
                {
                    var found = await sender.GetMessageAsync(mailbox, recorded, cancellationToken).ConfigureAwait(false);
                    if (found.State == MessageState.Sent)
                    {
                        await CompleteSentAsync(run, claim, current, found.SentAt, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    current = found.State == MessageState.Missing ? current with { DraftId = null } : current;
                }
                else
                {
                    var found = await sender.FindByDeliveryAsync(mailbox, deliveryId, cancellationToken).ConfigureAwait(false);
                    if (found?.State == MessageState.Sent)
                    {
                        await CompleteSentAsync(run, claim, current with { DraftId = found.Id }, found.SentAt, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    if (found is not null && run.Attachments.Count > 0
                        && !await HasAllAttachmentsAsync(mailbox, found.Id, run.Attachments, cancellationToken).ConfigureAwait(false))
                    {
                        // An unrecorded draft may be one whose uploads were cut short: it is replaced, never sent.
                        await sender.DeleteMessageAsync(mailbox, found.Id, cancellationToken).ConfigureAwait(false);
                        found = null;
                    }
                    current = current with { DraftId = found?.Id };
                }
                known = true;
            }
            if (current.Attempts >= O.MaxAttempts)
            {
                await CompleteAsync(claim, current with
                {
                    Status = DeliveryStatus.Failed,
                    Reason = $"Gave up after {current.Attempts} attempts: {current.Reason ?? "no answer from Microsoft 365"}",
                    ReasonCode = ReasonCodes.GaveUp,
                    ReasonArgs = new Dictionary<string, string>
                    {
                        ["attempts"] = current.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        ["last"] = current.Reason ?? "",
                    },
                }, cancellationToken).ConfigureAwait(false);
                return;
            }
            current = current with { Attempts = current.Attempts + 1, NeedsLookup = true };
            if (current.DraftId is null)
            {
                // Not recorded before the create (a round trip per message): a process that dies right after creating
                // leaves an unsent draft behind, and the next worker makes a new one — never a second send.
                var mail = plan.Template.Render(current.Values);
                var draftId = await sender.CreateDraftAsync(mailbox,
                    new OutgoingMail(deliveryId, current.Address!, current.RecipientName, mail.Subject, mail.HtmlBody)
                    {
                        Attachments = run.Attachments,
                    }, cancellationToken).ConfigureAwait(false);
                current = current with { DraftId = draftId };
            }
            // The draft id is stored before the send: whatever happens next, the outcome can be looked up.
            if (!await store.UpdateClaimedAsync(claim, current, O.DeliveryLease, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                Log.LeaseLost(logger, mailing.Id, current.Seq);
                return;
            }
            sending = true;
            await sender.SendDraftAsync(mailbox, current.DraftId!, cancellationToken).ConfigureAwait(false);
            await CompleteSentAsync(run, claim, current, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
        catch (GraphSendException e) when (e.Kind == GraphFailureKind.Throttled)
        {
            var retryAfter = e.RetryAfter ?? TimeSpan.FromSeconds(5);
            await limiter.BlockAsync(mailbox, time.GetUtcNow() + retryAfter, cancellationToken).ConfigureAwait(false);
            // A 429 refused the call: it changed nothing, so what was known before it still holds, and throttling is
            // not the recipient's fault (no attempt used up).
            var back = current with { Attempts = claim.Delivery.Attempts, Reason = $"Throttled ({e.Code})", ReasonCode = ReasonCodes.Throttled,
                ReasonArgs = new Dictionary<string, string> { ["graphCode"] = e.Code }, NeedsLookup = !known };
            await store.ReleaseAsync(claim, back, time.GetUtcNow() + retryAfter, cancellationToken).ConfigureAwait(false);
            Log.Throttled(logger, mailing.Id, (int)retryAfter.TotalSeconds);
        }
        catch (GraphSendException e) when (e.Kind == GraphFailureKind.SignInRequired)
        {
            // No token: the call never reached the mailbox, so nothing changed and no attempt is used up. Every other
            // delivery would meet the same wall: the mailing waits for the user to open BulkMail and press Resume.
            tokens.Forget(mailbox);
            var back = current with { Attempts = claim.Delivery.Attempts, NeedsLookup = !known };
            await store.ReleaseAsync(claim, back, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            await store.TransitionAsync(mailing.Id, [MailingState.Queued, MailingState.Sending], MailingState.Paused,
                CodedText.Of(PausedCode.SignInRefused, ("mailbox", mailbox), ("entraCode", e.Code), ("entraMessage", e.GraphMessage)).English,
                time.GetUtcNow(), cancellationToken,
                PauseCodes.SignInRefused, new Dictionary<string, string> { ["mailbox"] = mailbox, ["entraCode"] = e.Code, ["entraMessage"] = e.GraphMessage }).ConfigureAwait(false);
            Log.SignInRequired(logger, mailing.Id, e.Code);
        }
        catch (GraphSendException e) when (e.Kind == GraphFailureKind.Transient)
        {
            var delay = Backoff(current.Attempts, e.RetryAfter);
            // Recorded on the mailing (cleared by the next sent message), so the status can say why it waits.
            await store.RecordErrorAsync(mailing.Id, new MailingError(e.Code, e.GraphMessage, time.GetUtcNow(), time.GetUtcNow() + delay), cancellationToken).ConfigureAwait(false);
            await store.ReleaseAsync(claim, current with { Reason = $"{e.Code}: {e.GraphMessage}", ReasonCode = ReasonCodes.GraphTransient, ReasonArgs = GraphArgs(e), NeedsLookup = true }, time.GetUtcNow() + delay, cancellationToken).ConfigureAwait(false);
            Log.Transient(logger, mailing.Id, current.Seq, e.Code, e.OutcomeUnknown);
        }
        catch (GraphSendException e) when (sending && current.DraftId is { } draftId)
        {
            // A refused send may be the echo of one that went through: HttpClient resends a request on its own when a
            // pooled connection drops before the answer, and Graph then says "already sent". Look before failing.
            FoundMessage found;
            try
            {
                found = await sender.GetMessageAsync(mailbox, draftId, cancellationToken).ConfigureAwait(false);
            }
            catch (GraphSendException lookup)
            {
                await store.ReleaseAsync(claim, current with { Reason = $"{e.Code}: {e.GraphMessage}", ReasonCode = ReasonCodes.GraphTransient, ReasonArgs = GraphArgs(e), NeedsLookup = true },
                    time.GetUtcNow() + Backoff(current.Attempts, lookup.RetryAfter), cancellationToken).ConfigureAwait(false);
                return;
            }
            if (found.State == MessageState.Sent)
            {
                await CompleteSentAsync(run, claim, current, found.SentAt, cancellationToken).ConfigureAwait(false);
                return;
            }
            await CompleteAsync(claim, current with { Status = DeliveryStatus.Failed, Reason = $"{e.Code}: {e.GraphMessage}", ReasonCode = ReasonCodes.GraphRefused, ReasonArgs = GraphArgs(e), NeedsLookup = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (GraphSendException e)
        {
            await CompleteAsync(claim, current with { Status = DeliveryStatus.Failed, Reason = $"{e.Code}: {e.GraphMessage}", ReasonCode = ReasonCodes.GraphRefused, ReasonArgs = GraphArgs(e), NeedsLookup = false }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> HasAllAttachmentsAsync(string mailbox, string messageId, IReadOnlyList<MailAttachment> expected, CancellationToken cancellationToken)
    {
        var names = (await sender.AttachmentNamesAsync(mailbox, messageId, cancellationToken).ConfigureAwait(false)).ToList();
        return expected.All(a => names.Remove(a.Name));
    }

    /// <summary>Sent: recorded with its follow-up queued in the same step when the mailing updates HRBC afterwards.</summary>
    private Task CompleteSentAsync(MailingRun run, DeliveryClaim claim, Delivery current, DateTimeOffset? sentAt, CancellationToken cancellationToken)
    {
        var followUp = run.Mailing.Spec.HasFollowUps;
        return CompleteAsync(claim, current with
        {
            Status = DeliveryStatus.Sent,
            SentAt = sentAt ?? time.GetUtcNow(),
            Reason = null,
            ReasonCode = null,
            ReasonArgs = null,
            NeedsLookup = false,
            PhaseUpdate = followUp ? "Pending" : null,
            PhaseUpdateCodes = followUp ? [CodedText.Of(PhaseUpdateCode.Pending)] : null,
        }, cancellationToken, followUp);
    }

    private async Task CompleteAsync(DeliveryClaim claim, Delivery final, CancellationToken cancellationToken, bool followUp = false)
    {
        if (!await store.CompleteAsync(claim, final, O.MaxFailureStreak, time.GetUtcNow(), cancellationToken, followUp).ConfigureAwait(false))
        {
            Log.LeaseLost(logger, claim.MailingId, final.Seq);
        }
    }

    /// <summary>Exponential backoff with full jitter, at least Graph's Retry-After.</summary>
    private static Dictionary<string, string> GraphArgs(GraphSendException e) => new() { ["graphCode"] = e.Code, ["graphMessage"] = e.GraphMessage };

    private TimeSpan Backoff(int attempts, TimeSpan? retryAfter)
    {
        var cap = O.RetryBaseDelay * Math.Pow(2, Math.Max(0, attempts - 1));
        var jittered = cap * (0.5 + Random.Shared.NextDouble() / 2);
        return retryAfter is { } ra && ra > jittered ? ra : jittered;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Warning, "Worker poll failed")]
        public static partial void PollFailed(ILogger logger, Exception exception);

        [LoggerMessage(51, LogLevel.Error, "Mailing {MailingId}: the run stopped; it is picked up again at the next poll")]
        public static partial void MailingRunFailed(ILogger logger, string mailingId, Exception exception);

        [LoggerMessage(52, LogLevel.Warning, "Mailing {MailingId}: lease of delivery {Seq} lost; another worker continues it")]
        public static partial void LeaseLost(ILogger logger, string mailingId, int seq);

        [LoggerMessage(53, LogLevel.Information, "Mailing {MailingId}: mailbox throttled for {Seconds} s")]
        public static partial void Throttled(ILogger logger, string mailingId, int seconds);

        [LoggerMessage(54, LogLevel.Information, "Mailing {MailingId}: delivery {Seq} will be retried after {Code} (outcome unknown: {Unknown})")]
        public static partial void Transient(ILogger logger, string mailingId, int seq, string code, bool unknown);

        [LoggerMessage(55, LogLevel.Warning, "Mailing {MailingId}: paused, the sender's Graph sign-in was refused ({Code})")]
        public static partial void SignInRequired(ILogger logger, string mailingId, string code);
    }
}
