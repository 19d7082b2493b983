using BulkMail.Api.Mail;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings.Scheduling;
using System.Runtime.CompilerServices;

namespace BulkMail.Api.Mailings;

/// <summary>
/// The mailing store in process memory, for the demo only (no Redis): one lock, the same rules as
/// <see cref="RedisMailingStore"/>, checked by the same contract tests. Lost on restart.
/// </summary>
public sealed class InMemoryMailingStore : IMailingStore
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    public InMemoryMailingStore() : this(TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new MailingStoreOptions()))
    {
    }

    private readonly InMemoryMailingChanges? _changes;

    public InMemoryMailingStore(TimeProvider time, Microsoft.Extensions.Options.IOptions<MailingStoreOptions> options, InMemoryMailingChanges? changes = null)
    {
        _time = time;
        _retention = options.Value.Retention;
        _changes = changes;
    }

    private sealed class Entry
    {
        public required Mailing Mailing;
        public readonly SortedDictionary<int, Delivery> Deliveries = [];
        public readonly Dictionary<long, int> FirstSeqOfRecord = [];
        public readonly Dictionary<int, long> Queue = [];       // seq → ready-at ms
        public readonly Dictionary<int, (long Until, string Token)> Leases = [];
        public readonly HashSet<int> Failed = [];
        public readonly Dictionary<int, long> FollowUps = [];   // seq → due ms
        public string? FollowUpToken;
        public long FollowUpUntil;
        public int Sent, FailedCount, Skipped, Bounced, Cancelled, Streak, Cursor, PhaseUpdates, Replied;
        public int? ScopeTotal;
        public readonly Dictionary<string, int> SkippedByReason = new(StringComparer.Ordinal);
        public MailingError? LastError;
        public bool ExpansionDone;
        public string? ExpansionToken;
        public long ExpansionUntil;
        public int Total => Deliveries.Count;
        public InMemoryMailingChanges? Changes { get; init; }

        /// <summary>The last change: kept for the retention after it, like the TTL renewed in Redis. Every change sets it,
        /// so setting it announces the change too, as touch() does in the Redis scripts.</summary>
        public DateTimeOffset Touched
        {
            get;
            set
            {
                field = value;
                Changes?.Announce(Mailing.Id);
            }
        }
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _mailings = [];

    /// <summary>A change that may give the mailing work (as Redis wakes it in the due index): the in-memory due index
    /// listens. Raised under the store's lock; the listener takes only its own.</summary>
    public event Action<string, DateTimeOffset>? Activated;
    private readonly Dictionary<(string Owner, string Key), string> _idempotency = [];
    private readonly Dictionary<string, IReadOnlyList<MailAttachment>> _attachments = [];
    private readonly Dictionary<string, DateTimeOffset> _bounceWatches = [];
    private readonly Dictionary<string, DateTimeOffset> _inboxWatermarks = new(StringComparer.OrdinalIgnoreCase);

    public Task<Mailing> CreateAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (mailing.IdempotencyKey is { Length: > 0 } key)
            {
                if (_idempotency.TryGetValue((mailing.Owner, key), out var existing))
                {
                    if (_mailings.TryGetValue(existing, out var earlier))
                    {
                        return Task.FromResult(earlier.Mailing);
                    }
                    // claimed (ClaimIdempotencyKeyAsync) but not stored yet: store it under the claimed id
                    mailing = mailing with { Id = existing };
                }
                _idempotency[(mailing.Owner, key)] = mailing.Id;
            }
            if (_mailings.TryGetValue(mailing.Id, out var same))
            {
                return Task.FromResult(same.Mailing);
            }
            var stored = mailing with { State = MailingState.Preparing };
            _mailings[mailing.Id] = new Entry { Mailing = stored, Changes = _changes, Touched = _time.GetUtcNow() };
            _changes?.AnnounceCreated(mailing.Owner);
            Activated?.Invoke(mailing.Id, mailing.CreatedAt);
            return Task.FromResult(stored);
        }
    }

    public Task<Mailing?> GetAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sweep();
            return Task.FromResult(_mailings.TryGetValue(mailingId, out var e) ? e.Mailing : null);
        }
    }

    public Task<string> ClaimIdempotencyKeyAsync(string owner, string key, string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_idempotency.TryAdd((owner, key), mailingId) ? mailingId : _idempotency[(owner, key)]);
        }
    }

    public Task<Mailing?> FindByIdempotencyKeyAsync(string owner, string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sweep();
            return Task.FromResult(_idempotency.TryGetValue((owner, key), out var id) && _mailings.TryGetValue(id, out var e) ? e.Mailing : null);
        }
    }

    public Task<IReadOnlyList<Mailing>> ListAsync(string owner, int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sweep();
            return Task.FromResult<IReadOnlyList<Mailing>>([.. _mailings.Values.Select(e => e.Mailing)
                .Where(m => m.Owner == owner).OrderByDescending(m => m.CreatedAt).Take(max)]);
        }
    }

    public Task<MailingCounts> GetCountsAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_mailings.TryGetValue(mailingId, out var e)
                ? new MailingCounts(e.Total, e.Sent, e.FailedCount, e.Skipped, e.Bounced, e.Cancelled) { FollowUpsPending = e.FollowUps.Count, Replied = e.Replied }
                : new MailingCounts(0, 0, 0, 0, 0, 0));
        }
    }

    public Task<MailingFigures> GetFiguresAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_mailings.TryGetValue(mailingId, out var e)
                ? new MailingFigures
                {
                    PhaseUpdates = e.PhaseUpdates,
                    Counted = e.Cursor,
                    ScopeTotal = e.ScopeTotal,
                    SkippedByReason = new Dictionary<string, int>(e.SkippedByReason, StringComparer.Ordinal),
                    LastError = e.LastError,
                }
                : new MailingFigures());
        }
    }

    public Task<IReadOnlyList<string>> ActiveMailingIdsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sweep();
            return Task.FromResult<IReadOnlyList<string>>([.. _mailings.Values
                .Where(e => e.Mailing.State is MailingState.Preparing or MailingState.Scheduled or MailingState.Queued or MailingState.Sending
                    || e.FollowUps.Count > 0)
                // Ready waits for Start (which makes it Queued), so no worker looks at it
                .Select(e => e.Mailing.Id)]);
        }
    }

    public Task<(Mailing? Mailing, bool Changed)> TransitionAsync(string mailingId, IReadOnlyCollection<MailingState> from, MailingState to,
        string? reason, DateTimeOffset now, CancellationToken cancellationToken,
        string? pausedCode = null, IReadOnlyDictionary<string, string>? pausedArgs = null)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult<(Mailing?, bool)>((null, false));
            }
            if (!from.Contains(e.Mailing.State))
            {
                return Task.FromResult<(Mailing?, bool)>((e.Mailing, false));
            }
            e.Touched = _time.GetUtcNow();
            if (to == MailingState.Sending)
            {
                e.Streak = 0;
            }
            var finished = MailingStates.IsFinal(to) && !(to == MailingState.Cancelled && e.Leases.Count > 0) ? now : (DateTimeOffset?)null;
            e.Mailing = e.Mailing with
            {
                State = to,
                PausedReason = to == MailingState.Paused ? reason : null,
                PausedCode = to == MailingState.Paused ? pausedCode : null,
                PausedArgs = to == MailingState.Paused ? pausedArgs : null,
                FinishedAt = finished,
            };
            if (!MailingStates.IsFinal(to))
            {
                Activated?.Invoke(mailingId, now);
            }
            return Task.FromResult<(Mailing?, bool)>((e.Mailing, true));
        }
    }

    public Task<(Mailing? Mailing, bool Changed)> StartAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult<(Mailing?, bool)>((null, false));
            }
            if (e.Mailing.State != MailingState.Ready)
            {
                return Task.FromResult<(Mailing?, bool)>((e.Mailing, false));
            }
            e.Touched = _time.GetUtcNow();
            e.Mailing = e.Mailing with { State = MailingState.Queued, Held = false };
            CheckDone(e, now);
            Activated?.Invoke(mailingId, now);
            return Task.FromResult<(Mailing?, bool)>((e.Mailing, true));
        }
    }

    public Task<(Mailing? Mailing, bool Changed)> ScheduleAsync(string mailingId, MailingSchedule schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult<(Mailing?, bool)>((null, false));
            }
            if (!(e.Mailing.State == MailingState.Ready || (e.Mailing.State == MailingState.Scheduled && NothingHandedOver(e))))
            {
                return Task.FromResult<(Mailing?, bool)>((e.Mailing, false));
            }
            e.Touched = _time.GetUtcNow();
            e.Mailing = e.Mailing with { State = MailingState.Scheduled, Held = false, Schedule = schedule, OpenUntil = null };
            Activated?.Invoke(mailingId, now);
            return Task.FromResult<(Mailing?, bool)>((e.Mailing, true));
        }
    }

    public Task<bool> PromoteAsync(string mailingId, string stamp, DateTimeOffset? openUntil, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e) || e.Mailing.State != MailingState.Scheduled
                || e.Mailing.Schedule is not { } schedule || schedule.Stamp != stamp || schedule.NotBefore > now)
            {
                return Task.FromResult(false);
            }
            e.Touched = _time.GetUtcNow();
            e.Mailing = e.Mailing with { State = MailingState.Queued, OpenUntil = openUntil };
            CheckDone(e, now);
            return Task.FromResult(true);
        }
    }

    public Task<bool> ParkAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e) || e.Mailing.State is not (MailingState.Queued or MailingState.Sending)
                || e.Mailing.OpenUntil is not { } until || until > now)
            {
                return Task.FromResult(false);
            }
            // deliveries whose worker died wait in the queue for the next opening, like the rest
            RecoverExpiredLeases(e, now);
            if (e.Queue.Count == 0)
            {
                return Task.FromResult(false);
            }
            e.Touched = _time.GetUtcNow();
            e.Mailing = e.Mailing with { State = MailingState.Scheduled };
            return Task.FromResult(true);
        }
    }

    public Task<(Mailing? Mailing, bool Changed)> UndoAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult<(Mailing?, bool)>((null, false));
            }
            if (e.Mailing.State != MailingState.Scheduled || e.Mailing.Schedule?.UndoUntil is not { } undoUntil || undoUntil <= now || !NothingHandedOver(e))
            {
                return Task.FromResult<(Mailing?, bool)>((e.Mailing, false));
            }
            e.Touched = _time.GetUtcNow();
            e.Mailing = e.Mailing with { State = MailingState.Cancelled, FinishedAt = now, PausedReason = null, PausedCode = null, PausedArgs = null };
            CancelQueue(e);
            CheckDone(e, now);
            return Task.FromResult<(Mailing?, bool)>((e.Mailing, true));
        }
    }

    // Under the lock. Nothing of the mailing reached Microsoft 365: no outcome but skips, nothing claimed, never claimed.
    private static bool NothingHandedOver(Entry e) =>
        e.Sent == 0 && e.FailedCount == 0 && e.Bounced == 0 && e.Leases.Count == 0 && e.Mailing.StartedAt is null;

    // Under the lock.
    private static void RecoverExpiredLeases(Entry e, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        foreach (var (seq, _) in e.Leases.Where(l => l.Value.Until <= nowMs).ToList())
        {
            e.Leases.Remove(seq);
            e.Queue[seq] = 0;
        }
    }

    // Under the lock: every queued delivery becomes Cancelled.
    private static int CancelQueue(Entry e)
    {
        var n = e.Queue.Count;
        foreach (var seq in e.Queue.Keys)
        {
            e.Deliveries[seq] = e.Deliveries[seq] with { Status = DeliveryStatus.Cancelled, Reason = "Cancelled before it was sent", ReasonCode = ReasonCodes.CancelledBeforeSend };
        }
        e.Queue.Clear();
        e.Cancelled += n;
        return n;
    }

    public Task RecordErrorAsync(string mailingId, MailingError error, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_mailings.TryGetValue(mailingId, out var e))
            {
                e.LastError = error;
                _changes?.Announce(mailingId); // the wait reason changed
            }
            return Task.CompletedTask;
        }
    }

    public Task<ExpansionCursor> GetExpansionAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(new ExpansionCursor(0, false)); // deleted (or expired) meanwhile
            }
            return Task.FromResult(new ExpansionCursor(e.Cursor, e.ExpansionDone));
        }
    }

    public Task<bool> TryLeaseExpansionAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            var nowMs = now.ToUnixTimeMilliseconds();
            if (e.ExpansionDone || e.ExpansionToken is not null && e.ExpansionToken != token && e.ExpansionUntil > nowMs)
            {
                return Task.FromResult(false);
            }
            e.ExpansionToken = token;
            e.ExpansionUntil = (now + lease).ToUnixTimeMilliseconds();
            return Task.FromResult(true);
        }
    }

    public Task<bool> AppendDeliveriesAsync(string mailingId, string token, int expectedPosition, int newPosition,
        IReadOnlyList<Delivery> deliveries, bool done, DateTimeOffset now, CancellationToken cancellationToken, PageFigures? figures = null)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            if (e.ExpansionToken != token || e.Cursor != expectedPosition
                || deliveries.Count > 0 && deliveries[0].Seq != e.Total + 1)
            {
                return Task.FromResult(false);
            }
            foreach (var d in deliveries)
            {
                e.Deliveries[d.Seq] = d;
                e.FirstSeqOfRecord.TryAdd(d.RecordId, d.Seq);
                if (d.Status == DeliveryStatus.Pending)
                {
                    if (e.Mailing.State == MailingState.Cancelled)
                    {
                        e.Cancelled++;
                    }
                    else
                    {
                        e.Queue[d.Seq] = now.ToUnixTimeMilliseconds();
                    }
                }
                else
                {
                    Count(e, d.Status, +1);
                    CountSkip(e, d);
                }
            }
            e.Cursor = newPosition;
            e.PhaseUpdates += figures?.PhaseUpdates ?? 0;
            e.ScopeTotal = figures?.ScopeTotal ?? e.ScopeTotal;
            if (done)
            {
                e.ExpansionDone = true;
                if (e.Mailing.State == MailingState.Preparing)
                {
                    // a held mailing waits for Start with its exact figures; nothing is claimable until then
                    e.Mailing = e.Mailing with { State = e.Mailing.Held ? MailingState.Ready : MailingState.Queued };
                }
                CheckDone(e, now);
            }
            return Task.FromResult(true);
        }
    }

    public Task<Delivery?> LeasedUnderAsync(string mailingId, string leaseToken, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_mailings.TryGetValue(mailingId, out var e) && e.Leases.FirstOrDefault(x => x.Value.Token == leaseToken) is { Value.Token: not null } held
                ? e.Deliveries[held.Key]
                : null);
        }
    }

    public Task<ClaimResult> ClaimAsync(string mailingId, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken, string? leaseToken = null)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e) || e.Mailing.State is not (MailingState.Queued or MailingState.Sending))
            {
                return Task.FromResult(new ClaimResult(null, null));
            }
            // never before the schedule allows, never after the window opening it was queued in has closed
            if (e.Mailing.Schedule is { } schedule && schedule.NotBefore > now || e.Mailing.OpenUntil is { } until && until <= now)
            {
                return Task.FromResult(new ClaimResult(null, null));
            }
            var nowMs = now.ToUnixTimeMilliseconds();
            RecoverExpiredLeases(e, now);
            if (e.Queue.Count == 0)
            {
                // nothing queued: when the first lease held elsewhere runs out (its worker may have died)
                return Task.FromResult(new ClaimResult(null, null)
                {
                    LeaseEndsAt = e.Leases.Count == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(e.Leases.Values.Min(v => v.Until)),
                });
            }
            var (next, readyAt) = e.Queue.OrderBy(q => q.Value).ThenBy(q => q.Key).First();
            if (readyAt > nowMs)
            {
                return Task.FromResult(new ClaimResult(null, DateTimeOffset.FromUnixTimeMilliseconds(readyAt)));
            }
            e.Queue.Remove(next);
            var token = leaseToken ?? Guid.NewGuid().ToString("N");
            e.Leases[next] = ((now + lease).ToUnixTimeMilliseconds(), token);
            if (e.Mailing.State == MailingState.Queued)
            {
                e.Mailing = e.Mailing with { State = MailingState.Sending, StartedAt = now };
                _changes?.Announce(mailingId);
            }
            return Task.FromResult(new ClaimResult(new DeliveryClaim(mailingId, e.Deliveries[next], token), null)
            {
                ReadyAt = readyAt > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(readyAt) : null,
            });
        }
    }

    public Task<bool> UpdateClaimedAsync(DeliveryClaim claim, Delivery updated, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(claim.MailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            if (!Holds(e, updated.Seq, claim.LeaseToken))
            {
                return Task.FromResult(false);
            }
            e.Deliveries[updated.Seq] = updated;
            e.Leases[updated.Seq] = ((now + lease).ToUnixTimeMilliseconds(), claim.LeaseToken);
            return Task.FromResult(true);
        }
    }

    public Task<bool> CompleteAsync(DeliveryClaim claim, Delivery final, int maxFailureStreak, DateTimeOffset now, CancellationToken cancellationToken,
        bool followUp = false)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(claim.MailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            if (!Holds(e, final.Seq, claim.LeaseToken))
            {
                return Task.FromResult(false);
            }
            e.Leases.Remove(final.Seq);
            e.Deliveries[final.Seq] = final;
            if (followUp && final.Status == DeliveryStatus.Sent)
            {
                e.FollowUps[final.Seq] = now.ToUnixTimeMilliseconds();
            }
            Count(e, final.Status, +1);
            CountSkip(e, final);
            if (final.Status == DeliveryStatus.Failed)
            {
                e.Failed.Add(final.Seq);
                if (++e.Streak >= maxFailureStreak && e.Mailing.State is MailingState.Sending or MailingState.Queued)
                {
                    e.Mailing = e.Mailing with
                    {
                        State = MailingState.Paused,
                        PausedReason = RedisMailingStore.PauseReason(maxFailureStreak),
                        PausedCode = PauseCodes.FailureStreak,
                        PausedArgs = RedisMailingStore.PauseArgs(maxFailureStreak),
                    };
                }
            }
            else if (final.Status == DeliveryStatus.Sent)
            {
                e.Streak = 0;
                e.LastError = null;
            }
            CheckDone(e, now);
            return Task.FromResult(true);
        }
    }

    public Task<bool> ReleaseAsync(DeliveryClaim claim, Delivery updated, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(claim.MailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            if (!Holds(e, updated.Seq, claim.LeaseToken))
            {
                return Task.FromResult(false);
            }
            e.Leases.Remove(updated.Seq);
            if (e.Mailing.State == MailingState.Cancelled)
            {
                e.Deliveries[updated.Seq] = updated with { Status = DeliveryStatus.Cancelled, Reason = "Cancelled before it was sent", ReasonCode = ReasonCodes.CancelledBeforeSend };
                e.Cancelled++;
                CheckDone(e, notBefore);
            }
            else
            {
                e.Deliveries[updated.Seq] = updated;
                e.Queue[updated.Seq] = notBefore.ToUnixTimeMilliseconds();
            }
            return Task.FromResult(true);
        }
    }

    public Task<bool> MarkRepliedAsync(string mailingId, Delivery updated, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e) || !e.Deliveries.TryGetValue(updated.Seq, out var old) || old.RepliedAt is not null)
            {
                return Task.FromResult(false);
            }
            e.Touched = _time.GetUtcNow();
            e.Deliveries[updated.Seq] = updated;
            e.Replied++;
            return Task.FromResult(true);
        }
    }

    public Task<DateTimeOffset?> GetInboxWatermarkAsync(string mailbox, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_inboxWatermarks.TryGetValue(mailbox, out var at) ? at : (DateTimeOffset?)null);
        }
    }

    public Task SetInboxWatermarkAsync(string mailbox, DateTimeOffset readUntil, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_inboxWatermarks.TryGetValue(mailbox, out var at) || readUntil > at)
            {
                _inboxWatermarks[mailbox] = readUntil;
            }
            return Task.CompletedTask;
        }
    }

    public Task UpdateDeliveryAsync(string mailingId, Delivery updated, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.CompletedTask; // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            if (e.Deliveries.TryGetValue(updated.Seq, out var old))
            {
                if (old.Status != updated.Status)
                {
                    Count(e, old.Status, -1);
                    Count(e, updated.Status, +1);
                    if (old.Status == DeliveryStatus.Failed)
                    {
                        e.Failed.Remove(updated.Seq);
                    }
                    if (updated.Status == DeliveryStatus.Failed)
                    {
                        e.Failed.Add(updated.Seq);
                    }
                }
                e.Deliveries[updated.Seq] = updated;
            }
            return Task.CompletedTask;
        }
    }

    public Task<int> CancelQueuedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(0); // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            var n = CancelQueue(e);
            CheckDone(e, now);
            return Task.FromResult(n);
        }
    }

    public Task<int> RequeueFailedAsync(string mailingId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(0); // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            var n = e.Failed.Count;
            foreach (var seq in e.Failed)
            {
                e.Deliveries[seq] = e.Deliveries[seq] with { Status = DeliveryStatus.Pending, Reason = null, ReasonCode = null, ReasonArgs = null, Attempts = 0, DraftId = null, NeedsLookup = false };
                e.Queue[seq] = now.ToUnixTimeMilliseconds();
            }
            e.Failed.Clear();
            e.FailedCount -= n;
            if (n > 0 && e.Mailing.State is MailingState.Completed or MailingState.Paused or MailingState.Sending or MailingState.Queued)
            {
                e.Streak = 0;
                e.Mailing = e.Mailing with { State = MailingState.Sending, FinishedAt = null, PausedReason = null, PausedCode = null, PausedArgs = null };
            }
            if (n > 0)
            {
                Activated?.Invoke(mailingId, now);
            }
            return Task.FromResult(n);
        }
    }

    public Task<Delivery?> GetDeliveryAsync(string mailingId, int seq, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_mailings.TryGetValue(mailingId, out var e) && e.Deliveries.TryGetValue(seq, out var d) ? d : null);
        }
    }

    public Task<Delivery?> FindDeliveryByRecordAsync(string mailingId, long recordId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_mailings.TryGetValue(mailingId, out var e) && e.FirstSeqOfRecord.TryGetValue(recordId, out var seq)
                ? e.Deliveries[seq] : null);
        }
    }

    public Task<int> CountRunningAsync(string owner, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sweep();
            // In memory every mailing is at hand: counting them is the index.
            return Task.FromResult(_mailings.Values.Count(e => e.Mailing.Owner == owner && MailingStates.IsRunning(e.Mailing.State, e.Mailing.Held)));
        }
    }

    public async IAsyncEnumerable<Delivery> ReadDeliveriesAsync(string mailingId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<Delivery> snapshot;
        lock (_gate)
        {
            snapshot = _mailings.TryGetValue(mailingId, out var e) ? [.. e.Deliveries.Values] : [];
        }
        foreach (var d in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return d;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static void CountSkip(Entry e, Delivery d)
    {
        if (d.Status == DeliveryStatus.Skipped)
        {
            var code = d.ReasonCode ?? RedisMailingStore.UnknownReason;
            e.SkippedByReason[code] = e.SkippedByReason.GetValueOrDefault(code) + 1;
        }
    }

    private static bool Holds(Entry e, int seq, string token) => e.Leases.TryGetValue(seq, out var l) && l.Token == token;

    private static void Count(Entry e, DeliveryStatus status, int delta)
    {
        switch (status)
        {
            case DeliveryStatus.Sent: e.Sent += delta; break;
            case DeliveryStatus.Failed: e.FailedCount += delta; break;
            case DeliveryStatus.Skipped: e.Skipped += delta; break;
            case DeliveryStatus.Bounced: e.Bounced += delta; break;
            case DeliveryStatus.Cancelled: e.Cancelled += delta; break;
        }
    }

    public Task SaveAttachmentsAsync(string mailingId, IReadOnlyList<MailAttachment> files, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _attachments.TryAdd(mailingId, files);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<MailAttachment>> GetAttachmentsAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_attachments.GetValueOrDefault(mailingId) ?? []);
        }
    }

    public Task<bool> TryLeaseFollowUpsAsync(string mailingId, string token, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            if (e.FollowUpToken is not null && e.FollowUpToken != token && e.FollowUpUntil > now.ToUnixTimeMilliseconds())
            {
                return Task.FromResult(false);
            }
            e.FollowUpToken = token;
            e.FollowUpUntil = (now + lease).ToUnixTimeMilliseconds();
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<Delivery>> DueFollowUpsAsync(string mailingId, int max, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult((IReadOnlyList<Delivery>)[]); // deleted (or expired) meanwhile
            }
            var nowMs = now.ToUnixTimeMilliseconds();
            return Task.FromResult<IReadOnlyList<Delivery>>([.. e.FollowUps.Where(f => f.Value <= nowMs).OrderBy(f => f.Value).ThenBy(f => f.Key)
                .Take(max).Select(f => e.Deliveries[f.Key])]);
        }
    }

    public Task<DateTimeOffset?> NextFollowUpAtAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult((DateTimeOffset?)null); // deleted (or expired) meanwhile
            }
            return Task.FromResult(e.FollowUps.Count == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(e.FollowUps.Values.Min()));
        }
    }

    public Task<bool> RecordFollowUpsAsync(string mailingId, string token, IReadOnlyList<FollowUpOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(false); // deleted (or expired) meanwhile
            }
            e.Touched = _time.GetUtcNow();
            if (e.FollowUpToken != token)
            {
                return Task.FromResult(false);
            }
            foreach (var o in outcomes)
            {
                if (e.Deliveries.TryGetValue(o.Seq, out var d))
                {
                    // no codes: null, as Redis stores it (an empty Lua table cannot be told from an object)
                    e.Deliveries[o.Seq] = d with
                    {
                        PhaseUpdate = o.PhaseUpdate, PhaseUpdateCodes = o.Codes.Count == 0 ? null : o.Codes, FollowUpAttempts = o.Attempts, FollowUp = o.Progress,
                    };
                }
                if (o.RetryAt is { } at && d is not null)
                {
                    e.FollowUps[o.Seq] = at.ToUnixTimeMilliseconds();
                }
                else
                {
                    e.FollowUps.Remove(o.Seq);
                }
            }
            CheckDone(e, now);
            return Task.FromResult(true);
        }
    }

    public Task WatchBouncesAsync(string mailingId, DateTimeOffset until, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _bounceWatches[mailingId] = until;
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> BounceWatchesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var expired in _bounceWatches.Where(w => w.Value <= now).Select(w => w.Key).ToList())
            {
                _bounceWatches.Remove(expired);
            }
            return Task.FromResult<IReadOnlyList<string>>([.. _bounceWatches.Keys]);
        }
    }

    public Task<MailingDeletion> DeleteAsync(string mailingId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_mailings.TryGetValue(mailingId, out var e))
            {
                return Task.FromResult(MailingDeletion.NotFound);
            }
            if (!MailingStates.IsDeletable(e.Mailing.State, e.Mailing.Held, e.Mailing.FinishedAt is not null))
            {
                return Task.FromResult(MailingDeletion.NotDeletable);
            }
            Remove(mailingId);
            _changes?.Announce(mailingId);
            return Task.FromResult(MailingDeletion.Deleted);
        }
    }

    // Under the lock. Everything kept for one mailing, as DELETE and the retention remove it.
    private void Remove(string mailingId)
    {
        _mailings.Remove(mailingId);
        _attachments.Remove(mailingId);
        _bounceWatches.Remove(mailingId);
        foreach (var key in _idempotency.Where(i => i.Value == mailingId).Select(i => i.Key).ToList())
        {
            _idempotency.Remove(key);
        }
    }

    // Under the lock. Drops mailings unchanged for the retention (Redis lets their keys expire); at most once a minute.
    private void Sweep()
    {
        var now = _time.GetUtcNow();
        if (now - _lastSweep < TimeSpan.FromMinutes(1) && now >= _lastSweep)
        {
            return;
        }
        _lastSweep = now;
        foreach (var id in _mailings.Values.Where(e => e.Touched + _retention <= now).Select(e => e.Mailing.Id).ToList())
        {
            Remove(id);
        }
    }

    // The rule is MailingCompletion's (the Redis scripts read the same one, as a generated table).
    private static void CheckDone(Entry e, DateTimeOffset now)
    {
        var step = MailingCompletion.Decide(e.ExpansionDone, e.Queue.Count > 0, e.Leases.Count > 0, e.FollowUps.Count > 0,
            e.Mailing.State, e.Mailing.FinishedAt is not null);
        if (step == CompletionStep.Complete)
        {
            e.Mailing = e.Mailing with { State = MailingState.Completed, FinishedAt = now };
        }
        else if (step == CompletionStep.StampFinished)
        {
            e.Mailing = e.Mailing with { FinishedAt = now };
        }
    }
}
