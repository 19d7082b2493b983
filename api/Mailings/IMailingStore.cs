using BulkMail.Api.Mail;
using BulkMail.Api.Mailings.Scheduling;
namespace BulkMail.Api.Mailings;

/// <summary>
/// Where mailings and their deliveries live. Two implementations (Redis for production, memory for the demo)
/// pass one contract test suite. Every method that changes a delivery changes its counters in the same atomic
/// step, and every claimed delivery is protected by a lease: a worker that lost its lease cannot record an outcome.
/// </summary>
public interface IMailingStore
{
    /// <summary>Stores a new mailing (state Preparing). With an idempotency key already used by the same owner,
    /// stores nothing and returns the first mailing.</summary>
    Task<Mailing> CreateAsync(Mailing mailing, CancellationToken cancellationToken);

    Task<Mailing?> GetAsync(string mailingId, CancellationToken cancellationToken);

    /// <summary>Claims the owner's idempotency key for <paramref name="mailingId"/> unless it is claimed already; returns the
    /// mailing id that holds it (this one, or the earlier claimant's, whose mailing may not be stored yet). Submit claims
    /// before it stores anything, so racing submits with one key store one set of files.</summary>
    Task<string> ClaimIdempotencyKeyAsync(string owner, string key, string mailingId, CancellationToken cancellationToken);

    /// <summary>The owner's mailing submitted with this idempotency key, if any.</summary>
    Task<Mailing?> FindByIdempotencyKeyAsync(string owner, string key, CancellationToken cancellationToken);

    /// <summary>The owner's mailings, newest first.</summary>
    Task<IReadOnlyList<Mailing>> ListAsync(string owner, int max, CancellationToken cancellationToken);

    Task<MailingCounts> GetCountsAsync(string mailingId, CancellationToken cancellationToken);

    /// <summary>Skips per reason code, phase updates, records read, scope size and the last transient error.</summary>
    Task<MailingFigures> GetFiguresAsync(string mailingId, CancellationToken cancellationToken);

    /// <summary>Mailings that may need a worker: Preparing, Scheduled, Queued or Sending (never Ready or Paused, unless follow-ups are due).</summary>
    Task<IReadOnlyList<string>> ActiveMailingIdsAsync(CancellationToken cancellationToken);

    /// <summary>Changes the state if the current one is in <paramref name="from"/>; returns the mailing after the
    /// attempt and whether it changed. A pause stores its reason with its code and arguments.</summary>
    Task<(Mailing? Mailing, bool Changed)> TransitionAsync(string mailingId, IReadOnlyCollection<MailingState> from, MailingState to,
        string? reason, DateTimeOffset now, CancellationToken cancellationToken,
        string? pausedCode = null, IReadOnlyDictionary<string, string>? pausedArgs = null);

    /// <summary>Starts a held mailing: Ready → Queued (no longer held), in one step that also completes it when nothing is
    /// left to send. Returns the mailing after the attempt and whether it changed.</summary>
    Task<(Mailing? Mailing, bool Changed)> StartAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken);

    // ---- scheduling (docs/scheduling.md)

    /// <summary>Starts a held mailing by a schedule: Ready → Scheduled (no longer held), or replaces the schedule of a
    /// Scheduled mailing that has handed nothing to Microsoft 365 (none sent, failed, bounced or claimed). Nothing is
    /// claimable before <see cref="MailingSchedule.NotBefore"/>. Returns the mailing after the attempt and whether it changed.</summary>
    Task<(Mailing? Mailing, bool Changed)> ScheduleAsync(string mailingId, MailingSchedule schedule, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Scheduled → Queued, in one step that checks the state, that the schedule is still the one named by
    /// <paramref name="stamp"/> and that its NotBefore has come (two workers cannot both promote; a replaced schedule is not
    /// promoted by the old one). <paramref name="openUntil"/>: the end of the window opening (nothing is claimed from then).
    /// A mailing with nothing left to send completes at once.</summary>
    Task<bool> PromoteAsync(string mailingId, string stamp, DateTimeOffset? openUntil, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Queued/Sending → Scheduled when its window opening has ended (<see cref="Mailing.OpenUntil"/> ≤ now) and
    /// deliveries are still queued; deliveries in flight finish under their leases. False when it does not apply.</summary>
    Task<bool> ParkAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Scheduled → Cancelled with every delivery Cancelled (CancelledBeforeSend), in one step that checks that the
    /// undo window is still open at <paramref name="now"/> and nothing was handed to Microsoft 365 (none sent, failed,
    /// bounced or ever claimed). Returns the mailing after the attempt and whether it changed.</summary>
    Task<(Mailing? Mailing, bool Changed)> UndoAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records the mailing's last transient Graph error (cleared by the next sent delivery).</summary>
    Task RecordErrorAsync(string mailingId, MailingError error, CancellationToken cancellationToken);

    // ---- expansion of the scope into deliveries (resumable after a crash)

    Task<ExpansionCursor> GetExpansionAsync(string mailingId, CancellationToken cancellationToken);

    /// <summary>Takes (or renews) the right to expand this mailing for a while.</summary>
    Task<bool> TryLeaseExpansionAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Appends one page of deliveries and moves the cursor, atomically, only if the cursor is still at
    /// <paramref name="expectedPosition"/> and the caller holds the expansion lease (a page is stored once or not at
    /// all). Seq numbers must continue from the current total. With <paramref name="done"/>, the mailing becomes Queued
    /// (or Completed when nothing is left to send) — or Ready when it is held. Skips are counted per reason code and
    /// <paramref name="figures"/> (phase updates, scope size) added in the same step.
    /// </summary>
    Task<bool> AppendDeliveriesAsync(string mailingId, string token, int expectedPosition, int newPosition,
        IReadOnlyList<Delivery> deliveries, bool done, DateTimeOffset now, CancellationToken cancellationToken, PageFigures? figures = null);

    // ---- sending

    /// <summary>Claims the next ready delivery of a Queued/Sending mailing under a lease. Deliveries whose lease
    /// expired (a worker died) come back first, with their recorded draft id, so their outcome is looked up.</summary>
    /// <param name="leaseToken">The lease's token (default: a new one): a caller that makes it can find the delivery a
    /// claim took when the claim's answer was lost (<see cref="LeasedUnderAsync"/>).</param>
    Task<ClaimResult> ClaimAsync(string mailingId, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken, string? leaseToken = null);

    /// <summary>The delivery leased under <paramref name="leaseToken"/> now, if any (null: none, or the mailing is gone).</summary>
    Task<Delivery?> LeasedUnderAsync(string mailingId, string leaseToken, CancellationToken cancellationToken);

    /// <summary>Records progress (e.g. the draft id) and renews the lease; false when the lease was lost.</summary>
    Task<bool> UpdateClaimedAsync(DeliveryClaim claim, Delivery updated, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records a final outcome (Sent, Failed, Skipped, Cancelled) and counts it. A Failed outcome extends the
    /// run of failures; at <paramref name="maxFailureStreak"/> the mailing pauses itself. When nothing is left the
    /// mailing completes. False when the lease was lost.</summary>
    /// <remarks>With <paramref name="followUp"/>, a Sent delivery is queued for its HRBC follow-up in the same step, and
    /// the mailing completes only when that is written.</remarks>
    Task<bool> CompleteAsync(DeliveryClaim claim, Delivery final, int maxFailureStreak, DateTimeOffset now, CancellationToken cancellationToken,
        bool followUp = false);

    /// <summary>Puts a claimed delivery back in the queue, ready at <paramref name="notBefore"/>.</summary>
    Task<bool> ReleaseAsync(DeliveryClaim claim, Delivery updated, DateTimeOffset notBefore, CancellationToken cancellationToken);

    /// <summary>Changes an unclaimed, finished delivery (phase update outcome, bounce); moves counters when the status changes.</summary>
    Task UpdateDeliveryAsync(string mailingId, Delivery updated, CancellationToken cancellationToken);

    // ---- attachments (written before the mailing is created; the same bytes for every message)

    /// <summary>Stores the files once: when the mailing already has files (a racing submit with the same idempotency key
    /// stored them first), nothing changes.</summary>
    Task SaveAttachmentsAsync(string mailingId, IReadOnlyList<MailAttachment> files, CancellationToken cancellationToken);

    Task<IReadOnlyList<MailAttachment>> GetAttachmentsAsync(string mailingId, CancellationToken cancellationToken);

    // ---- follow-ups: HRBC phase and activity writes after a delivery is sent (never a reason to send again)

    /// <summary>Takes (or renews) the right to write this mailing's follow-ups for a while.</summary>
    Task<bool> TryLeaseFollowUpsAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Sent deliveries whose follow-up is due, oldest first.</summary>
    Task<IReadOnlyList<Delivery>> DueFollowUpsAsync(string mailingId, int max, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>When the next follow-up is due (null: none pending).</summary>
    Task<DateTimeOffset?> NextFollowUpAtAsync(string mailingId, CancellationToken cancellationToken);

    /// <summary>Records follow-up outcomes (only the follow-up fields of each delivery change); those with a retry time
    /// stay pending. False when the caller does not hold the follow-up lease.</summary>
    Task<bool> RecordFollowUpsAsync(string mailingId, string token, IReadOnlyList<FollowUpOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken);

    // ---- bounces: finished mailings whose sender's mailbox is watched for non-delivery reports

    /// <summary>Watches a finished mailing's mailbox for NDRs until <paramref name="until"/>.</summary>
    Task WatchBouncesAsync(string mailingId, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>The mailings being watched now (expired watches are dropped).</summary>
    Task<IReadOnlyList<string>> BounceWatchesAsync(DateTimeOffset now, CancellationToken cancellationToken);

    // ---- replies (the Inbox reader, docs/graph.md: Replies and bounces)

    /// <summary>Stores <paramref name="updated"/> (with its <see cref="Delivery.RepliedAt"/>) and counts the reply, in one step,
    /// only when the stored delivery has no reply yet; false when it had one (or is gone): a reply is counted once.</summary>
    Task<bool> MarkRepliedAsync(string mailingId, Delivery updated, CancellationToken cancellationToken);

    /// <summary>Up to when the mailbox's Inbox has been read (the newest <c>receivedDateTime</c> handled); null: never.</summary>
    Task<DateTimeOffset?> GetInboxWatermarkAsync(string mailbox, CancellationToken cancellationToken);

    /// <summary>Moves the mailbox's watermark forward (never back).</summary>
    Task SetInboxWatermarkAsync(string mailbox, DateTimeOffset readUntil, CancellationToken cancellationToken);

    // ---- control

    /// <summary>Marks every queued (unclaimed) delivery Cancelled; returns how many.</summary>
    Task<int> CancelQueuedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Puts every Failed delivery back in the queue (attempts reset) and the mailing back to Sending.</summary>
    Task<int> RequeueFailedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes a held or final mailing (<see cref="MailingStates.IsDeletable"/>) and everything stored for it —
    /// deliveries, queue, leases, attachments, counters, follow-ups, its place in the owner's list, its idempotency key,
    /// its bounce watch — in one step that checks the state; a running mailing is left as it is.</summary>
    Task<MailingDeletion> DeleteAsync(string mailingId, CancellationToken cancellationToken);

    // ---- reading

    Task<Delivery?> GetDeliveryAsync(string mailingId, int seq, CancellationToken cancellationToken);

    /// <summary>The first delivery (lowest seq) of a record, found by an index written with the deliveries; null when
    /// the record has none.</summary>
    Task<Delivery?> FindDeliveryByRecordAsync(string mailingId, long recordId, CancellationToken cancellationToken);

    /// <summary>How many of the owner's mailings are running (<see cref="MailingStates.IsRunning"/>), read from an index
    /// of running mailings the store keeps on every state change — not from the owner's whole list.</summary>
    Task<int> CountRunningAsync(string owner, CancellationToken cancellationToken);

    /// <summary>Every delivery in seq order, read in batches (never all in memory).</summary>
    IAsyncEnumerable<Delivery> ReadDeliveriesAsync(string mailingId, CancellationToken cancellationToken);
}
