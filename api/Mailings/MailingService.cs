using System.Security.Cryptography;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>The status object of ARCHITECTURE §5, plus (additively) cancelled, subject and why it waits.</summary>
public sealed record MailingStatus(
    string Id, MailingMode Mode, MailingState State, int Total, int Sent, int Failed, int Skipped, int Bounced, int Pending,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, int? EtaSeconds, string? PausedReason,
    int Cancelled, string Subject, string? WaitReason, DateTimeOffset? ResumesAt)
{
    /// <summary>Sent mail whose HRBC phase update or activity is still being written; the mailing completes after them.</summary>
    public int FollowUpsPending { get; init; }
    public long? AnchorId { get; init; }
}

public sealed record MailFieldCount(string Alias, string Label, int Count);

public sealed record PreviewMessage(int Seq, long RecordId, string? RecordName, string? MailField, string? Address,
    string Subject, string HtmlBody, IReadOnlyList<string> EmptyTags);

public sealed record PreviewWarning(string Code, string Message, int Count, IReadOnlyList<string> Examples);

/// <summary>What the confirmation dialog shows. <see cref="Complete"/> is false when only the first
/// <see cref="Records"/> records of a large All scope were counted.</summary>
public sealed record PreviewResponse(int Records, int ScopeTotal, bool Complete, int Messages, int Skipped,
    IReadOnlyList<MailFieldCount> MailFields, IReadOnlyList<PreviewMessage> Samples, IReadOnlyList<PreviewWarning> Warnings)
{
    public Confirmation? Confirmation { get; init; }
}

/// <summary>What the confirmation dialog states (MISSION §4.6): how many messages, the phase update, the files.</summary>
/// <param name="Messages">Messages to send (for a partially counted All scope, those counted so far; see <c>Complete</c>).</param>
/// <param name="PhaseUpdates">HRBC records whose phase is set (one per resume × job, resume or recruiter).</param>
/// <param name="Attachments">What each message carries (the zip when zipped).</param>
/// <param name="Sources">The files picked (inside the zip when zipped).</param>
public sealed record Confirmation(int Messages, string Mode, int PhaseUpdates, string? PhaseResource, string? PhaseAlias, string? PhaseName,
    bool LogActivity, IReadOnlyList<AttachmentInfo> Attachments, IReadOnlyList<AttachmentInfo> Sources, bool Zipped, string? ZipEncryption,
    long AttachmentBytes);

public sealed record TestSendResponse(string To, string Subject, long RecordId);

/// <summary>Submit, preview, test, status and control of mailings; every check before anything is stored.</summary>
public sealed class MailingService(
    IMailingStore store,
    MailingPlanner planner,
    ScopeReader reader,
    HrbcClient hrbc,
    IMailSender sender,
    IMailboxLimiter limiter,
    MailingAttachmentBuilder attachments,
    MailingSignal signal,
    IOptions<SendingOptions> sending,
    TimeProvider time)
{
    /// <summary>Preview counts at most this many records of the scope; beyond it, counts say so.</summary>
    public const int PreviewRecordLimit = 1000;
    private const int Samples = 5;

    public async Task<Mailing> SubmitAsync(MailingRequest request, Sender user, CancellationToken cancellationToken)
    {
        if (request.IdempotencyKey is { Length: > 0 } key
            && await store.FindByIdempotencyKeyAsync(user.Id, key, cancellationToken).ConfigureAwait(false) is { } earlier)
        {
            return earlier;
        }
        var spec = await planner.ValidateAsync(request, user, cancellationToken).ConfigureAwait(false);
        var files = await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false);
        spec = spec with { Attachments = [.. files.Files.Select(f => f.Info)], ZipEncryption = files.ZipEncryption };
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        if (request.IdempotencyKey is { Length: > 0 } claim)
        {
            // Claim the key before storing anything: a racing submit with the same key gets the first one's id, so the
            // files are stored once, under the mailing that will exist (no orphaned copies outside the upload quota).
            id = await store.ClaimIdempotencyKeyAsync(user.Id, claim, id, cancellationToken).ConfigureAwait(false);
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } first)
            {
                return first;
            }
        }
        if (files.Files.Count > 0)
        {
            // Stored before the mailing exists, so no worker can see the mailing without its files.
            await store.SaveAttachmentsAsync(id, files.Files, cancellationToken).ConfigureAwait(false);
        }
        var mailing = await store.CreateAsync(new Mailing
        {
            Id = id,
            Owner = user.Id,
            Mailbox = user.Mailbox,
            Spec = spec,
            CreatedAt = time.GetUtcNow(),
            IdempotencyKey = request.IdempotencyKey,
        }, cancellationToken).ConfigureAwait(false);
        signal.Notify();
        return mailing;
    }

    public async Task<PreviewResponse> PreviewAsync(MailingRequest request, Sender user, CancellationToken cancellationToken)
    {
        var spec = await planner.ValidateAsync(request, user, cancellationToken).ConfigureAwait(false);
        // Stepping through recipients (previewRecordId) renders one record: the files (HRBC fetches, the zip) were
        // checked by the first preview and are not gathered again for every step.
        var files = request.PreviewRecordId is null
            ? await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false)
            : null;
        var plan = await planner.PlanAsync(spec, cancellationToken).ConfigureAwait(false);
        var mailFieldNames = (await hrbc.GetMailFieldsAsync(plan.Shape.Recipient, cancellationToken).ConfigureAwait(false)).ToDictionary(m => m.Alias, m => m.Name);
        var fieldCounts = spec.MailFields.ToDictionary(f => f, _ => 0);
        var deliveries = new List<Delivery>();
        var records = 0;
        var position = 0;
        var complete = false;
        var scopeTotal = spec.ScopeKind == ScopeKind.All ? 0 : spec.Ids.Count;
        ScopePage? only = null;
        if (request.PreviewRecordId is { } previewId)
        {
            // Stepping through recipients: read just this record (counts and warnings then cover it alone).
            only = await reader.ReadOneAsync(plan, previewId, cancellationToken).ConfigureAwait(false)
                ?? throw MailingValidationException.One("previewRecordId", $"Record {previewId} is not in the mailing's scope.");
        }
        while (records < PreviewRecordLimit)
        {
            var page = only ?? await reader.ReadPageAsync(plan, position, cancellationToken).ConfigureAwait(false);
            foreach (var record in page.Records)
            {
                foreach (var f in DeliveryExpander.FilledMailFields(plan, record))
                {
                    fieldCounts[f]++;
                }
            }
            deliveries.AddRange(DeliveryExpander.ExpandPage(plan, page, deliveries.Count + 1));
            records += page.Records.Count + page.MissingIds.Count;
            if (spec.ScopeKind == ScopeKind.All)
            {
                scopeTotal = Math.Max(scopeTotal, page.NextPosition);
            }
            position = page.NextPosition;
            if (page.Done || only is not null)
            {
                complete = true;
                break;
            }
        }
        if (!complete && spec.ScopeKind == ScopeKind.All)
        {
            scopeTotal = (await hrbc.ReadPageAsync(plan.Target, new HrbcQuery
            {
                Fields = HrbcFieldList.Of(plan.Target.IdAlias),
                Condition = HrbcCondition.Parse(spec.Condition),
                Keywords = spec.Keywords,
                Count = 1,
            }, cancellationToken).ConfigureAwait(false)).Total;
        }

        var pending = deliveries.Where(d => d.Status == DeliveryStatus.Pending).ToList();
        var rendered = pending.Select(d => (Delivery: d, Mail: plan.Template.Render(d.Values))).ToList();
        var sampleSource = request.PreviewRecordId is { } rid ? rendered.Where(r => r.Delivery.RecordId == rid) : rendered;
        var samples = sampleSource.Take(Samples).Select(r => new PreviewMessage(r.Delivery.Seq, r.Delivery.RecordId, r.Delivery.RecordName,
            r.Delivery.MailField, r.Delivery.Address, r.Mail.Subject, r.Mail.HtmlBody, r.Mail.EmptyTags)).ToList();

        var warnings = new List<PreviewWarning>();
        foreach (var tag in rendered.SelectMany(r => r.Mail.EmptyTags.Select(t => (Tag: t, r.Delivery))).GroupBy(x => x.Tag))
        {
            warnings.Add(new PreviewWarning("EmptyTag", $"{{{{{tag.Key}}}}} is empty for {tag.Count()} message(s).", tag.Count(),
                [.. tag.Take(5).Select(x => $"{x.Delivery.RecordName ?? x.Delivery.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture)} ({x.Delivery.Address})")]));
        }
        var invalid = deliveries.Where(d => d.Reason == "Invalid address").ToList();
        if (invalid.Count > 0)
        {
            warnings.Add(new PreviewWarning("InvalidAddress", $"{invalid.Count} address(es) are not valid and will be skipped.", invalid.Count,
                [.. invalid.Take(5).Select(d => $"{d.RecordName}: {d.Address}")]));
        }
        var noAddress = deliveries.Where(d => d.Status == DeliveryStatus.Skipped && d.Address is null && d.Reason != "Record not found in HRBC").ToList();
        if (noAddress.Count > 0)
        {
            warnings.Add(new PreviewWarning("NoAddress", $"{noAddress.Count} record(s) have no address in the ticked fields and will be skipped.", noAddress.Count,
                [.. noAddress.Take(5).Select(d => $"{d.RecordName ?? "#" + d.RecordId}")]));
        }
        var missing = deliveries.Where(d => d.Reason == "Record not found in HRBC").ToList();
        if (missing.Count > 0)
        {
            warnings.Add(new PreviewWarning("RecordNotFound", $"{missing.Count} record(s) no longer exist in HRBC.", missing.Count,
                [.. missing.Take(5).Select(d => "#" + d.RecordId)]));
        }
        // In ResumesToRecruiter and JobsToResume every mail goes to one person by design: no warning for that.
        var duplicates = plan.Shape.RecipientIsAnchor ? []
            : pending.GroupBy(d => d.Address!, StringComparer.OrdinalIgnoreCase).Where(g => g.Select(d => d.RecordId).Distinct().Count() > 1).ToList();
        if (duplicates.Count > 0)
        {
            warnings.Add(new PreviewWarning("DuplicateAddress",
                $"{duplicates.Count} address(es) belong to more than one record; each record gets its own message.",
                duplicates.Count, [.. duplicates.Take(5).Select(g => $"{g.Key}: {string.Join(", ", g.Select(d => d.RecordName))}")]));
        }
        var phaseUpdates = spec.PhaseAlias is null ? 0
            : plan.Shape.IsMatching ? pending.Select(d => (d.JobId, d.ResumeId)).Distinct().Count()
            : pending.Select(d => d.RecordId).Distinct().Count();
        return new PreviewResponse(records, scopeTotal, complete, pending.Count, deliveries.Count - pending.Count,
            [.. spec.MailFields.Select(f => new MailFieldCount(f, mailFieldNames.GetValueOrDefault(f, f), fieldCounts[f]))],
            samples, warnings)
        {
            Confirmation = files is null ? null : new Confirmation(pending.Count, spec.Mode.ToString(), phaseUpdates,
                spec.PhaseAlias is null ? null : plan.Shape.PhaseResource.Name, spec.PhaseAlias, spec.PhaseName, spec.LogActivity,
                [.. files.Files.Select(f => f.Info)], files.Sources, files.ZipEncryption is not null, files.ZipEncryption, files.TotalBytes),
        };
    }

    /// <summary>Renders the first sendable delivery and sends it to the signed-in user only.</summary>
    public async Task<TestSendResponse> TestAsync(MailingRequest request, Sender user, CancellationToken cancellationToken)
    {
        var spec = await planner.ValidateAsync(request, user, cancellationToken).ConfigureAwait(false);
        var files = await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false);
        var plan = await planner.PlanAsync(spec, cancellationToken).ConfigureAwait(false);
        var position = 0;
        while (true)
        {
            var page = await reader.ReadPageAsync(plan, position, cancellationToken).ConfigureAwait(false);
            var first = DeliveryExpander.ExpandPage(plan, page, 1).FirstOrDefault(d => d.Status == DeliveryStatus.Pending);
            if (first is not null)
            {
                var mail = plan.Template.Render(first.Values);
                var subject = "[TEST] " + mail.Subject;
                await sender.SendDirectAsync(user.Mailbox, new OutgoingMail($"test-{Guid.NewGuid():N}", user.Mailbox, user.DisplayName, subject, mail.HtmlBody)
                {
                    Attachments = files.Files,
                }, cancellationToken).ConfigureAwait(false);
                return new TestSendResponse(user.Mailbox, subject, first.RecordId);
            }
            if (page.Done || position >= PreviewRecordLimit)
            {
                throw MailingValidationException.One("scope", "No record in the scope has a valid address in the ticked mail fields.");
            }
            position = page.NextPosition;
        }
    }

    public async Task<Mailing?> GetOwnedAsync(string id, Sender user, CancellationToken cancellationToken)
    {
        var mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return mailing is not null && mailing.Owner == user.Id ? mailing : null; // someone else's mailing does not exist for you
    }

    public async Task<MailingStatus> StatusAsync(Mailing mailing, CancellationToken cancellationToken)
    {
        var counts = await store.GetCountsAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
        int? eta = null;
        string? waitReason = null;
        DateTimeOffset? resumesAt = null;
        if (mailing.State is MailingState.Queued or MailingState.Sending && counts.Pending > 0)
        {
            var o = sending.Value;
            var now = time.GetUtcNow();
            var perMinute = (double)o.MessagesPerMinute;
            if (mailing.Spec.Attachments.Count > 0)
            {
                // Each message re-uploads its files: Outlook's upload budget per 5 minutes may be the tighter limit.
                var bytes = Math.Max(1, mailing.Spec.Attachments.Sum(a => a.Size));
                perMinute = Math.Min(perMinute, Math.Max(1.0 / 5, Math.Floor((double)o.UploadBudgetBytes / bytes) / 5));
            }
            var seconds = counts.Pending * 60.0 / perMinute;
            var (used, oldestLeavesAt) = await limiter.DailyUsageAsync(mailing.Mailbox, now, cancellationToken).ConfigureAwait(false);
            var remaining = Math.Max(0, o.DailyRecipientLimit - used);
            if (counts.Pending > remaining)
            {
                // Past today's allowance the rest waits for the 24-hour window to move on.
                var beyond = counts.Pending - remaining;
                var days = (int)Math.Ceiling(beyond / (double)o.DailyRecipientLimit);
                var firstWait = oldestLeavesAt is { } t ? Math.Max(0, (t - now).TotalSeconds) : 0;
                seconds = Math.Max(seconds, firstWait + (days - 1) * 86_400 + Math.Min(beyond, o.DailyRecipientLimit) * 60.0 / perMinute);
                if (remaining == 0)
                {
                    waitReason = $"The daily limit of {o.DailyRecipientLimit:N0} recipients per 24 hours is reached; sending continues when earlier sends leave the window.";
                    resumesAt = oldestLeavesAt;
                }
            }
            eta = (int)Math.Ceiling(seconds);
        }
        return new MailingStatus(mailing.Id, mailing.Spec.Mode, mailing.State, counts.Total, counts.Sent, counts.Failed, counts.Skipped,
            counts.Bounced, counts.Pending, mailing.CreatedAt, mailing.StartedAt,
            mailing.FinishedAt, eta, mailing.PausedReason, counts.Cancelled, mailing.Spec.Subject, waitReason, resumesAt)
        {
            FollowUpsPending = counts.FollowUpsPending,
            AnchorId = mailing.Spec.AnchorId,
        };
    }

    public async Task<IReadOnlyList<MailingStatus>> ListAsync(Sender user, CancellationToken cancellationToken)
    {
        var list = new List<MailingStatus>();
        foreach (var m in await store.ListAsync(user.Id, 100, cancellationToken).ConfigureAwait(false))
        {
            list.Add(await StatusAsync(m, cancellationToken).ConfigureAwait(false));
        }
        return list;
    }

    /// <summary>pause, resume, cancel, retry-failed. Returns null when the action does not apply to the current state.</summary>
    public async Task<Mailing?> ControlAsync(Mailing mailing, string action, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        switch (action)
        {
            case "pause":
                return (await store.TransitionAsync(mailing.Id, [MailingState.Queued, MailingState.Sending], MailingState.Paused,
                    "Paused by the user.", now, cancellationToken).ConfigureAwait(false)) is ({ } m, true) ? m : null;
            case "resume":
                var resumed = await store.TransitionAsync(mailing.Id, [MailingState.Paused], MailingState.Sending, null, now, cancellationToken).ConfigureAwait(false);
                signal.Notify();
                return resumed.Changed ? resumed.Mailing : null;
            case "cancel":
                var (cancelled, changed) = await store.TransitionAsync(mailing.Id,
                    [MailingState.Preparing, MailingState.Queued, MailingState.Sending, MailingState.Paused], MailingState.Cancelled, null, now, cancellationToken).ConfigureAwait(false);
                if (!changed)
                {
                    return null;
                }
                await store.CancelQueuedAsync(mailing.Id, now, cancellationToken).ConfigureAwait(false);
                return await store.GetAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
            case "retry-failed":
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
