using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Infrastructure;

/// <summary>Per-user brakes over HTTP (API on Kestrel, real redis-server, sandboxes): the rate limits (RateLimits:*),
/// running mailings per user and the template cap. Limits are set tiny so the third request trips them at once.</summary>
public class LimitsTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Other = "someone.else@bulkmail.example";

    private static Dictionary<string, string?> Limits(params (string Key, string Value)[] limits)
    {
        var settings = new Dictionary<string, string?> { ["RateLimits:Enabled"] = "true" };
        foreach (var (key, value) in limits)
        {
            settings["RateLimits:" + key] = value;
        }
        return settings;
    }

    private static object Newsletter(bool hold = false, string? idempotencyKey = null) => new
    {
        mode = "Resumes",
        scope = new { kind = "Checked", ids = new long[] { 10001, 10002 } },
        mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様",
        body = "<p>{{Person.P_Name}}様</p>",
        hold,
        idempotencyKey,
    };

    private static HttpRequestMessage Post(string url, object body, string? user = null, string? language = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        if (user is not null)
        {
            request.Headers.Add("X-BulkMail-User", user);
        }
        if (language is not null)
        {
            request.Headers.AcceptLanguage.ParseAdd(language);
        }
        return request;
    }

    /// <summary>A 429 as the pane reads it: Retry-After in seconds, and a problem naming the policy with the same seconds.</summary>
    private static async Task<JsonElement> AssertRateLimitedAsync(HttpResponseMessage response, string policy, int maxSeconds = 60)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, maxSeconds);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal("RateLimited", problem.GetProperty("code").GetString());
        Assert.Equal(policy, problem.GetProperty("args").GetProperty("policy").GetString());
        Assert.Equal(((int)retryAfter.Value.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
            problem.GetProperty("args").GetProperty("retryAfterSeconds").GetString());
        return problem;
    }

    [Fact]
    public async Task The_third_submit_in_a_window_is_a_429_with_retry_after_for_that_user_only_and_in_japanese_when_asked()
    {
        await using var e = await EngineHarness.StartAsync(redis, Limits(("Submits", "2")), worker: false);

        var first = await e.Http.PostAsJsonAsync("/api/mailings", Newsletter(), Ct);
        var second = await e.Http.PostAsJsonAsync("/api/mailings", Newsletter(), Ct);
        var third = await e.Http.PostAsJsonAsync("/api/mailings", Newsletter(), Ct);
        using var thirdJa = await e.Http.SendAsync(Post("/api/mailings", Newsletter(), language: "ja"), Ct);
        using var otherUser = await e.Http.SendAsync(Post("/api/mailings", Newsletter(), user: Other), Ct);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var problem = await AssertRateLimitedAsync(third, "submits");
        Assert.Matches(@"^Too many requests of this kind \(submits\); try again in \d+ seconds\.$", problem.GetProperty("detail").GetString());
        var ja = await AssertRateLimitedAsync(thirdJa, "submits");
        Assert.Matches(@"^この操作（submits）のリクエストが多すぎます。\d+ 秒後にもう一度お試しください。$", ja.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Accepted, otherUser.StatusCode);
        Assert.Equal(2, (await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength()); // the refused one stored nothing
    }

    [Fact]
    public async Task Previews_test_sends_uploads_and_template_writes_each_have_their_own_limit()
    {
        await using var e = await EngineHarness.StartAsync(redis,
            Limits(("Previews", "2"), ("TestSends", "2"), ("Uploads", "2"), ("TemplateWrites", "2")), worker: false);

        Task<HttpResponseMessage> UploadAsync() => UploadForm.PostAsync(e.Http, "a.pdf", [1, 2, 3]);
        var template = new { name = "t", mode = "Resumes", subject = "{{Person.P_Name}}様", body = "<p>x</p>" };

        var previews = new List<HttpResponseMessage>();
        var tests = new List<HttpResponseMessage>();
        var uploads = new List<HttpResponseMessage>();
        var templates = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            previews.Add(await e.Http.PostAsJsonAsync("/api/mailings/preview", Newsletter(), Ct));
            tests.Add(await e.Http.PostAsJsonAsync("/api/mailings/test", Newsletter(), Ct));
            uploads.Add(await UploadAsync());
            templates.Add(await e.Http.PostAsJsonAsync("/api/templates", template, Ct));
        }
        // a refused template write leaves the other kinds of request alone: the list is no write
        var list = await e.Http.GetAsync("/api/templates", Ct);

        Assert.All(previews.Take(2), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(tests.Take(2), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.All(uploads.Take(2), r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.All(templates.Take(2), r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        await AssertRateLimitedAsync(previews[2], "previews");
        await AssertRateLimitedAsync(tests[2], "test-sends");
        await AssertRateLimitedAsync(uploads[2], "uploads");
        await AssertRateLimitedAsync(templates[2], "template-writes");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(2, e.Graph.Sent(EngineHarness.User).Count); // the refused test send sent nothing
        // the previews limit also covers stepping through an expanded mailing's deliveries
        var id = await e.SubmitAsync(Newsletter(hold: true));
        await AssertRateLimitedAsync(await e.Http.GetAsync($"/api/mailings/{id}/preview?seq=1", Ct), "previews");
    }

    [Fact]
    public async Task A_user_may_hold_only_so_many_status_streams_open_and_gets_one_back_when_one_closes()
    {
        await using var e = await EngineHarness.StartAsync(redis, Limits(("Streams", "2"), ("StreamRetryAfter", "00:00:07")), worker: false);
        var id = await e.SubmitAsync(Newsletter()); // stays Preparing without a worker: its stream stays open
        var url = $"/api/mailings/{id}/events";

        var a = await e.Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
        var b = await e.Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
        using var c = await e.Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
        using var otherRequest = new HttpRequestMessage(HttpMethod.Get, "/api/mailings");
        otherRequest.Headers.Add("X-BulkMail-User", Other);
        using var others = await e.Http.SendAsync(otherRequest, Ct); // streams of one user do not touch another's requests

        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        var problem = await AssertRateLimitedAsync(c, "streams");
        Assert.Equal(7, c.Headers.RetryAfter!.Delta!.Value.TotalSeconds);
        Assert.Contains("2 status streams open", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, others.StatusCode);

        a.Dispose(); // the client goes away: the server ends that stream and frees its place
        HttpStatusCode again;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(200, Ct);
            using var d = await e.Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
            again = d.StatusCode;
        }
        while (again != HttpStatusCode.OK && DateTime.UtcNow < until);
        Assert.Equal(HttpStatusCode.OK, again);
        b.Dispose();
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Only_so_many_mailings_run_at_once_per_user_and_a_repeated_submit_or_a_cancel_is_not_held_back(string store)
    {
        // the count comes from the store's index of running mailings (IMailingStore.CountRunningAsync), on both stores
        var settings = Limits(("RunningMailings", "2"));
        if (store == "memory")
        {
            settings["ConnectionStrings:Redis"] = "";
        }
        await using var e = await EngineHarness.StartAsync(redis, settings, worker: false);
        var first = await e.SubmitAsync(Newsletter(idempotencyKey: "one"));
        await e.SubmitAsync(Newsletter());

        using var third = await e.Http.PostAsJsonAsync("/api/mailings", Newsletter(), Ct);
        using var thirdJa = await e.Http.SendAsync(Post("/api/mailings", Newsletter(), language: "ja"), Ct);
        var repeated = await e.SubmitAsync(Newsletter(idempotencyKey: "one")); // the same mailing again: no new run
        using var otherUser = await e.Http.SendAsync(Post("/api/mailings", Newsletter(), user: Other), Ct);

        Assert.Equal(HttpStatusCode.Conflict, third.StatusCode);
        var problem = await third.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("TooManyRunningMailings", problem.GetProperty("code").GetString());
        Assert.Equal("2", problem.GetProperty("args").GetProperty("max").GetString());
        Assert.StartsWith("実行中のメール送信がすでに 2 件あります。", (await thirdJa.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        Assert.Equal(first, repeated);
        Assert.Equal(HttpStatusCode.Accepted, otherUser.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsJsonAsync($"/api/mailings/{first}/cancel", new { }, Ct)).StatusCode);
        using var afterCancel = await e.Http.PostAsJsonAsync("/api/mailings", Newsletter(), Ct);
        Assert.Equal(HttpStatusCode.Accepted, afterCancel.StatusCode);
    }

    [Fact]
    public async Task Start_of_a_ready_mailing_waits_for_a_running_one_to_finish()
    {
        // one message a minute: the second mailing keeps running until it is cancelled
        var settings = Limits(("RunningMailings", "1"));
        settings["Sending:MessagesPerMinute"] = "1";
        await using var e = await EngineHarness.StartAsync(redis, settings);
        var held = await e.SubmitAsync(Newsletter(hold: true));
        await e.WaitForAsync(held, TimeSpan.FromMinutes(1), "Ready");
        var running = await e.SubmitAsync(Newsletter());

        using var refused = await e.Http.PostAsJsonAsync($"/api/mailings/{held}/start", new { }, Ct);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsJsonAsync($"/api/mailings/{running}/cancel", new { }, Ct)).StatusCode);
        await e.WaitForAsync(running, TimeSpan.FromMinutes(1), "Cancelled");
        using var started = await e.Http.PostAsJsonAsync($"/api/mailings/{held}/start", new { }, Ct);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("TooManyRunningMailings", problem.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task The_template_past_the_cap_is_a_409_naming_the_cap_and_deleting_one_makes_room(string store)
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Templates:MaxPerUser"] = "3" }, worker: false, store: store);
        object Template(int i) => new { name = $"t{i}", mode = "Resumes", subject = "{{Person.P_Name}}様", body = "<p>x</p>" };
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var created = await e.Http.PostAsJsonAsync("/api/templates", Template(i), Ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            ids.Add((await created.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!);
        }

        using var fourth = await e.Http.PostAsJsonAsync("/api/templates", Template(3), Ct);
        using var fourthJa = await e.Http.SendAsync(Post("/api/templates", Template(3), language: "ja"), Ct);
        using var update = await e.Http.PutAsJsonAsync($"/api/templates/{ids[0]}", Template(9), Ct); // editing is no new template
        using var otherUser = await e.Http.SendAsync(Post("/api/templates", Template(3), user: Other), Ct);

        Assert.Equal(HttpStatusCode.Conflict, fourth.StatusCode);
        Assert.Equal("application/problem+json", fourth.Content.Headers.ContentType?.MediaType);
        var problem = await fourth.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("TooManyTemplates", problem.GetProperty("code").GetString());
        Assert.Equal("3", problem.GetProperty("args").GetProperty("max").GetString());
        Assert.Contains("at most 3 templates", problem.GetProperty("detail").GetString());
        Assert.Equal("テンプレートは 3 件まで保存できます。使わないものを削除してから、もう一度保存してください。",
            (await fourthJa.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal(HttpStatusCode.Created, otherUser.StatusCode);
        Assert.Equal(3, (await e.Http.GetFromJsonAsync<JsonElement>("/api/templates", Ct)).GetArrayLength());

        Assert.Equal(HttpStatusCode.NoContent, (await e.Http.DeleteAsync($"/api/templates/{ids[1]}", Ct)).StatusCode);
        using var again = await e.Http.PostAsJsonAsync("/api/templates", Template(3), Ct);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    [Fact]
    public async Task Limits_out_of_range_stop_the_start_with_the_key_named()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        foreach (var (key, value) in new[] { ("RateLimits:Submits", "0"), ("RateLimits:Streams", "-1"), ("Templates:MaxPerUser", "0") })
        {
            var error = Assert.ThrowsAny<Exception>(() =>
            {
                using var app = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?> { [key] = value });
            });
            Assert.Contains(key.Split(':')[1], error.ToString(), StringComparison.Ordinal);
        }
    }
}
