using BulkMail.Api.Hrbc;

namespace BulkMail.Api.Modes;

/// <summary>
/// The mode table (docs/architecture.md, Modes): the one place that says, per mode, which records the scope lists,
/// which record the anchor is, whose mail fields are the recipients, whose HRBC files may travel with the mail, whose
/// phase is set, which resources the templates' tags come from, and — derived from list and anchor — the job and
/// resume of a delivery and what its Activity is written on. The API, the template catalogue and the task pane
/// (<c>GET /api/modes</c>, committed as <c>addin/src/model/modes.json</c>) all read it.
/// </summary>
/// <param name="List">The resource of the records the user searched and picked (one mail per record and mail field).</param>
/// <param name="Anchor">The record the matching list started from (a job or a resume), or none.</param>
/// <param name="Recipient">The resource whose mail fields are ticked.</param>
/// <param name="RecipientIsAnchor">True when every mail goes to the anchor's side (one person).</param>
/// <param name="AnchorAttachments">Whether the anchor record's HRBC attachments may be attached.</param>
/// <param name="PhaseResource">Whose phase the mailing may set (Process: the resume × job of each mail).</param>
/// <param name="TagContext">The resources whose fields the mode's templates may use (besides the sender's User tags).</param>
public sealed record ModeShape(MailingMode Mode, HrbcResource List, HrbcResource? Anchor, HrbcResource Recipient, bool RecipientIsAnchor,
    bool AnchorAttachments, HrbcResource PhaseResource, IReadOnlyList<HrbcResource> TagContext)
{
    private static readonly HrbcResource[] MatchingTags =
        [HrbcResource.Resume, HrbcResource.Candidate, HrbcResource.Job, HrbcResource.Client, HrbcResource.Recruiter];

    /// <summary>Every mode, in the order of <see cref="MailingMode"/>.</summary>
    public static IReadOnlyList<ModeShape> All { get; } =
    [
        new(MailingMode.Resumes, HrbcResource.Resume, null, HrbcResource.Resume, false, false, HrbcResource.Resume,
            [HrbcResource.Resume, HrbcResource.Candidate]),
        new(MailingMode.Recruiters, HrbcResource.Recruiter, null, HrbcResource.Recruiter, false, false, HrbcResource.Recruiter,
            [HrbcResource.Recruiter, HrbcResource.Client]),
        new(MailingMode.JobToResumes, HrbcResource.Resume, HrbcResource.Job, HrbcResource.Resume, false, true, HrbcResource.Process, MatchingTags),
        new(MailingMode.ResumesToRecruiter, HrbcResource.Resume, HrbcResource.Job, HrbcResource.Recruiter, true, false, HrbcResource.Process, MatchingTags),
        new(MailingMode.JobsToResume, HrbcResource.Job, HrbcResource.Resume, HrbcResource.Resume, true, false, HrbcResource.Process, MatchingTags),
        new(MailingMode.ResumeToRecruiters, HrbcResource.Job, HrbcResource.Resume, HrbcResource.Recruiter, false, true, HrbcResource.Process, MatchingTags),
    ];

    public bool IsMatching => Anchor is not null;

    public static ModeShape Of(MailingMode mode) =>
        All.FirstOrDefault(s => s.Mode == mode) ?? throw new ArgumentOutOfRangeException(nameof(mode));

    /// <summary>The job and the resume a delivery of a listed record is about: whichever of list and anchor is a job,
    /// and whichever is a resume (none for a recruiter list).</summary>
    public (long? JobId, long? ResumeId) IdsOf(long recordId, long? anchorId)
    {
        long? Side(HrbcResource resource) => List == resource ? recordId : Anchor == resource ? anchorId : null;
        return (Side(HrbcResource.Job), Side(HrbcResource.Resume));
    }

    /// <summary>The record a delivery's HRBC Activity is written on: the Process the phase update wrote (matching
    /// modes), else the resume, else the listed record.</summary>
    public (HrbcResource Resource, long Id) ActivityOn(long recordId, long? resumeId, long? processId) =>
        processId is { } p ? (HrbcResource.Process, p)
        : resumeId is { } r ? (HrbcResource.Resume, r)
        : (List, recordId);

    /// <summary>The fields to read of a record of <paramref name="resource"/>: the template's own paths, its name, and
    /// the records it refers to (a resume's candidate; a job's client and recruiter; a recruiter's client) with
    /// the paths of those resources, plus <paramref name="extra"/> (mail fields to send to).</summary>
    public static HrbcFieldList FieldsFor(HrbcResource resource, IReadOnlyCollection<string> paths, IEnumerable<string> extra,
        IReadOnlyDictionary<string, HrbcField> tagFields)
    {
        var wanted = paths.Concat(extra).Distinct().ToList();
        IEnumerable<string> Of(string prefix, params string[] always) =>
            always.Concat(wanted.Where(p => p.StartsWith(prefix + ".", StringComparison.Ordinal))).Distinct();
        var fields = HrbcFieldList.Of(resource.IdAlias);
        if (resource == HrbcResource.Resume)
        {
            fields.Add("Resume.P_Name");
            fields.Add("Resume.P_Candidate", [.. Of("Person", "Person.P_Id", "Person.P_Name")]);
        }
        else if (resource == HrbcResource.Job)
        {
            fields.Add("Job.P_Position");
            fields.Add("Job.P_Client", [.. Of("Client", "Client.P_Id", "Client.P_Name")]);
            fields.Add("Job.P_Recruiter", [.. Of("Recruiter", "Recruiter.P_Id", "Recruiter.P_Name")]);
        }
        else if (resource == HrbcResource.Recruiter)
        {
            fields.Add("Recruiter.P_Name");
            fields.Add("Recruiter.P_Client", [.. Of("Client", "Client.P_Id", "Client.P_Name")]);
        }
        foreach (var alias in wanted.Where(p => p.StartsWith(resource.Prefix + ".", StringComparison.Ordinal) && !fields.Contains(p)))
        {
            if (tagFields.TryGetValue(alias, out var f) && f.Type == HrbcFieldType.User)
            {
                fields.Add(alias, "User.P_Id", "User.P_Name");
            }
            else
            {
                fields.Add(alias);
            }
        }
        return fields;
    }

    /// <summary>What the result file calls a record of the list: the candidate's name, the job's position, the recruiter's name.</summary>
    public static string? NameOf(HrbcResource resource, HrbcRecord record) =>
        resource == HrbcResource.Resume ? record.Ref("Resume.P_Candidate")?.Text("Person.P_Name") ?? record.Text("Resume.P_Name")
        : resource == HrbcResource.Job ? record.Text("Job.P_Position")
        : record.Text(resource.Prefix + ".P_Name");

    /// <summary>The recipient's display name on the message.</summary>
    public static string? RecipientNameOf(HrbcResource recipient, IReadOnlyDictionary<string, string?> flat) =>
        recipient == HrbcResource.Resume ? flat.GetValueOrDefault("Person.P_Name") ?? flat.GetValueOrDefault("Resume.P_Name")
        : flat.GetValueOrDefault(recipient.Prefix + ".P_Name");

    /// <summary>The row as the task pane reads it (<c>GET /api/modes</c>).</summary>
    public ModeInfo ToInfo() => new(Mode, List.Path + "s", Anchor?.Path, Recipient.Name, RecipientIsAnchor, AnchorAttachments, PhaseResource.Name,
        [.. TagContext.Select(r => r.Name)]);
}

/// <summary>One row of the mode table for the task pane.</summary>
/// <param name="List">The list resource as <c>/api/hrbc/{resource}</c> names it: resumes, jobs, recruiters.</param>
/// <param name="Anchor">job, resume, or null.</param>
/// <param name="Recipient">The resource whose mail fields are ticked (Resume, Recruiter).</param>
/// <param name="PhaseResource">Whose phase options the phase picker lists (Resume, Recruiter, Process).</param>
/// <param name="TagResources">Resources whose fields the templates may use (besides User.P_Name / User.P_Mail).</param>
public sealed record ModeInfo(MailingMode Mode, string List, string? Anchor, string Recipient, bool RecipientIsAnchor, bool AnchorAttachments,
    string PhaseResource, IReadOnlyList<string> TagResources);
