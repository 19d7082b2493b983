using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Modes;

/// <summary>After sending: HRBC phase updates (Process created or updated, Resume, Recruiter) and activities, checked in
/// the HRBC sandbox; failures retried and recorded, never a reason to send again.</summary>
public class FollowUpTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string JobOffered = "Option.P_ProcessPhase_JobOffered";

    private static readonly Dictionary<string, string?> FastRetries = new()
    {
        ["FollowUps:RetryBaseDelay"] = "00:00:00.050",
        ["FollowUps:BatchInterval"] = "00:00:00.200",
    };

    /// <summary>A job with existing processes; some of its resumes with a process, some without (all with a valid address).</summary>
    private static async Task<(long Job, List<long> WithProcess, List<long> Without)> PickAsync(EngineHarness e)
    {
        for (var job = 30001L; ; job++)
        {
            var processes = await e.Hrbc.Client.ReadProcessesAsync(job, null, Ct).ToListAsync(Ct);
            var withProcess = processes.Select(p => HrbcProcess.From(p).ResumeId!.Value).Distinct().ToList();
            if (withProcess.Count < 2)
            {
                continue;
            }
            var mails = await e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, withProcess.Concat(Enumerable.Range(10001, 60).Select(i => (long)i)),
                HrbcFieldList.Of("Resume.P_Id", "Resume.P_Mail"), Ct).ToListAsync(Ct);
            var valid = mails.Where(r => r.Text("Resume.P_Mail") is { } a && Mailings.MailingEngineTests.ValidAddress().IsMatch(a))
                .Select(r => r.Id!.Value).ToHashSet();
            var with = withProcess.Where(valid.Contains).Take(2).ToList();
            var without = valid.Where(id => !withProcess.Contains(id) && e.Hrbc.Sandbox.FindProcess(job, id) is null).Order().Take(2).ToList();
            if (with.Count == 2 && without.Count == 2)
            {
                return (job, with, without);
            }
        }
    }

    private static object Offer(long job, IEnumerable<long> ids, object? phase, bool logActivity = false, string[]? fields = null) => new
    {
        mode = "JobToResumes",
        anchorId = job,
        scope = new { kind = "Checked", ids },
        mailFields = fields ?? ["Resume.P_Mail"],
        subject = "{{Job.P_Position}}のご紹介",
        body = "<p>{{Person.P_Name}}様</p>",
        phase,
        logActivity,
    };

    [Fact]
    public async Task JobToResumes_sets_the_process_phase_creating_missing_processes_and_logs_one_activity_per_mail()
    {
        await using var e = await EngineHarness.StartAsync(redis, FastRetries);
        var (job, with, without) = await PickAsync(e);
        var ids = with.Concat(without).ToList();
        var historyBefore = with.ToDictionary(r => r, r => e.Hrbc.Sandbox.PhaseHistory(7, e.Hrbc.Sandbox.FindProcess(job, r)!.Value));
        var activitiesBefore = e.Hrbc.Sandbox.Count("Activity");
        var request = Offer(job, ids, new { optionAlias = JobOffered, memo = "BulkMailでJOB打診" }, logActivity: true);

        var preview = await (await e.Http.PostAsJsonAsync("/api/mailings/preview", request, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var confirmation = preview.GetProperty("confirmation");
        Assert.Equal(4, confirmation.GetProperty("messages").GetInt32());
        Assert.Equal(4, confirmation.GetProperty("phaseUpdates").GetInt32());
        Assert.Equal("JOB打診", confirmation.GetProperty("phaseName").GetString());
        Assert.Equal("Process", confirmation.GetProperty("phaseResource").GetString());
        Assert.True(confirmation.GetProperty("logActivity").GetBoolean());

        var id = await e.SubmitAsync(request);
        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(0, status.GetProperty("followUpsPending").GetInt32());
        Assert.Equal(4, e.Graph.Sent(EngineHarness.User).Count);

        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        foreach (var resume in ids)
        {
            var row = rows.Single(r => r[3] == resume.ToString(CultureInfo.InvariantCulture));
            Assert.Equal("Sent", row[8]);
            var sentAt = DateTimeOffset.Parse(row[11], CultureInfo.InvariantCulture);
            var processId = e.Hrbc.Sandbox.FindProcess(job, resume);
            Assert.NotNull(processId);
            var history = e.Hrbc.Sandbox.PhaseHistory(7, processId.Value);
            var latest = history.Single(h => h.Recent);
            Assert.Equal(JobOffered, latest.PhaseAlias);
            Assert.Equal("BulkMailでJOB打診", latest.Memo);
            Assert.InRange(latest.DateUtc, sentAt.UtcDateTime.AddSeconds(-1), sentAt.UtcDateTime.AddSeconds(2));
            Assert.Equal(latest.DateUtc, history.Max(h => h.DateUtc)); // the new phase is the latest
            if (with.Contains(resume))
            {
                // docs/hrbc.md, phase rules: a different phase is appended; the same phase as the latest overwrites that entry
                var before = historyBefore[resume];
                var sameAsLatest = before.Single(h => h.Recent).PhaseAlias == JobOffered;
                Assert.Equal(before.Count + (sameAsLatest ? 0 : 1), history.Count);
                Assert.All(before.Where(h => !h.Recent), old => Assert.Contains(history, h => h.Id == old.Id && h.PhaseAlias == old.PhaseAlias));
                Assert.StartsWith($"Process {processId} updated: JOB打診", row[12], StringComparison.Ordinal);
            }
            else
            {
                Assert.Single(history);
                Assert.StartsWith($"Process {processId} created: JOB打診", row[12], StringComparison.Ordinal);
                var fields = e.Hrbc.Sandbox.Fields("Process", processId.Value);
                Assert.Equal(job.ToString(CultureInfo.InvariantCulture), fields["Process.P_Job"]);
                Assert.Equal(resume.ToString(CultureInfo.InvariantCulture), fields["Process.P_Resume"]);
            }
            Assert.Contains("Activity ", row[12], StringComparison.Ordinal);
        }
        Assert.Equal(activitiesBefore + 4, e.Hrbc.Sandbox.Count("Activity"));
    }

    [Fact]
    public async Task An_activity_write_whose_answer_is_lost_leaves_one_activity_per_mail()
    {
        await using var e = await EngineHarness.StartAsync(redis, FastRetries);
        var (job, with, without) = await PickAsync(e);
        var ids = with.Concat(without).ToList();
        var activitiesBefore = e.Hrbc.Sandbox.Count("Activity");
        e.Hrbc.Sandbox.Faults.LostWriteAnswers = 1; // HRBC stores the activities, the answer never comes back
        var id = await e.SubmitAsync(Offer(job, ids, phase: null, logActivity: true));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");

        Assert.Equal(0, e.Hrbc.Sandbox.Faults.LostWriteAnswers);
        Assert.Equal(activitiesBefore + ids.Count, e.Hrbc.Sandbox.Count("Activity")); // one each, none twice
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        Assert.All(rows, row => Assert.Contains("Activity ", row[12], StringComparison.Ordinal));
        Assert.Equal(ids.Count, e.Graph.Sent(EngineHarness.User).Count);
    }

    [Fact]
    public async Task A_failing_activity_write_is_retried_alone_the_phase_already_written_is_not_written_again()
    {
        await using var e = await EngineHarness.StartAsync(redis, FastRetries);
        var (job, _, without) = await PickAsync(e);
        var activitiesBefore = e.Hrbc.Sandbox.Count("Activity");
        e.Hrbc.Sandbox.Faults.FailActivityWrites = 4; // the first two attempts' activities (two resumes each)
        var id = await e.SubmitAsync(Offer(job, without, new { optionAlias = JobOffered }, logActivity: true));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(0, e.Hrbc.Sandbox.Faults.FailActivityWrites);

        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        Assert.Equal(without.Count, rows.Count);
        foreach (var resume in without)
        {
            var row = rows.Single(r => r[3] == resume.ToString(CultureInfo.InvariantCulture));
            var processId = e.Hrbc.Sandbox.FindProcess(job, resume)!.Value;
            // Written once on the first attempt: one history entry, and the retries did not try to create it again.
            Assert.Single(e.Hrbc.Sandbox.PhaseHistory(7, processId));
            Assert.StartsWith($"Process {processId} created: JOB打診", row[12], StringComparison.Ordinal);
            Assert.Contains("Activity ", row[12], StringComparison.Ordinal);
            Assert.DoesNotContain("failed", row[12], StringComparison.OrdinalIgnoreCase);
        }
        Assert.Equal(activitiesBefore + without.Count, e.Hrbc.Sandbox.Count("Activity")); // one each, none twice
        Assert.Equal(without.Count, e.Graph.Sent(EngineHarness.User).Count);
    }

    [Fact]
    public async Task A_failing_phase_write_is_retried_then_recorded_and_the_mail_is_sent_exactly_once()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>(FastRetries) { ["FollowUps:MaxAttempts"] = "3" });
        var (job, with, without) = await PickAsync(e);

        // two failures: the retry succeeds
        e.Hrbc.Sandbox.Faults.FailPhaseWrites = 2;
        var first = await e.SubmitAsync(Offer(job, without, new { optionAlias = JobOffered }));
        await e.WaitForAsync(first, TimeSpan.FromMinutes(1), "Completed");
        var rows = Csv.Parse(await e.CsvAsync(first)).Skip(1).ToList();
        Assert.All(rows, r => Assert.Contains(" created: JOB打診", r[12], StringComparison.Ordinal));
        Assert.All(without, r => Assert.NotNull(e.Hrbc.Sandbox.FindProcess(job, r)));

        // failures without end: recorded as failed after 3 attempts
        e.Hrbc.Sandbox.Faults.FailPhaseWrites = 1000;
        var second = await e.SubmitAsync(Offer(job, with, new { optionAlias = "Option.P_ProcessPhase_Recommended" }));
        await e.WaitForAsync(second, TimeSpan.FromMinutes(1), "Completed");
        rows = Csv.Parse(await e.CsvAsync(second)).Skip(1).ToList();
        Assert.All(rows, r =>
        {
            Assert.Equal("Sent", r[8]);
            Assert.StartsWith("Failed after 3 attempts: phase: HRBC code 1000", r[12], StringComparison.Ordinal);
        });
        e.Hrbc.Sandbox.Faults.FailPhaseWrites = 0;

        // every mail exactly once
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(4, sent.Count);
        Assert.Equal(4, sent.Select(m => m.Headers["X-BulkMail-Delivery"]).Distinct().Count());
    }

    [Fact]
    public async Task The_newsletter_sets_the_resume_phase_and_the_notice_the_recruiter_phase_and_wrong_types_are_refused()
    {
        await using var e = await EngineHarness.StartAsync(redis, FastRetries);
        var wrong = await e.Http.PostAsJsonAsync("/api/mailings", new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10002 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "s", body = "b", phase = new { optionAlias = JobOffered },
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Contains("is not a Resume phase", await wrong.Content.ReadAsStringAsync(Ct));

        var id = await e.SubmitAsync(new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10002, 10003 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "11月のお知らせ", body = "<p>{{Person.P_Name}}様</p>", phase = new { optionAlias = "Option.P_ResumePhase_NewsletterSent" },
        });
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        foreach (var row in Csv.Parse(await e.CsvAsync(id)).Skip(1).Where(r => r[8] == "Sent"))
        {
            var resume = long.Parse(row[3], CultureInfo.InvariantCulture);
            Assert.Equal("Option.P_ResumePhase_NewsletterSent", e.Hrbc.Sandbox.PhaseHistory(17, resume).Single(h => h.Recent).PhaseAlias);
            Assert.StartsWith("Resume phase updated: メルマガ送付", row[12], StringComparison.Ordinal);
        }

        var notice = await e.SubmitAsync(new
        {
            mode = "Recruiters", scope = new { kind = "Checked", ids = new long[] { 50001, 50002 } }, mailFields = new[] { "Recruiter.P_Mail" },
            subject = "お知らせ", body = "<p>{{Recruiter.P_Name}}様</p>", phase = new { optionAlias = "Option.P_RecruiterPhase_NoticeSent" }, logActivity = true,
        });
        await e.WaitForAsync(notice, TimeSpan.FromMinutes(1), "Completed");
        var sentRows = Csv.Parse(await e.CsvAsync(notice)).Skip(1).Where(r => r[8] == "Sent").ToList();
        Assert.NotEmpty(sentRows);
        foreach (var row in sentRows)
        {
            Assert.Equal("Option.P_RecruiterPhase_NoticeSent", e.Hrbc.Sandbox.PhaseHistory(9, long.Parse(row[3], CultureInfo.InvariantCulture)).Single(h => h.Recent).PhaseAlias);
            Assert.Contains("Activity ", row[12], StringComparison.Ordinal);
        }
    }
}
