using BulkMail.Api.Modes;
using BulkMail.Api.Auth;
using System.Globalization;
using System.Text;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Templates;

namespace BulkMail.Api.Mailings;

/// <summary>A validated mailing, ready to expand: the compiled template and what to read from HRBC.</summary>
/// <param name="Target">The resource of the listed records (what the scope reads).</param>
/// <param name="AnchorValues">The anchor record's values (matching modes), flattened with its references; merged into
/// every delivery's tag values.</param>
/// <param name="AnchorMissing">The anchor was deleted in HRBC after the submit: every delivery is skipped.</param>
public sealed record MailingPlan(
    MailingSpec Spec,
    MailTemplate Template,
    HrbcResource Target,
    HrbcFieldList Fields,
    IReadOnlyDictionary<string, HrbcField> Tags,
    IReadOnlyDictionary<string, string> OptionNames)
{
    public ModeShape Shape { get; init; } = ModeShape.Of(Spec.Mode);
    public IReadOnlyDictionary<string, string?> AnchorValues { get; init; } = new Dictionary<string, string?>();
    public bool AnchorMissing { get; init; }
}

/// <summary>
/// Turns a request into a stored spec (every check that can fail happens here, before anything is stored), and a
/// stored spec into a plan (template compiled once per mailing, fields to read). Also used by background expansion
/// after a restart, from the spec alone.
/// </summary>
public sealed class MailingPlanner(HrbcClient hrbc, TagCatalog tags, MailTemplateEngine templates, ITemplateStore savedTemplates)
{
    public const int MaxIds = 100_000;
    public const int MaxPhaseMemoLength = 1000;

    public async Task<MailingSpec> ValidateAsync(MailingRequest request, Sender sender, CancellationToken cancellationToken) =>
        (await CheckAsync(request, sender, cancellationToken).ConfigureAwait(false)).Spec;

    /// <summary>Validates and plans in one go (preview, test send): the template compiled by the validation is the plan's.</summary>
    public async Task<(MailingSpec Spec, MailingPlan Plan)> ValidateAndPlanAsync(MailingRequest request, Sender sender, CancellationToken cancellationToken)
    {
        var (spec, template, tagFields) = await CheckAsync(request, sender, cancellationToken).ConfigureAwait(false);
        return (spec, await PlanAsync(spec, template, tagFields, cancellationToken).ConfigureAwait(false));
    }

    private async Task<(MailingSpec Spec, MailTemplate Template, IReadOnlyDictionary<string, HrbcField> Tags)> CheckAsync(MailingRequest request, Sender sender,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, CodedText[]>();
        if (!StrictEnum.TryParse<MailingMode>(request.Mode, out var mode))
        {
            throw MailingValidationException.One("mode", CodedText.Of(ProblemCode.ModeInvalid, ("modes", string.Join(", ", Enum.GetNames<MailingMode>()))));
        }
        var shape = ModeShape.Of(mode);
        if (shape.Anchor is { } anchorResource)
        {
            if (request.AnchorId is not > 0)
            {
                errors["anchorId"] = [CodedText.Of(ProblemCode.AnchorRequired, ("mode", mode), ("resource", anchorResource.Name))];
            }
            else if (await hrbc.FirstAsync(anchorResource, request.AnchorId.Value, HrbcFieldList.Of(anchorResource.IdAlias), cancellationToken).ConfigureAwait(false) is null)
            {
                errors["anchorId"] = [CodedText.Of(ProblemCode.RecordNotFound, ("resource", anchorResource.Name), ("id", request.AnchorId))];
            }
        }
        var scope = request.Scope;
        if (scope is null || !StrictEnum.TryParse<ScopeKind>(scope.Kind, out var kind))
        {
            throw MailingValidationException.One("scope.kind", CodedText.Of(ProblemCode.ScopeKindInvalid));
        }
        var ids = scope.Ids ?? [];
        if (kind is ScopeKind.Displayed or ScopeKind.Checked)
        {
            if (ids.Count == 0)
            {
                errors["scope.ids"] = [CodedText.Of(ProblemCode.ScopeEmpty, ("kind", kind))];
            }
            else if (ids.Count > MaxIds)
            {
                errors["scope.ids"] = [CodedText.Of(ProblemCode.TooManyIds, ("max", ServerText.N0(MaxIds)), ("count", ServerText.N0(ids.Count)))];
            }
            else if (ids.Any(id => id <= 0))
            {
                errors["scope.ids"] = [CodedText.Of(ProblemCode.IdsNotPositive)];
            }
        }
        HrbcCondition? condition = null;
        if (kind == ScopeKind.All)
        {
            try
            {
                condition = HrbcCondition.Parse(scope.Query?.Condition);
            }
            catch (HrbcConditionException e)
            {
                errors["scope.query.condition"] = [e.Text];
            }
            if (scope.Query?.Keywords is { Length: > HrbcQuery.MaxKeywordsLength })
            {
                errors["scope.query.keywords"] = [CodedText.Of(ProblemCode.KeywordsTooLong, ("max", HrbcQuery.MaxKeywordsLength))];
            }
        }

        var subject = request.Subject;
        var body = request.Body;
        if (!string.IsNullOrEmpty(request.TemplateId))
        {
            var saved = await savedTemplates.GetAsync(sender.Id, request.TemplateId, cancellationToken).ConfigureAwait(false);
            if (saved is null)
            {
                errors["templateId"] = [CodedText.Of(ProblemCode.TemplateMissing, ("id", request.TemplateId))];
            }
            else
            {
                subject = string.IsNullOrEmpty(subject) ? saved.Subject : subject;
                body = string.IsNullOrEmpty(body) ? saved.Body : body;
            }
        }
        // Sizes, nesting depth and tag count are the template engine's (Templates:*), checked before it compiles.
        if (string.IsNullOrWhiteSpace(subject))
        {
            errors["subject"] = [CodedText.Of(ProblemCode.SubjectRequired)];
        }
        if (string.IsNullOrWhiteSpace(body))
        {
            errors["body"] = [CodedText.Of(ProblemCode.BodyRequired)];
        }

        var target = shape.Recipient;
        var mailFields = request.MailFields ?? [];
        if (mailFields.Count == 0)
        {
            errors["mailFields"] = [CodedText.Of(ProblemCode.MailFieldsRequired)];
        }
        else
        {
            var known = (await hrbc.GetMailFieldsAsync(target, cancellationToken).ConfigureAwait(false)).Select(m => m.Alias).ToHashSet();
            var unknown = mailFields.Where(f => !known.Contains(f)).ToList();
            if (unknown.Count > 0)
            {
                errors["mailFields"] = [CodedText.Of(ProblemCode.MailFieldUnknown, ("resource", target.Name), ("fields", string.Join(", ", unknown)), ("known", string.Join(", ", known)))];
            }
        }
        string? phaseName = null;
        if (request.Phase is { OptionAlias: { Length: > 0 } phaseAlias })
        {
            var phases = await hrbc.GetPhaseOptionsAsync(shape.PhaseResource, cancellationToken).ConfigureAwait(false);
            if (phases.FirstOrDefault(o => o.Alias == phaseAlias) is { } phase)
            {
                phaseName = phase.Name;
            }
            else
            {
                errors["phase.optionAlias"] = [CodedText.Of(ProblemCode.PhaseUnknown, ("alias", phaseAlias), ("resource", shape.PhaseResource.Name), ("mode", mode),
                    ("phases", string.Join(", ", phases.Select(o => $"{o.Alias} ({o.Name})"))))];
            }
            if (request.Phase.Memo is { Length: > MaxPhaseMemoLength })
            {
                errors["phase.memo"] = [CodedText.Of(ProblemCode.PhaseMemoTooLong, ("max", MaxPhaseMemoLength))];
            }
        }
        else if (request.Phase is { Memo: { Length: > 0 } })
        {
            errors["phase.optionAlias"] = [CodedText.Of(ProblemCode.PhaseMemoWithoutPhase)];
        }
        string? replyPhaseName = null;
        if (request.OnReply?.Phase is { OptionAlias: { Length: > 0 } replyAlias })
        {
            var phases = await hrbc.GetPhaseOptionsAsync(shape.PhaseResource, cancellationToken).ConfigureAwait(false);
            if (phases.FirstOrDefault(o => o.Alias == replyAlias) is { } phase)
            {
                replyPhaseName = phase.Name;
            }
            else
            {
                errors["onReply.phase.optionAlias"] = [CodedText.Of(ProblemCode.PhaseUnknown, ("alias", replyAlias), ("resource", shape.PhaseResource.Name), ("mode", mode),
                    ("phases", string.Join(", ", phases.Select(o => $"{o.Alias} ({o.Name})"))))];
            }
        }
        if (request.Attachments?.RecordAttachmentIds is { Count: > 0 } && !shape.AnchorAttachments)
        {
            errors["attachments.recordAttachmentIds"] = [shape.Mode switch
            {
                MailingMode.ResumesToRecruiter => CodedText.Of(ProblemCode.RecruiterRecommendationFiles),
                MailingMode.JobsToResume => CodedText.Of(ProblemCode.JobOfferFiles),
                _ => CodedText.Of(ProblemCode.ModeHasNoFiles, ("mode", mode)),
            }];
        }
        if (request.IdempotencyKey is { Length: > 200 })
        {
            errors["idempotencyKey"] = [CodedText.Of(ProblemCode.IdempotencyKeyTooLong, ("max", 200))];
        }

        MailTemplate? compiled = null;
        IReadOnlyDictionary<string, HrbcField>? tagFields = null;
        if (!errors.ContainsKey("subject") && !errors.ContainsKey("body"))
        {
            tagFields = await tags.TagsAsync(mode, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<TemplateError> templateErrors;
            try
            {
                compiled = templates.Compile(subject!, body!, tagFields.ContainsKey, tagFields.Keys);
                // Near-miss spellings (｛｛Person.P_Name｝｝) would go out as typed: refused unless the user confirmed them.
                templateErrors = request.AllowNearMissTags ? [] : compiled.NearMisses;
            }
            catch (TemplateException e)
            {
                templateErrors = e.Errors;
            }
            if (templateErrors.Count > 0)
            {
                foreach (var part in templateErrors.GroupBy(x => x.Part))
                {
                    errors[part.Key] = [.. part.Select(e => e.Text())];
                }
                throw new MailingValidationException(errors, new { templateErrors });
            }
        }
        if (kind == ScopeKind.All && condition is { IsEmpty: false } && !errors.ContainsKey("scope.query.condition"))
        {
            // Checked against Field Read before HRBC is asked (as /api/hrbc/* does): HRBC's own refusal would be a 502.
            var error = await CheckConditionAsync(shape.List, condition, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                errors["scope.query.condition"] = [error];
            }
        }
        if (kind == ScopeKind.All && compiled is not null && tagFields is not null && !errors.ContainsKey("scope.query.condition"))
        {
            // The longest read the mailing will make (expansion pages far into the scope, a preview step's id term):
            // past HRBC's request cap it is refused now, naming the condition, rather than failing later.
            var fields = ModeShape.FieldsFor(shape.List, compiled.Paths, shape.RecipientIsAnchor ? [] : mailFields, tagFields);
            var length = hrbc.ReadRequestLength(shape.List, new HrbcQuery
            {
                Fields = fields,
                Condition = (condition ?? HrbcCondition.Where()).Eq(shape.List.IdAlias, long.MaxValue),
                Keywords = scope.Query?.Keywords,
                Start = 9_999_999,
                Count = HrbcQuery.MaxCount,
                Order = shape.List.IdAlias + ":asc",
            });
            if (length > hrbc.MaxRequestLength)
            {
                errors["scope.query.condition"] = [CodedText.Of(ProblemCode.HrbcRequestTooLong, ("length", length), ("max", hrbc.MaxRequestLength))];
            }
        }
        if (errors.Count > 0)
        {
            throw new MailingValidationException(errors);
        }

        if (kind == ScopeKind.All)
        {
            // An All scope that matches nothing is refused now rather than stored as an empty mailing.
            var probe = await hrbc.ReadPageAsync(shape.List, new HrbcQuery
            {
                Fields = HrbcFieldList.Of(shape.List.IdAlias),
                Condition = condition,
                Keywords = scope.Query?.Keywords,
                Count = 1,
            }, cancellationToken).ConfigureAwait(false);
            if (probe.Total == 0)
            {
                throw MailingValidationException.One("scope", CodedText.Of(ProblemCode.ScopeNoMatch));
            }
        }

        var spec = new MailingSpec
        {
            Mode = mode,
            AnchorId = shape.IsMatching ? request.AnchorId : null,
            ScopeKind = kind,
            Keywords = kind == ScopeKind.All ? scope.Query?.Keywords : null,
            Condition = kind == ScopeKind.All ? condition?.ToString() : null,
            Ids = kind == ScopeKind.All ? [] : [.. ids.Distinct()],
            MailFields = [.. mailFields.Distinct()],
            Subject = subject!,
            Body = body!,
            LogActivity = request.LogActivity,
            PhaseAlias = phaseName is null ? null : request.Phase!.OptionAlias,
            PhaseName = phaseName,
            PhaseMemo = phaseName is null ? null : request.Phase!.Memo,
            UploadIds = [.. (request.Attachments?.UploadIds ?? []).Distinct()],
            RecordAttachmentIds = [.. (request.Attachments?.RecordAttachmentIds ?? []).Distinct()],
            SenderValues = new Dictionary<string, string?> { ["User.P_Name"] = sender.DisplayName, ["User.P_Mail"] = sender.Mailbox },
            OnReply = replyPhaseName is not null || request.OnReply?.LogActivity == true
                ? new ReplyActions(replyPhaseName is null ? null : request.OnReply!.Phase!.OptionAlias, replyPhaseName, request.OnReply!.LogActivity)
                : null,
        };
        // No error means subject and body compiled (the checks above throw otherwise).
        return (spec, compiled!, tagFields!);
    }

    /// <summary>Why HRBC would refuse the condition on <paramref name="resource"/> (a field of another resource, one it
    /// does not have), or null. The same rule as <c>GET /api/hrbc/{resource}</c>.</summary>
    public async Task<CodedText?> CheckConditionAsync(HrbcResource resource, HrbcCondition condition, CancellationToken cancellationToken)
    {
        var fields = await hrbc.GetFieldsAsync(resource, cancellationToken).ConfigureAwait(false);
        foreach (var term in condition.Terms)
        {
            if (!term.Alias.StartsWith(resource.Prefix + ".", StringComparison.Ordinal))
            {
                return CodedText.Of(ProblemCode.ConditionForeignField, ("alias", term.Alias), ("resource", resource.Name));
            }
            var field = fields.FirstOrDefault(f => f.Alias == term.Alias);
            if (field is null)
            {
                return CodedText.Of(ProblemCode.ConditionUnknownField, ("alias", term.Alias), ("resource", resource.Name));
            }
            // Number, Age, Currency and the record id take numbers only: HRBC answers anything else with code 103 (a 502 here).
            if ((field.Type is 3 or 8 or 14 || term.Alias == resource.IdAlias)
                && term.Values.FirstOrDefault(v => !decimal.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign | System.Globalization.NumberStyles.AllowDecimalPoint,
                    System.Globalization.CultureInfo.InvariantCulture, out _)) is { } bad)
            {
                return CodedText.Of(ProblemCode.ConditionNotANumber, ("alias", term.Alias), ("value", bad));
            }
        }
        return null;
    }

    /// <summary>Rebuilds the plan of a stored spec (template compiled once per mailing; the anchor read once).</summary>
    public async Task<MailingPlan> PlanAsync(MailingSpec spec, CancellationToken cancellationToken)
    {
        var tagFields = await tags.TagsAsync(spec.Mode, cancellationToken).ConfigureAwait(false);
        var template = templates.Compile(spec.Subject, spec.Body, tagFields.ContainsKey, tagFields.Keys);
        return await PlanAsync(spec, template, tagFields, cancellationToken).ConfigureAwait(false);
    }

    private async Task<MailingPlan> PlanAsync(MailingSpec spec, MailTemplate template, IReadOnlyDictionary<string, HrbcField> tagFields,
        CancellationToken cancellationToken)
    {
        var shape = ModeShape.Of(spec.Mode);
        var paths = template.Paths;
        var fields = ModeShape.FieldsFor(shape.List, paths, shape.RecipientIsAnchor ? [] : spec.MailFields, tagFields);
        var needsOptionNames = paths.Any(p => tagFields.TryGetValue(p, out var f) && HrbcFieldType.IsOption(f.Type));
        var optionNames = needsOptionNames
            ? await hrbc.GetOptionNamesAsync(cancellationToken).ConfigureAwait(false)
            : new Dictionary<string, string>();
        IReadOnlyDictionary<string, string?> anchorValues = new Dictionary<string, string?>();
        var anchorMissing = false;
        if (shape.Anchor is { } anchorResource && spec.AnchorId is { } anchorId)
        {
            var anchorFields = ModeShape.FieldsFor(anchorResource, paths, shape.RecipientIsAnchor ? spec.MailFields : [], tagFields);
            var anchor = await hrbc.FirstAsync(anchorResource, anchorId, anchorFields, cancellationToken).ConfigureAwait(false);
            anchorMissing = anchor is null;
            if (anchor is not null)
            {
                anchorValues = HrbcDisplay.Flatten(anchor, optionNames);
            }
        }
        return new MailingPlan(spec, template, shape.List, fields, tagFields, optionNames)
        {
            Shape = shape,
            AnchorValues = anchorValues,
            AnchorMissing = anchorMissing,
        };
    }

    private static readonly TimeZoneInfo Japan = FindJapan();

    private static TimeZoneInfo FindJapan()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
        }
        catch (TimeZoneNotFoundException)
        {
            return TimeZoneInfo.CreateCustomTimeZone("JST", TimeSpan.FromHours(9), "JST", "JST");
        }
    }

    /// <summary>A listed record's values with its references and the anchor's, flattened alias → text.</summary>
    public static Dictionary<string, string?> FlatOf(MailingPlan plan, HrbcRecord record)
    {
        var flat = HrbcDisplay.Flatten(record, plan.OptionNames);
        foreach (var (alias, value) in plan.AnchorValues)
        {
            flat.TryAdd(alias, value);
        }
        return flat;
    }

    /// <summary>The tag values of one record: only the aliases the template uses; DateTime values in Japan time.</summary>
    public static Dictionary<string, string?> ValuesOf(MailingPlan plan, HrbcRecord record) => ValuesOf(plan, FlatOf(plan, record));

    public static Dictionary<string, string?> ValuesOf(MailingPlan plan, IReadOnlyDictionary<string, string?> flat)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var path in plan.Template.Paths)
        {
            if (plan.Spec.SenderValues.TryGetValue(path, out var senderValue))
            {
                values[path] = senderValue;
                continue;
            }
            var value = flat.GetValueOrDefault(path);
            if (value is not null && plan.Tags.TryGetValue(path, out var f) && f.Type is HrbcFieldType.DateTime or HrbcFieldType.System
                && DateTime.TryParseExact(value, HrbcRecord.DateTimeFormat, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var utc))
            {
                value = TimeZoneInfo.ConvertTimeFromUtc(utc, Japan).ToString("yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture);
            }
            values[path] = value;
        }
        return values;
    }
}

/// <summary>The plan of one worker run, built on first use and then shared (expansion, lanes, follow-ups): one template
/// compilation and one anchor read per run. A failed build is not kept, so a later use in the run tries again.</summary>
public sealed class RunPlan(MailingPlanner planner, MailingSpec spec)
{
    private Task<MailingPlan>? _plan;

    public Task<MailingPlan> GetAsync(CancellationToken cancellationToken)
    {
        if (_plan is null || _plan.IsFaulted || _plan.IsCanceled)
        {
            _plan = planner.PlanAsync(spec, cancellationToken);
        }
        return _plan;
    }
}
