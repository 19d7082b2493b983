using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Mailings;

/// <summary>Scheduled sending, sending windows with Japanese holidays, and the undo window, over HTTP: API with its
/// worker → real redis-server → Graph sandbox (HRBC sandbox behind), on a stopped clock the test moves
/// (<see cref="StoppableClock"/>: "now" is pinned, timers and polls run for real). docs/scheduling.md.</summary>
public class SchedulingTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly TimeSpan Jst = TimeSpan.FromHours(9);
    private static readonly object Weekdays9To18 = new
    {
        days = new[] { "Mon", "Tue", "Wed", "Thu", "Fri" }, from = "09:00", to = "18:00", timeZone = "Asia/Tokyo", skipHolidays = true,
    };

    private static object Held(int count, int first = 10951) => new
    {
        mode = "Resumes",
        scope = new { kind = "Checked", ids = Enumerable.Range(first, count).Select(i => (long)i) },
        mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様",
        body = "<p>{{Person.P_Name}}様</p>",
        hold = true,
    };

    private Task<EngineHarness> StartAsync(StoppableClock clock, Dictionary<string, string?>? settings = null) =>
        EngineHarness.StartAsync(redis, settings, time: clock);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, string path, object? body)
    {
        using var response = body is null ? await http.PostAsync(path, null, Ct) : await http.PostAsJsonAsync(path, body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<JsonElement> StatusAsync(HttpClient http, string id) =>
        await http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}", Ct);

    /// <summary>Polls until the mailing shows what <paramref name="done"/> asks (or fails with the last status).</summary>
    private static async Task<JsonElement> WaitUntilAsync(HttpClient http, string id, Func<JsonElement, bool> done, string what, int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        JsonElement s;
        do
        {
            s = await StatusAsync(http, id);
            if (done(s))
            {
                return s;
            }
            await Task.Delay(100, Ct);
        }
        while (DateTime.UtcNow < until);
        Assert.Fail($"{what}: {s}");
        return s;
    }

    private static string State(JsonElement s) => s.GetProperty("state").GetString()!;

    /// <summary>Several worker polls (100 ms each) on the real clock, for "nothing happens" assertions.</summary>
    private static Task Polls() => Task.Delay(1500, Ct);

    [Fact]
    public async Task Scheduled_for_tomorrow_9_jst_sends_nothing_before_and_everything_after_across_an_api_restart()
    {
        var clock = new StoppableClock();
        clock.StopAt(new DateTimeOffset(2026, 12, 1, 15, 0, 0, Jst));
        var e = await StartAsync(clock);
        await using var _ = e;
        var id = await e.SubmitAsync(Held(8));
        var ready = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");
        var messages = ready.GetProperty("messages").GetInt32();
        Assert.True(messages > 0);
        var sendAt = new DateTimeOffset(2026, 12, 2, 9, 0, 0, Jst);

        var (status, started) = await PostAsync(e.Http, $"/api/mailings/{id}/start", new { sendAt = "2026-12-02T09:00:00+09:00", undoSeconds = 0 });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Scheduled", State(started));
        Assert.Equal("Scheduled", started.GetProperty("waitCode").GetString());
        Assert.Equal(sendAt, started.GetProperty("sendAt").GetDateTimeOffset());
        Assert.Equal(sendAt, started.GetProperty("resumesAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, started.GetProperty("window").ValueKind);
        Assert.Equal(JsonValueKind.Null, started.GetProperty("undoUntil").ValueKind);
        Assert.True(started.GetProperty("finishesAt").GetDateTimeOffset() >= sendAt);

        clock.AdvanceTo(sendAt.AddSeconds(-1)); // 08:59:59
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Equal("Scheduled", State(await e.StatusAsync(id)));

        // the instance goes away; a new one on the same Redis finds the scheduled mailing and sends it when due
        await e.Api.DisposeAsync();
        await using var next = BulkMailApplication.StartWith(e.Hrbc, new Dictionary<string, string?>(e.AllSettings), s => s.AddSingleton<TimeProvider>(clock));
        using var http = next.CreateClient();
        Assert.Equal("Scheduled", State(await StatusAsync(http, id)));
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));

        clock.AdvanceTo(sendAt);
        var done = await WaitUntilAsync(http, id, s => State(s) == "Completed", "completes after 09:00");
        Assert.Equal(messages, done.GetProperty("sent").GetInt32());
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(messages, sent.Count);
        Assert.All(sent, m => Assert.True(m.SentAt >= sendAt, $"sent at {m.SentAt}"));
    }

    [Fact]
    public async Task Two_instances_on_one_redis_send_a_scheduled_mailing_once_whichever_promotes_it()
    {
        var clock = new StoppableClock();
        var now = clock.StopAt(new DateTimeOffset(2026, 12, 1, 15, 0, 0, Jst));
        await using var e = await StartAsync(clock);
        await using var second = BulkMailApplication.StartWith(e.Hrbc, new Dictionary<string, string?>(e.AllSettings), s => s.AddSingleton<TimeProvider>(clock));
        using var http = second.CreateClient();
        var id = await e.SubmitAsync(Held(10));
        var messages = (await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready")).GetProperty("messages").GetInt32();
        using var ja = new HttpRequestMessage(HttpMethod.Post, $"/api/mailings/{id}/start")
        {
            Content = JsonContent.Create(new { sendAt = "2026-12-01T16:00:00+09:00", undoSeconds = 0 }),
        };
        ja.Headers.AcceptLanguage.ParseAdd("ja");
        using var started = await http.SendAsync(ja, Ct); // started through the second instance
        var status = await started.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        Assert.Equal("予約済みです。2026-12-01T16:00:00+09:00 に送信を始めます。", status.GetProperty("waitReason").GetString());
        Assert.Equal("2026-12-01T16:00:00+09:00", status.GetProperty("waitArgs").GetProperty("at").GetString());

        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        clock.AdvanceTo(now.AddHours(1));
        await WaitUntilAsync(e.Http, id, s => State(s) == "Completed", "completed by the two workers");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(messages, sent.Count);
        Assert.Equal(messages, sent.Select(m => m.To[0]).Distinct().Count());
    }

    [Fact]
    public async Task A_window_9_to_18_pauses_at_18_and_goes_on_at_9_on_the_next_working_day_after_the_holidays()
    {
        // Fri 2026-09-18 17:59 JST; Mon 21 敬老の日, Tue 22 国民の休日, Wed 23 秋分の日: the next working day is Thu 24.
        var clock = new StoppableClock();
        var friday = clock.StopAt(new DateTimeOffset(2026, 9, 18, 17, 59, 0, Jst));
        await using var e = await StartAsync(clock, new() { ["Sending:MessagesPerMinute"] = "4" });
        var id = await e.SubmitAsync(Held(12));
        var messages = (await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready")).GetProperty("messages").GetInt32();
        Assert.True(messages > 8, $"more than two minutes of sending at 4 a minute ({messages})");

        var (status, started) = await PostAsync(e.Http, $"/api/mailings/{id}/start", new { window = Weekdays9To18, undoSeconds = 0 });
        Assert.Equal(HttpStatusCode.OK, status);
        var window = started.GetProperty("window");
        Assert.Equal(["Mon", "Tue", "Wed", "Thu", "Fri"], window.GetProperty("days").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal(("09:00", "18:00", "Asia/Tokyo", true), (window.GetProperty("from").GetString(), window.GetProperty("to").GetString(),
            window.GetProperty("timeZone").GetString(), window.GetProperty("skipHolidays").GetBoolean()));

        // the first minute's 4 go out; the clock stands still, so the pace holds the rest
        await WaitUntilAsync(e.Http, id, s => s.GetProperty("sent").GetInt32() == 4 && s.GetProperty("waitCode").GetString() == "PacingWindow", "4 sent, pacing");
        var thursday = new DateTimeOffset(2026, 9, 24, 9, 0, 0, Jst);
        var sending = await StatusAsync(e.Http, id);
        // the rest at 4 a minute: one minute is left before 18:00, the remainder from Thursday 09:00
        var rest = messages - 4;
        var work = rest * 60.0 / 4;
        Assert.Equal(work <= 60 ? friday.AddSeconds(work) : thursday.AddSeconds(work - 60), sending.GetProperty("finishesAt").GetDateTimeOffset());

        clock.AdvanceTo(friday.AddSeconds(90)); // 18:00:30: the pace would allow more, the window does not
        var parked = await WaitUntilAsync(e.Http, id, s => State(s) == "Scheduled", "back to Scheduled at 18:00");
        Assert.Equal("OutsideWindow", parked.GetProperty("waitCode").GetString());
        Assert.Equal(thursday, parked.GetProperty("resumesAt").GetDateTimeOffset());
        Assert.Equal(thursday.AddSeconds(rest * 60.0 / 4), parked.GetProperty("finishesAt").GetDateTimeOffset());
        await Polls();
        Assert.Equal(4, (await StatusAsync(e.Http, id)).GetProperty("sent").GetInt32());
        Assert.Equal(4, e.Graph.Sent(EngineHarness.User).Count);

        foreach (var holiday in new[] { 21, 22, 23 })
        {
            clock.AdvanceTo(new DateTimeOffset(2026, 9, holiday, 9, 30, 0, Jst));
            await Polls();
            Assert.Equal("Scheduled", State(await StatusAsync(e.Http, id)));
            Assert.Equal(4, e.Graph.Sent(EngineHarness.User).Count);
        }

        clock.AdvanceTo(thursday);
        await WaitUntilAsync(e.Http, id, s => s.GetProperty("sent").GetInt32() == 8, "4 more at Thursday 09:00");
        for (var minute = 1; minute <= 3; minute++)
        {
            clock.AdvanceTo(thursday.AddMinutes(minute).AddSeconds(2));
            await Task.Delay(300, Ct);
        }
        var done = await WaitUntilAsync(e.Http, id, s => State(s) == "Completed", "completed on Thursday");
        Assert.Equal(messages, done.GetProperty("sent").GetInt32());
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(messages, sent.Count); // none lost, none twice
        Assert.Equal(messages, sent.Select(m => m.To[0]).Distinct().Count());
        Assert.Equal(4, sent.Count(m => m.SentAt < friday.AddMinutes(1)));
        Assert.All(sent.Where(m => m.SentAt >= friday.AddMinutes(1)), m => Assert.True(m.SentAt >= thursday));
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Undo_within_the_undo_window_cancels_with_nothing_sent_and_after_it_is_a_409(string store)
    {
        var clock = new StoppableClock();
        var now = clock.StopAt(new DateTimeOffset(2026, 12, 1, 10, 0, 0, Jst));
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Sending:UndoSeconds"] = "30" }, time: clock, store: store);
        var id = await e.SubmitAsync(Held(6));
        var messages = (await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready")).GetProperty("messages").GetInt32();

        var (status, started) = await PostAsync(e.Http, $"/api/mailings/{id}/start", null); // no body: Sending:UndoSeconds
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Scheduled", State(started));
        Assert.Equal("UndoWindow", started.GetProperty("waitCode").GetString());
        Assert.Equal(now.AddSeconds(30), started.GetProperty("undoUntil").GetDateTimeOffset());
        Assert.Equal(now.AddSeconds(30), started.GetProperty("resumesAt").GetDateTimeOffset());
        clock.Advance(TimeSpan.FromSeconds(29));
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));

        var (undoStatus, undone) = await PostAsync(e.Http, $"/api/mailings/{id}/undo", null);
        Assert.Equal(HttpStatusCode.OK, undoStatus);
        Assert.Equal("Cancelled", State(undone));
        Assert.Equal(messages, undone.GetProperty("cancelled").GetInt32());
        Assert.Equal(0, undone.GetProperty("sent").GetInt32());
        clock.Advance(TimeSpan.FromMinutes(5));
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).Where(r => r[8] != "Skipped").ToList();
        Assert.Equal(messages, rows.Count);
        Assert.All(rows, r => Assert.Equal(("Cancelled", "Cancelled before it was sent"), (r[8], r[9])));
        var (again, expiredAgain) = await PostAsync(e.Http, $"/api/mailings/{id}/undo", null);
        Assert.Equal((HttpStatusCode.Conflict, "UndoExpired"), (again, expiredAgain.GetProperty("code").GetString()));

        // a second mailing: undo once the window has passed and sending began
        var second = await e.SubmitAsync(Held(3, 10960));
        await e.WaitForAsync(second, TimeSpan.FromMinutes(1), "Ready");
        var (readyUndo, _) = await PostAsync(e.Http, $"/api/mailings/{second}/undo", null);
        Assert.Equal(HttpStatusCode.Conflict, readyUndo); // not started: nothing to undo
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(e.Http, $"/api/mailings/{second}/start", new { undoSeconds = 5 })).Status);
        clock.Advance(TimeSpan.FromSeconds(5));
        await WaitUntilAsync(e.Http, second, s => State(s) == "Completed", "sent after its 5 s undo window");
        var (late, problem) = await PostAsync(e.Http, $"/api/mailings/{second}/undo", null);
        Assert.Equal(HttpStatusCode.Conflict, late);
        Assert.Equal("UndoExpired", problem.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(e.Http, "/api/mailings/nosuchmailing/undo", null)).Status);
    }

    [Fact]
    public async Task Start_body_errors_name_their_fields_and_change_nothing()
    {
        var clock = new StoppableClock();
        clock.StopAt(new DateTimeOffset(2026, 12, 1, 10, 0, 0, Jst));
        await using var e = await StartAsync(clock);
        var id = await e.SubmitAsync(Held(3));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");

        async Task<Dictionary<string, string>> ErrorsAsync(object body)
        {
            var (status, problem) = await PostAsync(e.Http, $"/api/mailings/{id}/start", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("ValidationFailed", problem.GetProperty("code").GetString());
            return problem.GetProperty("fieldCodes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value[0].GetProperty("code").GetString()!);
        }

        Assert.Equal(new Dictionary<string, string>
        {
            ["sendAt"] = "SendAtInvalid", ["window.days"] = "WindowDaysInvalid", ["window.from"] = "WindowTimeInvalid",
            ["window.timeZone"] = "TimeZoneUnknown", ["undoSeconds"] = "UndoSecondsOutOfRange",
        }, await ErrorsAsync(new
        {
            sendAt = "2026-12-02T09:00:00", // no offset
            window = new { days = new[] { "Mon", "Funday" }, from = "9:00", to = "18:00", timeZone = "Mars/Olympus_Mons" },
            undoSeconds = 601,
        }));
        Assert.Equal(new Dictionary<string, string> { ["sendAt"] = "SendAtInPast", ["window.to"] = "WindowEmpty", ["window.days"] = "WindowDaysInvalid" },
            await ErrorsAsync(new { sendAt = "2026-11-30T09:00:00+09:00", window = new { days = new[] { "Mon", "Mon" }, from = "18:00", to = "09:00" } }));
        Assert.Equal(new Dictionary<string, string> { ["sendAt"] = "SendAtTooFar", ["undoSeconds"] = "UndoSecondsOutOfRange" },
            await ErrorsAsync(new { sendAt = "2027-06-01T09:00:00+09:00", undoSeconds = -1 }));
        Assert.Equal(new Dictionary<string, string> { ["window.days"] = "WindowDaysInvalid", ["window.to"] = "WindowTimeInvalid" },
            await ErrorsAsync(new { window = new { days = Array.Empty<string>(), from = "09:00", to = "25:00" } }));

        var ready = await StatusAsync(e.Http, id);
        Assert.Equal("Ready", State(ready));
        Assert.Equal(JsonValueKind.Null, ready.GetProperty("sendAt").ValueKind);
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("601")]
    public void An_undo_window_out_of_range_stops_the_api_at_start_up(string seconds)
    {
        var error = Assert.ThrowsAny<Exception>(() => BulkMailApplication.Start(new Dictionary<string, string?> { ["Sending:UndoSeconds"] = seconds }).Dispose());
        Assert.Contains("UndoSeconds", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dry_run_changes_nothing_and_its_finish_time_spans_the_closed_hours_and_holidays()
    {
        var clock = new StoppableClock();
        var friday = clock.StopAt(new DateTimeOffset(2026, 9, 18, 17, 59, 0, Jst));
        await using var e = await StartAsync(clock, new() { ["Sending:MessagesPerMinute"] = "4" });
        var id = await e.SubmitAsync(Held(12));
        var messages = (await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready")).GetProperty("messages").GetInt32();
        var work = messages * 60.0 / 4;

        var (status, would) = await PostAsync(e.Http, $"/api/mailings/{id}/start", new { window = Weekdays9To18, undoSeconds = 0, dryRun = true });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Scheduled", State(would));
        Assert.Equal(friday, would.GetProperty("resumesAt").GetDateTimeOffset()); // the window is open now
        // one minute on Friday, the rest from Thursday 09:00 (the weekend and three holidays between)
        var finishes = new DateTimeOffset(2026, 9, 24, 9, 0, 0, Jst).AddSeconds(work - 60);
        Assert.Equal(finishes, would.GetProperty("finishesAt").GetDateTimeOffset());
        Assert.Equal((int)(finishes - friday).TotalSeconds, would.GetProperty("estimatedSeconds").GetInt32());

        // a time in the evening: it starts at the next opening, Thursday 09:00
        var (_, evening) = await PostAsync(e.Http, $"/api/mailings/{id}/start",
            new { sendAt = "2026-09-18T20:00:00+09:00", window = Weekdays9To18, undoSeconds = 0, dryRun = true });
        Assert.Equal(new DateTimeOffset(2026, 9, 24, 9, 0, 0, Jst), evening.GetProperty("resumesAt").GetDateTimeOffset());
        Assert.Equal("Scheduled", evening.GetProperty("waitCode").GetString());
        // without skipping holidays: Monday 21st
        var (_, plain) = await PostAsync(e.Http, $"/api/mailings/{id}/start", new
        {
            sendAt = "2026-09-18T20:00:00+09:00", undoSeconds = 0, dryRun = true,
            window = new { days = new[] { "Mon", "Tue", "Wed", "Thu", "Fri" }, from = "09:00", to = "18:00", skipHolidays = false },
        });
        Assert.Equal(new DateTimeOffset(2026, 9, 21, 9, 0, 0, Jst), plain.GetProperty("resumesAt").GetDateTimeOffset());

        await Polls();
        var after = await StatusAsync(e.Http, id);
        Assert.Equal("Ready", State(after));
        Assert.True(after.GetProperty("held").GetBoolean());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("window").ValueKind);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
    }

    [Fact]
    public async Task A_scheduled_mailing_can_be_rescheduled_and_cancelled_until_it_starts()
    {
        var clock = new StoppableClock();
        clock.StopAt(new DateTimeOffset(2026, 12, 1, 15, 0, 0, Jst));
        await using var e = await StartAsync(clock);
        var id = await e.SubmitAsync(Held(4));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(e.Http, $"/api/mailings/{id}/start", new { sendAt = "2026-12-02T09:00:00+09:00" })).Status);

        var (status, moved) = await PostAsync(e.Http, $"/api/mailings/{id}/start", new { sendAt = "2026-12-02T10:00:00+09:00" });
        Assert.Equal(HttpStatusCode.OK, status);
        var ten = new DateTimeOffset(2026, 12, 2, 10, 0, 0, Jst);
        Assert.Equal(ten, moved.GetProperty("sendAt").GetDateTimeOffset());
        Assert.Equal(ten, moved.GetProperty("resumesAt").GetDateTimeOffset());

        clock.AdvanceTo(new DateTimeOffset(2026, 12, 2, 9, 30, 0, Jst)); // the old time has passed
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Equal("Scheduled", State(await StatusAsync(e.Http, id)));

        var (cancelStatus, cancelled) = await PostAsync(e.Http, $"/api/mailings/{id}/cancel", new { });
        Assert.Equal(HttpStatusCode.OK, cancelStatus);
        Assert.Equal("Cancelled", State(cancelled));
        clock.AdvanceTo(ten.AddMinutes(30));
        await Polls();
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Equal("Cancelled", State(await StatusAsync(e.Http, id)));
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync(e.Http, $"/api/mailings/{id}/start", new { })).Status);

        // once it has sent, its time cannot change
        var other = await e.SubmitAsync(Held(4, 10960));
        await e.WaitForAsync(other, TimeSpan.FromMinutes(1), "Ready");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(e.Http, $"/api/mailings/{other}/start", new { })).Status);
        await e.WaitForAsync(other, TimeSpan.FromMinutes(1), "Completed");
        var (late, problem) = await PostAsync(e.Http, $"/api/mailings/{other}/start", new { sendAt = "2026-12-03T10:00:00+09:00" });
        Assert.Equal((HttpStatusCode.Conflict, "MailingNotReady"), (late, problem.GetProperty("code").GetString()));
    }
}
