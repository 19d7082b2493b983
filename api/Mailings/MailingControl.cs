using BulkMail.Api.Infrastructure;

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
public sealed class MailingControl(IMailingStore store, MailingSignal signal, TimeProvider time)
{
    /// <summary>Starts a held mailing (Ready → Queued); null when it is not Ready.</summary>
    public async Task<Mailing?> StartAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        var (started, changed) = await store.StartAsync(mailing.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (changed)
        {
            signal.Notify();
        }
        return changed ? started : null;
    }

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
                signal.Notify();
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
                signal.Notify();
                return n > 0 ? await store.GetAsync(mailing.Id, cancellationToken).ConfigureAwait(false) : null;
            default:
                return null;
        }
    }
}
