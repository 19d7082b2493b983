using BulkMail.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BulkMail.Api.Hrbc;

/// <summary>The task pane's window on HRBC: search lists, one record with its attachments, field metadata, phases.</summary>
public static class HrbcApi
{
    private const int DefaultCount = 20;

    public static RouteGroupBuilder MapHrbcApi(this IEndpointRouteBuilder app)
    {
        // HRBC holds candidates' personal data: only signed-in users of the tenant may read it through BulkMail.
        var group = app.MapGroup("/api/hrbc").WithTags("HRBC").RequireAuthorization();
        group.MapGet("/phases", GetPhasesAsync).WithSummary("Phase options (Process by default; ?resource=Resume|Recruiter …)");
        group.MapGet("/{resource}", ListRecordsAsync).WithSummary("A page of resumes, jobs or recruiters with the total");
        group.MapGet("/{resource}/fields", GetFieldsAsync).WithSummary("Field metadata of Resume, Job, Recruiter, Client, Process or Candidate");
        group.MapGet("/{resource}/{id:long}", GetRecordAsync).WithSummary("One resume or job with its attachments' metadata");
        group.MapGet("/{resource}/{id:long}/match", GetMatchAsync)
            .WithSummary("A job's (or resume's) values in the option fields the matching list shares with it, as conditions on the list");
        return group;
    }

    public static async Task<Results<Ok<HrbcListResponse>, ValidationProblem, ProblemHttpResult>> ListRecordsAsync(
        string resource, string? keywords, string? condition, string? start, string? count,
        HrbcClient hrbc, CancellationToken cancellationToken)
    {
        if (ListResource(resource) is not { } r)
        {
            return UnknownResource(resource, "resumes, jobs or recruiters");
        }
        var errors = new Dictionary<string, CodedText[]>();
        var startValue = ParseInt(start, "start", 0, 0, int.MaxValue, errors);
        var countValue = ParseInt(count, "count", DefaultCount, 1, HrbcQuery.MaxCount, errors);
        // Tabs and line breaks are refused as they were, before spaces become HRBC's commas.
        var control = keywords is not null && keywords.Any(char.IsControl);
        keywords = HrbcQuery.NormalizeKeywords(keywords);
        if (keywords is { Length: > HrbcQuery.MaxKeywordsLength })
        {
            errors["keywords"] = [CodedText.Of(ProblemCode.KeywordsTooLong, ("max", HrbcQuery.MaxKeywordsLength))];
        }
        else if (control)
        {
            errors["keywords"] = [CodedText.Of(ProblemCode.KeywordsControlCharacters)];
        }
        HrbcCondition? parsed = null;
        try
        {
            parsed = HrbcCondition.Parse(condition);
        }
        catch (HrbcConditionException e)
        {
            errors["condition"] = [e.Text];
        }
        if (parsed is { IsEmpty: false })
        {
            var fields = await hrbc.GetFieldsAsync(r, cancellationToken).ConfigureAwait(false);
            foreach (var term in parsed.Terms)
            {
                if (!term.Alias.StartsWith(r.Prefix + ".", StringComparison.Ordinal))
                {
                    errors["condition"] = [CodedText.Of(ProblemCode.ConditionForeignField, ("alias", term.Alias), ("resource", r.Name))];
                }
                else if (!fields.Any(f => f.Alias == term.Alias))
                {
                    errors["condition"] = [CodedText.Of(ProblemCode.ConditionUnknownField, ("resource", r.Name), ("alias", term.Alias))];
                }
            }
        }
        if (errors.Count > 0)
        {
            return Problems.Validation(ProblemCode.InvalidSearch, errors);
        }

        var fieldList = await ListFieldsAsync(hrbc, r, cancellationToken).ConfigureAwait(false);
        var query = new HrbcQuery
        {
            Fields = fieldList,
            Condition = parsed,
            Keywords = keywords,
            Start = startValue,
            Count = countValue,
            Order = r.IdAlias + ":asc",
        };
        if (hrbc.ReadRequestLength(r, query) is var length && length > hrbc.MaxRequestLength)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["condition"] = [$"The search makes an HRBC request of {length:N0} characters; HRBC accepts at most {hrbc.MaxRequestLength:N0}. Use a shorter condition (fewer values) or fewer keywords."],
            }, title: "The search has invalid parameters.");
        }
        var page = await hrbc.ReadPageAsync(r, query, cancellationToken).ConfigureAwait(false);
        var names = await OptionNamesIfNeededAsync(hrbc, page.Items, cancellationToken).ConfigureAwait(false);
        var items = page.Items.Select(i => ToListItem(r, i, names)).ToList();
        return TypedResults.Ok(new HrbcListResponse(r.Path + "s", page.Total, page.Start, items.Count, items));
    }

    public static async Task<Results<Ok<HrbcRecordResponse>, ProblemHttpResult>> GetRecordAsync(
        string resource, long id, HrbcClient hrbc, CancellationToken cancellationToken)
    {
        var r = ListResource(resource);
        if (r is null || r == HrbcResource.Recruiter)
        {
            return UnknownResource(resource, "resumes or jobs");
        }
        var fields = await ListFieldsAsync(hrbc, r, cancellationToken).ConfigureAwait(false);
        var record = await hrbc.FirstAsync(r, id, fields, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ProblemCode.RecordNotFound, ("resource", r.Name), ("id", id));
        }
        var names = await OptionNamesIfNeededAsync(hrbc, [record], cancellationToken).ConfigureAwait(false);
        var attachments = await hrbc.GetAttachmentsAsync(r, id, cancellationToken).ConfigureAwait(false);
        var item = ToListItem(r, record, names);
        return TypedResults.Ok(new HrbcRecordResponse(r.Path, item.Id, item.Name, item.Subtitle, item.Fields,
            [.. attachments.Select(a => new HrbcAttachmentDto(a.Id, a.FileName, a.ContentType))]));
    }

    /// <summary>The starting conditions of a matching list (レジュメサーチ from a JOB, JOBサーチ from a resume): for every
    /// option master both resources use (Field Read's <c>ReferTo</c>, e.g. Job.P_Area and Resume.P_ExpectArea both
    /// Option.P_Area: 勤務地, 職種, 業種 …), the anchor's chosen options, as one <c>or</c> term on the list's field. Phases
    /// are each resource's own master, so they never pair. Where a resume has several fields of one master (desired and
    /// experienced job category), the desired one (<c>P_Expect…</c>) pairs.</summary>
    public static async Task<Results<Ok<MatchConditions>, ProblemHttpResult>> GetMatchAsync(
        string resource, long id, HrbcClient hrbc, CancellationToken cancellationToken)
    {
        var anchor = ListResource(resource);
        if (anchor is null || anchor == HrbcResource.Recruiter)
        {
            return UnknownResource(resource, "resumes or jobs");
        }
        var target = anchor == HrbcResource.Job ? HrbcResource.Resume : HrbcResource.Job;
        var anchorFields = OptionFieldsByRoot(await hrbc.GetFieldsAsync(anchor, cancellationToken).ConfigureAwait(false));
        var targetFields = OptionFieldsByRoot(await hrbc.GetFieldsAsync(target, cancellationToken).ConfigureAwait(false));
        var pairs = anchorFields.Where(a => targetFields.ContainsKey(a.Key)).Select(a => (Root: a.Key, Anchor: a.Value, Target: targetFields[a.Key])).ToList();
        var record = await hrbc.FirstAsync(anchor, id,
            HrbcFieldList.Of([anchor.IdAlias, .. pairs.Select(p => p.Anchor.Alias)]), cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ProblemCode.RecordNotFound, ("resource", anchor.Name), ("id", id));
        }
        var names = pairs.Count > 0 ? await hrbc.GetOptionNamesAsync(cancellationToken).ConfigureAwait(false) : null;
        var conditions = new List<MatchCondition>();
        foreach (var (root, from, to) in pairs)
        {
            if (record.Fields.GetValueOrDefault(from.Alias) is not HrbcOptionSet { Options.Count: > 0 } chosen)
            {
                continue;
            }
            conditions.Add(new MatchCondition(to.Alias, to.Name, from.Alias, from.Name, root,
                [.. chosen.Options.Select(o => new MatchOption(o.Alias, o.Name ?? names?.GetValueOrDefault(o.Alias) ?? o.Alias))]));
        }
        return TypedResults.Ok(new MatchConditions(target.Path + "s", conditions));
    }

    /// <summary>Option fields (not phases) by their option root; of several on one root, the desired (P_Expect…) one.</summary>
    private static Dictionary<string, HrbcField> OptionFieldsByRoot(IReadOnlyList<HrbcField> fields) =>
        fields.Where(f => HrbcFieldType.IsOption(f.Type) && f.ReferTo is { Length: > 0 } && !f.Alias.EndsWith(".P_Phase", StringComparison.Ordinal))
            .GroupBy(f => f.ReferTo!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.FirstOrDefault(f => f.Alias.Contains(".P_Expect", StringComparison.Ordinal)) ?? g.First(), StringComparer.Ordinal);

    public static async Task<Results<Ok<IReadOnlyList<HrbcFieldDto>>, ProblemHttpResult>> GetFieldsAsync(
        string resource, HrbcClient hrbc, CancellationToken cancellationToken)
    {
        var r = HrbcResource.Find(resource);
        if (r is null || r == HrbcResource.Activity)
        {
            return UnknownResource(resource, "Resume, Job, Recruiter, Client, Process or Candidate");
        }
        var fields = await hrbc.GetFieldsAsync(r, cancellationToken).ConfigureAwait(false);
        var mail = (await hrbc.GetMailFieldsAsync(r, cancellationToken).ConfigureAwait(false)).Select(m => m.Alias).ToHashSet();
        return TypedResults.Ok<IReadOnlyList<HrbcFieldDto>>([.. fields.Select(f =>
            new HrbcFieldDto(f.Alias, f.Name, f.TypeName, f.Type, f.Required, mail.Contains(f.Alias), f.ReferTo))]);
    }

    public static async Task<Results<Ok<IReadOnlyList<HrbcPhaseDto>>, ProblemHttpResult>> GetPhasesAsync(
        string? resource, HrbcClient hrbc, CancellationToken cancellationToken)
    {
        var r = string.IsNullOrEmpty(resource) ? HrbcResource.Process : HrbcResource.Find(resource);
        if (r is null || HrbcOptionType.PhaseOf(r) is null)
        {
            return UnknownResource(resource ?? "", "Process, Resume, Recruiter, Job, Client or Candidate");
        }
        var phases = await hrbc.GetPhaseOptionsAsync(r, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok<IReadOnlyList<HrbcPhaseDto>>([.. phases.Select(p => new HrbcPhaseDto(p.Alias, p.Name, p.Id, p.Order, r.Name))]);
    }

    private static HrbcResource? ListResource(string resource) => resource.ToLowerInvariant() switch
    {
        "resumes" => HrbcResource.Resume,
        "jobs" => HrbcResource.Job,
        "recruiters" => HrbcResource.Recruiter,
        _ => null,
    };

    /// <summary>The default fields plus every mail field discovered for the resource (custom U_ mail fields included).</summary>
    private static async Task<HrbcFieldList> ListFieldsAsync(HrbcClient hrbc, HrbcResource r, CancellationToken cancellationToken)
    {
        var list = r == HrbcResource.Resume ? HrbcClient.ResumeFields()
            : r == HrbcResource.Job ? HrbcClient.JobFields()
            : HrbcClient.RecruiterFields();
        // Lists show what recruiters tell records apart by (ID, phase, owner, updated); resumes also the age, where the
        // tenant has a date of birth.
        if (r == HrbcResource.Resume && !list.Contains("Resume.P_DateOfBirth")
            && (await hrbc.GetFieldsAsync(r, cancellationToken).ConfigureAwait(false)).Any(f => f.Alias == "Resume.P_DateOfBirth"))
        {
            list.Add("Resume.P_DateOfBirth");
        }
        foreach (var m in await hrbc.GetMailFieldsAsync(r, cancellationToken).ConfigureAwait(false))
        {
            if (!list.Contains(m.Alias))
            {
                list.Add(m.Alias);
            }
        }
        return list;
    }

    private static async Task<IReadOnlyDictionary<string, string>?> OptionNamesIfNeededAsync(HrbcClient hrbc, IEnumerable<HrbcRecord> records, CancellationToken cancellationToken) =>
        records.Any(NeedsNames) ? await hrbc.GetOptionNamesAsync(cancellationToken).ConfigureAwait(false) : null;

    private static bool NeedsNames(HrbcRecord r) => r.Fields.Values.Any(v => v switch
    {
        HrbcOptionSet s => s.Options.Any(o => o.Name is null),
        HrbcReference refs => refs.Records.Any(NeedsNames),
        _ => false,
    });

    private static HrbcListItem ToListItem(HrbcResource r, HrbcRecord record, IReadOnlyDictionary<string, string>? names)
    {
        var fields = HrbcDisplay.Flatten(record, names);
        var id = record.Id ?? 0;
        var (name, subtitle) = r.Name switch
        {
            "Resume" => (fields.GetValueOrDefault("Person.P_Name") ?? fields.GetValueOrDefault("Resume.P_Name"), fields.GetValueOrDefault("Person.P_Reading")),
            "Job" => (fields.GetValueOrDefault("Job.P_Position"), fields.GetValueOrDefault("Client.P_Name")),
            _ => (fields.GetValueOrDefault("Recruiter.P_Name"), JoinNonEmpty(fields.GetValueOrDefault("Client.P_Name"), fields.GetValueOrDefault("Recruiter.P_Division"))),
        };
        return new HrbcListItem(id, name ?? $"#{id}", subtitle, fields);
    }

    private static string? JoinNonEmpty(params string?[] parts) =>
        parts.Where(p => !string.IsNullOrEmpty(p)).ToArray() is { Length: > 0 } a ? string.Join(" / ", a) : null;

    private static int ParseInt(string? text, string name, int fallback, int min, int max, Dictionary<string, CodedText[]> errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            errors[name] = [max == int.MaxValue ? CodedText.Of(ProblemCode.NumberTooSmall, ("name", name), ("min", min)) : CodedText.Of(ProblemCode.NumberOutOfRange, ("name", name), ("min", min), ("max", max))];
            return fallback;
        }
        return n;
    }

    private static ProblemHttpResult UnknownResource(string resource, string allowed) =>
        Problems.Of(StatusCodes.Status404NotFound, ProblemCode.UnknownResource, ("resource", resource), ("allowed", allowed));
}

public sealed record HrbcListResponse(string Resource, int Total, int Start, int Count, IReadOnlyList<HrbcListItem> Items);

/// <summary>A record for lists: id, a display name and subtitle, and every read field as display text by alias.</summary>
public sealed record HrbcListItem(long Id, string Name, string? Subtitle, IReadOnlyDictionary<string, string?> Fields);

public sealed record HrbcRecordResponse(string Resource, long Id, string Name, string? Subtitle,
    IReadOnlyDictionary<string, string?> Fields, IReadOnlyList<HrbcAttachmentDto> Attachments);

public sealed record HrbcAttachmentDto(long Id, string FileName, string ContentType);

public sealed record HrbcFieldDto(string Alias, string Label, string Type, int TypeCode, bool Required, bool IsMail, string? ReferTo);

public sealed record HrbcPhaseDto(string Alias, string Name, long Id, int Order, string Resource);

/// <summary>The starting conditions of a matching list: <see cref="Resource"/> is the list (resumes or jobs).</summary>
public sealed record MatchConditions(string Resource, IReadOnlyList<MatchCondition> Conditions);

/// <summary>One shared option master: the list's field (<see cref="Field"/>, its label), the anchor's field it came
/// from, and the anchor's options; the condition term is <c>{Field}:or={alias}:{alias}…</c>.</summary>
public sealed record MatchCondition(string Field, string Label, string AnchorField, string AnchorLabel, string OptionRoot, IReadOnlyList<MatchOption> Options);

public sealed record MatchOption(string Alias, string Name);
