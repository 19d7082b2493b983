using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;
using BulkMail.Api.Modes;
using BulkMail.Api.Auth;
using BulkMail.Api.Mailings.Scheduling;

namespace BulkMail.Api.Mailings;

/// <summary>The status object (docs/architecture.md, Mailing engine: Status), plus cancelled, subject, why it waits or is paused (codes
/// beside the English sentences), and the exact figures of an expanded mailing (the hold flow's confirmation).</summary>
public sealed record MailingStatus(
    string Id, MailingMode Mode, MailingState State, int Total, int Sent, int Failed, int Skipped, int Bounced, int Pending,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, int? EtaSeconds, string? PausedReason,
    int Cancelled, string Subject, string? WaitReason, DateTimeOffset? ResumesAt)
{
    /// <summary>Sent mail whose HRBC phase update or activity is still being written; the mailing completes after them.</summary>
    public int FollowUpsPending { get; init; }
    public long? AnchorId { get; init; }
    /// <summary>Deliveries to send (every delivery that is not skipped): what <see cref="Decided"/> is shown against.</summary>
    public int Messages { get; init; }
    /// <summary>Deliveries with an outcome: sent + failed + bounced (skips are shown apart).</summary>
    public int Decided { get; init; }
    /// <summary>Skipped deliveries per reason code (<see cref="ReasonCodes"/>).</summary>
    public IReadOnlyDictionary<string, int> SkippedByReason { get; init; } = new Dictionary<string, int>();
    /// <summary>HRBC records whose phase will be set (0 without a phase).</summary>
    public int PhaseUpdates { get; init; }
    /// <summary>What each message carries (the zip when zipped).</summary>
    public IReadOnlyList<AttachmentInfo> Attachments { get; init; } = [];
    public bool Zipped { get; init; }
    /// <summary>Seconds until the last message is sent, from now (Ready, Queued, Sending), with this mailbox's pace, the
    /// mailings ahead of it and the daily quota.</summary>
    public int? EstimatedSeconds { get; init; }
    public DateTimeOffset? FinishesAt { get; init; }
    /// <summary>Recipients the mailbox may still send to in its 24-hour window once this mailing is sent.</summary>
    public int? QuotaLeftAfter { get; init; }
    /// <summary>Records of the scope read so far (Preparing shows progress).</summary>
    public int Counted { get; init; }
    /// <summary>Records in the scope, once known.</summary>
    public int? ScopeTotal { get; init; }
    /// <summary>Why it waits (<see cref="WaitCodes"/>), beside <see cref="WaitReason"/>; null when not waiting.</summary>
    public string? WaitCode { get; init; }
    /// <summary>The values the wait's sentence names (limit, seconds, graphCode, graphMessage, counted, total).</summary>
    public IReadOnlyDictionary<string, string>? WaitArgs { get; init; }
    /// <summary>Why it is paused (<see cref="PauseCodes"/>), beside <see cref="PausedReason"/>.</summary>
    public string? PausedCode { get; init; }
    public IReadOnlyDictionary<string, string>? PausedArgs { get; init; }
    /// <summary>Submitted with hold and not started (Preparing, Ready, or cancelled from there: the pane's "No").</summary>
    public bool Held { get; init; }
    /// <summary>The time Start asked for (null: at once).</summary>
    public DateTimeOffset? SendAt { get; init; }
    /// <summary>The sending window Start asked for (null: any time).</summary>
    public SendingWindow? Window { get; init; }
    /// <summary>Until then nothing is handed to Microsoft 365 and Undo cancels with nothing sent (null: no undo window).</summary>
    public DateTimeOffset? UndoUntil { get; init; }
}

/// <summary>A mailing's status as the API shows it: counts, figures, why it waits, and when it will be done.</summary>
public sealed class MailingStatusReader(IMailingStore store, IMailboxLimiter limiter, IOptions<SendingOptions> sending, MailingScheduler scheduler, TimeProvider time)
{
    public async Task<MailingStatus> StatusAsync(Mailing mailing, CancellationToken cancellationToken, IReadOnlyList<Mailing>? ownersMailings = null)
    {
        var counts = await store.GetCountsAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
        var figures = await store.GetFiguresAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        int? eta = null, estimate = null, quotaLeft = null;
        string? waitReason = null, waitCode = null;
        IReadOnlyDictionary<string, string>? waitArgs = null;
        DateTimeOffset? resumesAt = null;
        if (mailing.State == MailingState.Preparing)
        {
            waitCode = WaitCodes.Expanding;
            waitReason = figures.ScopeTotal is { } total
                ? $"Counting the scope: {figures.Counted:N0} of {total:N0} records read."
                : "Counting the scope.";
            waitArgs = new Dictionary<string, string> { ["counted"] = Str(figures.Counted), ["total"] = figures.ScopeTotal is { } t ? Str(t) : "" };
        }
        else if (mailing.State is MailingState.Ready or MailingState.Scheduled or MailingState.Queued or MailingState.Sending)
        {
            var o = sending.Value;
            var pace = await limiter.PaceAsync(mailing.Mailbox, o.Limits, now, cancellationToken).ConfigureAwait(false);
            var ahead = await PendingAheadAsync(mailing, ownersMailings, cancellationToken).ConfigureAwait(false);
            var (seconds, left) = SendingEstimate.Of(sending.Value, mailing, counts.Pending, ahead, pace, now);
            estimate = seconds;
            quotaLeft = left;
            if (mailing.Schedule is { } schedule && mailing.State is MailingState.Scheduled or MailingState.Queued or MailingState.Sending)
            {
                // the sending time spread over the window's openings, from when it may begin
                var open = scheduler.NextOpening(schedule, now);
                var begins = mailing.State == MailingState.Scheduled ? open?.Start : now;
                var finishes = begins is { } b ? scheduler.Finish(schedule.Window, b, TimeSpan.FromSeconds(seconds)) : null;
                estimate = finishes is { } f ? (int)Math.Ceiling(Math.Max(0, (f - now).TotalSeconds)) : null;
                if (mailing.State == MailingState.Scheduled)
                {
                    eta = estimate;
                    (waitCode, waitReason, waitArgs, resumesAt) = ScheduledWaitOf(schedule, open?.Start, now);
                }
            }
            if (mailing.State is MailingState.Queued or MailingState.Sending && counts.Pending > 0)
            {
                eta = estimate;
                (waitCode, waitReason, waitArgs, resumesAt) = mailing.OpenUntil is { } until && until <= now && mailing.Schedule is { } s
                    // the window has closed (most binding: nothing is claimed); the worker puts it back to Scheduled
                    ? ScheduledWaitOf(s, scheduler.NextOpening(s, now)?.Start, now)
                    : WaitOf(mailing, figures, pace, now);
            }
        }
        var decided = counts.Sent + counts.Failed + counts.Bounced;
        return new MailingStatus(mailing.Id, mailing.Spec.Mode, mailing.State, counts.Total, counts.Sent, counts.Failed, counts.Skipped,
            counts.Bounced, counts.Pending, mailing.CreatedAt, mailing.StartedAt,
            mailing.FinishedAt, eta, mailing.PausedReason, counts.Cancelled, mailing.Spec.Subject, waitReason, resumesAt)
        {
            FollowUpsPending = counts.FollowUpsPending,
            AnchorId = mailing.Spec.AnchorId,
            Messages = counts.Total - counts.Skipped,
            Decided = decided,
            SkippedByReason = figures.SkippedByReason,
            PhaseUpdates = figures.PhaseUpdates,
            Attachments = mailing.Spec.Attachments,
            Zipped = mailing.Spec.ZipEncryption is not null,
            EstimatedSeconds = estimate,
            // whole seconds: the status changes (and the event stream pushes) at most once a second while waiting
            FinishesAt = estimate is { } e ? DateTimeOffset.FromUnixTimeSeconds(now.AddSeconds(e).ToUnixTimeSeconds()) : null,
            QuotaLeftAfter = quotaLeft,
            Counted = figures.Counted,
            ScopeTotal = figures.ScopeTotal,
            WaitCode = waitCode,
            WaitArgs = waitArgs,
            PausedCode = mailing.State == MailingState.Paused ? mailing.PausedCode : null,
            PausedArgs = mailing.State == MailingState.Paused ? mailing.PausedArgs : null,
            Held = mailing.Held,
            SendAt = mailing.Schedule?.SendAt,
            Window = mailing.Schedule?.Window,
            UndoUntil = mailing.Schedule?.UndoUntil,
        };
    }

    /// <summary>Why a scheduled mailing waits: for its sendAt, for the end of the undo window, or for the window to open;
    /// <paramref name="begins"/> is when sending begins (or goes on).</summary>
    private static (string? Code, string? Reason, IReadOnlyDictionary<string, string>? Args, DateTimeOffset? ResumesAt) ScheduledWaitOf(
        MailingSchedule schedule, DateTimeOffset? begins, DateTimeOffset now)
    {
        var code = schedule.SendAt is { } at && at > now && !(schedule.UndoUntil is { } u0 && u0 >= at && u0 > now)
            ? WaitCode.Scheduled
            : schedule.UndoUntil is { } u && u > now ? WaitCode.UndoWindow
            // due without a window: a worker promotes it at its next poll
            : schedule.Window is null ? WaitCode.Scheduled : WaitCode.OutsideWindow;
        var when = code == WaitCode.UndoWindow ? schedule.UndoUntil : begins;
        var args = new Dictionary<string, string> { ["at"] = when is { } w ? Local(w, schedule) : "" };
        return (code.ToString(), CodedText.Of(code, [.. args.Select(a => (a.Key, (object?)a.Value))]).English, args, begins);
    }

    /// <summary>An instant as ISO 8601 for the wait's sentence: in the window's time zone, else at sendAt's offset (the
    /// user's), else UTC.</summary>
    private static string Local(DateTimeOffset t, MailingSchedule schedule) =>
        (schedule.Window is { } window ? TimeZoneInfo.ConvertTime(t, MailingScheduler.Zone(window)) : t.ToOffset(schedule.SendAt?.Offset ?? TimeSpan.Zero))
            .ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<IReadOnlyList<MailingStatus>> ListAsync(Sender user, CancellationToken cancellationToken)
    {
        var list = new List<MailingStatus>();
        var mailings = await store.ListAsync(user.Id, 100, cancellationToken).ConfigureAwait(false);
        foreach (var m in mailings)
        {
            list.Add(await StatusAsync(m, cancellationToken, mailings).ConfigureAwait(false));
        }
        return list;
    }

    /// <summary>Messages of this mailbox's other queued or sending mailings that go before this one: all of them for a
    /// Ready mailing (it starts behind them), the earlier ones for a running one. The mailbox is the owner's, so the
    /// owner's list is where they are.</summary>
    private async Task<int> PendingAheadAsync(Mailing mailing, IReadOnlyList<Mailing>? ownersMailings, CancellationToken cancellationToken)
    {
        var others = ownersMailings ?? await store.ListAsync(mailing.Owner, 100, cancellationToken).ConfigureAwait(false);
        var ahead = 0;
        foreach (var other in others)
        {
            if (other.Id != mailing.Id && other.State is MailingState.Queued or MailingState.Sending
                && string.Equals(other.Mailbox, mailing.Mailbox, StringComparison.OrdinalIgnoreCase)
                && (mailing.State is MailingState.Ready or MailingState.Scheduled || other.CreatedAt < mailing.CreatedAt))
            {
                ahead += (await store.GetCountsAsync(other.Id, cancellationToken).ConfigureAwait(false)).Pending;
            }
        }
        return ahead;
    }

    /// <summary>Why a queued or sending mailing is not sending right now, most binding first.</summary>
    private (string? Code, string? Reason, IReadOnlyDictionary<string, string>? Args, DateTimeOffset? ResumesAt) WaitOf(
        Mailing mailing, MailingFigures figures, MailboxPace pace, DateTimeOffset now)
    {
        var o = sending.Value;
        if (pace.BlockedUntil is { } blocked)
        {
            var seconds = (int)Math.Ceiling((blocked - now).TotalSeconds);
            return (WaitCodes.RetryAfter, $"Microsoft 365 asked BulkMail to wait {seconds} s before sending more (too many requests).",
                new Dictionary<string, string> { ["seconds"] = Str(seconds) }, blocked);
        }
        if (pace.Daily >= o.DailyRecipientLimit)
        {
            return (WaitCodes.DailyQuota,
                $"The daily limit of {o.DailyRecipientLimit:N0} recipients per 24 hours is reached; sending continues when earlier sends leave the window.",
                new Dictionary<string, string> { ["limit"] = Str(o.DailyRecipientLimit) }, pace.DailyFreesAt);
        }
        if (figures.LastError is { } error)
        {
            return (WaitCodes.GraphErrors, $"Microsoft 365 answered with errors ({error.GraphCode}: {error.GraphMessage}); trying again shortly.",
                new Dictionary<string, string> { ["graphCode"] = error.GraphCode, ["graphMessage"] = error.GraphMessage },
                error.RetryAt is { } r && r > now ? r : null);
        }
        var bytes = mailing.Spec.Attachments.Sum(a => a.Size);
        if (bytes > 0 && pace.UploadBytes > 0 && pace.UploadBytes + bytes > o.UploadBudgetBytes)
        {
            return (WaitCodes.UploadBudget, "The mailbox's attachment upload budget for 5 minutes is used up; sending continues as it frees up.",
                null, pace.UploadFreesAt);
        }
        if (pace.SendsInWindow >= o.MessagesPerMinute)
        {
            return (WaitCodes.PacingWindow, $"Sending at most {o.MessagesPerMinute:N0} messages per minute; the next goes out when the minute moves on.",
                null, pace.WindowFreesAt);
        }
        return (null, null, null, null);
    }

    private static string Str(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The arithmetic of the estimate: pace, the mailings ahead, Retry-After and the 24-hour quota.</summary>
public static class SendingEstimate
{
    /// <summary>
    /// Seconds from now until this mailing's last message, and the daily quota left after it. The mailbox sends
    /// <c>ahead</c> first, then <c>mine</c>, at the tighter of messages per minute and the upload budget; a Retry-After
    /// block delays everything; past the daily allowance the rest waits for the 24-hour window to move on.
    /// </summary>
    public static (int Seconds, int QuotaLeft) Of(SendingOptions o, Mailing mailing, int mine, int ahead, MailboxPace pace, DateTimeOffset now)
    {
        var perMinute = (double)o.MessagesPerMinute;
        if (mailing.Spec.Attachments.Count > 0)
        {
            // Each message re-uploads its files: Outlook's upload budget per 5 minutes may be the tighter limit.
            var bytes = Math.Max(1, mailing.Spec.Attachments.Sum(a => a.Size));
            perMinute = Math.Min(perMinute, Math.Max(1.0 / 5, Math.Floor((double)o.UploadBudgetBytes / bytes) / 5));
        }
        var wait = pace.BlockedUntil is { } blocked ? Math.Max(0, (blocked - now).TotalSeconds) : 0;
        var messages = ahead + mine;
        var seconds = wait + messages * 60.0 / perMinute;
        var limit = o.DailyRecipientLimit;
        var remaining = Math.Max(0, limit - pace.Daily);
        int quotaLeft;
        if (messages > remaining)
        {
            var beyond = messages - remaining;
            var days = (int)Math.Ceiling(beyond / (double)limit);
            var firstWait = pace.DailyFreesAt is { } t ? Math.Max(0, (t - now).TotalSeconds) : 0;
            seconds = Math.Max(seconds, wait + firstWait + (days - 1) * 86_400 + Math.Min(beyond, limit) * 60.0 / perMinute);
            quotaLeft = days * limit - beyond;
        }
        else
        {
            quotaLeft = remaining - messages;
        }
        return ((int)Math.Ceiling(seconds), Math.Max(0, quotaLeft));
    }

}
