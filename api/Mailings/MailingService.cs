using BulkMail.Api.Modes;
using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using System.Security.Cryptography;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>The status object of ARCHITECTURE §5, plus (additively) cancelled, subject, why it waits or is paused (codes
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
}

/// <summary>One delivery of an expanded mailing, rendered from its stored values (null message: skipped or cancelled).</summary>
public sealed record DeliveryPreview(int Seq, int Total, DeliveryStatus Status, string? ReasonCode, IReadOnlyDictionary<string, string>? ReasonArgs,
    PreviewMessage? Message);

public sealed record MailFieldCount(string Alias, string Label, int Count);

/// <param name="RecordName">The listed record's name (candidate, job position or recruiter).</param>
/// <param name="RecipientName">Whom the message is addressed to, as the To line and Graph's <c>toRecipients</c> name
/// them: the candidate or the recruiter per mode (ResumesToRecruiter: the job's recruiter; JobsToResume: the candidate).</param>
public sealed record PreviewMessage(int Seq, long RecordId, string? RecordName, string? MailField, string? Address,
    string Subject, string HtmlBody, IReadOnlyList<string> EmptyTags, string? RecipientName = null);

/// <param name="Args">The values a translation of <see cref="Code"/> names (NearMissTag: found, suggestion).</param>
/// <param name="Places">Where in the template (NearMissTag): part, line, column of each occurrence.</param>
public sealed record PreviewWarning(string Code, string Message, int Count, IReadOnlyList<string> Examples,
    IReadOnlyDictionary<string, string>? Args = null, IReadOnlyList<Templates.TemplateError>? Places = null)
{
    /// <summary>InvalidAddress, NoAddress, RecordNotFound: the first records skipped, each named (the pane says
    /// 「吉田 恵：メールアドレスが無効なため送信しません（…）」); parallel to <see cref="Examples"/>.</summary>
    public IReadOnlyList<SkippedRecord> Records { get; init; } = [];
}

/// <summary>A record the mailing skips: whose it is (<see cref="RecordName"/>; <see cref="RecipientName"/> when the
/// message would have gone to someone else, e.g. the job's recruiter) and the address refused, if any.</summary>
public sealed record SkippedRecord(long RecordId, string? RecordName, string? RecipientName, string? Address, string? MailField);

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
    BulkMail.Api.Templates.MailTemplateEngine templates,
    IOptions<BulkMail.Api.Infrastructure.RateLimitOptions> rateLimits,
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
            Held = request.Hold,
        }, cancellationToken).ConfigureAwait(false);
        signal.Notify();
        return mailing;
    }

    public async Task<PreviewResponse> PreviewAsync(MailingRequest request, Sender user, CancellationToken cancellationToken)
    {
        // Near-miss tag spellings are a warning here (NearMissTag below), refused only at submit.
        var spec = await planner.ValidateAsync(request with { AllowNearMissTags = true }, user, cancellationToken).ConfigureAwait(false);
        // Stepping through recipients (previewRecordId) renders one record: the files (HRBC fetches, the zip) were
        // checked by the first preview and are not gathered again for every step.
        var files = request.PreviewRecordId is null
            ? await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false)
            : null;
        var plan = await planner.PlanAsync(spec, cancellationToken).ConfigureAwait(false);
        var mailFieldNames = (await hrbc.GetMailFieldsAsync(plan.Shape.Recipient, cancellationToken).ConfigureAwait(false)).ToDictionary(m => m.Alias, m => m.Name);
        var fieldCounts = spec.MailFields.ToDictionary(f => f, _ => 0);
        // Memory stays O(samples) plus counters: each page's deliveries are tallied and dropped; only the samples are
        // rendered, and empty tags are found from the values (the template's aliases are known) without rendering.
        var tally = new PreviewTally(plan, request.PreviewRecordId);
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
            cancellationToken.ThrowIfCancellationRequested();
            var page = only ?? await reader.ReadPageAsync(plan, position, cancellationToken).ConfigureAwait(false);
            foreach (var record in page.Records)
            {
                foreach (var f in DeliveryExpander.FilledMailFields(plan, record))
                {
                    fieldCounts[f]++;
                }
            }
            tally.Add(DeliveryExpander.ExpandPage(plan, page, tally.Deliveries + 1), cancellationToken);
            records += page.Records.Count + page.MissingIds.Count;
            if (spec.ScopeKind == ScopeKind.All)
            {
                scopeTotal = Math.Max(scopeTotal, page.ScopeTotal ?? page.NextPosition);
            }
            position = page.NextPosition;
            if (page.Done || only is not null)
            {
                complete = true;
                break;
            }
        }
        if (!complete && spec.ScopeKind == ScopeKind.All && scopeTotal <= records)
        {
            scopeTotal = (await hrbc.ReadPageAsync(plan.Target, new HrbcQuery
            {
                Fields = HrbcFieldList.Of(plan.Target.IdAlias),
                Condition = HrbcCondition.Parse(spec.Condition),
                Keywords = spec.Keywords,
                Count = 1,
            }, cancellationToken).ConfigureAwait(false)).Total;
        }

        var warnings = tally.Warnings(plan);
        if (!complete)
        {
            warnings.Insert(0, new PreviewWarning("PartialCount",
                $"Counted the first {records:N0} of {scopeTotal:N0} records only: the figures are partial. Submit with hold for the exact figures before sending.",
                records, []));
        }
        return new PreviewResponse(records, scopeTotal, complete, tally.Pending, tally.Deliveries - tally.Pending,
            [.. spec.MailFields.Select(f => new MailFieldCount(f, mailFieldNames.GetValueOrDefault(f, f), fieldCounts[f]))],
            tally.Samples, warnings)
        {
            Confirmation = files is null ? null : new Confirmation(tally.Pending, spec.Mode.ToString(), tally.PhaseUpdates,
                spec.PhaseAlias is null ? null : plan.Shape.PhaseResource.Name, spec.PhaseAlias, spec.PhaseName, spec.LogActivity,
                [.. files.Files.Select(f => f.Info)], files.Sources, files.ZipEncryption is not null, files.ZipEncryption, files.TotalBytes),
        };
    }

    /// <summary>The preview's counters over deliveries seen a page at a time: counts, a few examples per warning, the
    /// rendered samples, and the addresses seen (to find ones shared by several records).</summary>
    private sealed class PreviewTally(MailingPlan plan, long? sampleRecordId)
    {
        private const int Examples = 5;
        private readonly List<PreviewMessage> _samples = [];
        private readonly SortedDictionary<string, (int Count, List<string> Examples)> _emptyTags = new(StringComparer.Ordinal);
        private readonly (int Count, List<string> Examples)[] _skips = [(0, []), (0, []), (0, [])]; // invalid, no address, record gone
        private readonly List<SkippedRecord>[] _skipped = [[], [], []];
        // address → the first record having it, and the names of the records sharing it (bounded: the preview reads at
        // most PreviewRecordLimit records)
        private readonly Dictionary<string, (long Record, List<string> Names, bool Shared)> _addresses = new(StringComparer.OrdinalIgnoreCase);
        private readonly string[] _paths = [.. plan.Template.Paths.Order(StringComparer.Ordinal)];

        public int Deliveries { get; private set; }
        public int Pending { get; private set; }
        public int PhaseUpdates { get; private set; }
        public IReadOnlyList<PreviewMessage> Samples => _samples;

        public void Add(List<Delivery> page, CancellationToken cancellationToken)
        {
            PhaseUpdates += DeliveryExpander.PhaseUpdates(plan, page);
            foreach (var d in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Deliveries++;
                if (d.Status != DeliveryStatus.Pending)
                {
                    var (slot, example) = d.ReasonCode switch
                    {
                        ReasonCodes.InvalidAddress => (0, $"{d.RecordName}: {d.Address}"),
                        ReasonCodes.RecordGone => (2, "#" + d.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        _ when d.Address is null => (1, d.RecordName ?? "#" + d.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        _ => (-1, ""),
                    };
                    if (slot >= 0)
                    {
                        if (_skips[slot].Count < Examples)
                        {
                            _skipped[slot].Add(new SkippedRecord(d.RecordId, d.RecordName, d.RecipientName, d.Address, d.MailField));
                        }
                        Note(ref _skips[slot], example);
                    }
                    continue;
                }
                Pending++;
                var who = $"{d.RecordName ?? d.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture)} ({d.Address})";
                foreach (var path in _paths)
                {
                    if (string.IsNullOrEmpty(d.Values.GetValueOrDefault(path)))
                    {
                        var entry = _emptyTags.GetValueOrDefault(path, (0, []));
                        Note(ref entry, who);
                        _emptyTags[path] = entry;
                    }
                }
                if (!plan.Shape.RecipientIsAnchor)
                {
                    if (!_addresses.TryGetValue(d.Address!, out var seen))
                    {
                        _addresses[d.Address!] = (d.RecordId, [d.RecordName ?? ""], false);
                    }
                    else if (seen.Record != d.RecordId || seen.Shared)
                    {
                        if (seen.Names.Count < Examples)
                        {
                            seen.Names.Add(d.RecordName ?? "");
                        }
                        _addresses[d.Address!] = seen with { Shared = true };
                    }
                }
                if (_samples.Count < MailingService.Samples && (sampleRecordId is null || d.RecordId == sampleRecordId))
                {
                    var mail = plan.Template.Render(d.Values);
                    _samples.Add(new PreviewMessage(d.Seq, d.RecordId, d.RecordName, d.MailField, d.Address, mail.Subject, mail.HtmlBody, mail.EmptyTags, d.RecipientName));
                }
            }
        }

        private static void Note(ref (int Count, List<string> Examples) entry, string example)
        {
            if (entry.Examples.Count < Examples)
            {
                entry.Examples.Add(example);
            }
            entry = (entry.Count + 1, entry.Examples);
        }

        public List<PreviewWarning> Warnings(MailingPlan plan)
        {
            var warnings = new List<PreviewWarning>();
            // Near-miss tag spellings (｛｛Person.P_Name｝｝): sent as typed unless fixed; submit refuses them unless confirmed.
            foreach (var near in plan.Template.NearMisses.GroupBy(n => (Found: n.Args["found"], Suggestion: n.Args["suggestion"])))
            {
                warnings.Add(new PreviewWarning("NearMissTag", near.First().Message, near.Count(), [],
                    new Dictionary<string, string> { ["found"] = near.Key.Found, ["suggestion"] = near.Key.Suggestion }, [.. near]));
            }
            foreach (var (tag, (count, examples)) in _emptyTags)
            {
                warnings.Add(new PreviewWarning("EmptyTag", $"{{{{{tag}}}}} is empty for {count} message(s).", count, examples));
            }
            if (_skips[0].Count > 0)
            {
                warnings.Add(new PreviewWarning("InvalidAddress", $"{_skips[0].Count} address(es) are not valid and will be skipped.", _skips[0].Count, _skips[0].Examples) { Records = _skipped[0] });
            }
            if (_skips[1].Count > 0)
            {
                warnings.Add(new PreviewWarning("NoAddress", $"{_skips[1].Count} record(s) have no address in the ticked fields and will be skipped.", _skips[1].Count, _skips[1].Examples) { Records = _skipped[1] });
            }
            if (_skips[2].Count > 0)
            {
                warnings.Add(new PreviewWarning("RecordNotFound", $"{_skips[2].Count} record(s) no longer exist in HRBC.", _skips[2].Count, _skips[2].Examples) { Records = _skipped[2] });
            }
            // In ResumesToRecruiter and JobsToResume every mail goes to one person by design: no warning for that.
            var shared = _addresses.Where(a => a.Value.Shared).ToList();
            if (shared.Count > 0)
            {
                warnings.Add(new PreviewWarning("DuplicateAddress",
                    $"{shared.Count} address(es) belong to more than one record; each record gets its own message.",
                    shared.Count, [.. shared.Take(Examples).Select(g => $"{g.Key}: {string.Join(", ", g.Value.Names)}")]));
            }
            return warnings;
        }
    }

    /// <summary>Renders the first sendable delivery and sends it to the signed-in user only.</summary>
    public Task<TestSendResponse> TestAsync(MailingRequest request, Sender user, CancellationToken cancellationToken) =>
        TestAsync(request, user, japanese: false, cancellationToken);

    /// <summary>As above; <paramref name="japanese"/> marks the test subject 【テスト】 instead of [TEST] (the caller's Accept-Language).</summary>
    public async Task<TestSendResponse> TestAsync(MailingRequest request, Sender user, bool japanese, CancellationToken cancellationToken)
    {
        // A test goes to the user alone: near-miss spellings reach them as typed, which is what a test is for.
        var spec = await planner.ValidateAsync(request with { AllowNearMissTags = true }, user, cancellationToken).ConfigureAwait(false);
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
                var subject = (japanese ? "【テスト】" : "[TEST] ") + mail.Subject;
                await sender.SendDirectAsync(user.Mailbox, new OutgoingMail($"test-{Guid.NewGuid():N}", user.Mailbox, user.DisplayName, subject, mail.HtmlBody)
                {
                    Attachments = files.Files,
                }, cancellationToken).ConfigureAwait(false);
                return new TestSendResponse(user.Mailbox, subject, first.RecordId);
            }
            if (page.Done || position >= PreviewRecordLimit)
            {
                throw MailingValidationException.One("scope", CodedText.Of(ProblemCode.NoValidAddress));
            }
            position = page.NextPosition;
        }
    }

    public async Task<Mailing?> GetOwnedAsync(string id, Sender user, CancellationToken cancellationToken)
    {
        var mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return mailing is not null && mailing.Owner == user.Id ? mailing : null; // someone else's mailing does not exist for you
    }

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
        else if (mailing.State is MailingState.Ready or MailingState.Queued or MailingState.Sending)
        {
            var o = sending.Value;
            var pace = await limiter.PaceAsync(mailing.Mailbox, o.Limits, now, cancellationToken).ConfigureAwait(false);
            var ahead = await PendingAheadAsync(mailing, ownersMailings, cancellationToken).ConfigureAwait(false);
            var (seconds, left) = Estimate(mailing, counts.Pending, ahead, pace, now);
            estimate = seconds;
            quotaLeft = left;
            if (mailing.State != MailingState.Ready && counts.Pending > 0)
            {
                eta = seconds;
                (waitCode, waitReason, waitArgs, resumesAt) = WaitOf(mailing, figures, pace, now);
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
        };
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
                && (mailing.State == MailingState.Ready || other.CreatedAt < mailing.CreatedAt))
            {
                ahead += (await store.GetCountsAsync(other.Id, cancellationToken).ConfigureAwait(false)).Pending;
            }
        }
        return ahead;
    }

    /// <summary>
    /// Seconds from now until this mailing's last message, and the daily quota left after it. The mailbox sends
    /// <c>ahead</c> first, then <c>mine</c>, at the tighter of messages per minute and the upload budget; a Retry-After
    /// block delays everything; past the daily allowance the rest waits for the 24-hour window to move on.
    /// </summary>
    private (int Seconds, int QuotaLeft) Estimate(Mailing mailing, int mine, int ahead, MailboxPace pace, DateTimeOffset now)
    {
        var o = sending.Value;
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

    /// <summary>RateLimits:RunningMailings when the user has that many running (preparing without hold, queued,
    /// sending, paused) — null when another may start, or when the idempotency key names one already submitted.
    /// A soft cap: two submits at the same instant may both pass.</summary>
    public async Task<int?> RunningCapReachedAsync(Sender user, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var o = rateLimits.Value;
        if (!o.Enabled
            || idempotencyKey is { Length: > 0 } && await store.FindByIdempotencyKeyAsync(user.Id, idempotencyKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            return null;
        }
        var mine = await store.ListAsync(user.Id, 1000, cancellationToken).ConfigureAwait(false);
        var running = mine.Count(m => m.State is MailingState.Queued or MailingState.Sending or MailingState.Paused
            || (m.State == MailingState.Preparing && !m.Held));
        return running >= o.RunningMailings ? o.RunningMailings : null;
    }

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

    /// <summary>One delivery of an expanded mailing rendered from its stored values: by seq (1-based), or the first
    /// delivery of a record. Null when there is none.</summary>
    public async Task<DeliveryPreview?> PreviewDeliveryAsync(Mailing mailing, int? seq, long? recordId, CancellationToken cancellationToken)
    {
        var counts = await store.GetCountsAsync(mailing.Id, cancellationToken).ConfigureAwait(false);
        Delivery? delivery = null;
        if (seq is { } n)
        {
            delivery = n >= 1 && n <= counts.Total ? await store.GetDeliveryAsync(mailing.Id, n, cancellationToken).ConfigureAwait(false) : null;
        }
        else if (recordId is { } rid)
        {
            // A walk over the stored deliveries (batched by the store): stepping by seq is the cheap way.
            await foreach (var d in store.ReadDeliveriesAsync(mailing.Id, cancellationToken).ConfigureAwait(false))
            {
                if (d.RecordId == rid)
                {
                    delivery = d;
                    break;
                }
            }
        }
        if (delivery is null)
        {
            return null;
        }
        PreviewMessage? message = null;
        if (delivery.Status is not (DeliveryStatus.Skipped or DeliveryStatus.Cancelled))
        {
            // The spec was validated at submit: its tags are known.
            var mail = templates.Compile(mailing.Spec.Subject, mailing.Spec.Body, _ => true).Render(delivery.Values);
            message = new PreviewMessage(delivery.Seq, delivery.RecordId, delivery.RecordName, delivery.MailField, delivery.Address,
                mail.Subject, mail.HtmlBody, mail.EmptyTags, delivery.RecipientName);
        }
        return new DeliveryPreview(delivery.Seq, counts.Total, delivery.Status, delivery.ReasonCode, delivery.ReasonArgs, message);
    }

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

    /// <summary>pause, resume, cancel, retry-failed. Returns null when the action does not apply to the current state.</summary>
    public async Task<Mailing?> ControlAsync(Mailing mailing, string action, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        switch (action)
        {
            case "pause":
                return (await store.TransitionAsync(mailing.Id, [MailingState.Queued, MailingState.Sending], MailingState.Paused,
                    CodedText.Of(PausedCode.PausedByUser).English, now, cancellationToken, PauseCodes.PausedByUser).ConfigureAwait(false)) is ({ } m, true) ? m : null;
            case "resume":
                var resumed = await store.TransitionAsync(mailing.Id, [MailingState.Paused], MailingState.Sending, null, now, cancellationToken).ConfigureAwait(false);
                signal.Notify();
                return resumed.Changed ? resumed.Mailing : null;
            case "cancel":
                var (cancelled, changed) = await store.TransitionAsync(mailing.Id,
                    [MailingState.Preparing, MailingState.Ready, MailingState.Scheduled, MailingState.Queued, MailingState.Sending, MailingState.Paused],
                    MailingState.Cancelled, null, now, cancellationToken).ConfigureAwait(false);
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
