using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace BulkMail.Tests.Hrbc;

/// <summary>The HRBC client against the HRBC sandbox over real HTTP on loopback.</summary>
public class HrbcClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reading_all_1200_resumes_takes_six_pages_of_200()
    {
        await using var hrbc = await HrbcHarness.StartAsync();

        var pages = new List<HrbcPage>();
        await foreach (var page in hrbc.Client.ReadPagesAsync(HrbcResource.Resume, new HrbcQuery { Fields = HrbcClient.ResumeFields() }, Ct))
        {
            pages.Add(page);
        }

        Assert.Equal(6, pages.Count);
        Assert.All(pages, p => Assert.Equal(200, p.Count));
        Assert.All(pages, p => Assert.Equal(1200, p.Total));
        var resumes = pages.SelectMany(p => p.Items).Select(HrbcResume.From).ToList();
        Assert.Equal(1200, resumes.Select(r => r.Id).Distinct().Count());
        Assert.All(resumes, r => Assert.False(string.IsNullOrEmpty(r.Person?.Text("Person.P_Name"))));
        Assert.Equal(6, hrbc.ResourceRequests("resume").Count);
    }

    [Fact]
    public async Task A_condition_and_keywords_narrow_the_search()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var first = await hrbc.Client.GetResumeAsync(10001, Ct);
        var family = first!.Person!.Text("Person.P_Name")!.Split(' ', '\u3000')[0];

        var byKeyword = await hrbc.Client.ReadPageAsync(HrbcResource.Resume,
            new HrbcQuery { Fields = HrbcClient.ResumeFields(), Keywords = family }, Ct);
        var byRange = await hrbc.Client.ReadPageAsync(HrbcResource.Resume, new HrbcQuery
        {
            Fields = HrbcFieldList.Of("Resume.P_Id"),
            Condition = HrbcCondition.Where().Ge("Resume.P_Id", 10100).Le("Resume.P_Id", 10199),
        }, Ct);

        Assert.InRange(byKeyword.Total, 1, 1199);
        Assert.Contains(byKeyword.Items, r => r.Id == 10001);
        Assert.All(byKeyword.Items, r => Assert.Contains(family, HrbcResume.From(r).DisplayName));
        Assert.Equal(100, byRange.Total);
        Assert.All(byRange.Items, r => Assert.InRange(r.Id!.Value, 10100, 10199));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task Option_fields_are_read_in_every_documented_xml_shape(bool rootWrapper, bool names)
    {
        await using var hrbc = await HrbcHarness.StartAsync(o => { o.OptionRootWrapper = rootWrapper; o.OptionNames = names; });

        var jobs = await hrbc.Client.ReadPageAsync(HrbcResource.Job, new HrbcQuery { Fields = HrbcClient.JobFields(), Count = 20 }, Ct);
        var optionNames = await hrbc.Client.GetOptionNamesAsync(Ct);

        var areas = jobs.Items.SelectMany(j => j.Options("Job.P_Area")).ToList();
        Assert.NotEmpty(areas);
        Assert.All(areas, o => Assert.StartsWith("Option.P_", o.Alias));
        Assert.All(areas, o => Assert.NotEqual("Option.P_Area", o.Alias));
        Assert.All(areas, o => Assert.Equal(names, o.Name is not null));
        Assert.All(areas, o => Assert.True(optionNames.ContainsKey(o.Alias)));
        Assert.All(jobs.Items, j => Assert.Single(j.Options("Job.P_Phase")));
        var shown = HrbcDisplay.Flatten(jobs.Items[0], optionNames)["Job.P_Area"];
        Assert.DoesNotContain("Option.", shown);
    }

    [Theory]
    [InlineData("Candidate")]
    [InlineData("Person")]
    public async Task The_candidate_of_a_resume_is_read_whatever_its_wrapper_tag(string wrapper)
    {
        await using var hrbc = await HrbcHarness.StartAsync(o => o.CandidateWrapperTag = wrapper);

        var resume = await hrbc.Client.GetResumeAsync(10002, Ct);

        Assert.Equal(20002, resume!.CandidateId);
        Assert.Equal(wrapper, resume.Person!.Wrapper);
        Assert.False(string.IsNullOrEmpty(resume.Person.Text("Person.P_Reading")));
    }

    [Fact]
    public async Task An_access_token_expired_at_hrbc_is_refreshed_once_and_the_call_repeated()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetJobAsync(30001, Ct);
        hrbc.Sandbox.ClearRequests();

        hrbc.Sandbox.Faults.ExpireAccessTokens();
        var job = await hrbc.Client.GetJobAsync(30002, Ct);

        Assert.Equal(30002, job!.Id);
        var requests = hrbc.Sandbox.Requests;
        Assert.Equal(["job", "token", "job"], requests.Select(r => r.Resource));
        Assert.Equal([401, 0, 0], requests.Select(r => r.ResultCode));
    }

    [Fact]
    public async Task Tokens_are_renewed_before_expiry_and_a_new_code_is_asked_when_the_refresh_token_expired()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        await using var hrbc = await HrbcHarness.StartAsync(time: clock);
        await hrbc.Client.GetJobAsync(30001, Ct);
        Assert.Equal(["oauth", "token", "job"], hrbc.Sandbox.Requests.Select(r => r.Resource));
        hrbc.Sandbox.ClearRequests();

        clock.Advance(TimeSpan.FromMinutes(29)); // access token (30 min) about to lapse
        await hrbc.Client.GetJobAsync(30001, Ct);
        Assert.Equal(["token", "job"], hrbc.Sandbox.Requests.Select(r => r.Resource));
        hrbc.Sandbox.ClearRequests();

        clock.Advance(TimeSpan.FromHours(3)); // refresh token (2 h) expired too
        await hrbc.Client.GetJobAsync(30001, Ct);
        Assert.Equal(["oauth", "token", "job"], hrbc.Sandbox.Requests.Select(r => r.Resource));
        Assert.All(hrbc.Sandbox.Requests, r => Assert.Equal(0, r.ResultCode));
    }

    [Fact]
    public async Task A_refresh_token_refused_by_hrbc_falls_back_to_a_new_code()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetJobAsync(30001, Ct);
        hrbc.Sandbox.ClearRequests();

        hrbc.Sandbox.Faults.ExpireAccessTokens();
        hrbc.Sandbox.Faults.ExpireRefreshTokens();
        var job = await hrbc.Client.GetJobAsync(30003, Ct);

        Assert.Equal(30003, job!.Id);
        Assert.Equal(["job", "token", "oauth", "token", "job"], hrbc.Sandbox.Requests.Select(r => r.Resource));
    }

    [Fact]
    public async Task Concurrent_requests_share_one_token()
    {
        await using var hrbc = await HrbcHarness.StartAsync();

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => hrbc.Client.GetResumeAsync(10001 + i, Ct)));

        Assert.Single(hrbc.Sandbox.Requests, r => r.Resource == "oauth");
        Assert.Single(hrbc.Sandbox.Requests, r => r.Resource == "token");
        Assert.Equal(16, hrbc.ResourceRequests("resume").Count);
    }

    [Theory]
    [InlineData(503)]
    [InlineData(200)]
    public async Task Maintenance_code_9_is_retried(int httpStatus)
    {
        await using var hrbc = await HrbcHarness.StartAsync(o => o.MaintenanceHttpStatus = httpStatus);
        await hrbc.Client.GetJobAsync(30001, Ct);
        hrbc.Sandbox.ClearRequests();

        hrbc.Sandbox.Faults.MaintenanceResponses = 2;
        var job = await hrbc.Client.GetJobAsync(30005, Ct);

        Assert.Equal(30005, job!.Id);
        Assert.Equal([9, 9, 0], hrbc.ResourceRequests("job").Select(r => r.ResultCode));
    }

    [Fact]
    public async Task Dropped_connections_and_slow_answers_are_retried()
    {
        await using var hrbc = await HrbcHarness.StartAsync(settings: new Dictionary<string, string?> { ["Hrbc:AttemptTimeout"] = "00:00:01" });
        await hrbc.Client.GetJobAsync(30001, Ct);

        hrbc.Sandbox.Faults.DroppedConnections = 2;
        var afterDrops = await hrbc.Client.GetJobAsync(30006, Ct);
        hrbc.Sandbox.Faults.Latency = TimeSpan.FromMilliseconds(300);
        var afterLatency = await hrbc.Client.GetJobAsync(30007, Ct);

        Assert.Equal(30006, afterDrops!.Id);
        Assert.Equal(30007, afterLatency!.Id);
    }

    [Fact]
    public async Task A_permanent_result_code_surfaces_as_a_typed_error_without_retries()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetJobAsync(30001, Ct);
        hrbc.Sandbox.ClearRequests();

        hrbc.Sandbox.Faults.RevokeGrant();
        var error = await Assert.ThrowsAsync<HrbcException>(() => hrbc.Client.GetJobAsync(30001, Ct));

        Assert.Equal(403, error.Code);
        Assert.False(error.IsTransient);
        Assert.Contains("403", error.Message);
        Assert.Single(hrbc.ResourceRequests("job"));
    }

    [Fact]
    public async Task A_process_is_created_then_its_phase_updated_obeying_the_latest_phase_rule()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var (jobId, resumeId) = FreePair(hrbc);
        var sent = new DateTimeOffset(2026, 11, 27, 1, 2, 3, TimeSpan.Zero);

        var created = await new HrbcPhaseWriter(hrbc.Client).SetProcessPhasesAsync([new(jobId, resumeId, "Option.P_ProcessPhase_JobOffered", sent, "一括メール送信")], Ct);
        // Asked with an earlier date: the client moves it just after the latest, as HRBC requires.
        var updated = await new HrbcPhaseWriter(hrbc.Client).SetProcessPhasesAsync([new(jobId, resumeId, "Option.P_ProcessPhase_Recommended", sent.AddHours(-1), null)], Ct);

        Assert.True(created[0].Succeeded, created[0].Message);
        Assert.True(created[0].Created);
        Assert.True(updated[0].Succeeded, updated[0].Message);
        Assert.False(updated[0].Created);
        var processId = hrbc.Sandbox.FindProcess(jobId, resumeId);
        Assert.Equal(created[0].ProcessId, processId);
        Assert.Equal(processId, updated[0].ProcessId);
        var history = hrbc.Sandbox.PhaseHistory(HrbcResource.Process.Value, processId!.Value);
        Assert.Equal(["Option.P_ProcessPhase_JobOffered", "Option.P_ProcessPhase_Recommended"], history.Select(h => h.PhaseAlias));
        Assert.Equal([sent.UtcDateTime, sent.UtcDateTime.AddSeconds(1)], history.Select(h => h.DateUtc));
        Assert.Equal([false, true], history.Select(h => h.Recent));
        var fields = hrbc.Sandbox.Fields("process", processId.Value);
        Assert.Equal(resumeId.ToString(System.Globalization.CultureInfo.InvariantCulture), fields["Process.P_Resume"]);
    }

    [Fact]
    public async Task Hrbc_refuses_an_older_phase_date_and_a_duplicate_process_per_item()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var (jobId, resumeId) = FreePair(hrbc);
        var sent = new DateTimeOffset(2026, 11, 27, 1, 0, 0, TimeSpan.Zero);
        var created = await new HrbcPhaseWriter(hrbc.Client).SetProcessPhasesAsync([new(jobId, resumeId, "Option.P_ProcessPhase_JobOffered", sent, null)], Ct);
        var job = await hrbc.Client.GetJobAsync(jobId, Ct);
        var resume = await hrbc.Client.GetResumeAsync(resumeId, Ct);
        var owner = await hrbc.Client.GetAppUserAsync(Ct);

        var results = await hrbc.Client.WriteAsync(HrbcResource.Process, [
            new HrbcWriteItem(created[0].ProcessId!.Value)
                .SetOptions("Process.P_Phase", "Option.P_ProcessPhase_Interview1")
                .Set("Process.P_PhaseDate", sent.AddDays(-1)),
            HrbcWriteItem.Create()
                .Set("Process.P_Owner", owner.Id).Set("Process.P_Client", job!.ClientId!.Value)
                .Set("Process.P_Recruiter", job.RecruiterId!.Value).Set("Process.P_Job", jobId)
                .Set("Process.P_Candidate", resume!.CandidateId!.Value).Set("Process.P_Resume", resumeId),
        ], Ct);

        Assert.Equal([126, 301], results.Select(r => r.Code));
        Assert.Single(hrbc.Sandbox.PhaseHistory(HrbcResource.Process.Value, created[0].ProcessId!.Value));
    }

    [Fact]
    public async Task Resume_and_recruiter_phases_are_set_and_activities_logged()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var at = new DateTimeOffset(2026, 11, 27, 2, 0, 0, TimeSpan.Zero);
        var resumePhase = (await hrbc.Client.GetPhaseOptionsAsync(HrbcResource.Resume, Ct))[0].Alias;
        var recruiterPhase = (await hrbc.Client.GetPhaseOptionsAsync(HrbcResource.Recruiter, Ct))[0].Alias;
        var activitiesBefore = hrbc.Sandbox.Count("activity");

        var resumes = await new HrbcPhaseWriter(hrbc.Client).SetPhasesAsync(HrbcResource.Resume, [new(10003, resumePhase, at, "メルマガ送信"), new(10004, resumePhase, at, null)], Ct);
        var recruiters = await new HrbcPhaseWriter(hrbc.Client).SetPhasesAsync(HrbcResource.Recruiter, [new(50001, recruiterPhase, at, null)], Ct);
        var activities = await hrbc.Client.CreateActivitiesAsync([new(HrbcResource.Resume.Value, 10003, "11月のお知らせ", "BulkMail mailing m-1", at)], Ct);

        Assert.All(resumes.Concat(recruiters), r => Assert.True(r.Succeeded, r.Message));
        Assert.Equal(resumePhase, hrbc.Sandbox.PhaseHistory(HrbcResource.Resume.Value, 10003).Single(h => h.Recent).PhaseAlias);
        Assert.Equal(recruiterPhase, hrbc.Sandbox.PhaseHistory(HrbcResource.Recruiter.Value, 50001).Single(h => h.Recent).PhaseAlias);
        Assert.True(activities.Single().Succeeded);
        Assert.Equal(activitiesBefore + 1, hrbc.Sandbox.Count("activity"));
        Assert.Equal("11月のお知らせ", hrbc.Sandbox.Fields("activity", activities[0].Id!.Value)["Activity.P_Title"]);
    }

    [Fact]
    public async Task A_phase_of_another_resource_type_is_refused_per_item()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var processPhase = (await hrbc.Client.GetPhaseOptionsAsync(HrbcResource.Process, Ct))[0].Alias;

        var results = await new HrbcPhaseWriter(hrbc.Client).SetPhasesAsync(HrbcResource.Resume, [new(10005, processPhase, DateTimeOffset.UtcNow, null)], Ct);

        Assert.False(results[0].Succeeded);
        Assert.NotEqual(0, results[0].Code);
    }

    [Fact]
    public async Task Id_lists_are_split_when_the_request_would_be_too_long()
    {
        await using var hrbc = await HrbcHarness.StartAsync(o => o.MaxRequestLength = 1500,
            new Dictionary<string, string?> { ["Hrbc:MaxRequestLength"] = "1500" });
        var ids = Enumerable.Range(10001, 200).Select(i => (long)i).ToList();
        hrbc.Sandbox.ClearRequests();

        var records = await hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, ids, HrbcClient.ResumeFields(), Ct).ToListAsync(Ct);

        Assert.Equal(ids, records.Select(r => r.Id!.Value).Order());
        var reads = hrbc.ResourceRequests("resume");
        Assert.True(reads.Count > 1, "200 ids with the resume fields do not fit in 1,500 characters");
        Assert.All(reads, r => Assert.InRange(r.PathAndQuery.Length, 1, 1500));
        Assert.All(reads, r => Assert.Equal(0, r.ResultCode));
    }

    [Fact]
    public async Task Writes_are_split_so_that_each_request_stays_within_the_length_limit()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var memo = string.Concat(Enumerable.Repeat("フェーズ更新メモ。", 12));
        var items = Enumerable.Range(10001, 200).Select(i => new HrbcWriteItem(i).Set("Resume.P_Memo", memo)).ToList();
        await hrbc.Client.GetAppUserAsync(Ct);
        hrbc.Sandbox.ClearRequests();

        var results = await hrbc.Client.WriteAsync(HrbcResource.Resume, items, Ct);

        Assert.Equal(200, results.Count);
        Assert.All(results, r => Assert.True(r.Succeeded, r.Message));
        Assert.Equal(Enumerable.Range(0, 200), results.Select(r => r.Index));
        var writes = hrbc.ResourceRequests("resume");
        Assert.True(writes.Count > 1, "200 items with a memo do not fit in 15,000 characters");
        Assert.All(writes, w => Assert.Equal(0, w.ResultCode)); // none refused with HTTP 400 for length
        Assert.Equal(memo, hrbc.Sandbox.Fields("resume", 10200)["Resume.P_Memo"]);
    }

    [Fact]
    public async Task More_than_200_ids_take_one_request_per_200()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var ids = Enumerable.Range(10001, 1200).Select(i => (long)i).ToList();
        await hrbc.Client.GetAppUserAsync(Ct);
        hrbc.Sandbox.ClearRequests();

        var count = await hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, ids, HrbcFieldList.Of("Resume.P_Id"), Ct).CountAsync(Ct);

        Assert.Equal(1200, count);
        Assert.Equal(6, hrbc.ResourceRequests("resume").Count);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Mail_fields_are_discovered_from_field_metadata(bool aliasWithPrefix, bool recruiterMobileMailIsMail)
    {
        await using var hrbc = await HrbcHarness.StartAsync(o =>
        {
            o.FieldAliasWithPrefix = aliasWithPrefix;
            o.RecruiterMobileMailIsMail = recruiterMobileMailIsMail;
        });

        var resume = await hrbc.Client.GetMailFieldsAsync(HrbcResource.Resume, Ct);
        var recruiter = await hrbc.Client.GetMailFieldsAsync(HrbcResource.Recruiter, Ct);

        Assert.Equal(["Resume.P_Mail", "Resume.P_MobileMail"], resume.Select(m => m.Alias).Order());
        Assert.Equal("Person.P_Mail", resume.Single(m => m.Alias == "Resume.P_Mail").SourceAlias);
        var expected = recruiterMobileMailIsMail
            ? new[] { "Recruiter.P_Mail", "Recruiter.P_MobileMail", "Recruiter.U_SubMail" }
            : ["Recruiter.P_Mail", "Recruiter.U_SubMail"];
        Assert.Equal(expected, recruiter.Select(m => m.Alias).Order());
    }

    [Fact]
    public async Task Attachments_are_listed_and_their_content_fetched_on_demand()
    {
        await using var hrbc = await HrbcHarness.StartAsync();

        HrbcAttachment? pdf = null;
        for (var jobId = 30001; pdf is null && jobId <= 30008; jobId++)
        {
            pdf = (await hrbc.Client.GetAttachmentsAsync(HrbcResource.Job, jobId, Ct)).FirstOrDefault();
        }
        Assert.NotNull(pdf);
        var content = await hrbc.Client.GetAttachmentContentAsync(HrbcResource.Job, pdf.Id, Ct);

        Assert.Equal("application/pdf", pdf.ContentType);
        Assert.EndsWith(".pdf", pdf.FileName);
        Assert.Equal("%PDF-", System.Text.Encoding.ASCII.GetString(content!.Content, 0, 5));
    }

    [Fact]
    public async Task Phase_options_come_from_the_option_master_in_display_order()
    {
        await using var hrbc = await HrbcHarness.StartAsync();

        var phases = await hrbc.Client.GetPhaseOptionsAsync(HrbcResource.Process, Ct);

        Assert.Contains(phases, p => p.Alias == "Option.P_ProcessPhase_JobOffered" && p.Name == "JOB打診");
        Assert.Equal(phases.Select(p => p.Order).Order(), phases.Select(p => p.Order));
    }

    /// <summary>A job × resume pair that has no process yet in the sample tenant.</summary>
    private static (long Job, long Resume) FreePair(HrbcHarness hrbc)
    {
        for (long resume = 11000; resume < 11200; resume++)
        {
            for (long job = 30001; job < 30121; job += 7)
            {
                if (hrbc.Sandbox.FindProcess(job, resume) is null)
                {
                    return (job, resume);
                }
            }
        }
        throw new InvalidOperationException("The sample tenant has no free job × resume pair.");
    }
}
