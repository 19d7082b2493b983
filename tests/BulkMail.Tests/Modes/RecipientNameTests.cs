using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Modes;

/// <summary>
/// Issue 10 item 2: the preview's To line and the Graph message's <c>toRecipients[0].emailAddress.name</c> name the
/// recipient — the candidate or the recruiter, per mode — checked at the Graph sandbox for all six modes against what
/// HRBC holds (read independently of the product).
/// </summary>
public class RecipientNameTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string? Valid(string? a) => a is { Length: > 0 } && Mailings.MailingEngineTests.ValidAddress().IsMatch(a.Trim()) ? a.Trim() : null;

    private static async Task<Dictionary<long, (string Name, string? Mail)>> CandidatesAsync(EngineHarness e, IEnumerable<long> resumeIds) =>
        (await e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, resumeIds, HrbcFieldList.Of("Resume.P_Id", "Resume.P_Mail")
            .Add("Resume.P_Candidate", "Person.P_Id", "Person.P_Name"), Ct).ToListAsync(Ct))
        .ToDictionary(r => r.Id!.Value, r => (r.Ref("Resume.P_Candidate")!.Text("Person.P_Name")!, Valid(r.Text("Resume.P_Mail"))));

    private static async Task<Dictionary<long, (string Position, string Recruiter)>> JobsAsync(EngineHarness e, IEnumerable<long> jobIds) =>
        (await e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Job, jobIds, HrbcFieldList.Of("Job.P_Id", "Job.P_Position")
            .Add("Job.P_Recruiter", "Recruiter.P_Id", "Recruiter.P_Name"), Ct).ToListAsync(Ct))
        .ToDictionary(r => r.Id!.Value, r => (r.Text("Job.P_Position")!, r.Ref("Job.P_Recruiter")!.Text("Recruiter.P_Name")!));

    [Theory]
    [InlineData("Resumes")]
    [InlineData("Recruiters")]
    [InlineData("JobToResumes")]
    [InlineData("ResumesToRecruiter")]
    [InlineData("JobsToResume")]
    [InlineData("ResumeToRecruiters")]
    public async Task The_preview_and_the_graph_message_name_the_recipient(string mode)
    {
        await using var e = await EngineHarness.StartAsync(redis);
        // resumes with a valid mail of their own, distinct addresses (the tenant has shared ones)
        var candidates = (await CandidatesAsync(e, Enumerable.Range(10001, 60).Select(i => (long)i)))
            .Where(c => c.Value.Mail is not null).DistinctBy(c => c.Value.Mail, StringComparer.OrdinalIgnoreCase).Take(3).ToDictionary();
        var resumeIds = candidates.Keys.ToArray();
        long[] jobIds = [30001, 30003, 30005];
        var jobs = await JobsAsync(e, jobIds);
        const long anchorJob = 30001;
        var anchorResume = resumeIds[0];

        // record id (in the subject) → the name the recipient must be shown with; and the listed record's own name
        var (request, expected, recordNames) = mode switch
        {
            "Resumes" => (Request(mode, null, resumeIds, "Resume.P_Mail", "{{Resume.P_Id}}"),
                resumeIds.ToDictionary(id => id, id => candidates[id].Name), resumeIds.ToDictionary(id => id, id => candidates[id].Name)),
            "Recruiters" => (Request(mode, null, [50001, 50002], "Recruiter.P_Mail", "{{Recruiter.P_Id}}"),
                await RecruiterNamesAsync(e, [50001, 50002]), await RecruiterNamesAsync(e, [50001, 50002])),
            "JobToResumes" => (Request(mode, anchorJob, resumeIds, "Resume.P_Mail", "{{Resume.P_Id}}"),
                resumeIds.ToDictionary(id => id, id => candidates[id].Name), resumeIds.ToDictionary(id => id, id => candidates[id].Name)),
            // a recommendation: the recruiter's name, not the recommended candidate's
            "ResumesToRecruiter" => (Request(mode, anchorJob, resumeIds, "Recruiter.P_Mail", "{{Resume.P_Id}}"),
                resumeIds.ToDictionary(id => id, _ => jobs[anchorJob].Recruiter), resumeIds.ToDictionary(id => id, id => candidates[id].Name)),
            // several jobs to one candidate: the candidate's name, not the job's position
            "JobsToResume" => (Request(mode, anchorResume, jobIds, "Resume.P_Mail", "{{Job.P_Id}}"),
                jobIds.ToDictionary(id => id, _ => candidates[anchorResume].Name), jobIds.ToDictionary(id => id, id => jobs[id].Position)),
            // one candidate to each job's recruiter: that recruiter's name
            _ => (Request(mode, anchorResume, jobIds, "Recruiter.P_Mail", "{{Job.P_Id}}"),
                jobIds.ToDictionary(id => id, id => jobs[id].Recruiter), jobIds.ToDictionary(id => id, id => jobs[id].Position)),
        };

        var preview = await e.Http.PostAsJsonAsync("/api/mailings/preview", request, Ct);
        var body = await preview.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(preview.StatusCode == HttpStatusCode.OK, body.ToString());
        var samples = body.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal(expected.Count, samples.Count);
        foreach (var s in samples)
        {
            var id = long.Parse(s.GetProperty("subject").GetString()!, CultureInfo.InvariantCulture);
            Assert.Equal(expected[id], s.GetProperty("recipientName").GetString());
            Assert.Equal(recordNames[id], s.GetProperty("recordName").GetString());
        }

        var mailingId = await e.SubmitAsync(request);
        await e.WaitForAsync(mailingId, TimeSpan.FromMinutes(1), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(expected.Count, sent.Count);
        Assert.All(sent, m => Assert.Equal(expected[long.Parse(m.Subject, CultureInfo.InvariantCulture)], Assert.Single(m.ToNames)));
        if (mode is "ResumesToRecruiter" or "JobsToResume" or "ResumeToRecruiters")
        {
            Assert.All(sent, m => Assert.NotEqual(recordNames[long.Parse(m.Subject, CultureInfo.InvariantCulture)], m.ToNames[0]));
        }
    }

    private static Dictionary<string, object?> Request(string mode, long? anchorId, long[] ids, string mailField, string subject) => new()
    {
        ["mode"] = mode,
        ["anchorId"] = anchorId,
        ["scope"] = new { kind = "Checked", ids },
        ["mailFields"] = new[] { mailField },
        ["subject"] = subject,
        ["body"] = "<p>ご案内</p>",
    };

    private static async Task<Dictionary<long, string>> RecruiterNamesAsync(EngineHarness e, long[] ids) =>
        (await e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Recruiter, ids, HrbcFieldList.Of("Recruiter.P_Id", "Recruiter.P_Name"), Ct).ToListAsync(Ct))
        .ToDictionary(r => r.Id!.Value, r => r.Text("Recruiter.P_Name")!);
}
