using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;
using StackExchange.Redis;

namespace BulkMail.Tests.Mailings;

/// <summary>DELETE /api/mailings/{id} and Retention:Days over HTTP: the API on Kestrel, a real redis-server, the sandboxes.</summary>
public class DeletionTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static object Request(bool hold, string? idempotencyKey = null, string[]? uploadIds = null) => new
    {
        mode = "Resumes",
        scope = new { kind = "Checked", ids = new long[] { 10001, 10002, 10003, 10004, 10005 } },
        mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様",
        body = "<p>{{Person.P_Name}}様</p>",
        hold,
        idempotencyKey,
        attachments = uploadIds is null ? null : new { uploadIds },
    };

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    [Fact]
    public async Task Deleting_a_completed_mailing_removes_its_status_its_place_in_the_list_and_every_redis_key_of_it()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        using var uploaded = await UploadForm.PostAsync(e.Http, "案内.pdf", [1, 2, 3, 4]);
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        var upload = (await uploaded.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!;
        var id = await e.SubmitAsync(Request(hold: false, idempotencyKey: "delete-me", uploadIds: [upload]));
        var keep = await e.SubmitAsync(Request(hold: false));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        await e.WaitForAsync(keep, TimeSpan.FromMinutes(1), "Completed");
        var server = redis.Require().GetServer(redis.Require().GetEndPoints()[0]);
        Assert.NotEmpty(server.Keys(pattern: $"{e.Prefix}{{m:{id}}}:*"));
        Assert.Contains(server.Keys(pattern: $"{e.Prefix}{{m:{id}}}:*"), k => k.ToString().EndsWith(":a", StringComparison.Ordinal));

        using var foreign = new HttpRequestMessage(HttpMethod.Delete, $"/api/mailings/{id}");
        foreign.Headers.Add("X-BulkMail-User", "someone.else@bulkmail.example");
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.SendAsync(foreign, Ct)).StatusCode);
        using var deleted = await e.Http.DeleteAsync($"/api/mailings/{id}", Ct);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var status = await e.Http.GetAsync($"/api/mailings/{id}", Ct);
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        using var csv = await e.Http.GetAsync($"/api/mailings/{id}/results.csv", Ct);
        Assert.Equal(HttpStatusCode.NotFound, csv.StatusCode);
        var list = await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct);
        Assert.Equal([keep], list.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.DeleteAsync($"/api/mailings/{id}", Ct)).StatusCode);

        // redis-cli level: no key in its hash tag, and nothing under the prefix names it (list, idempotency, bounce watch, active)
        var db = redis.Require().GetDatabase();
        var left = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: e.Prefix + "*"))
        {
            var type = await db.KeyTypeAsync(key);
            var members = type switch
            {
                RedisType.SortedSet => (await db.SortedSetRangeByRankAsync(key)).Select(v => v.ToString()),
                RedisType.Set => (await db.SetMembersAsync(key)).Select(v => v.ToString()),
                RedisType.String => [(await db.StringGetAsync(key)).ToString()],
                _ => [],
            };
            if (key.ToString().Contains(id, StringComparison.Ordinal) || members.Contains(id))
            {
                left.Add(key.ToString());
            }
        }
        Assert.Empty(left);
        Assert.NotEmpty(server.Keys(pattern: $"{e.Prefix}{{m:{keep}}}:*"));
        // the idempotency key is free: the same key submits a new mailing
        Assert.NotEqual(id, await e.SubmitAsync(Request(hold: true, idempotencyKey: "delete-me")));
    }

    [Fact]
    public async Task A_running_mailing_is_a_409_with_its_code_until_cancelled_and_a_held_one_goes_at_once()
    {
        // No worker: a submitted mailing stays Preparing (running, not held) and a held one stays Preparing (held).
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var running = await e.SubmitAsync(Request(hold: false));
        var held = await e.SubmitAsync(Request(hold: true));

        using var refused = await e.Http.DeleteAsync($"/api/mailings/{running}", Ct);
        var problem = await ProblemAsync(refused);
        using var ja = new HttpRequestMessage(HttpMethod.Delete, $"/api/mailings/{running}");
        ja.Headers.AcceptLanguage.ParseAdd("ja");
        using var refusedJa = await e.Http.SendAsync(ja, Ct);
        var problemJa = await ProblemAsync(refusedJa);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("MailingNotDeletable", problem.GetProperty("code").GetString());
        Assert.Equal(running, problem.GetProperty("args").GetProperty("id").GetString());
        Assert.Equal("Preparing", problem.GetProperty("args").GetProperty("state").GetString());
        Assert.Contains("cancel it first", problem.GetProperty("detail").GetString());
        Assert.Contains("先に中止", problemJa.GetProperty("detail").GetString());
        Assert.Equal("Preparing", (await e.StatusAsync(running)).GetProperty("state").GetString()); // left as it was

        Assert.Equal(HttpStatusCode.NoContent, (await e.Http.DeleteAsync($"/api/mailings/{held}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.GetAsync($"/api/mailings/{held}", Ct)).StatusCode);

        using var cancel = await e.Http.PostAsJsonAsync($"/api/mailings/{running}/cancel", new { }, Ct);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await e.Http.DeleteAsync($"/api/mailings/{running}", Ct)).StatusCode);
        Assert.Equal(0, (await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
        var server = redis.Require().GetServer(redis.Require().GetEndPoints()[0]);
        Assert.Empty(server.Keys(pattern: $"{e.Prefix}{{m:*"));
    }

    [Fact]
    public async Task Retention_days_set_the_ttl_of_a_mailings_keys_and_an_out_of_range_value_stops_the_start()
    {
        await using (var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Retention:Days"] = "7" }, worker: false))
        {
            var id = await e.SubmitAsync(Request(hold: true, idempotencyKey: "ttl"));
            var db = redis.Require().GetDatabase();
            var server = redis.Require().GetServer(redis.Require().GetEndPoints()[0]);
            var keys = server.Keys(pattern: e.Prefix + "*").Where(k => !k.ToString().Contains(":{u:", StringComparison.Ordinal)).ToList();
            Assert.Contains(keys, k => k.ToString().Contains($"{{m:{id}}}", StringComparison.Ordinal));
            Assert.Contains(keys, k => k.ToString().Contains("idem:", StringComparison.Ordinal));
            foreach (var key in keys)
            {
                var ttl = await db.KeyTimeToLiveAsync(key);
                Assert.True(ttl is { TotalDays: > 6.9 and <= 7 }, $"{key} has TTL {ttl}");
            }
        }

        await using var hrbc = await HrbcHarness.StartAsync();
        foreach (var days in new[] { "0", "366" })
        {
            var error = Assert.ThrowsAny<Exception>(() =>
            {
                using var app = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?> { ["Retention:Days"] = days });
            });
            Assert.Contains("Days", error.ToString(), StringComparison.Ordinal);
        }
    }
}
