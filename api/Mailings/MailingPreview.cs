using BulkMail.Api.Infrastructure;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;
using BulkMail.Api.Modes;
using BulkMail.Api.Auth;

namespace BulkMail.Api.Mailings;

/// <summary>One delivery of an expanded mailing, rendered from its stored values (null message: skipped or cancelled).</summary>
public sealed record DeliveryPreview(int Seq, int Total, DeliveryStatus Status, string? ReasonCode, IReadOnlyDictionary<string, string>? ReasonArgs,
    PreviewMessage? Message);

public sealed record MailFieldCount(string Alias, string Label, int Count);

/// <param name="RecordName">The listed record's name (candidate, job position or recruiter).</param>
/// <param name="RecipientName">Whom the message is addressed to, as the To line and Graph's <c>toRecipients</c> name
/// them: the candidate or the recruiter per mode (ResumesToRecruiter: the job's recruiter; JobsToResume: the candidate).</param>
public sealed record PreviewMessage(int Seq, long RecordId, string? RecordName, string? MailField, string? Address,
    string Subject, string HtmlBody, IReadOnlyList<string> EmptyTags, string? RecipientName = null)
{
    /// <summary>The tags of this message that were empty and got their fallback (<c>{{default Alias "…"}}</c>).</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];
}

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

    /// <summary>The skipped deliveries by reason code (<c>Suppressed</c>, <c>OptedOutInHrbc</c>, <c>NoAddress</c> …), as
    /// the status's <c>skippedByReason</c> will count them.</summary>
    public IReadOnlyDictionary<string, int> SkippedByReason { get; init; } = new Dictionary<string, int>();
}

/// <summary>What the confirmation dialog states (docs/ui.md, 4. Confirmation): how many messages, the phase update, the files.</summary>
/// <param name="Messages">Messages to send (for a partially counted All scope, those counted so far; see <c>Complete</c>).</param>
/// <param name="PhaseUpdates">HRBC records whose phase is set (one per resume × job, resume or recruiter).</param>
/// <param name="Attachments">What each message carries (the zip when zipped).</param>
/// <param name="Sources">The files picked (inside the zip when zipped).</param>
public sealed record Confirmation(int Messages, string Mode, int PhaseUpdates, string? PhaseResource, string? PhaseAlias, string? PhaseName,
    bool LogActivity, IReadOnlyList<AttachmentInfo> Attachments, IReadOnlyList<AttachmentInfo> Sources, bool Zipped, string? ZipEncryption,
    long AttachmentBytes)
{
    /// <summary>Each message gets the opt-out footer (docs/opt-out.md): the request's <c>optOutFooter</c>, or the mode's default.</summary>
    public bool OptOutFooter { get; init; }
}

public sealed record TestSendResponse(string To, string Subject, long RecordId);

/// <summary>What a mailing would do before it is submitted (counts, samples, warnings, the confirmation's figures), a
/// test message to the user alone, and one delivery of an expanded mailing rendered again.</summary>
public sealed class MailingPreviewer(
    IMailingStore store,
    MailingPlanner planner,
    ScopeReader reader,
    HrbcClient hrbc,
    IMailSender sender,
    MailingAttachmentBuilder attachments,
    BulkMail.Api.Templates.MailTemplateEngine templates,
    Suppressions.ISuppressionList suppressions,
    MessageRenderer renderer)
{
    /// <summary>Preview counts at most this many records of the scope; beyond it, counts say so.</summary>
    public const int PreviewRecordLimit = 1000;
    private const int Samples = 5;

    public async Task<PreviewResponse> PreviewAsync(MailingRequest request, Sender user, CancellationToken cancellationToken)
    {
        // Near-miss tag spellings are a warning here (NearMissTag below), refused only at submit.
        var (spec, plan) = await planner.ValidateAndPlanAsync(request with { AllowNearMissTags = true }, user, cancellationToken).ConfigureAwait(false);
        // Stepping through recipients (previewRecordId) renders one record: the files (HRBC fetches, the zip) were
        // checked by the first preview and are not gathered again for every step.
        var files = request.PreviewRecordId is null
            ? await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false)
            : null;
        var mailFieldNames = (await hrbc.GetMailFieldsAsync(plan.Shape.Recipient, cancellationToken).ConfigureAwait(false)).ToDictionary(m => m.Alias, m => m.Name);
        var fieldCounts = spec.MailFields.ToDictionary(f => f, _ => 0);
        // Memory stays O(samples) plus counters: each page's deliveries are tallied and dropped; only the samples are
        // rendered, and empty tags are found from the values (the template's aliases are known) without rendering.
        var tally = new PreviewTally(plan, request.PreviewRecordId, renderer);
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
            tally.Add(await DeliveryExpander.SuppressAsync(plan, DeliveryExpander.ExpandPage(plan, page, tally.Deliveries + 1), suppressions, cancellationToken)
                .ConfigureAwait(false), cancellationToken);
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
            SkippedByReason = tally.ByReason,
            Confirmation = files is null ? null : new Confirmation(tally.Pending, spec.Mode.ToString(), tally.PhaseUpdates,
                spec.PhaseAlias is null ? null : plan.Shape.PhaseResource.Name, spec.PhaseAlias, spec.PhaseName, spec.LogActivity,
                [.. files.Files.Select(f => f.Info)], files.Sources, files.ZipEncryption is not null, files.ZipEncryption, files.TotalBytes)
            {
                OptOutFooter = spec.OptOutFooter,
            },
        };
    }

    /// <summary>The preview's counters over deliveries seen a page at a time: counts, a few examples per warning, the
    /// rendered samples, and the addresses seen (to find ones shared by several records).</summary>
    private sealed class PreviewTally(MailingPlan plan, long? sampleRecordId, MessageRenderer renderer)
    {
        private const int Examples = 5;
        private readonly List<PreviewMessage> _samples = [];
        private readonly SortedDictionary<string, (int Count, List<string> Examples)> _emptyTags = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, (int Count, List<string> Examples)> _fallbacks = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<SkippedRecord>> _fallbackWho = new(StringComparer.Ordinal);
        private readonly IReadOnlySet<string> _fallbackOnly = plan.Template.FallbackOnly;
        private readonly IReadOnlySet<string> _withFallback = plan.Template.WithFallback;
        // invalid, no address, record gone, suppressed, opted out in HRBC
        private readonly (int Count, List<string> Examples)[] _skips = [(0, []), (0, []), (0, []), (0, []), (0, [])];
        private readonly List<SkippedRecord>[] _skipped = [[], [], [], [], []];
        // address → the first record having it, and the names of the records sharing it (bounded: the preview reads at
        // most PreviewRecordLimit records)
        private readonly Dictionary<string, (long Record, List<string> Names, bool Shared)> _addresses = new(StringComparer.OrdinalIgnoreCase);
        // The unsubscribe link is the delivery's own, never empty.
        private readonly string[] _paths = [.. plan.Template.Paths.Where(p => p != Suppressions.OptOutFooter.Tag).Order(StringComparer.Ordinal)];

        public Dictionary<string, int> ByReason { get; } = new(StringComparer.Ordinal);
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
                    var reason = d.ReasonCode ?? "Unknown";
                    ByReason[reason] = ByReason.GetValueOrDefault(reason) + 1;
                    var (slot, example) = d.ReasonCode switch
                    {
                        ReasonCodes.InvalidAddress => (0, $"{d.RecordName}: {d.Address}"),
                        ReasonCodes.RecordGone => (2, "#" + d.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        ReasonCodes.Suppressed => (3, $"{d.RecordName}: {d.Address}"),
                        ReasonCodes.OptedOutInHrbc => (4, $"{d.RecordName}: {d.Address}"),
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
                        if (_withFallback.Contains(path))
                        {
                            var used = _fallbacks.GetValueOrDefault(path, (0, []));
                            if (used.Count < Examples)
                            {
                                (_fallbackWho.TryGetValue(path, out var list) ? list : _fallbackWho[path] = []).Add(
                                    new SkippedRecord(d.RecordId, d.RecordName, d.RecipientName, d.Address, d.MailField));
                            }
                            Note(ref used, who);
                            _fallbacks[path] = used;
                        }
                        if (_fallbackOnly.Contains(path))
                        {
                            continue; // said what to write instead: not a problem
                        }
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
                if (_samples.Count < MailingPreviewer.Samples && (sampleRecordId is null || d.RecordId == sampleRecordId))
                {
                    var mail = renderer.Render(plan.Template, plan.Spec, d.Values, null, null, plan.Spec.SenderValues.GetValueOrDefault("User.P_Name"));
                    _samples.Add(new PreviewMessage(d.Seq, d.RecordId, d.RecordName, d.MailField, d.Address, mail.Subject, mail.HtmlBody, mail.EmptyTags, d.RecipientName)
                    {
                        Fallbacks = mail.Fallbacks,
                    });
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
            // Not a problem, but the user sees who gets 「ご担当者様」 instead of a name.
            foreach (var (tag, (count, examples)) in _fallbacks)
            {
                warnings.Add(new PreviewWarning("FallbackUsed", $"{{{{{tag}}}}} is empty for {count} message(s); they get the fallback text.", count, examples,
                    new Dictionary<string, string> { ["tag"] = tag }) { Records = _fallbackWho.GetValueOrDefault(tag) ?? [] });
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
            if (_skips[3].Count > 0)
            {
                warnings.Add(new PreviewWarning("Suppressed", $"{_skips[3].Count} address(es) are on the suppression list and will be skipped.", _skips[3].Count, _skips[3].Examples) { Records = _skipped[3] });
            }
            if (_skips[4].Count > 0)
            {
                warnings.Add(new PreviewWarning("OptedOutInHrbc", $"{_skips[4].Count} recipient(s) opted out of mail in HRBC and will be skipped.", _skips[4].Count, _skips[4].Examples) { Records = _skipped[4] });
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
        var (spec, plan) = await planner.ValidateAndPlanAsync(request with { AllowNearMissTags = true }, user, cancellationToken).ConfigureAwait(false);
        var files = await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false);
        var position = 0;
        while (true)
        {
            var page = await reader.ReadPageAsync(plan, position, cancellationToken).ConfigureAwait(false);
            var first = DeliveryExpander.ExpandPage(plan, page, 1).FirstOrDefault(d => d.Status == DeliveryStatus.Pending);
            if (first is not null)
            {
                var mail = renderer.Render(plan.Template, plan.Spec, first.Values, null, null, plan.Spec.SenderValues.GetValueOrDefault("User.P_Name"));
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
            delivery = await store.FindDeliveryByRecordAsync(mailing.Id, rid, cancellationToken).ConfigureAwait(false);
        }
        if (delivery is null)
        {
            return null;
        }
        PreviewMessage? message = null;
        if (delivery.Status is not (DeliveryStatus.Skipped or DeliveryStatus.Cancelled))
        {
            // The spec was validated at submit: its tags are known.
            var mail = renderer.Render(templates.Compile(mailing.Spec.Subject, mailing.Spec.Body, _ => true), mailing.Spec, delivery.Values, mailing.Id,
                delivery, mailing.Spec.SenderValues.GetValueOrDefault("User.P_Name"));
            message = new PreviewMessage(delivery.Seq, delivery.RecordId, delivery.RecordName, delivery.MailField, delivery.Address,
                mail.Subject, mail.HtmlBody, mail.EmptyTags, delivery.RecipientName) { Fallbacks = mail.Fallbacks };
        }
        return new DeliveryPreview(delivery.Seq, counts.Total, delivery.Status, delivery.ReasonCode, delivery.ReasonArgs, message);
    }

}
