namespace BulkMail.Api.Hrbc;

/// <summary>An HRBC resource: its endpoint, numeric value (used by Field, Attachment, Phase, Activity) and alias prefix.</summary>
public sealed record HrbcResource(string Name, string Path, int Value, string Prefix)
{
    public static readonly HrbcResource Candidate = new("Candidate", "candidate", 1, "Person");
    public static readonly HrbcResource Job = new("Job", "job", 3, "Job");
    public static readonly HrbcResource Client = new("Client", "client", 5, "Client");
    public static readonly HrbcResource Process = new("Process", "process", 7, "Process");
    public static readonly HrbcResource Recruiter = new("Recruiter", "recruiter", 9, "Recruiter");
    public static readonly HrbcResource Resume = new("Resume", "resume", 17, "Resume");
    public static readonly HrbcResource Activity = new("Activity", "activity", 19, "Activity");

    public static IReadOnlyList<HrbcResource> All { get; } = [Candidate, Job, Client, Process, Recruiter, Resume, Activity];

    /// <summary>The alias of the primary key, e.g. <c>Resume.P_Id</c>.</summary>
    public string IdAlias => Prefix + ".P_Id";

    public string Alias(string field) => Prefix + "." + field;

    /// <summary>Finds a resource by name, path, plural path ("resumes") or alias prefix ("Person"), ignoring case.</summary>
    public static HrbcResource? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }
        foreach (var r in All)
        {
            if (name.Equals(r.Name, StringComparison.OrdinalIgnoreCase)
                || name.Equals(r.Path + "s", StringComparison.OrdinalIgnoreCase)
                || name.Equals(r.Prefix, StringComparison.OrdinalIgnoreCase))
            {
                return r;
            }
        }
        return null;
    }

    public static HrbcResource? FromPrefix(string prefix) => All.FirstOrDefault(r => r.Prefix == prefix);

    public static HrbcResource? FromValue(int value) => All.FirstOrDefault(r => r.Value == value);
}
