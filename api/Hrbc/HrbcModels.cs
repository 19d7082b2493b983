namespace BulkMail.Api.Hrbc;

/// <summary>Field types (<c>Field.P_Type</c>) as listed in HRBC's Field Type / Data Type list.</summary>
public static class HrbcFieldType
{
    public const int SinglelineText = 1, MultilineText = 2, Number = 3, Date = 4, OptionCheckbox = 5, OptionRadio = 6,
        OptionDropdown = 7, Age = 8, Url = 9, Mail = 10, System = 11, DateTime = 12, Currency = 14, Telephone = 15,
        Reference = 16, User = 17, Image = 18, Link = 20;

    public static string Name(int type) => type switch
    {
        SinglelineText => "SinglelineText",
        MultilineText => "MultilineText",
        Number => "Number",
        Date => "Date",
        OptionCheckbox => "OptionCheckbox",
        OptionRadio => "OptionRadiobutton",
        OptionDropdown => "OptionDropdown",
        Age => "Age",
        Url => "URL",
        Mail => "Mail",
        System => "System",
        DateTime => "DateTime",
        Currency => "Currency",
        Telephone => "Telephone",
        Reference => "Reference",
        User => "User",
        Image => "Image",
        Link => "Link",
        _ => "Unknown",
    };

    public static bool IsOption(int type) => type is OptionCheckbox or OptionRadio or OptionDropdown;
}

/// <summary>Field metadata from Field Read. <see cref="ReferTo"/>: the option root for option fields,
/// the mirrored parent field for Reference fields (e.g. <c>Resume.P_Mail</c> → <c>Person.P_Mail</c>).</summary>
public sealed record HrbcField(long Id, string Alias, string Name, int Type, bool Required, string? ReferTo)
{
    public string TypeName => HrbcFieldType.Name(Type);
}

/// <summary>A field that holds an e-mail address: a Mail field, or a Reference mirroring one.</summary>
public sealed record HrbcMailField(string Alias, string Name, string? SourceAlias);

/// <summary>An option of the option master, with its children.</summary>
public sealed record HrbcOptionItem(long Id, string Alias, string Name, long? ParentId, int Type, int Order, IReadOnlyList<HrbcOptionItem> Children)
{
    public IEnumerable<HrbcOptionItem> SelfAndDescendants() => Children.SelectMany(c => c.SelfAndDescendants()).Prepend(this);
}

/// <summary><c>Option.P_Type</c> values: which option lists are phases of which resource.</summary>
public static class HrbcOptionType
{
    public const int Normal = 0, ResumePhase = 1, JobPhase = 2, ProcessPhase = 3, ActivityPhase = 4, ClientPhase = 5,
        RecruiterPhase = 6, CandidatePhase = 7;

    public static int? PhaseOf(HrbcResource resource) => resource.Name switch
    {
        "Resume" => ResumePhase,
        "Job" => JobPhase,
        "Process" => ProcessPhase,
        "Activity" => ActivityPhase,
        "Client" => ClientPhase,
        "Recruiter" => RecruiterPhase,
        "Candidate" => CandidatePhase,
        _ => null,
    };
}

public sealed record HrbcAttachment(long Id, int Resource, long ResourceId, string FileName, string ContentType);

public sealed record HrbcAttachmentContent(HrbcAttachment Attachment, byte[] Content);

public sealed record HrbcUser(long Id, string? Name, string? Mail)
{
    public static HrbcUser From(HrbcRecord r) => new(r.Long("User.P_Id") ?? 0, r.Text("User.P_Name"), r.Text("User.P_Mail"));
}

/// <summary>A Resume with its candidate (<c>Person.*</c>) as read with <see cref="HrbcClient.ResumeFields"/>.</summary>
public sealed record HrbcResume(long Id, string? Name, HrbcRecord? Person, HrbcRecord Record)
{
    public static HrbcResume From(HrbcRecord r) => new(r.Id ?? 0, r.Text("Resume.P_Name"), r.Ref("Resume.P_Candidate"), r);

    public long? CandidateId => Record.RefId("Resume.P_Candidate");

    /// <summary>The person's name, falling back to the resume title.</summary>
    public string DisplayName => Person?.Text("Person.P_Name") ?? Name ?? $"#{Id}";
}

/// <summary>A Job with its Client and Recruiter as read with <see cref="HrbcClient.JobFields"/>.</summary>
public sealed record HrbcJob(long Id, string? Position, HrbcRecord? Client, HrbcRecord? Recruiter, HrbcRecord Record)
{
    public static HrbcJob From(HrbcRecord r) => new(r.Id ?? 0, r.Text("Job.P_Position"), r.Ref("Job.P_Client"), r.Ref("Job.P_Recruiter"), r);

    public long? ClientId => Record.RefId("Job.P_Client");
    public long? RecruiterId => Record.RefId("Job.P_Recruiter");
}

/// <summary>A Recruiter (client contact) with its Client.</summary>
public sealed record HrbcRecruiter(long Id, string? Name, HrbcRecord? Client, HrbcRecord Record)
{
    public static HrbcRecruiter From(HrbcRecord r) => new(r.Id ?? 0, r.Text("Recruiter.P_Name"), r.Ref("Recruiter.P_Client"), r);

    public long? ClientId => Record.RefId("Recruiter.P_Client");
}

public sealed record HrbcClientCompany(long Id, string? Name, HrbcRecord Record)
{
    public static HrbcClientCompany From(HrbcRecord r) => new(r.Id ?? 0, r.Text("Client.P_Name"), r);
}

public sealed record HrbcProcess(long Id, long? JobId, long? ResumeId, string? PhaseAlias, DateTimeOffset? PhaseDate, HrbcRecord Record)
{
    public static HrbcProcess From(HrbcRecord r) => new(r.Id ?? 0, r.RefId("Process.P_Job"), r.RefId("Process.P_Resume"),
        r.Options("Process.P_Phase").FirstOrDefault()?.Alias, r.DateTimeUtc("Process.P_PhaseDate"), r);
}

/// <summary>Set a record's phase (Resume, Recruiter …) at a date; memo optional.</summary>
public sealed record HrbcPhaseChange(long RecordId, string PhaseAlias, DateTimeOffset PhaseDate, string? Memo);

public sealed record HrbcPhaseChangeResult(long RecordId, int Code, string? Message, DateTimeOffset? PhaseDate)
{
    public bool Succeeded => Code == 0;
}

/// <summary>Set the phase of the selection process Job × Resume, creating the process when there is none.</summary>
public sealed record HrbcProcessPhaseChange(long JobId, long ResumeId, string PhaseAlias, DateTimeOffset PhaseDate, string? Memo);

public sealed record HrbcProcessPhaseResult(long JobId, long ResumeId, long? ProcessId, bool Created, int Code, string? Message, DateTimeOffset? PhaseDate)
{
    public bool Succeeded => Code == 0;
}

/// <summary>An Activity (the only API-side trace of a sent mail) on a record given by resource value and id.</summary>
/// <param name="Marker">Unique text written into the memo (e.g. <c>[BulkMail 3f…-17]</c>) by which a write whose answer was
/// lost is found again instead of being written twice; without one such a write is not repeated.</param>
public sealed record HrbcActivityEntry(int Resource, long ResourceId, string Title, string? Memo, DateTimeOffset At, string? Marker = null);
