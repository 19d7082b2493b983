using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Templates;

/// <summary>
/// Issue 11: hostile templates get a 400 naming the field before any compiler runs, over HTTP, from preview, submit and
/// the templates API; issue 10: near-miss tag spellings are a preview warning and a submit 400 unless confirmed.
/// </summary>
public class TemplateLimitsApiTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HttpStatusCode Status, JsonElement Body, TimeSpan Took)> SendAsync(HttpClient http, HttpMethod method, string path, object body)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) }, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        watch.Stop();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), watch.Elapsed);
    }

    private static JsonElement FirstTemplateError(JsonElement problem) => problem.GetProperty("details").GetProperty("templateErrors")[0];

    [Fact]
    public async Task Twenty_thousand_nested_blocks_and_55000_tags_are_refused_fast_and_the_process_lives_on()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var deep = MailTemplateLimitTests.Nested(20_000);                       // 560 KB: the request of issue 11
        var many = string.Concat(Enumerable.Repeat("{{Person.P_Name}}", 55_000)); // 935 KB
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(deep), 500_000, 1024 * 1024);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(many), 900_000, 1024 * 1024);
        var warm = await SendAsync(e.Http, HttpMethod.Post, "/api/mailings/preview", EngineHarness.Newsletter([10001]));
        Assert.Equal(HttpStatusCode.OK, warm.Status);

        var cases = new (string Name, HttpMethod Method, string Path, object Body, string Code)[]
        {
            ("preview deep", HttpMethod.Post, "/api/mailings/preview", EngineHarness.Newsletter([10001], body: deep), "TooDeep"),
            ("preview many", HttpMethod.Post, "/api/mailings/preview", EngineHarness.Newsletter([10001], body: many), "TooManyTags"),
            ("submit deep", HttpMethod.Post, "/api/mailings", EngineHarness.Newsletter([10001], body: deep), "TooDeep"),
            ("submit many", HttpMethod.Post, "/api/mailings", EngineHarness.Newsletter([10001], body: many), "TooManyTags"),
            ("save deep", HttpMethod.Post, "/api/templates", new { name = "deep", subject = "s", body = deep }, "TooDeep"),
            ("save many", HttpMethod.Post, "/api/templates", new { name = "many", subject = "s", body = many }, "TooManyTags"),
        };
        foreach (var c in cases)
        {
            var (status, problem, took) = await SendAsync(e.Http, c.Method, c.Path, c.Body);
            TestContext.Current.TestOutputHelper?.WriteLine($"{c.Name}: {(int)status} in {took.TotalMilliseconds:N0} ms");
            Assert.True(status == HttpStatusCode.BadRequest, $"{c.Name}: {(int)status} {problem}");
            Assert.True(problem.GetProperty("errors").TryGetProperty("body", out _), $"{c.Name}: {problem}");
            var error = FirstTemplateError(problem);
            Assert.Equal((c.Code, "body"), (error.GetProperty("code").GetString(), error.GetProperty("part").GetString()));
            Assert.Equal(c.Code == "TooDeep" ? "20" : "2000", error.GetProperty("args").GetProperty("max").GetString());
            Assert.True(took < TimeSpan.FromSeconds(3), $"{c.Name} took {took}");
        }

        // PUT too, on a template that exists
        var saved = await SendAsync(e.Http, HttpMethod.Post, "/api/templates", new { name = "ok", subject = "s", body = "<p>{{Person.P_Name}}</p>" });
        Assert.Equal(HttpStatusCode.Created, saved.Status);
        var put = await SendAsync(e.Http, HttpMethod.Put, $"/api/templates/{saved.Body.GetProperty("id").GetString()}", new { name = "ok", subject = "s", body = deep });
        Assert.Equal(HttpStatusCode.BadRequest, put.Status);
        Assert.Equal("TooDeep", FirstTemplateError(put.Body).GetProperty("code").GetString());

        // the same process still answers, and nothing was stored
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e.Http, HttpMethod.Post, "/api/mailings/preview", EngineHarness.Newsletter([10001]))).Status);
        Assert.Equal(0, (await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
        Assert.Single((await e.Http.GetFromJsonAsync<JsonElement>("/api/templates", Ct)).EnumerateArray());
    }

    [Fact]
    public async Task A_template_at_the_limits_previews_and_one_past_a_size_limit_names_the_field()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var atLimit = MailTemplateLimitTests.Nested(20) + string.Concat(Enumerable.Repeat("{{Person.P_Name}}", 2_000 - 41 - 1)); // 41 in the blocks, 1 in the subject

        var ok = await SendAsync(e.Http, HttpMethod.Post, "/api/mailings/preview", EngineHarness.Newsletter([10001], subject: "{{Person.P_Name}}" + new string('件', 255 - 17), body: atLimit));
        var longSubject = await SendAsync(e.Http, HttpMethod.Post, "/api/templates", new { name = "x", subject = new string('件', 256), body = "<p>x</p>" });
        var bigBody = await SendAsync(e.Http, HttpMethod.Post, "/api/templates", new { name = "x", subject = "s", body = "<p>" + new string('あ', 400_000) + "</p>" });

        Assert.True(ok.Status == HttpStatusCode.OK, ok.Body.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, longSubject.Status);
        Assert.True(longSubject.Body.GetProperty("errors").TryGetProperty("subject", out _), longSubject.Body.ToString());
        Assert.Equal(("TooLong", "255"), (FirstTemplateError(longSubject.Body).GetProperty("code").GetString(), FirstTemplateError(longSubject.Body).GetProperty("args").GetProperty("max").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, bigBody.Status);
        Assert.Contains("1 MB", bigBody.Body.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_limits_come_from_configuration_and_a_wrong_one_stops_the_start()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Templates:MaxTags"] = "3" }, worker: false);

        var refused = await SendAsync(e.Http, HttpMethod.Post, "/api/mailings/preview",
            EngineHarness.Newsletter([10001], subject: "s", body: "{{Person.P_Name}}{{Person.P_Name}}{{Person.P_Name}}{{Person.P_Name}}"));

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(("TooManyTags", "3"), (FirstTemplateError(refused.Body).GetProperty("code").GetString(), FirstTemplateError(refused.Body).GetProperty("args").GetProperty("max").GetString()));
        var error = Assert.ThrowsAny<Exception>(() => BulkMailApplication.Start(new Dictionary<string, string?> { ["Templates:MaxDepth"] = "0" }).Dispose());
        Assert.Contains("MaxDepth", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Near_miss_tags_are_a_preview_warning_a_submit_400_and_sent_as_typed_once_confirmed()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var request = new Dictionary<string, object?>
        {
            ["mode"] = "Resumes", ["scope"] = new { kind = "Checked", ids = new long[] { 10001 } }, ["mailFields"] = new[] { "Resume.P_Mail" },
            ["subject"] = "ご案内", ["body"] = "<p>いつもお世話になっております。</p><p>｛｛Person.P_Name｝｝様</p>",
        };

        var preview = await SendAsync(e.Http, HttpMethod.Post, "/api/mailings/preview", request);
        var refused = await SendAsync(e.Http, HttpMethod.Post, "/api/mailings", request);

        Assert.Equal(HttpStatusCode.OK, preview.Status);
        var warning = Assert.Single(preview.Body.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("code").GetString() == "NearMissTag");
        Assert.Equal(("｛｛Person.P_Name｝｝", "{{Person.P_Name}}"), (warning.GetProperty("args").GetProperty("found").GetString(), warning.GetProperty("args").GetProperty("suggestion").GetString()));
        var place = warning.GetProperty("places")[0];
        Assert.Equal(("body", 2, 1), (place.GetProperty("part").GetString(), place.GetProperty("line").GetInt32(), place.GetProperty("column").GetInt32()));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.True(refused.Body.GetProperty("errors").TryGetProperty("body", out _), refused.Body.ToString());
        Assert.Equal("NearMissTag", FirstTemplateError(refused.Body).GetProperty("code").GetString());
        Assert.Equal(0, (await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());

        var id = await e.SubmitAsync(new Dictionary<string, object?>(request) { ["allowNearMissTags"] = true });
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Contains("｛｛Person.P_Name｝｝様", Assert.Single(e.Graph.Sent(EngineHarness.User)).Body, StringComparison.Ordinal);
    }
}
