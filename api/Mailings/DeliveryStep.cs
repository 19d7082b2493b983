using System.Globalization;
using System.Runtime.CompilerServices;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>What every lane of one mailing's run shares: the plan, the files (read once) and what each send uploads.</summary>
public sealed record MailingRun(Mailing Mailing, MailingPlan Plan, IReadOnlyList<MailAttachment> Attachments, long UploadBytes);

/// <summary>
/// The exactly-once step (docs/architecture.md, Mailing engine: Worker) for one claimed delivery: look up → create the draft → record its id
/// → send → record the outcome. It holds no state between calls and needs no hosted service: the worker's lanes call
/// it after taking a pacing grant and a claim, and tests drive it directly.
/// </summary>
public sealed partial class DeliveryStep(
    IMailingStore store,
    IMailboxLimiter limiter,
    IMailSender sender,
    BulkMail.Api.Auth.IGraphTokens tokens,
    IOptions<SendingOptions> options,
    TimeProvider time,
    MessageRenderer renderer,
    Suppressions.ISuppressionList suppressions,
    BulkMailTelemetry telemetry,
    IReplicationBarrier barrier,
    ILogger<DeliveryStep> logger)
{
    private SendingOptions O => options.Value;

    /// <summary>
    /// One delivery: look up the outcome of any earlier attempt that may have had unrecorded effects first (by the
    /// recorded draft id, or by the delivery id for a draft that was created but not recorded), then create the draft,
    /// record its id, send it. A send whose answer was lost is looked up before anything is retried, so no address gets
    /// the mail twice; a 429 is a definite refusal, so after one the next attempt needs no lookup.
    /// </summary>
    /// <param name="grant">The pacing grant the send uses: stamped when the message goes out, so the window counts it from then.</param>
    /// <param name="awaitGrant">Instead of <paramref name="grant"/>: the draft is made first and this is asked for the
    /// send's grant once it is ready, so the send can go the moment the pacing window frees a slot (the draft's round
    /// trip is then not added to every window). Null from it: no slot soon; the delivery goes back to the queue with its
    /// draft, which its next attempt sends.</param>
    /// <returns>Whether the send went (or may have: its answer lost); false when this attempt sent nothing, so that a
    /// pacing grant taken for it can be handed back.</returns>
    public async Task<bool> ProcessAsync(MailingRun run, DeliveryClaim claim, CancellationToken cancellationToken, string? grant = null,
        Func<CancellationToken, Task<string?>>? awaitGrant = null)
    {
        // Ids only: the trace is read by operators who may not see recipients.
        using var activity = telemetry.Source.StartActivity("bulkmail.delivery");
        if (activity is { IsAllDataRequested: true })
        {
            // only for a listener that records: the id string and the boxed count are not made for nobody
            activity.SetTag("bulkmail.mailing.id", run.Mailing.Id);
            activity.SetTag("bulkmail.delivery.id", Delivery.IdOf(run.Mailing.Id, claim.Delivery.Seq));
            activity.SetTag("bulkmail.delivery.attempts", claim.Delivery.Attempts);
        }
        var sent = new StrongBox<bool>();
        await ProcessCoreAsync(run, claim, grant, awaitGrant, sent, cancellationToken).ConfigureAwait(false);
        return sent.Value;
    }

    private async Task ProcessCoreAsync(MailingRun run, DeliveryClaim claim, string? grant, Func<CancellationToken, Task<string?>>? awaitGrant,
        StrongBox<bool> sent, CancellationToken cancellationToken)
    {
        var (mailing, plan) = (run.Mailing, run.Plan);
        var mailbox = mailing.Mailbox;
        var deliveryId = Delivery.IdOf(mailing.Id, claim.Delivery.Seq);
        var current = claim.Delivery;
        var known = !current.NeedsLookup; // whether the mailbox's state for this delivery is known
        try
        {
            // Expansion skipped the addresses suppressed then; one unsubscribed since (a held or scheduled mailing, a
            // link of an earlier mailing clicked meanwhile) is skipped here, before anything is sent. A known unsent draft
            // (made ahead of a pacing slot that went elsewhere) is deleted; one left behind would only be a draft.
            if (!current.NeedsLookup && Suppressions.SuppressionAddress.Normalize(current.Address) is { } address
                && await suppressions.GetAsync(plan.Spec.Tenant, address, cancellationToken).ConfigureAwait(false) is not null)
            {
                if (current.DraftId is { } unsent)
                {
                    try
                    {
                        await sender.DeleteMessageAsync(mailbox, unsent, cancellationToken).ConfigureAwait(false);
                    }
                    catch (GraphSendException)
                    {
                        // a leftover draft is untidy, not harmful: it is never sent
                    }
                }
                await CompleteAsync(claim, current with
                {
                    Status = DeliveryStatus.Skipped,
                    Reason = "The address is on the suppression list",
                    ReasonCode = ReasonCodes.Suppressed,
                    ReasonArgs = null,
                }, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (current.NeedsLookup)
            {
                if (current.DraftId is { } recorded)
                {
                    var found = await sender.GetMessageAsync(mailbox, recorded, cancellationToken).ConfigureAwait(false);
                    if (found.State == MessageState.Sent)
                    {
                        await CompleteSentAsync(run, claim, WithIds(current, found), found.SentAt, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    current = found.State == MessageState.Missing ? current with { DraftId = null } : WithIds(current, found);
                }
                else
                {
                    var found = await sender.FindByDeliveryAsync(mailbox, deliveryId, cancellationToken).ConfigureAwait(false);
                    if (found?.State == MessageState.Sent)
                    {
                        await CompleteSentAsync(run, claim, WithIds(current with { DraftId = found.Id }, found), found.SentAt, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    if (found is not null && run.Attachments.Count > 0
                        && !await HasAllAttachmentsAsync(mailbox, found.Id, run.Attachments, cancellationToken).ConfigureAwait(false))
                    {
                        // An unrecorded draft may be one whose uploads were cut short: it is replaced, never sent.
                        await sender.DeleteMessageAsync(mailbox, found.Id, cancellationToken).ConfigureAwait(false);
                        found = null;
                    }
                    current = found is null ? current with { DraftId = null } : WithIds(current with { DraftId = found.Id }, found);
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
                        ["attempts"] = current.Attempts.ToString(CultureInfo.InvariantCulture),
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
                var mail = renderer.Render(plan.Template, plan.Spec, current.Values, mailing.Id, current, plan.Spec.SenderValues.GetValueOrDefault("User.P_Name"));
                var draft = await sender.CreateDraftAsync(mailbox,
                    new OutgoingMail(deliveryId, current.Address!, current.RecipientName, mail.Subject, mail.HtmlBody)
                    {
                        Attachments = run.Attachments,
                    }, cancellationToken).ConfigureAwait(false);
                // Exchange assigns the Message-ID and conversation at creation; replies and NDRs are matched by them.
                current = current with { DraftId = draft.Id, InternetMessageId = draft.InternetMessageId, ConversationId = draft.ConversationId };
            }
            // Made ahead of its slot, the draft is recorded while the slot is still ahead: when it frees, only the
            // grant stands between it and the send (the wait is seconds, the lease minutes).
            if (!await RecordBeforeSendAsync(claim, current, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            if (awaitGrant is not null && (grant = await awaitGrant(cancellationToken).ConfigureAwait(false)) is null)
            {
                // Nothing was sent and the draft is known unsent: its next attempt sends it, with no lookup and no
                // attempt used up.
                await store.ReleaseAsync(claim, current with { Attempts = claim.Delivery.Attempts, NeedsLookup = false }, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                return;
            }
            sent.Value = true;
            if (grant is not null)
            {
                await limiter.StampAsync(mailbox, grant, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            }
            try
            {
                await sender.SendDraftAsync(mailbox, current.DraftId!, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // Microsoft counts the message somewhere between the call and its answer (or its failure): from the
                // answer on, the window counts it from no earlier than Microsoft did, however slow the call was. The
                // stamp before the call only covers an answer whose stamp is lost with the connection.
                if (grant is not null)
                {
                    await limiter.StampAsync(mailbox, grant, time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                }
            }
            await CompleteSentAsync(run, claim, current, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
        catch (GraphSendException e) when (e.Kind == GraphFailureKind.Throttled)
        {
            var retryAfter = e.RetryAfter ?? TimeSpan.FromSeconds(5);
            telemetry.GraphThrottled.Add(1);
            telemetry.GraphRetryAfter.Record(retryAfter.TotalSeconds);
            telemetry.Deliveries.Add(1, new KeyValuePair<string, object?>("outcome", "requeued"));
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
        catch (GraphSendException e) when (sent.Value && current.DraftId is { } draftId)
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
                await CompleteSentAsync(run, claim, WithIds(current, found), found.SentAt, cancellationToken).ConfigureAwait(false);
                return;
            }
            await CompleteAsync(claim, current with { Status = DeliveryStatus.Failed, Reason = $"{e.Code}: {e.GraphMessage}", ReasonCode = ReasonCodes.GraphRefused, ReasonArgs = GraphArgs(e), NeedsLookup = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (GraphSendException e)
        {
            await CompleteAsync(claim, current with { Status = DeliveryStatus.Failed, Reason = $"{e.Code}: {e.GraphMessage}", ReasonCode = ReasonCodes.GraphRefused, ReasonArgs = GraphArgs(e), NeedsLookup = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreUnavailableExceptionHandler.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            // Redis went away mid-step (a restart, a failover). This instance knows it stopped, so once Redis answers the
            // delivery goes back to the queue, rather than wait out its lease (minutes) as if its worker had died.
            await GiveBackAsync(claim, current, cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Back to the queue after the store failed mid-step, to be looked up first (a draft may have been made or
    /// sent meanwhile); the lease check keeps it from undoing another worker's step.</summary>
    private Task GiveBackAsync(DeliveryClaim claim, Delivery current, CancellationToken cancellationToken)
    {
        var back = current with { Attempts = claim.Delivery.Attempts, NeedsLookup = true };
        return WhenStoreAnswersAsync(async () =>
        {
            await store.ReleaseAsync(claim, back, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            Log.GivenBack(logger, claim.MailingId, current.Seq);
        }, cancellationToken);
    }

    /// <summary>
    /// A claim whose answer never came (Redis killed while it wrote its AOF, a timeout, a dropped connection) may still
    /// have taken a delivery, under <paramref name="leaseToken"/>: once Redis answers, that delivery goes back to the
    /// queue as it was (nothing was done with it), rather than wait out its lease as if its worker had died. Commands on
    /// one connection run in order, so a claim sent before the look-up has run by the time it answers.
    /// </summary>
    public Task ReturnLostClaimAsync(string mailingId, string leaseToken, CancellationToken cancellationToken) =>
        WhenStoreAnswersAsync(async () =>
        {
            if (await store.LeasedUnderAsync(mailingId, leaseToken, cancellationToken).ConfigureAwait(false) is { } taken
                && await store.ReleaseAsync(new DeliveryClaim(mailingId, taken, leaseToken), taken, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                Log.GivenBack(logger, mailingId, taken.Seq);
            }
        }, cancellationToken);

    /// <summary>Tried each second while the store is unavailable, for up to half a lease; if Redis stays away longer,
    /// the lease runs out as it would have.</summary>
    private async Task WhenStoreAnswersAsync(Func<Task> attempt, CancellationToken cancellationToken)
    {
        var until = time.GetUtcNow() + O.DeliveryLease / 2;
        while (time.GetUtcNow() < until)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
                await attempt().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (StoreUnavailableExceptionHandler.IsUnavailable(e))
            {
                // still away: try again
            }
        }
    }

    /// <summary>The draft id is stored before the send: whatever happens next, the outcome can be looked up. False: not
    /// to be sent now (the lease went to another worker, or replication could not confirm the record: released).</summary>
    private async Task<bool> RecordBeforeSendAsync(DeliveryClaim claim, Delivery current, CancellationToken cancellationToken)
    {
        if (!await store.UpdateClaimedAsync(claim, current, O.DeliveryLease, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            Log.LeaseLost(logger, claim.MailingId, current.Seq);
            return false;
        }
        // Replication is asynchronous: not sent until a failover could not lose that record (ReplicationBarrier).
        if (!await barrier.ConfirmAsync(claim, current, cancellationToken).ConfigureAwait(false))
        {
            await store.ReleaseAsync(claim, current with { Attempts = claim.Delivery.Attempts }, time.GetUtcNow() + barrier.HoldFor, cancellationToken).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <summary>The Message-ID and conversation a lookup found, where the delivery does not have them yet.</summary>
    private static Delivery WithIds(Delivery d, FoundMessage found) => d with
    {
        InternetMessageId = d.InternetMessageId ?? found.InternetMessageId,
        ConversationId = d.ConversationId ?? found.ConversationId,
    };

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
            return;
        }
        var outcome = final.Status switch
        {
            // constants: no two strings made per message
            DeliveryStatus.Sent => "sent",
            DeliveryStatus.Failed => "failed",
            DeliveryStatus.Skipped => "skipped",
            _ => final.Status.ToString().ToLowerInvariant(),
        };
        telemetry.Deliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        System.Diagnostics.Activity.Current?.SetTag("bulkmail.delivery.outcome", outcome);
    }

    /// <summary>Exponential backoff with full jitter, at least Graph's Retry-After.</summary>
    private static Dictionary<string, string> GraphArgs(GraphSendException e) => new() { ["graphCode"] = e.Code, ["graphMessage"] = e.GraphMessage };

    private TimeSpan Backoff(int attempts, TimeSpan? retryAfter)
    {
        var cap = O.RetryBaseDelay * Math.Pow(2, Math.Max(0, attempts - 1));
        var jittered = cap * (0.5 + Random.Shared.NextDouble() / 2);
        return retryAfter is { } ra && ra > jittered ? ra : jittered;
    }

    private static partial class Log
    {
        [LoggerMessage(52, LogLevel.Warning, "Mailing {MailingId}: lease of delivery {Seq} lost; another worker continues it")]
        public static partial void LeaseLost(ILogger logger, string mailingId, int seq);

        [LoggerMessage(53, LogLevel.Information, "Mailing {MailingId}: mailbox throttled for {Seconds} s")]
        public static partial void Throttled(ILogger logger, string mailingId, int seconds);

        [LoggerMessage(54, LogLevel.Information, "Mailing {MailingId}: delivery {Seq} will be retried after {Code} (outcome unknown: {Unknown})")]
        public static partial void Transient(ILogger logger, string mailingId, int seq, string code, bool unknown);

        [LoggerMessage(55, LogLevel.Warning, "Mailing {MailingId}: paused, the sender's Graph sign-in was refused ({Code})")]
        public static partial void SignInRequired(ILogger logger, string mailingId, string code);

        [LoggerMessage(56, LogLevel.Information, "Mailing {MailingId}: delivery {Seq} back in the queue after Redis failed mid-step; it is looked up first")]
        public static partial void GivenBack(ILogger logger, string mailingId, int seq);
    }
}
