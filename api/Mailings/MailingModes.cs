using BulkMail.Api.Modes;
using BulkMail.Api.Hrbc;

namespace BulkMail.Api.Mailings;

/// <summary>
/// The shape of a mode (MISSION §2.3): which records the scope lists, which record the anchor is, whose mail fields
/// are the recipients, and whose HRBC attachments may travel with the mail.
/// </summary>
/// <param name="List">The resource of the records the user searched and picked (one mail per record and mail field).</param>
/// <param name="Anchor">The record the matching list started from (a job or a resume), or none.</param>
/// <param name="Recipient">The resource whose mail fields are ticked.</param>
/// <param name="RecipientIsAnchor">True when every mail goes to the anchor's side (one person).</param>
/// <param name="AnchorAttachments">Whether the anchor record's HRBC attachments may be attached.</param>
public sealed record ModeShape(MailingMode Mode, HrbcResource List, HrbcResource? Anchor, HrbcResource Recipient, bool RecipientIsAnchor,
    bool AnchorAttachments, HrbcResource PhaseResource)
{
    public bool IsMatching => Anchor is not null;

    public static ModeShape Of(MailingMode mode) => mode switch
    {
        MailingMode.Resumes => new(mode, HrbcResource.Resume, null, HrbcResource.Resume, false, false, HrbcResource.Resume),
        MailingMode.Recruiters => new(mode, HrbcResource.Recruiter, null, HrbcResource.Recruiter, false, false, HrbcResource.Recruiter),
        MailingMode.JobToResumes => new(mode, HrbcResource.Resume, HrbcResource.Job, HrbcResource.Resume, false, true, HrbcResource.Process),
        MailingMode.ResumesToRecruiter => new(mode, HrbcResource.Resume, HrbcResource.Job, HrbcResource.Recruiter, true, false, HrbcResource.Process),
        MailingMode.JobsToResume => new(mode, HrbcResource.Job, HrbcResource.Resume, HrbcResource.Resume, true, false, HrbcResource.Process),
        MailingMode.ResumeToRecruiters => new(mode, HrbcResource.Job, HrbcResource.Resume, HrbcResource.Recruiter, false, true, HrbcResource.Process),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

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
}
