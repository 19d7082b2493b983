using System.Globalization;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>The <c>FollowUps</c> section: how HRBC phase updates and activities are written after sending.</summary>
public sealed class FollowUpOptions
{
    public const string Section = "FollowUps";

    /// <summary>While a mailing sends, sent deliveries are collected this long and written together (≤ 200 per request).</summary>
    public TimeSpan BatchInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per delivery before its follow-up is recorded as failed.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First wait before a failed write is tried again; doubles each attempt, at most 5 minutes.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Writes what HRBC should know after a delivery was sent (docs/architecture.md, Follow-ups; docs/hrbc.md, phase rules): the phase — the Process of resume ×
/// job (created if missing) in the matching modes, the Resume's or Recruiter's phase otherwise, dated at the send time —
/// and optionally one Activity per mail. Batched up to 200 items per HRBC write; a failed write is retried with
/// backoff and finally recorded in the delivery's <c>PhaseUpdate</c>. Nothing here can make a mail go out again:
/// these deliveries are already Sent in the store.
/// </summary>
public sealed partial class FollowUpRunner(IMailingStore store, HrbcClient hrbc, HrbcPhaseWriter phases, IOptions<FollowUpOptions> options, TimeProvider time,
    WorkerToken worker, BulkMailTelemetry telemetry, ILogger<FollowUpRunner> logger)
{
    public const int BatchSize = HrbcClient.MaxItemsPerRequest;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);
    // The instance's: a mailing's next tick on this instance keeps the lease its last one took.
    private readonly string _token = worker.Value;
    private FollowUpOptions O => options.Value;

    /// <summary>Writes follow-ups until none is pending and <paramref name="sending"/> has finished (no more can come).</summary>
    public async Task RunAsync(Mailing mailing, MailingPlan plan, Task sending, CancellationToken cancellationToken)
    {
        // A held or scheduled mailing has sent nothing: taking the lease now would lock out the run that starts it
        // (the lease outlives this runner) and strand its follow-ups for the lease's two minutes.
        if (!mailing.Spec.HasFollowUps || mailing.State is MailingState.Preparing or MailingState.Ready or MailingState.Scheduled)
        {
            return;
        }
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!sending.IsCompleted)
            {
                // Let sent deliveries gather so that one HRBC request carries many.
                await Task.WhenAny(sending, Task.Delay(O.BatchInterval, time, cancellationToken)).ConfigureAwait(false);
            }
            if (!await store.TryLeaseFollowUpsAsync(mailing.Id, _token, Lease, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                if (sending.IsCompleted)
                {
                    return; // another worker holds them
                }
                continue;
            }
            var due = await store.DueFollowUpsAsync(mailing.Id, BatchSize, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if (due.Count > 0)
            {
                var outcomes = await WriteAsync(mailing, plan, due, cancellationToken).ConfigureAwait(false);
                if (!await store.RecordFollowUpsAsync(mailing.Id, _token, outcomes, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
                {
                    Log.LeaseLost(logger, mailing.Id);
                }
                continue;
            }
            var next = await store.NextFollowUpAtAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
            if (next is null && sending.IsCompleted)
            {
                return;
            }
            if (next is { } at && sending.IsCompleted)
            {
                var wait = at - time.GetUtcNow();
                if (wait > TimeSpan.FromSeconds(1))
                {
                    return; // a retry later on: the mailing is due again then (the worker's due index), nobody waits here
                }
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(10), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One batch: the phase writes, then the activities; an outcome per delivery.</summary>
    public async Task<IReadOnlyList<FollowUpOutcome>> WriteAsync(Mailing mailing, MailingPlan plan, IReadOnlyList<Delivery> batch, CancellationToken cancellationToken)
    {
        using var span = telemetry.Source.StartActivity("bulkmail.followups.batch");
        span?.SetTag("bulkmail.mailing.id", mailing.Id);
        span?.SetTag("bulkmail.followups.count", batch.Count);
        var spec = mailing.Spec;
        var notes = batch.ToDictionary(d => d.Seq, _ => new List<CodedText>());
        // What is written, carried from earlier attempts and added to below.
        var progress = batch.ToDictionary(d => d.Seq, d => d.FollowUp ?? FollowUpProgress.None);
        var retry = new HashSet<int>();
        var failedAt = new Dictionary<int, (string Step, string Error)>();

        if (spec.PhaseAlias is { } alias)
        {
            try
            {
                await WritePhasesAsync(spec, plan, alias, batch, notes, progress, retry, failedAt, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (HrbcTransience.IsFailure(e))
            {
                Log.WriteFailed(logger, mailing.Id, "phase", (e as HrbcException)?.Code ?? 0, LogSafe.Of(e));
                foreach (var d in batch)
                {
                    retry.Add(d.Seq);
                    failedAt[d.Seq] = ("phase", Describe(e));
                }
            }
        }
        if (spec.LogActivity)
        {
            // Deliveries whose phase write is to be retried get their activity with the retry, not twice.
            var ready = batch.Where(d => !retry.Contains(d.Seq) && !progress[d.Seq].Activity).ToList();
            try
            {
                if (ready.Count > 0)
                {
                    var entries = ready.Select(d => ActivityOf(mailing, plan, d, progress[d.Seq].ProcessId, time.GetUtcNow())).ToList();
                    // A delivery tried before may have its Activity already (an answer lost, then the look failed too).
                    var results = await hrbc.CreateActivitiesAsync(entries, cancellationToken, lookFirst: ready.Any(d => d.FollowUpAttempts > 0)).ConfigureAwait(false);
                    foreach (var r in results)
                    {
                        var d = ready[r.Index];
                        if (r.Succeeded)
                        {
                            notes[d.Seq].Add(CodedText.Of(PhaseUpdateCode.ActivityLogged, ("activityId", r.Id)));
                            progress[d.Seq] = progress[d.Seq] with { Activity = true };
                        }
                        else if (HrbcTransience.IsTransient(r.Code))
                        {
                            retry.Add(d.Seq);
                            failedAt[d.Seq] = ("activity", $"HRBC code {r.Code} {r.Message}");
                        }
                        else
                        {
                            notes[d.Seq].Add(CodedText.Of(PhaseUpdateCode.ActivityFailed, ("hrbcCode", r.Code), ("hrbcMessage", r.Message)));
                        }
                    }
                }
            }
            catch (Exception e) when (HrbcTransience.IsFailure(e))
            {
                Log.WriteFailed(logger, mailing.Id, "activity", (e as HrbcException)?.Code ?? 0, LogSafe.Of(e));
                foreach (var d in ready)
                {
                    retry.Add(d.Seq);
                    failedAt[d.Seq] = ("activity", Describe(e));
                }
            }
        }

        var now = time.GetUtcNow();
        var outcomes = new List<FollowUpOutcome>();
        foreach (var d in batch)
        {
            var done = notes[d.Seq];
            if (retry.Contains(d.Seq))
            {
                var attempts = d.FollowUpAttempts + 1;
                var (step, error) = failedAt.GetValueOrDefault(d.Seq, ("phase", "HRBC did not answer"));
                if (attempts < O.MaxAttempts)
                {
                    var delay = O.RetryBaseDelay * Math.Pow(2, attempts - 1);
                    delay = delay > TimeSpan.FromMinutes(5) ? TimeSpan.FromMinutes(5) : delay;
                    // Keep what already succeeded (e.g. the phase) so the retry does not repeat it.
                    outcomes.Add(Outcome(d, CodedText.Of(PhaseUpdateCode.Retrying, ("attempt", attempts), ("step", step), ("error", error)), done, attempts, now + delay, progress[d.Seq]));
                }
                else
                {
                    outcomes.Add(Outcome(d, CodedText.Of(PhaseUpdateCode.GaveUp, ("attempts", attempts), ("step", step), ("error", error)), done, attempts, null, progress[d.Seq]));
                }
            }
            else
            {
                outcomes.Add(Outcome(d, null, done, d.FollowUpAttempts, null, progress[d.Seq]));
            }
        }
        return outcomes;
    }

    private async Task WritePhasesAsync(MailingSpec spec, MailingPlan plan, string alias, IReadOnlyList<Delivery> batch,
        Dictionary<int, List<CodedText>> notes, Dictionary<int, FollowUpProgress> progress, HashSet<int> retry, Dictionary<int, (string Step, string Error)> failedAt,
        CancellationToken cancellationToken)
    {
        var name = spec.PhaseName ?? alias;
        // A delivery whose phase is already written (an earlier attempt failed only on the activity) is not written again.
        var todo = batch.Where(d => progress[d.Seq].Phase is null).ToList();
        foreach (var d in batch.Where(d => progress[d.Seq].Phase is not null))
        {
            // the note as written then (its English is not stored with the code)
            notes[d.Seq].Add((progress[d.Seq].PhaseCode ?? new CodedText("", new Dictionary<string, string>())) with { English = progress[d.Seq].Phase! });
        }
        if (plan.Shape.IsMatching)
        {
            // Two mail fields of one resume are one process: written once, the outcome shared.
            var groups = todo.Where(d => d.JobId is not null && d.ResumeId is not null)
                .GroupBy(d => (Job: d.JobId!.Value, Resume: d.ResumeId!.Value)).ToList();
            if (groups.Count == 0)
            {
                return;
            }
            var changes = groups.Select(g => new HrbcProcessPhaseChange(g.Key.Job, g.Key.Resume, alias,
                g.Min(d => d.SentAt ?? time.GetUtcNow()), spec.PhaseMemo)).ToList();
            var results = await phases.SetProcessPhasesAsync(changes, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < groups.Count; i++)
            {
                var r = results[i];
                foreach (var d in groups[i])
                {
                    if (r.Succeeded)
                    {
                        var note = CodedText.Of(r.Created ? PhaseUpdateCode.ProcessCreated : PhaseUpdateCode.ProcessUpdated,
                            ("processId", r.ProcessId), ("phase", name), ("date", Date(r.PhaseDate)));
                        notes[d.Seq].Add(note);
                        progress[d.Seq] = progress[d.Seq] with { Phase = note.English, PhaseCode = note, ProcessId = r.ProcessId };
                    }
                    else if (HrbcTransience.IsTransient(r.Code))
                    {
                        retry.Add(d.Seq);
                        failedAt[d.Seq] = ("phase", $"HRBC code {r.Code} {r.Message}");
                    }
                    else
                    {
                        notes[d.Seq].Add(CodedText.Of(PhaseUpdateCode.PhaseFailed, ("hrbcCode", r.Code), ("hrbcMessage", r.Message)));
                    }
                }
            }
            return;
        }
        var resource = plan.Shape.PhaseResource;
        var byRecord = todo.GroupBy(d => d.RecordId).ToList();
        if (byRecord.Count == 0)
        {
            return;
        }
        var phaseResults = await phases.SetPhasesAsync(resource, [.. byRecord.Select(g => new HrbcPhaseChange(g.Key, alias,
            g.Min(d => d.SentAt ?? time.GetUtcNow()), spec.PhaseMemo))], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < byRecord.Count; i++)
        {
            var r = phaseResults[i];
            foreach (var d in byRecord[i])
            {
                if (r.Succeeded)
                {
                    var note = CodedText.Of(PhaseUpdateCode.PhaseUpdated, ("resource", resource.Name), ("phase", name), ("date", Date(r.PhaseDate)));
                    notes[d.Seq].Add(note);
                    progress[d.Seq] = progress[d.Seq] with { Phase = note.English, PhaseCode = note };
                }
                else if (HrbcTransience.IsTransient(r.Code))
                {
                    retry.Add(d.Seq);
                    failedAt[d.Seq] = ("phase", $"HRBC code {r.Code} {r.Message}");
                }
                else
                {
                    notes[d.Seq].Add(CodedText.Of(PhaseUpdateCode.PhaseFailed, ("hrbcCode", r.Code), ("hrbcMessage", r.Message)));
                }
            }
        }
    }

    private static HrbcActivityEntry ActivityOf(Mailing mailing, MailingPlan plan, Delivery d, long? processId, DateTimeOffset now)
    {
        var subject = plan.Template.Render(d.Values).Subject;
        var (resource, id) = plan.Shape.ActivityOn(d.RecordId, d.ResumeId, processId);
        var memo = $"BulkMail: sent to {d.Address} ({d.MailField}) from {mailing.Mailbox}; mailing {mailing.Id}, delivery {Delivery.IdOf(mailing.Id, d.Seq)}.";
        // The marker finds this Activity again if HRBC's answer to its write is lost (it is then never written twice).
        return new HrbcActivityEntry(resource.Value, id, subject.Length > 200 ? subject[..200] : subject, memo, d.SentAt ?? now,
            $"[BulkMail {Delivery.IdOf(mailing.Id, d.Seq)}]");
    }

    /// <summary>The outcome's parts: the retry or failure (if any) first, then what is written; with nothing to say,
    /// the previous outcome stays.</summary>
    private static FollowUpOutcome Outcome(Delivery d, CodedText? head, List<CodedText> done, int attempts, DateTimeOffset? retryAt, FollowUpProgress progress)
    {
        var parts = new List<CodedText>();
        if (head is not null)
        {
            parts.Add(head);
        }
        parts.AddRange(done);
        return parts.Count == 0
            ? new FollowUpOutcome(d.Seq, d.PhaseUpdate ?? "", attempts, retryAt, progress) { Codes = d.PhaseUpdateCodes ?? [] }
            : new FollowUpOutcome(d.Seq, string.Join("; ", parts.Select(p => p.English)), attempts, retryAt, progress) { Codes = parts };
    }

    private static string Date(DateTimeOffset? at) => at?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "";

    private static string Describe(Exception e) => e is HrbcException h ? $"HRBC code {h.Code}: {h.Message}" : e.GetType().Name;

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Warning, "Mailing {MailingId}: {What} write to HRBC failed (code {Code}); it is retried")]
        public static partial void WriteFailed(ILogger logger, string mailingId, string what, int code, Exception exception);

        [LoggerMessage(61, LogLevel.Warning, "Mailing {MailingId}: follow-up lease lost; another worker continues")]
        public static partial void LeaseLost(ILogger logger, string mailingId);
    }
}
