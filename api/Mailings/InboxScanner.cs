using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Modes;
using BulkMail.Api.Suppressions;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>The <c>Replies</c> section: whether replies are looked for, and for how long after a mailing finished.</summary>
public sealed class ReplyOptions
{
    public const string Section = "Replies";

    public bool Enabled { get; set; } = true;

    /// <summary>How long after a mailing finishes replies are looked for (and its mailbox's Inbox read).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "60.00:00:00")]
    public TimeSpan WatchFor { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Attempts at the HRBC writes of one reply (phase, activity) or bounce (activity) before giving up.</summary>
    [Range(1, 20)]
    public int MaxFollowUpAttempts { get; set; } = 5;
}

/// <summary>How long a finished mailing's mailbox is read: the longer of the bounce and the reply watch (each only while enabled).</summary>
public static class InboxWatch
{
    public static TimeSpan For(BounceOptions bounces, ReplyOptions replies) =>
        TimeSpan.FromTicks(Math.Max(bounces.Enabled ? bounces.WatchFor.Ticks : 0, replies.Enabled ? replies.WatchFor.Ticks : 0));
}

/// <summary>
/// Automatic answers that are not replies (RFC 3834 and Exchange's own): out-of-office and rule replies by message class
/// (<c>IPM.Note.Rules.OofTemplate.Microsoft</c>, <c>IPM.Note.Rules.ReplyTemplate.Microsoft</c>), <c>Auto-Submitted</c>
/// other than <c>no</c>, <c>X-Auto-Response-Suppress</c>, <c>Precedence: auto_reply|bulk|junk</c>, <c>X-Autoreply</c>.
/// </summary>
public static class AutoReplies
{
    public static bool Is(InboxMessage m)
    {
        if (m.MessageClass.StartsWith("IPM.Note.Rules.OofTemplate", StringComparison.OrdinalIgnoreCase)
            || m.MessageClass.StartsWith("IPM.Note.Rules.ReplyTemplate", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (m.Header("Auto-Submitted") is { } auto && !auto.Trim().StartsWith("no", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (m.Header("X-Auto-Response-Suppress") is not null || m.Header("X-Autoreply") is not null || m.Header("X-Autorespond") is not null)
        {
            return true;
        }
        return m.Header("Precedence")?.Trim().ToLowerInvariant() is "auto_reply" or "bulk" or "junk";
    }
}

/// <summary>
/// Reads the sender's Inbox for replies and non-delivery reports (docs/graph.md, Replies and bounces; docs/architecture.md,
/// Replies and bounces), for finished mailings on the watch list. Per mailbox: incremental from a stored watermark (the
/// newest <c>receivedDateTime</c> handled, re-read with a minute's overlap), one request at a time and only while none
/// of the mailbox's mailings is sending or Graph's Retry-After holds it, at most <c>Bounces:MaxRequestsPerScan</c>
/// requests a pass. Everything it applies is idempotent (a reply is counted once, a bounce moves Sent → Bounced once,
/// each HRBC write is recorded on the delivery), so a rescan or a restart changes nothing.
/// </summary>
public sealed partial class InboxScanner(IMailingStore store, IMailSender mail, IMailboxLimiter limiter, IServiceScopeFactory scopes, BulkMailTelemetry telemetry,
    IOptions<BounceOptions> bounceOptions, IOptions<ReplyOptions> replyOptions, IOptions<SendingOptions> sending, TimeProvider time,
    ILogger<InboxScanner> logger, ISuppressionList suppressions, IMailingChanges changes) : BackgroundService
{
    private static readonly TimeSpan Overlap = TimeSpan.FromMinutes(1);
    // Inbox messages this process has handled for good (a restart reads the overlap again: handling twice changes nothing).
    private readonly ConcurrentDictionary<string, byte> _done = new();
    private readonly ConcurrentDictionary<string, string> _folders = new(StringComparer.OrdinalIgnoreCase);
    private BounceOptions B => bounceOptions.Value;
    private ReplyOptions R => replyOptions.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.ScanFailed(logger, LogSafe.Of(e));
            }
            try
            {
                await Task.Delay(B.ScanInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>What one pass did.</summary>
    public sealed record ScanResult(int Replies, int Bounces, int AutoReplies, int Unmatched);

    /// <summary>One pass over every watched mailbox.</summary>
    public async Task<ScanResult> ScanAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var watched = new List<Mailing>();
        foreach (var id in await store.BounceWatchesAsync(now, cancellationToken).ConfigureAwait(false))
        {
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } m && MailingStates.IsFinal(m.State))
            {
                watched.Add(m);
            }
        }
        var busy = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var id in await store.ActiveMailingIdsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } m)
            {
                busy.Add(m.Mailbox);
            }
        }
        var total = new ScanResult(0, 0, 0, 0);
        foreach (var group in watched.GroupBy(m => m.Mailbox, StringComparer.OrdinalIgnoreCase).Where(g => !busy.Contains(g.Key)))
        {
            var pace = await limiter.PaceAsync(group.Key, new MailboxLimits(1, 1, 1, TimeSpan.FromMinutes(1)), now, cancellationToken).ConfigureAwait(false);
            if (pace.BlockedUntil is { } blocked && blocked > now)
            {
                continue; // Graph's Retry-After holds the mailbox
            }
            try
            {
                var r = await ScanMailboxAsync(group.Key, [.. group], cancellationToken).ConfigureAwait(false);
                total = new ScanResult(total.Replies + r.Replies, total.Bounces + r.Bounces, total.AutoReplies + r.AutoReplies, total.Unmatched + r.Unmatched);
            }
            catch (GraphSendException e)
            {
                if (e.Kind == GraphFailureKind.Throttled && e.RetryAfter is { } ra)
                {
                    await limiter.BlockAsync(group.Key, time.GetUtcNow() + ra, cancellationToken).ConfigureAwait(false);
                }
                Log.MailboxScanFailed(logger, e.Code, LogSafe.Of(e));
            }
        }
        if (total.Replies + total.Bounces > 0)
        {
            Log.Marked(logger, total.Replies, total.Bounces, total.AutoReplies);
        }
        return total;
    }

    private async Task<ScanResult> ScanMailboxAsync(string mailbox, IReadOnlyList<Mailing> mailings, CancellationToken cancellationToken)
    {
        var index = await MailboxIndex.BuildAsync(store, mailings, cancellationToken).ConfigureAwait(false);
        var first = mailings.Min(m => m.StartedAt ?? m.CreatedAt) - Overlap;
        var watermark = await store.GetInboxWatermarkAsync(mailbox, cancellationToken).ConfigureAwait(false);
        var since = watermark is { } w && w - Overlap > first ? w - Overlap : first;
        var readUntil = watermark ?? since;
        var budget = B.MaxRequestsPerScan;
        var (replies, bounces, autos, unmatched) = (0, 0, 0, 0);
        string? next = null;
        while (budget > 0)
        {
            var page = await PacedAsync(mailbox, () => mail.InboxAsync(mailbox, since, next, B.PageSize, cancellationToken), cancellationToken).ConfigureAwait(false);
            budget--;
            var moved = false;
            foreach (var m in page.Messages)
            {
                if (budget <= 0)
                {
                    break;
                }
                if (!_done.ContainsKey(m.Id))
                {
                    var (outcome, requests, movedOut) = await HandleAsync(mailbox, index, m, cancellationToken).ConfigureAwait(false);
                    budget -= requests;
                    moved |= movedOut;
                    if (outcome is Outcome.Replied or Outcome.Bounced)
                    {
                        telemetry.ReaderLag.Record(Math.Max(0, (time.GetUtcNow() - m.ReceivedAt).TotalSeconds));
                    }
                    switch (outcome)
                    {
                        case Outcome.Replied: replies++; break;
                        case Outcome.Bounced: bounces++; break;
                        case Outcome.AutoReply: autos++; break;
                        case Outcome.Unmatched: unmatched++; break;
                    }
                    _done.TryAdd(m.Id, 0);
                }
                if (m.ReceivedAt > readUntil)
                {
                    readUntil = m.ReceivedAt;
                }
            }
            if (page.NextLink is null || budget <= 0)
            {
                break;
            }
            if (moved)
            {
                // Graph pages the Inbox by position ($skip): with messages moved out, the next page would skip as many.
                // List again from the last one handled instead (the ones handled are remembered).
                (since, next) = (readUntil, null);
                continue;
            }
            next = page.NextLink;
        }
        await store.SetInboxWatermarkAsync(mailbox, readUntil, cancellationToken).ConfigureAwait(false);
        // the open panes show the new counts now, not at their next reload: a finished mailing's streams have stopped
        // following it, so its owner's streams are told to read their finished mailings again
        foreach (var owner in index.ChangedMailings.Select(id => index.Mailing(id).Owner).Distinct(StringComparer.Ordinal))
        {
            await changes.AnnounceOwnerAsync(owner, cancellationToken).ConfigureAwait(false);
        }
        await WriteFollowUpsAsync(index, cancellationToken).ConfigureAwait(false);
        return new ScanResult(replies, bounces, autos, unmatched);
    }

    private enum Outcome { Ignored, Replied, Bounced, AutoReply, Unmatched }

    /// <summary>One Graph request in a concurrency slot of the mailbox's limiter, shared with the senders (4 per mailbox):
    /// waits for a free slot a little; a Retry-After or a mailbox busy for long ends this mailbox's pass.</summary>
    private async Task<T> PacedAsync<T>(string mailbox, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var limits = sending.Value.Limits;
        var giveUpAt = time.GetUtcNow() + TimeSpan.FromSeconds(30);
        while (true)
        {
            var slot = await limiter.TryAcquireReadAsync(mailbox, limits, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if (slot.Granted)
            {
                try
                {
                    return await call().ConfigureAwait(false);
                }
                finally
                {
                    await limiter.ReleaseAsync(mailbox, slot.Token!, CancellationToken.None).ConfigureAwait(false);
                }
            }
            if (slot.Reason == LimitReason.Throttled || time.GetUtcNow() + slot.Wait > giveUpAt)
            {
                throw new GraphSendException(GraphFailureKind.Transient, "MailboxBusy", "The mailbox's requests are in use or held by Retry-After; it is read at the next pass.", null, false);
            }
            await Task.Delay(slot.Wait, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(Outcome Outcome, int Requests, bool Moved)> HandleAsync(string mailbox, MailboxIndex index, InboxMessage m, CancellationToken cancellationToken)
    {
        if (m.MessageClass.StartsWith("REPORT.", StringComparison.OrdinalIgnoreCase))
        {
            if (!B.Enabled)
            {
                return (Outcome.Ignored, 0, false);
            }
            // read receipts are not delivery reports
            if (m.MessageClass.EndsWith(".IPNRN", StringComparison.OrdinalIgnoreCase) || m.MessageClass.EndsWith(".IPNNRN", StringComparison.OrdinalIgnoreCase))
            {
                return (Outcome.Ignored, 0, false);
            }
            var requests = 1;
            using var stream = new MemoryStream(await PacedAsync(mailbox, () => mail.MimeAsync(mailbox, m.Id, cancellationToken), cancellationToken).ConfigureAwait(false));
            var ndr = NdrParser.Parse(stream, cancellationToken);
            if (!ndr.IsFailure)
            {
                return (Outcome.Ignored, requests, false); // delayed (4.4.7) or delivered: Exchange goes on trying
            }
            if (index.MatchBounce(ndr, m.ReceivedAt) is not { } key)
            {
                Log.NdrUnmatched(logger, ndr.DeliveryId is not null, ndr.OriginalMessageId is not null);
                return (Outcome.Unmatched, requests, false);
            }
            var bounced = await ApplyBounceAsync(index, key, ndr, m, cancellationToken).ConfigureAwait(false);
            var movedOut = false;
            if (B.MoveToFolder)
            {
                // moved even when the bounce was applied before (a pass that stopped before the move)
                if (!_folders.TryGetValue(mailbox, out var folder))
                {
                    folder = await PacedAsync(mailbox, () => mail.EnsureFolderAsync(mailbox, B.Folder, cancellationToken), cancellationToken).ConfigureAwait(false);
                    _folders[mailbox] = folder;
                    requests += B.Folder.Split('/').Length * 2;
                }
                await PacedAsync(mailbox, async () => { await mail.MoveAsync(mailbox, m.Id, folder, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
                requests++;
                movedOut = true;
            }
            return (bounced ? Outcome.Bounced : Outcome.Ignored, requests, movedOut);
        }
        if (!R.Enabled)
        {
            return (Outcome.Ignored, 0, false);
        }
        if (AutoReplies.Is(m))
        {
            return (Outcome.AutoReply, 0, false);
        }
        if (index.MatchReply(m) is not { } reply)
        {
            return (Outcome.Ignored, 0, false);
        }
        var delivery = await store.GetDeliveryAsync(reply.MailingId, reply.Seq, cancellationToken).ConfigureAwait(false);
        if (delivery is not { RepliedAt: null, SentAt: { } sentAt } || m.ReceivedAt < sentAt - Overlap)
        {
            return (Outcome.Ignored, 0, false);
        }
        var marked = await store.MarkRepliedAsync(reply.MailingId, delivery with { RepliedAt = m.ReceivedAt }, cancellationToken).ConfigureAwait(false);
        if (marked)
        {
            index.Changed(reply.MailingId, delivery.Seq);
        }
        return (marked ? Outcome.Replied : Outcome.Ignored, 0, false);
    }

    private async Task<bool> ApplyBounceAsync(MailboxIndex index, DeliveryKey key, NonDelivery ndr, InboxMessage m, CancellationToken cancellationToken)
    {
        var delivery = await store.GetDeliveryAsync(key.MailingId, key.Seq, cancellationToken).ConfigureAwait(false);
        if (delivery is not { Status: DeliveryStatus.Sent })
        {
            return false;
        }
        var kind = ndr.Class.Kind;
        await store.UpdateDeliveryAsync(key.MailingId, delivery with
        {
            Status = DeliveryStatus.Bounced,
            BouncedAt = m.ReceivedAt,
            BounceReason = ndr.Reason.Length > 0 ? ndr.Reason : "Non-delivery report",
            BounceKind = kind,
        }, cancellationToken).ConfigureAwait(false);
        index.Changed(key.MailingId, key.Seq);
        if (B.SuppressHard && kind == BounceKind.Hard && SuppressionAddress.Normalize(delivery.Address) is { } address)
        {
            // nobody in the tenant mails the dead address again (an address already on the list stays as it is)
            var reason = ndr.Reason.Length > 200 ? ndr.Reason[..200] : ndr.Reason;
            await suppressions.AddAsync(index.Mailing(key.MailingId).Spec.Tenant, address, reason, "bounce", key.MailingId, SuppressionCode.HardBounce,
                cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    // ---------------------------------------------------------------- HRBC writes after replies and bounces

    /// <summary>The phase and activity of each new reply (when the mailing asks for them) and the activity of each bounce
    /// (<c>Bounces:LogActivity</c>), batched per mailing; what succeeded is recorded on the delivery, so each is written once.</summary>
    private async Task WriteFollowUpsAsync(MailboxIndex index, CancellationToken cancellationToken)
    {
        // HRBC clients are typed HttpClients: resolved per pass, never held by this singleton (nor at host start, when
        // the demo host's self-hosted HRBC address is not known yet).
        await using var scope = scopes.CreateAsyncScope();
        var hrbc = scope.ServiceProvider.GetRequiredService<HrbcClient>();
        var phases = scope.ServiceProvider.GetRequiredService<HrbcPhaseWriter>();
        foreach (var mailing in index.Mailings)
        {
            var onReply = mailing.Spec.OnReply;
            var due = new List<Delivery>();
            foreach (var seq in index.Candidates(mailing.Id))
            {
                if (await store.GetDeliveryAsync(mailing.Id, seq, cancellationToken).ConfigureAwait(false) is { } d && Due(mailing, d))
                {
                    due.Add(d);
                }
            }
            foreach (var batch in due.Chunk(HrbcClient.MaxItemsPerRequest))
            {
                await WriteBatchAsync(hrbc, phases, mailing, onReply, batch, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private bool Due(Mailing mailing, Delivery d)
    {
        var f = d.InboxFollowUp ?? InboxFollowUp.None;
        if (f.Attempts >= R.MaxFollowUpAttempts)
        {
            return false;
        }
        var reply = mailing.Spec.OnReply;
        return (d.RepliedAt is not null && reply is not null && ((reply.PhaseAlias is not null && !f.ReplyPhase) || (reply.LogActivity && !f.ReplyActivity)))
            || (d.Status == DeliveryStatus.Bounced && d.BounceKind is not null && B.LogActivity && !f.BounceActivity);
    }

    private async Task WriteBatchAsync(HrbcClient hrbc, HrbcPhaseWriter phases, Mailing mailing, ReplyActions? onReply, IReadOnlyList<Delivery> batch, CancellationToken cancellationToken)
    {
        var shape = ModeShape.Of(mailing.Spec.Mode);
        var progress = batch.ToDictionary(d => d.Seq, d => d.InboxFollowUp ?? InboxFollowUp.None);
        var failed = new HashSet<int>();
        var processOf = new Dictionary<int, long?>();
        if (onReply?.PhaseAlias is { } alias)
        {
            var todo = batch.Where(d => d.RepliedAt is not null && !progress[d.Seq].ReplyPhase).ToList();
            try
            {
                await WriteReplyPhasesAsync(phases, shape, alias, todo, progress, failed, processOf, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (HrbcTransience.IsFailure(e))
            {
                Log.WriteFailed(logger, mailing.Id, "reply phase", (e as HrbcException)?.Code ?? 0, LogSafe.Of(e));
                failed.UnionWith(todo.Select(d => d.Seq));
            }
        }
        var entries = new List<(Delivery D, bool Reply, HrbcActivityEntry Entry)>();
        foreach (var d in batch.Where(d => !failed.Contains(d.Seq)))
        {
            var (resource, id) = shape.ActivityOn(d.RecordId, d.ResumeId, processOf.GetValueOrDefault(d.Seq));
            var deliveryId = Delivery.IdOf(mailing.Id, d.Seq);
            if (onReply?.LogActivity == true && d.RepliedAt is { } repliedAt && !progress[d.Seq].ReplyActivity)
            {
                entries.Add((d, true, new HrbcActivityEntry(resource.Value, id, $"BulkMail: reply to \"{Short(mailing.Spec.Subject)}\"",
                    $"BulkMail: {d.Address} replied to mailing {mailing.Id}, delivery {deliveryId}.", repliedAt, $"[BulkMail reply {deliveryId}]")));
            }
            if (B.LogActivity && d.Status == DeliveryStatus.Bounced && d.BounceKind is { } kind && !progress[d.Seq].BounceActivity)
            {
                entries.Add((d, false, new HrbcActivityEntry(resource.Value, id, $"BulkMail: bounced ({kind})",
                    $"BulkMail: the mail to {d.Address} bounced ({d.BounceReason}); mailing {mailing.Id}, delivery {deliveryId}.",
                    d.BouncedAt ?? time.GetUtcNow(), $"[BulkMail bounce {deliveryId}]")));
            }
        }
        if (entries.Count > 0)
        {
            try
            {
                // an earlier attempt may have written some (its answer lost): looked up by marker first
                var results = await hrbc.CreateActivitiesAsync([.. entries.Select(e => e.Entry)], cancellationToken,
                    lookFirst: entries.Any(e => progress[e.D.Seq].Attempts > 0)).ConfigureAwait(false);
                foreach (var r in results)
                {
                    var (d, reply, _) = entries[r.Index];
                    if (r.Succeeded || !HrbcTransience.IsTransient(r.Code))
                    {
                        // a refusal is final too: it is not tried again (the outcome is in the log, not the delivery)
                        progress[d.Seq] = reply ? progress[d.Seq] with { ReplyActivity = true } : progress[d.Seq] with { BounceActivity = true };
                        if (!r.Succeeded)
                        {
                            Log.ActivityRefused(logger, mailing.Id, d.Seq, r.Code);
                        }
                    }
                    else
                    {
                        failed.Add(d.Seq);
                    }
                }
            }
            catch (Exception e) when (HrbcTransience.IsFailure(e))
            {
                Log.WriteFailed(logger, mailing.Id, "activity", (e as HrbcException)?.Code ?? 0, LogSafe.Of(e));
                failed.UnionWith(entries.Select(x => x.D.Seq));
            }
        }
        foreach (var d in batch)
        {
            var p = progress[d.Seq];
            if (failed.Contains(d.Seq))
            {
                p = p with { Attempts = p.Attempts + 1 };
            }
            if (p != (d.InboxFollowUp ?? InboxFollowUp.None))
            {
                // the current delivery (a reply or bounce may have been marked since it was read), with the progress
                var current = await store.GetDeliveryAsync(mailing.Id, d.Seq, cancellationToken).ConfigureAwait(false) ?? d;
                await store.UpdateDeliveryAsync(mailing.Id, current with { InboxFollowUp = p }, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteReplyPhasesAsync(HrbcPhaseWriter phases, ModeShape shape, string alias, IReadOnlyList<Delivery> todo, Dictionary<int, InboxFollowUp> progress,
        HashSet<int> failed, Dictionary<int, long?> processOf, CancellationToken cancellationToken)
    {
        if (todo.Count == 0)
        {
            return;
        }
        if (shape.IsMatching)
        {
            var groups = todo.Where(d => d.JobId is not null && d.ResumeId is not null).GroupBy(d => (Job: d.JobId!.Value, Resume: d.ResumeId!.Value)).ToList();
            if (groups.Count == 0)
            {
                return;
            }
            var results = await phases.SetProcessPhasesAsync([.. groups.Select(g => new HrbcProcessPhaseChange(g.Key.Job, g.Key.Resume, alias,
                g.Min(d => d.RepliedAt!.Value), null))], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < groups.Count; i++)
            {
                foreach (var d in groups[i])
                {
                    Record(d, results[i].Succeeded, results[i].Code, results[i].ProcessId);
                }
            }
            return;
        }
        var byRecord = todo.GroupBy(d => d.RecordId).ToList();
        var written = await phases.SetPhasesAsync(shape.PhaseResource, [.. byRecord.Select(g => new HrbcPhaseChange(g.Key, alias,
            g.Min(d => d.RepliedAt!.Value), null))], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < byRecord.Count; i++)
        {
            foreach (var d in byRecord[i])
            {
                Record(d, written[i].Succeeded, written[i].Code, null);
            }
        }

        void Record(Delivery d, bool succeeded, int code, long? processId)
        {
            if (succeeded || !HrbcTransience.IsTransient(code))
            {
                progress[d.Seq] = progress[d.Seq] with { ReplyPhase = true };
                processOf[d.Seq] = processId;
            }
            else
            {
                failed.Add(d.Seq);
            }
        }
    }

    private static string Short(string subject) => subject.Length > 60 ? subject[..60] + "…" : subject;

    private static partial class Log
    {
        [LoggerMessage(70, LogLevel.Warning, "Inbox scan failed; it runs again at the next interval")]
        public static partial void ScanFailed(ILogger logger, Exception exception);

        [LoggerMessage(71, LogLevel.Warning, "Reading a mailbox's Inbox failed with {Code}; it is read again at the next interval")]
        public static partial void MailboxScanFailed(ILogger logger, string code, Exception exception);

        [LoggerMessage(72, LogLevel.Information, "Inbox scan: {Replies} replies and {Bounces} bounces marked, {AutoReplies} automatic replies ignored")]
        public static partial void Marked(ILogger logger, int replies, int bounces, int autoReplies);

        [LoggerMessage(73, LogLevel.Information, "An NDR matched no delivery (delivery header: {HasHeader}, original Message-ID: {HasMessageId})")]
        public static partial void NdrUnmatched(ILogger logger, bool hasHeader, bool hasMessageId);

        [LoggerMessage(74, LogLevel.Warning, "Mailing {MailingId}: {What} write to HRBC after a reply or bounce failed (code {Code}); it is retried at the next scan")]
        public static partial void WriteFailed(ILogger logger, string mailingId, string what, int code, Exception exception);

        [LoggerMessage(75, LogLevel.Warning, "Mailing {MailingId}: HRBC refused the activity of delivery {Seq} (code {Code})")]
        public static partial void ActivityRefused(ILogger logger, string mailingId, int seq, int code);
    }
}

public readonly record struct DeliveryKey(string MailingId, int Seq);

/// <summary>
/// The watched mailings of one mailbox, indexed for matching: by delivery id, by the sent copy's Message-ID and
/// conversation, and by address (for an NDR without the original's headers: the one delivery to that address sent before
/// the NDR within the watched mailings, if there is exactly one).
/// </summary>
internal sealed class MailboxIndex
{
    private readonly Dictionary<string, Mailing> _mailings = [];
    private readonly Dictionary<string, DeliveryKey> _byMessageId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeliveryKey> _byConversation = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(DeliveryKey Key, DateTimeOffset SentAt)>> _byAddress = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, HashSet<int>> _candidates = [];
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);

    public IEnumerable<Mailing> Mailings => _mailings.Values;

    public Mailing Mailing(string id) => _mailings[id];

    public static async Task<MailboxIndex> BuildAsync(IMailingStore store, IReadOnlyList<Mailing> mailings, CancellationToken cancellationToken)
    {
        var index = new MailboxIndex();
        foreach (var m in mailings)
        {
            index._mailings[m.Id] = m;
            var candidates = index._candidates[m.Id] = [];
            await foreach (var d in store.ReadDeliveriesAsync(m.Id, cancellationToken).ConfigureAwait(false))
            {
                if (d.SentAt is not { } sentAt)
                {
                    continue;
                }
                var key = new DeliveryKey(m.Id, d.Seq);
                if (MessageIds.Normalize(d.InternetMessageId) is { } mid)
                {
                    index._byMessageId[mid] = key;
                }
                if (d.ConversationId is { Length: > 0 } conversation)
                {
                    index._byConversation[conversation] = key;
                }
                if (d.Address is { } address)
                {
                    if (!index._byAddress.TryGetValue(address, out var list))
                    {
                        index._byAddress[address] = list = [];
                    }
                    list.Add((key, sentAt));
                }
                if (d.RepliedAt is not null || d.Status == DeliveryStatus.Bounced)
                {
                    candidates.Add(d.Seq); // may have HRBC writes left
                }
            }
        }
        return index;
    }

    public void Changed(string mailingId, int seq)
    {
        _candidates[mailingId].Add(seq);
        _changed.Add(mailingId);
    }

    /// <summary>The mailings with a reply or a bounce marked in this pass.</summary>
    public IReadOnlyCollection<string> ChangedMailings => _changed;

    public IEnumerable<int> Candidates(string mailingId) => _candidates[mailingId];

    /// <summary>By our header, else the original's Message-ID, else (no original headers) the recipient if unambiguous.</summary>
    public DeliveryKey? MatchBounce(NonDelivery ndr, DateTimeOffset receivedAt)
    {
        if (NdrParser.SplitDeliveryId(ndr.DeliveryId) is { } split)
        {
            return _mailings.ContainsKey(split.MailingId) ? new DeliveryKey(split.MailingId, split.Seq) : null;
        }
        if (ndr.OriginalMessageId is { } mid)
        {
            return _byMessageId.TryGetValue(mid, out var byId) ? byId : null;
        }
        if (ndr.Recipient is { } rcpt && _byAddress.TryGetValue(rcpt, out var sent))
        {
            var before = sent.Where(s => s.SentAt <= receivedAt + TimeSpan.FromMinutes(1)).ToList();
            return before.Count == 1 ? before[0].Key : null;
        }
        return null;
    }

    /// <summary>By <c>In-Reply-To</c>/<c>References</c> against the sent copies' Message-IDs, else by conversation.</summary>
    public DeliveryKey? MatchReply(InboxMessage m)
    {
        foreach (var id in MessageIds.All(m.Header("In-Reply-To")).Concat(MessageIds.All(m.Header("References"))))
        {
            if (_byMessageId.TryGetValue(id, out var key))
            {
                return key;
            }
        }
        return m.ConversationId is { Length: > 0 } c && _byConversation.TryGetValue(c, out var byConversation) ? byConversation : null;
    }
}
