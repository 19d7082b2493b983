using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Modes;

/// <summary>
/// The four matching modes (docs/architecture.md, Modes) end to end (HTTP → Redis → worker → Graph SDK → Graph sandbox), each checked
/// against what HRBC holds, read independently of the product.
/// </summary>
public class MatchingModeTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<HrbcRecord> JobAsync(EngineHarness e, long id) =>
        (await e.Hrbc.Client.FirstAsync(HrbcResource.Job, id, HrbcFieldList.Of("Job.P_Id", "Job.P_Position")
            .Add("Job.P_Client", "Client.P_Id", "Client.P_Name").Add("Job.P_Recruiter", "Recruiter.P_Id", "Recruiter.P_Name", "Recruiter.P_Mail", "Recruiter.U_SubMail"), Ct))!;

    private static async Task<HrbcRecord> ResumeAsync(EngineHarness e, long id) =>
        (await e.Hrbc.Client.FirstAsync(HrbcResource.Resume, id, HrbcFieldList.Of("Resume.P_Id", "Resume.P_Mail", "Resume.P_MobileMail")
            .Add("Resume.P_Candidate", "Person.P_Id", "Person.P_Name"), Ct))!;

    private static string? Valid(string? a) => a is { Length: > 0 } && Mailings.MailingEngineTests.ValidAddress().IsMatch(a.Trim()) ? a.Trim() : null;

    /// <summary>Resumes with a valid P_Mail; one of them also with a different valid P_MobileMail.</summary>
    private static async Task<(List<long> Ids, long TwoAddresses)> PickResumesAsync(EngineHarness e, int count)
    {
        var records = await e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, Enumerable.Range(10001, 200).Select(i => (long)i),
            HrbcFieldList.Of("Resume.P_Id", "Resume.P_Mail", "Resume.P_MobileMail"), Ct).ToListAsync(Ct);
        var two = records.First(r => Valid(r.Text("Resume.P_Mail")) is { } a && Valid(r.Text("Resume.P_MobileMail")) is { } b
            && !a.Equals(b, StringComparison.OrdinalIgnoreCase)).Id!.Value;
        var ids = records.Where(r => r.Id != two && Valid(r.Text("Resume.P_Mail")) is not null).Take(count - 1).Select(r => r.Id!.Value).Prepend(two).ToList();
        return (ids, two);
    }

    private static async Task<JsonElement> PostAsync(EngineHarness e, string path, object body, HttpStatusCode expected)
    {
        var response = await e.Http.PostAsJsonAsync(path, body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task JobToResumes_offers_the_job_to_each_resume_with_every_ticked_address_and_carries_the_jobs_pdf()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        const long jobId = 30004; // has 求人票_30004.pdf
        var job = await JobAsync(e, jobId);
        var pdf = (await e.Hrbc.Client.GetAttachmentsAsync(HrbcResource.Job, jobId, Ct)).Single();
        var pdfBytes = (await e.Hrbc.Client.GetAttachmentContentAsync(HrbcResource.Job, pdf.Id, Ct))!.Content;
        var (ids, two) = await PickResumesAsync(e, 4);

        var expected = new List<(long Resume, string Address, string Name)>();
        foreach (var id in ids)
        {
            var r = await ResumeAsync(e, id);
            var name = r.Ref("Resume.P_Candidate")!.Text("Person.P_Name")!;
            foreach (var a in new[] { r.Text("Resume.P_Mail"), r.Text("Resume.P_MobileMail") }.Select(Valid).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase))
            {
                expected.Add((id, a, name));
            }
        }
        Assert.Equal(2, expected.Count(x => x.Resume == two));
        e.Hrbc.Sandbox.ClearRequests();

        var mailingId = await e.SubmitAsync(new
        {
            mode = "JobToResumes",
            anchorId = jobId,
            scope = new { kind = "Checked", ids },
            mailFields = new[] { "Resume.P_Mail", "Resume.P_MobileMail" },
            subject = "{{Person.P_Name}}様へ {{Job.P_Position}}のご紹介（{{Client.P_Name}}）",
            body = "<p>{{Person.P_Name}}様</p><p>{{Client.P_Name}}の{{Job.P_Position}}をご紹介します。担当: {{Recruiter.P_Name}} / {{User.P_Name}}</p>",
            attachments = new { recordAttachmentIds = new[] { pdf.Id } },
        });
        await e.WaitForAsync(mailingId, TimeSpan.FromMinutes(2), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(expected.Select(x => x.Address).Order(StringComparer.OrdinalIgnoreCase), sent.Select(m => m.To.Single()).Order(StringComparer.OrdinalIgnoreCase));
        var position = job.Text("Job.P_Position");
        var client = job.Ref("Job.P_Client")!.Text("Client.P_Name");
        var recruiter = job.Ref("Job.P_Recruiter")!.Text("Recruiter.P_Name");
        foreach (var (_, address, name) in expected)
        {
            // (the tenant has addresses shared by two candidates: each gets their own message)
            Assert.Contains(sent, x => x.To[0].Equals(address, StringComparison.OrdinalIgnoreCase) && x.Subject == $"{name}様へ {position}のご紹介（{client}）");
        }
        Assert.All(sent, m =>
        {
            Assert.Contains($"担当: {recruiter} / デモ ユーザー", m.Body);
            var attachment = Assert.Single(m.Attachments);
            Assert.Equal(pdf.FileName, attachment.Name);
            Assert.Equal(pdfBytes, attachment.Content);
        });
        // fetched from HRBC once per mailing, not once per delivery
        Assert.Equal(1, e.Hrbc.Sandbox.Requests.Count(r => r.Resource == "attachment" && r.PathAndQuery.Contains("requestType=0", StringComparison.Ordinal)));
        var rows = Csv.Parse(await e.CsvAsync(mailingId)).Skip(1).ToList();
        Assert.All(rows, r => Assert.Equal(jobId.ToString(CultureInfo.InvariantCulture), r[5]));
        Assert.Equal(2, rows.Count(r => r[3] == two.ToString(CultureInfo.InvariantCulture) && r[8] == "Sent"));
    }

    [Fact]
    public async Task ResumesToRecruiter_recommends_each_resume_to_the_jobs_recruiter_one_mail_each_and_refuses_resume_files()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        const long jobId = 30001;
        var job = await JobAsync(e, jobId);
        var recruiterMail = job.Ref("Job.P_Recruiter")!.Text("Recruiter.P_Mail")!;
        var ids = new long[] { 10002, 10003, 10004 };
        var request = new Dictionary<string, object?>
        {
            ["mode"] = "ResumesToRecruiter",
            ["anchorId"] = jobId,
            ["scope"] = new { kind = "Checked", ids },
            ["mailFields"] = new[] { "Recruiter.P_Mail" },
            ["subject"] = "{{Person.P_Name}}様を{{Job.P_Position}}にご推薦します",
            ["body"] = "<p>{{Recruiter.P_Name}}様</p><p>{{Person.P_Name}}様（{{Resume.P_Id}}）をご推薦します。</p>",
        };
        var withFiles = new Dictionary<string, object?>(request) { ["attachments"] = new { recordAttachmentIds = new[] { 1L } } };
        var refused = await PostAsync(e, "/api/mailings", withFiles, HttpStatusCode.BadRequest);
        Assert.Contains("may not carry the resumes' HRBC files", refused.GetProperty("errors").GetProperty("attachments.recordAttachmentIds")[0].GetString());

        var id = await e.SubmitAsync(request);
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(3, sent.Count);
        Assert.All(sent, m => Assert.Equal(recruiterMail, m.To.Single()));
        foreach (var rid in ids)
        {
            var name = (await ResumeAsync(e, rid)).Ref("Resume.P_Candidate")!.Text("Person.P_Name");
            Assert.Single(sent, m => m.Subject == $"{name}様を{job.Text("Job.P_Position")}にご推薦します" && m.Body.Contains($"（{rid}）", StringComparison.Ordinal));
        }
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        Assert.Equal(ids.Select(i => i.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[3]));
        Assert.All(rows, r => Assert.Equal("Resume", r[2]));
    }

    [Fact]
    public async Task JobsToResume_offers_each_job_to_the_one_candidate_and_refuses_job_files()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var (picked, _) = await PickResumesAsync(e, 2);
        var resumeId = picked[1];
        var resume = await ResumeAsync(e, resumeId);
        var jobs = new long[] { 30001, 30005, 30009 };
        var refused = await PostAsync(e, "/api/mailings", new
        {
            mode = "JobsToResume", anchorId = resumeId, scope = new { kind = "Checked", ids = jobs }, mailFields = new[] { "Resume.P_Mail" },
            subject = "x", body = "y", attachments = new { recordAttachmentIds = new[] { 1L } },
        }, HttpStatusCode.BadRequest);
        Assert.True(refused.GetProperty("errors").TryGetProperty("attachments.recordAttachmentIds", out _));

        var id = await e.SubmitAsync(new
        {
            mode = "JobsToResume",
            anchorId = resumeId,
            scope = new { kind = "Checked", ids = jobs },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "{{Person.P_Name}}様へ 求人のご案内: {{Job.P_Position}}（{{Client.P_Name}}）",
            body = "<p>{{Person.P_Name}}様</p><p>{{Job.P_Position}}</p>",
        });
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(3, sent.Count);
        Assert.All(sent, m => Assert.Equal(resume.Text("Resume.P_Mail")!.Trim(), m.To.Single(), StringComparer.OrdinalIgnoreCase));
        var name = resume.Ref("Resume.P_Candidate")!.Text("Person.P_Name");
        foreach (var j in jobs)
        {
            var job = await JobAsync(e, j);
            Assert.Single(sent, m => m.Subject == $"{name}様へ 求人のご案内: {job.Text("Job.P_Position")}（{job.Ref("Job.P_Client")!.Text("Client.P_Name")}）");
        }
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        Assert.Equal(jobs.Select(j => j.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[3]));
        Assert.All(rows, r => { Assert.Equal("Job", r[2]); Assert.Equal(r[3], r[5]); });
    }

    [Fact]
    public async Task ResumeToRecruiters_recommends_the_resume_to_each_jobs_recruiter_two_jobs_of_one_recruiter_make_two_mails()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        // a resume that has an HRBC file
        long resumeId = 0;
        Api.Hrbc.HrbcAttachment? file = null;
        for (var id = 10001L; file is null; id++)
        {
            file = (await e.Hrbc.Client.GetAttachmentsAsync(HrbcResource.Resume, id, Ct)).FirstOrDefault();
            resumeId = id;
        }
        var jobs = new long[] { 30001, 30002, 30003 }; // 30001 and 30002 share recruiter 50001
        var recruiterMails = new List<string>();
        foreach (var j in jobs)
        {
            recruiterMails.Add((await JobAsync(e, j)).Ref("Job.P_Recruiter")!.Text("Recruiter.P_Mail")!);
        }
        Assert.Equal(recruiterMails[0], recruiterMails[1]);

        var id2 = await e.SubmitAsync(new
        {
            mode = "ResumeToRecruiters",
            anchorId = resumeId,
            scope = new { kind = "Checked", ids = jobs },
            mailFields = new[] { "Recruiter.P_Mail" },
            subject = "{{Job.P_Position}}に{{Person.P_Name}}様をご推薦します",
            body = "<p>{{Client.P_Name}} {{Recruiter.P_Name}}様</p>",
            attachments = new { recordAttachmentIds = new[] { file.Id } },
        });
        await e.WaitForAsync(id2, TimeSpan.FromMinutes(1), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(recruiterMails.Order(), sent.Select(m => m.To.Single()).Order());
        Assert.Equal(2, sent.Count(m => m.To[0] == recruiterMails[0]));
        Assert.All(sent, m => Assert.Equal(file.FileName, Assert.Single(m.Attachments).Name));
        var name = (await ResumeAsync(e, resumeId)).Ref("Resume.P_Candidate")!.Text("Person.P_Name");
        foreach (var j in jobs)
        {
            var position = (await JobAsync(e, j)).Text("Job.P_Position");
            Assert.Contains(sent, m => m.Subject == $"{position}に{name}様をご推薦します");
        }
    }

    [Fact]
    public async Task The_all_scope_of_a_matching_list_pages_the_job_search_like_the_newsletter()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var (picked, _) = await PickResumesAsync(e, 1);
        var condition = "Job.P_Id:ge=30001,Job.P_Id:le=30012";
        var matching = await e.Hrbc.Client.ReadAllAsync(HrbcResource.Job, new HrbcQuery
        {
            Fields = HrbcFieldList.Of("Job.P_Id"),
            Condition = HrbcCondition.Parse(condition),
        }, Ct).ToListAsync(Ct);
        Assert.Equal(12, matching.Count);
        var id = await e.SubmitAsync(new
        {
            mode = "JobsToResume",
            anchorId = picked[0],
            scope = new { kind = "All", query = new { condition } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "{{Job.P_Position}}のご案内",
            body = "<p>{{Person.P_Name}}様</p>",
        });
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(12, e.Graph.Sent(EngineHarness.User).Count);
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        Assert.Equal(matching.Select(j => j.Id!.Value.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r[3]));
    }

    [Fact]
    public async Task A_matching_mode_needs_an_existing_anchor_and_the_anchors_own_files()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var noAnchor = await PostAsync(e, "/api/mailings", new
        {
            mode = "JobToResumes", scope = new { kind = "Checked", ids = new[] { 10001L } }, mailFields = new[] { "Resume.P_Mail" }, subject = "s", body = "b",
        }, HttpStatusCode.BadRequest);
        Assert.Contains("anchorId", noAnchor.GetProperty("errors").GetProperty("anchorId")[0].GetString());
        var gone = await PostAsync(e, "/api/mailings", new
        {
            mode = "JobToResumes", anchorId = 39999, scope = new { kind = "Checked", ids = new[] { 10001L } }, mailFields = new[] { "Resume.P_Mail" }, subject = "s", body = "b",
        }, HttpStatusCode.BadRequest);
        Assert.Contains("Job 39999 does not exist", gone.GetProperty("errors").GetProperty("anchorId")[0].GetString());
        // a file of another job
        var other = (await e.Hrbc.Client.GetAttachmentsAsync(HrbcResource.Job, 30008, Ct)).Single();
        var foreign = await PostAsync(e, "/api/mailings", new
        {
            mode = "JobToResumes", anchorId = 30004, scope = new { kind = "Checked", ids = new[] { 10001L } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "s", body = "b", attachments = new { recordAttachmentIds = new[] { other.Id } },
        }, HttpStatusCode.BadRequest);
        Assert.Contains("Not a file of Job 30004", foreign.GetProperty("errors").GetProperty("attachments.recordAttachmentIds")[0].GetString());
        var wrongField = await PostAsync(e, "/api/mailings", new
        {
            mode = "ResumesToRecruiter", anchorId = 30004, scope = new { kind = "Checked", ids = new[] { 10001L } }, mailFields = new[] { "Resume.P_Mail" }, subject = "s", body = "b",
        }, HttpStatusCode.BadRequest);
        Assert.Contains("Not a mail field of Recruiter", wrongField.GetProperty("errors").GetProperty("mailFields")[0].GetString());
        Assert.Empty(e.Graph.Sent());
        var list = await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct);
        Assert.Equal(0, list.GetArrayLength());
    }
}
