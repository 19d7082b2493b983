using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Mailings;

/// <summary>Prepared (held) mailings and the honest status: exact figures before Start, nothing sent before it, wait and
/// pause codes, estimates from the mailbox's real pace. HTTP → Redis → worker → Graph sandbox, HRBC sandbox behind.</summary>
public class PreparedMailingTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static object Held(object scope, string subject = "{{Person.P_Name}}様", string body = "<p>{{Person.P_Name}}様</p>") => new
    {
        mode = "Resumes",
        scope,
        mailFields = new[] { "Resume.P_Mail" },
        subject,
        body,
        hold = true,
    };

    private static object Checked(IEnumerable<long> ids) => new { kind = "Checked", ids };

    /// <summary>The CSV's English reasons of skipped rows, as the codes the status counts them by.</summary>
    private static string CodeOf(string reason) => reason switch
    {
        "No address in the ticked mail fields" => "NoAddress",
        "Invalid address" => "InvalidAddress",
        "Record not found in HRBC" => "RecordGone",
        _ => throw new Xunit.Sdk.XunitException($"unexpected skip reason {reason}"),
    };

    /// <summary>The product on Redis, or (<c>memory</c>) on the in-memory store and limiter of the demo.</summary>
    private Task<EngineHarness> StartAsync(string store, Dictionary<string, string?>? settings = null, TimeProvider? time = null) =>
        EngineHarness.StartAsync(redis, settings, time: time, store: store);

    private static Dictionary<string, int> Skips(JsonElement status) =>
        status.GetProperty("skippedByReason").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_held_all_scope_of_1200_records_counts_exactly_sends_nothing_before_start_then_sends_exactly_that(string store)
    {
        await using var e = await StartAsync(store);
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, Enumerable.Range(10001, 1200).Select(i => (long)i), "Resume.P_Mail");
        e.Hrbc.Sandbox.Faults.Latency = TimeSpan.FromMilliseconds(150); // so that Preparing can be watched

        var id = await e.SubmitAsync(Held(new { kind = "All", query = new { condition = "Resume.P_Id:ge=10001,Resume.P_Id:le=11200" } }));
        var first = await e.StatusAsync(id);
        Assert.Equal("{{Person.P_Name}}様", first.GetProperty("subject").GetString()); // there from the first moment
        var preparing = new List<JsonElement>();
        JsonElement ready;
        var until = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var s = await e.StatusAsync(id);
            if (s.GetProperty("state").GetString() == "Preparing")
            {
                preparing.Add(s);
            }
            else
            {
                ready = s;
                break;
            }
            Assert.True(DateTime.UtcNow < until, "still preparing");
            await Task.Delay(50, Ct);
        }
        e.Hrbc.Sandbox.Faults.Latency = TimeSpan.Zero;

        Assert.NotEmpty(preparing);
        Assert.All(preparing, s => Assert.Equal("Expanding", s.GetProperty("waitCode").GetString()));
        Assert.Contains(preparing, s => s.GetProperty("scopeTotal").ValueKind == JsonValueKind.Number
            && s.GetProperty("scopeTotal").GetInt32() == 1200 && s.GetProperty("counted").GetInt32() is > 0 and < 1200);
        Assert.Equal("Ready", ready.GetProperty("state").GetString());
        Assert.True(ready.GetProperty("held").GetBoolean());
        var messages = ready.GetProperty("messages").GetInt32();
        Assert.Equal(expected.Count, messages);
        Assert.Equal(1200, ready.GetProperty("counted").GetInt32());
        Assert.Equal(ready.GetProperty("total").GetInt32(), messages + ready.GetProperty("skipped").GetInt32());
        Assert.Equal(ready.GetProperty("skipped").GetInt32(), Skips(ready).Values.Sum());
        Assert.Equal(0, ready.GetProperty("decided").GetInt32());
        Assert.Equal(0, ready.GetProperty("phaseUpdates").GetInt32());
        Assert.Equal(JsonValueKind.Null, ready.GetProperty("etaSeconds").ValueKind);
        // 10,000 a minute: the estimate is seconds; no other mailing, nothing sent today
        Assert.InRange(ready.GetProperty("estimatedSeconds").GetInt32(), 1, (int)Math.Ceiling(messages * 60 / 10_000.0));
        Assert.True(ready.GetProperty("finishesAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddSeconds(-5));
        Assert.Equal(10_000 - messages, ready.GetProperty("quotaLeftAfter").GetInt32());
        Assert.Empty(ready.GetProperty("attachments").EnumerateArray());

        // nothing goes out while Ready
        await Task.Delay(1000, Ct);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Equal("Ready", (await e.StatusAsync(id)).GetProperty("state").GetString());

        // stepping through any recipient of the expanded mailing, from the stored values
        var total = ready.GetProperty("total").GetInt32();
        var firstMessage = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}/preview?seq=1", Ct);
        Assert.Equal(total, firstMessage.GetProperty("total").GetInt32());
        var last = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}/preview?seq={total}", Ct);
        Assert.Equal(total, last.GetProperty("seq").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.GetAsync($"/api/mailings/{id}/preview?seq={total + 1}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.GetAsync($"/api/mailings/{id}/preview?seq=0", Ct)).StatusCode);
        var pick = expected[700];
        var byRecord = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}/preview?recordId={pick.Resume}", Ct);
        var resume = (await e.Hrbc.Client.GetResumeAsync(pick.Resume, Ct))!;
        Assert.Equal($"{resume.Person!.Text("Person.P_Name")}様", byRecord.GetProperty("message").GetProperty("subject").GetString());
        Assert.Equal(pick.Address, byRecord.GetProperty("message").GetProperty("address").GetString());

        var start = await e.Http.PostAsJsonAsync($"/api/mailings/{id}/start", new { }, Ct);
        Assert.Equal(HttpStatusCode.OK, start.StatusCode);
        var started = await start.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains(started.GetProperty("state").GetString(), new[] { "Queued", "Sending", "Completed" });
        Assert.False(started.GetProperty("held").GetBoolean());
        var done = await e.WaitForAsync(id, TimeSpan.FromMinutes(3), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(messages, sent.Count);
        Assert.Equal(messages, done.GetProperty("decided").GetInt32());
        Assert.Equal(messages, done.GetProperty("messages").GetInt32());
        var skippedRows = Csv.Parse(await e.CsvAsync(id)).Skip(1).Where(r => r[8] == "Skipped").ToList();
        Assert.Equal(skippedRows.GroupBy(r => CodeOf(r[9])).ToDictionary(g => g.Key, g => g.Count()).OrderBy(x => x.Key),
            Skips(ready).OrderBy(x => x.Key));
        Assert.Equal(HttpStatusCode.Conflict, (await e.Http.PostAsync($"/api/mailings/{id}/start", null, Ct)).StatusCode);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Cancelling_a_ready_mailing_sends_nothing_and_it_shows_cancelled_not_completed(string store)
    {
        await using var e = await StartAsync(store);
        var ids = Enumerable.Range(10801, 20).Select(i => (long)i).ToList();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        var id = await e.SubmitAsync(Held(Checked(ids)));
        var ready = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");
        Assert.Equal(expected.Count, ready.GetProperty("messages").GetInt32());
        Assert.Equal(20, ready.GetProperty("scopeTotal").GetInt32());

        using var foreign = new HttpRequestMessage(HttpMethod.Post, $"/api/mailings/{id}/start");
        foreign.Headers.Add("X-BulkMail-User", "someone.else@bulkmail.example");
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.SendAsync(foreign, Ct)).StatusCode);
        var cancel = await e.Http.PostAsync($"/api/mailings/{id}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        await Task.Delay(500, Ct);

        var final = await e.StatusAsync(id);
        Assert.Equal("Cancelled", final.GetProperty("state").GetString());
        Assert.True(final.GetProperty("held").GetBoolean());
        Assert.Equal(0, final.GetProperty("sent").GetInt32());
        Assert.Equal(0, final.GetProperty("decided").GetInt32());
        Assert.Equal(expected.Count, final.GetProperty("cancelled").GetInt32());
        Assert.Equal(JsonValueKind.String, final.GetProperty("finishedAt").ValueKind);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        var start = await e.Http.PostAsync($"/api/mailings/{id}/start", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, start.StatusCode);
        Assert.Equal("MailingNotReady", (await start.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("code").GetString());
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        Assert.DoesNotContain(rows, r => r[8] is "Sent" or "Pending");
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task An_address_unsubscribed_while_held_is_skipped_and_counts_against_neither_the_minute_nor_the_day(string store)
    {
        await using var e = await StartAsync(store);
        var id = await e.SubmitAsync(Held(Checked([10961, 10962, 10963])));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");
        var first = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}/preview?seq=1", Ct);
        var address = first.GetProperty("message").GetProperty("address").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsJsonAsync("/api/suppressions", new { address }, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsync($"/api/mailings/{id}/start", null, Ct)).StatusCode);
        var done = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.DoesNotContain(sent, m => m.To.Contains(address, StringComparer.OrdinalIgnoreCase));
        Assert.Equal(1, Skips(done).GetValueOrDefault("Suppressed"));
        // The pacing grant its lane took went back unused: the mailbox's minute and day hold the messages sent, no more.
        var limiter = e.Api.Services.GetRequiredService<BulkMail.Api.Mail.IMailboxLimiter>();
        var (day, _) = await limiter.DailyUsageAsync(EngineHarness.User, DateTimeOffset.UtcNow, Ct);
        Assert.Equal(sent.Count, day);
        var pace = await limiter.PaceAsync(EngineHarness.User, e.Api.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BulkMail.Api.Mail.SendingOptions>>().Value.Limits,
            DateTimeOffset.UtcNow, Ct);
        Assert.Equal(sent.Count, pace.SendsInWindow);
    }

    [Fact]
    public async Task Without_hold_nothing_changes_and_start_is_a_409()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var id = await e.SubmitAsync(EngineHarness.Newsletter([10901, 10902, 10903]));
        var done = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.False(done.GetProperty("held").GetBoolean());
        Assert.Equal(done.GetProperty("sent").GetInt32(), done.GetProperty("decided").GetInt32());

        var start = await e.Http.PostAsJsonAsync($"/api/mailings/{id}/start", new { }, Ct);
        Assert.Equal(HttpStatusCode.Conflict, start.StatusCode);
        var problem = await start.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("Completed", problem.GetProperty("args").GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.PostAsync("/api/mailings/nosuchmailing/start", null, Ct)).StatusCode);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_throttled_mailbox_says_retry_after_and_its_eta_grows_and_moves_with_the_clock(string store)
    {
        // The figures are computed from "now": on a running clock the worker's now (when the 429 came) and the status's
        // now differ by however long the machine took, and under load a 30 s block read as 31 s. Stopped, they are exact.
        var clock = new StoppableClock();
        await using var e = await StartAsync(store, time: clock);
        var ids = Enumerable.Range(10951, 10).Select(i => (long)i).ToList();
        var id = await e.SubmitAsync(Held(Checked(ids)));
        var ready = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");
        var estimate = ready.GetProperty("estimatedSeconds").GetInt32();
        e.Graph.Faults.ThrottleRate = 1.0;
        e.Graph.Faults.MinRetryAfterSeconds = 30;
        e.Graph.Faults.MaxRetryAfterSeconds = 30;
        var now = clock.Stop();

        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsync($"/api/mailings/{id}/start", null, Ct)).StatusCode);
        JsonElement blocked;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            blocked = await e.StatusAsync(id);
            await Task.Delay(50, Ct);
        }
        while (blocked.GetProperty("waitCode").GetString() != "RetryAfter" && DateTime.UtcNow < until);

        Assert.Equal("RetryAfter", blocked.GetProperty("waitCode").GetString());
        Assert.Equal("30", blocked.GetProperty("waitArgs").GetProperty("seconds").GetString());
        Assert.Contains("wait 30 s", blocked.GetProperty("waitReason").GetString());
        Assert.Equal(now.AddSeconds(30), blocked.GetProperty("resumesAt").GetDateTimeOffset());
        var eta = blocked.GetProperty("etaSeconds").GetInt32();
        Assert.True(eta == estimate + 30, $"the 30 s block is in the ETA: {eta} (estimate before {estimate})");
        Assert.Equal(0, blocked.GetProperty("sent").GetInt32());

        // recomputed from now, not kept from when the block began
        clock.Advance(TimeSpan.FromSeconds(2));
        var later = await e.StatusAsync(id);
        Assert.Equal("RetryAfter", later.GetProperty("waitCode").GetString());
        Assert.Equal("28", later.GetProperty("waitArgs").GetProperty("seconds").GetString());
        Assert.Equal(eta - 2, later.GetProperty("etaSeconds").GetInt32());
        Assert.Equal(0, e.Graph.RetryAfterViolations);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task The_estimate_of_a_second_mailing_of_the_mailbox_counts_the_first_ones_pending_messages(string store)
    {
        // 6 a minute: 10 s per message; the first mailing sends 6 at once, then waits for the minute to move on
        await using var e = await StartAsync(store, new Dictionary<string, string?> { ["Sending:MessagesPerMinute"] = "6" });
        var firstIds = Enumerable.Range(11001, 30).Select(i => (long)i).ToList();
        var firstId = await e.SubmitAsync(EngineHarness.Newsletter(firstIds));
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((await e.StatusAsync(firstId)).GetProperty("sent").GetInt32() < 6 && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
        }
        var secondIds = Enumerable.Range(11101, 10).Select(i => (long)i).ToList();
        var secondId = await e.SubmitAsync(Held(Checked(secondIds)));
        await e.WaitForAsync(secondId, TimeSpan.FromMinutes(1), "Ready");

        var before = await e.StatusAsync(firstId);
        var second = await e.StatusAsync(secondId);
        var after = await e.StatusAsync(firstId);
        Assert.Equal(before.GetProperty("pending").GetInt32(), after.GetProperty("pending").GetInt32()); // the window is full: nothing moved
        Assert.Equal(6, e.Graph.Sent(EngineHarness.User).Count);
        var firstPending = after.GetProperty("pending").GetInt32();
        Assert.True(firstPending > 10, $"{firstPending}");
        var messages = second.GetProperty("messages").GetInt32();

        Assert.Equal((firstPending + messages) * 10, second.GetProperty("estimatedSeconds").GetInt32());
        Assert.Equal(10_000 - 6 - firstPending - messages, second.GetProperty("quotaLeftAfter").GetInt32());
        // the first has nobody ahead of it (a Ready mailing is not sending), and says why it waits
        Assert.Equal(firstPending * 10, after.GetProperty("etaSeconds").GetInt32());
        Assert.Equal("PacingWindow", after.GetProperty("waitCode").GetString());
        Assert.True(after.GetProperty("resumesAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Transient_errors_are_a_graph_errors_wait_naming_graphs_code()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Sending:RetryBaseDelay"] = "00:00:05", ["Sending:MaxConcurrency"] = "1",
        });
        e.Graph.Faults.ServiceUnavailableRate = 1.0;
        var id = await e.SubmitAsync(EngineHarness.Newsletter([10001, 10002, 10003]));
        JsonElement status;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            status = await e.StatusAsync(id);
            await Task.Delay(50, Ct);
        }
        while (status.GetProperty("waitCode").GetString() != "GraphErrors" && DateTime.UtcNow < until);

        Assert.Equal("GraphErrors", status.GetProperty("waitCode").GetString());
        Assert.False(string.IsNullOrEmpty(status.GetProperty("waitArgs").GetProperty("graphCode").GetString()));
        Assert.Contains(status.GetProperty("waitArgs").GetProperty("graphCode").GetString()!, status.GetProperty("waitReason").GetString());
    }

    [Fact]
    public async Task A_preview_of_a_large_all_scope_says_its_count_is_partial_and_renders_only_its_samples()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var request = Held(new { kind = "All", query = new { condition = "Resume.P_Id:ge=10001,Resume.P_Id:le=11200" } },
            body: "<p>{{Person.P_Name}}様 {{Resume.U_LinkedInUrl}}</p>");

        var response = await e.Http.PostAsJsonAsync("/api/mailings/preview", request, Ct);
        var preview = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(preview.GetProperty("complete").GetBoolean());
        Assert.Equal(1000, preview.GetProperty("records").GetInt32());
        Assert.Equal(1200, preview.GetProperty("scopeTotal").GetInt32());
        var warnings = preview.GetProperty("warnings").EnumerateArray().ToList();
        Assert.Equal("PartialCount", warnings[0].GetProperty("code").GetString());
        Assert.Contains("partial", warnings[0].GetProperty("message").GetString());
        Assert.Equal(5, preview.GetProperty("samples").GetArrayLength());
        var messages = preview.GetProperty("messages").GetInt32();
        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, Enumerable.Range(10001, 1000).Select(i => (long)i), "Resume.P_Mail");
        Assert.Equal(expected.Count, messages);
        // empty tags are found from the values, for every message, not only the rendered samples
        var linkedIn = await e.Hrbc.Client.ReadByIdsAsync(BulkMail.Api.Hrbc.HrbcResource.Resume, expected.Select(x => x.Resume).Distinct(),
            BulkMail.Api.Hrbc.HrbcFieldList.Of("Resume.P_Id", "Resume.U_LinkedInUrl"), Ct).ToListAsync(Ct);
        var emptyFor = linkedIn.Where(r => string.IsNullOrEmpty(r.Text("Resume.U_LinkedInUrl"))).Select(r => r.Id).ToHashSet();
        var empty = warnings.Single(w => w.GetProperty("code").GetString() == "EmptyTag");
        Assert.Equal(expected.Count(x => emptyFor.Contains(x.Resume)), empty.GetProperty("count").GetInt32());
        Assert.InRange(empty.GetProperty("examples").GetArrayLength(), 1, 5);
    }

    [Fact]
    public async Task A_held_offer_counts_its_phase_updates_as_the_confirmation_does_and_carries_its_attachments_figures()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var ids = Enumerable.Range(10001, 40).Select(i => (long)i).ToList();
        var request = new Dictionary<string, object?>
        {
            ["mode"] = "JobToResumes", ["anchorId"] = 30001, ["scope"] = Checked(ids),
            ["mailFields"] = new[] { "Resume.P_Mail", "Resume.P_MobileMail" },
            ["subject"] = "{{Job.P_Position}}のご紹介", ["body"] = "<p>{{Person.P_Name}}様</p>",
            ["phase"] = new { optionAlias = "Option.P_ProcessPhase_JobOffered" },
        };
        var preview = await (await e.Http.PostAsJsonAsync("/api/mailings/preview", request, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var confirmation = preview.GetProperty("confirmation");

        request["hold"] = true;
        var id = await e.SubmitAsync(request);
        var ready = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");

        var expected = await MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail", "Resume.P_MobileMail");
        Assert.Equal(expected.Count, ready.GetProperty("messages").GetInt32());
        Assert.Equal(confirmation.GetProperty("messages").GetInt32(), ready.GetProperty("messages").GetInt32());
        // one per job × resume: two addresses of one resume are one phase update
        Assert.Equal(expected.Select(x => x.Resume).Distinct().Count(), ready.GetProperty("phaseUpdates").GetInt32());
        Assert.Equal(confirmation.GetProperty("phaseUpdates").GetInt32(), ready.GetProperty("phaseUpdates").GetInt32());
        Assert.True(ready.GetProperty("messages").GetInt32() > ready.GetProperty("phaseUpdates").GetInt32(), "some resumes have two addresses");
        Assert.False(ready.GetProperty("zipped").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsync($"/api/mailings/{id}/cancel", null, Ct)).StatusCode);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
    }
}
