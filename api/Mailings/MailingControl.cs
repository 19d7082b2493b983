using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings.Scheduling;

namespace BulkMail.Api.Mailings;

/// <summary>What a user may do to a running mailing (the route's last segment).</summary>
public enum MailingAction { Pause, Resume, Cancel, RetryFailed }

public static class MailingActions
{
    /// <summary>The route's names: pause, resume, cancel, retry-failed.</summary>
    public static IReadOnlyDictionary<string, MailingAction> ByName { get; } = new Dictionary<string, MailingAction>(StringComparer.Ordinal)
    {
        ["pause"] = MailingAction.Pause,
        ["resume"] = MailingAction.Resume,
        ["cancel"] = MailingAction.Cancel,
        ["retry-failed"] = MailingAction.RetryFailed,
    };
}

/// <summary>Starts a held mailing and pauses, resumes, cancels or retries one: the state changes the user asks for.</summary>
public sealed class MailingControl(IMailingStore store, TimeProvider time)
{
    /// <summary>Starts a held mailing: Ready → Queued when it may send at once, else Ready → Scheduled by the plan (or a
    /// new schedule for a Scheduled mailing that has handed nothing over); null when that is not possible.</summary>
    public async Task<Mailing?> StartAsync(Mailing mailing, StartPlan plan, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (started, changed) = plan.Immediate && mailing.State == MailingState.Ready
            ? await store.StartAsync(mailing.Id, now, cancellationToken).ConfigureAwait(false)
            : await store.ScheduleAsync(mailing.Id, Schedule(plan, now), now, cancellationToken).ConfigureAwait(false);
        // The store woke it in the due index (every change that may give a mailing work does).
        return changed ? started : null;
    }

    /// <summary>The mailing as Start would leave it, changing nothing (a dry run), or null when Start is not possible
    /// (the rule of the store's schedule step: Ready, or Scheduled with nothing handed over).</summary>
    public async Task<Mailing?> WouldStartAsync(Mailing mailing, StartPlan plan, CancellationToken cancellationToken)
    {
        if (mailing.State is not (MailingState.Ready or MailingState.Scheduled))
        {
            return null;
        }
        if (mailing.State == MailingState.Scheduled)
        {
            var counts = await store.GetCountsAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
            if (mailing.StartedAt is not null || counts.Sent + counts.Failed + counts.Bounced > 0)
            {
                return null;
            }
        }
        var now = time.GetUtcNow();
        return plan.Immediate && mailing.State == MailingState.Ready
            ? mailing with { State = MailingState.Queued, Held = false }
            : mailing with { State = MailingState.Scheduled, Held = false, Schedule = Schedule(plan, now), OpenUntil = null };
    }

    /// <summary>Cancels with nothing sent while the undo window is open; null when it has passed or anything was handed to
    /// Microsoft 365 (the store checks both in the step that cancels, so a worker cannot claim after it).</summary>
    public async Task<Mailing?> UndoAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        var (undone, changed) = await store.UndoAsync(mailing.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return changed ? undone : null;
    }

    private static MailingSchedule Schedule(StartPlan plan, DateTimeOffset now) => plan.ScheduleAt(now, Guid.NewGuid().ToString("N"));

    /// <summary>pause, resume, cancel, retry-failed. Returns null when the action does not apply to the current state.</summary>
    public async Task<Mailing?> ControlAsync(Mailing mailing, MailingAction action, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        switch (action)
        {
            case MailingAction.Pause:
                return (await store.TransitionAsync(mailing.Id, [MailingState.Queued, MailingState.Sending], MailingState.Paused,
                    CodedText.Of(PausedCode.PausedByUser).English, now, cancellationToken, PauseCodes.PausedByUser).ConfigureAwait(false)) is ({ } m, true) ? m : null;
            case MailingAction.Resume:
                var resumed = await store.TransitionAsync(mailing.Id, [MailingState.Paused], MailingState.Sending, null, now, cancellationToken).ConfigureAwait(false);
                return resumed.Changed ? resumed.Mailing : null;
            case MailingAction.Cancel:
                var (cancelled, changed) = await store.TransitionAsync(mailing.Id,
                    [MailingState.Preparing, MailingState.Ready, MailingState.Scheduled, MailingState.Queued, MailingState.Sending, MailingState.Paused],
                    MailingState.Cancelled, null, now, cancellationToken).ConfigureAwait(false);
                if (!changed)
                {
                    return null;
                }
                await store.CancelQueuedAsync(mailing.Id, now, cancellationToken).ConfigureAwait(false);
                return await store.GetAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
            case MailingAction.RetryFailed:
                if (MailingStates.IsFinal(mailing.State) && mailing.State != MailingState.Completed)
                {
                    return null;
                }
                var n = await store.RequeueFailedAsync(mailing.Id, now, cancellationToken).ConfigureAwait(false);
                return n > 0 ? await store.GetAsync(mailing.Id, cancellationToken).ConfigureAwait(false) : null;
            default:
                return null;
        }
    }
}
