namespace BulkMail.Api.Hrbc;

/// <summary>
/// How BulkMail sets a phase in HRBC (docs/hrbc.md §4, phase rules), on top of <see cref="HrbcClient"/>'s transport: a Resume's or
/// Recruiter's phase dated so that it becomes the latest; a Job × Resume pair's selection process updated, or created
/// with its owner, client, recruiter and candidate when it does not exist (a create that lost the race becomes an update).
/// </summary>
public sealed class HrbcPhaseWriter(HrbcClient hrbc)
{
    /// <summary>
    /// Sets the phase of records of a resource that has <c>P_Phase</c> (Resume, Recruiter …). Each new phase must
    /// become the latest: when the requested date is not later than the current phase date, one second after it is used.
    /// </summary>
    public async Task<IReadOnlyList<HrbcPhaseChangeResult>> SetPhasesAsync(HrbcResource resource, IReadOnlyList<HrbcPhaseChange> changes, CancellationToken cancellationToken)
    {
        var current = new Dictionary<long, DateTimeOffset?>();
        await foreach (var r in hrbc.ReadByIdsAsync(resource, changes.Select(c => c.RecordId),
            HrbcFieldList.Of(resource.IdAlias, resource.Alias("P_PhaseDate")), cancellationToken).ConfigureAwait(false))
        {
            current[r.Id ?? 0] = r.DateTimeUtc(resource.Alias("P_PhaseDate"));
        }
        var items = new List<HrbcWriteItem>();
        var dates = new List<DateTimeOffset>();
        foreach (var c in changes)
        {
            var date = LatestPhaseDate(c.PhaseDate, current.GetValueOrDefault(c.RecordId));
            dates.Add(date);
            var item = new HrbcWriteItem(c.RecordId)
                .SetOptions(resource.Alias("P_Phase"), c.PhaseAlias)
                .Set(resource.Alias("P_PhaseDate"), date);
            if (c.Memo is not null)
            {
                item.Set(resource.Alias("P_PhaseMemo"), c.Memo);
            }
            items.Add(item);
        }
        var results = await hrbc.WriteAsync(resource, items, cancellationToken).ConfigureAwait(false);
        return [.. results.Select(r => new HrbcPhaseChangeResult(changes[r.Index].RecordId, r.Code,
            r.Message ?? (r.Succeeded ? null : HrbcException.Describe(r.Code)), r.Succeeded ? dates[r.Index] : null))];
    }

    /// <summary>
    /// Sets the selection-process phase of Job × Resume pairs: updates the process where it exists, creates it
    /// (owner, client, recruiter, job, candidate, resume) where it does not. A create answered 301 (someone
    /// created it meanwhile) is retried as an update.
    /// </summary>
    public async Task<IReadOnlyList<HrbcProcessPhaseResult>> SetProcessPhasesAsync(IReadOnlyList<HrbcProcessPhaseChange> changes, CancellationToken cancellationToken)
    {
        var existing = await FindProcessesAsync(changes, cancellationToken).ConfigureAwait(false);
        var results = new HrbcProcessPhaseResult?[changes.Count];
        var missing = changes.Select((c, i) => (c, i)).Where(x => !existing.ContainsKey((x.c.JobId, x.c.ResumeId))).ToList();

        if (missing.Count > 0)
        {
            var owner = await hrbc.GetAppUserAsync(cancellationToken).ConfigureAwait(false);
            var jobs = new Dictionary<long, HrbcRecord>();
            await foreach (var j in hrbc.ReadByIdsAsync(HrbcResource.Job, missing.Select(m => m.c.JobId),
                HrbcFieldList.Of("Job.P_Id", "Job.P_Client", "Job.P_Recruiter"), cancellationToken).ConfigureAwait(false))
            {
                jobs[j.Id ?? 0] = j;
            }
            var resumes = new Dictionary<long, HrbcRecord>();
            await foreach (var r in hrbc.ReadByIdsAsync(HrbcResource.Resume, missing.Select(m => m.c.ResumeId),
                HrbcFieldList.Of("Resume.P_Id", "Resume.P_Candidate"), cancellationToken).ConfigureAwait(false))
            {
                resumes[r.Id ?? 0] = r;
            }
            var creates = new List<(int Index, HrbcWriteItem Item, DateTimeOffset Date)>();
            foreach (var (c, i) in missing)
            {
                if (!jobs.TryGetValue(c.JobId, out var job) || !resumes.TryGetValue(c.ResumeId, out var resume))
                {
                    results[i] = new HrbcProcessPhaseResult(c.JobId, c.ResumeId, null, false, 7,
                        jobs.ContainsKey(c.JobId) ? $"Resume {c.ResumeId} does not exist." : $"Job {c.JobId} does not exist.", null);
                    continue;
                }
                var date = LatestPhaseDate(c.PhaseDate, null);
                var item = HrbcWriteItem.Create()
                    .Set("Process.P_Owner", owner.Id)
                    .Set("Process.P_Client", job.RefId("Job.P_Client") ?? 0)
                    .Set("Process.P_Recruiter", job.RefId("Job.P_Recruiter") ?? 0)
                    .Set("Process.P_Job", c.JobId)
                    .Set("Process.P_Candidate", resume.RefId("Resume.P_Candidate") ?? 0)
                    .Set("Process.P_Resume", c.ResumeId);
                AddPhase(item, c, date);
                creates.Add((i, item, date));
            }
            var written = await hrbc.WriteAsync(HrbcResource.Process, [.. creates.Select(x => x.Item)], cancellationToken).ConfigureAwait(false);
            var duplicates = new List<int>();
            foreach (var w in written)
            {
                var (index, _, date) = creates[w.Index];
                var c = changes[index];
                if (w.Code == 301)
                {
                    duplicates.Add(index);
                    continue;
                }
                results[index] = new HrbcProcessPhaseResult(c.JobId, c.ResumeId, w.Id, w.Succeeded, w.Code,
                    w.Message ?? (w.Succeeded ? null : HrbcException.Describe(w.Code)), w.Succeeded ? date : null);
            }
            if (duplicates.Count > 0)
            {
                var found = await FindProcessesAsync([.. duplicates.Select(d => changes[d])], cancellationToken).ConfigureAwait(false);
                foreach (var (key, value) in found)
                {
                    existing[key] = value;
                }
            }
        }

        var updates = new List<(int Index, HrbcWriteItem Item, DateTimeOffset Date, long ProcessId)>();
        for (var i = 0; i < changes.Count; i++)
        {
            var c = changes[i];
            if (results[i] is not null || !existing.TryGetValue((c.JobId, c.ResumeId), out var process))
            {
                continue;
            }
            var date = LatestPhaseDate(c.PhaseDate, process.PhaseDate);
            var item = new HrbcWriteItem(process.Id);
            AddPhase(item, c, date);
            updates.Add((i, item, date, process.Id));
        }
        if (updates.Count > 0)
        {
            var written = await hrbc.WriteAsync(HrbcResource.Process, [.. updates.Select(u => u.Item)], cancellationToken).ConfigureAwait(false);
            foreach (var w in written)
            {
                var (index, _, date, processId) = updates[w.Index];
                var c = changes[index];
                results[index] = new HrbcProcessPhaseResult(c.JobId, c.ResumeId, processId, false, w.Code,
                    w.Message ?? (w.Succeeded ? null : HrbcException.Describe(w.Code)), w.Succeeded ? date : null);
            }
        }
        return [.. results.Select((r, i) => r ?? new HrbcProcessPhaseResult(changes[i].JobId, changes[i].ResumeId, null, false, 1000,
            "The process could be neither created nor found.", null))];
    }

    private async Task<Dictionary<(long Job, long Resume), HrbcProcess>> FindProcessesAsync(IReadOnlyList<HrbcProcessPhaseChange> changes, CancellationToken cancellationToken)
    {
        // HRBC takes one parent id per condition: read by whichever side has fewer distinct ids.
        var jobIds = changes.Select(c => c.JobId).Distinct().ToList();
        var resumeIds = changes.Select(c => c.ResumeId).Distinct().ToList();
        var byJob = jobIds.Count <= resumeIds.Count;
        var wanted = changes.Select(c => (c.JobId, c.ResumeId)).ToHashSet();
        var found = new Dictionary<(long, long), HrbcProcess>();
        foreach (var parent in byJob ? jobIds : resumeIds)
        {
            await foreach (var r in hrbc.ReadProcessesAsync(byJob ? parent : null, byJob ? null : parent, cancellationToken).ConfigureAwait(false))
            {
                var p = HrbcProcess.From(r);
                if (p.JobId is { } j && p.ResumeId is { } res && wanted.Contains((j, res)))
                {
                    found[(j, res)] = p;
                }
            }
        }
        return found;
    }

    private static void AddPhase(HrbcWriteItem item, HrbcProcessPhaseChange c, DateTimeOffset date)
    {
        item.SetOptions("Process.P_Phase", c.PhaseAlias).Set("Process.P_PhaseDate", date);
        if (c.Memo is not null)
        {
            item.Set("Process.P_PhaseMemo", c.Memo);
        }
    }

    /// <summary>HRBC keeps whole seconds; a new phase must be dated after the current latest one.</summary>
    internal static DateTimeOffset LatestPhaseDate(DateTimeOffset requested, DateTimeOffset? currentLatest)
    {
        var date = new DateTimeOffset(requested.UtcTicks - requested.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        return currentLatest is { } latest && date <= latest ? latest.AddSeconds(1) : date;
    }
}
