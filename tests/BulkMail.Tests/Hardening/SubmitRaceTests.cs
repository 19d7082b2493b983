using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace BulkMail.Tests.Hardening;

/// <summary>Submits racing with one idempotency key store one mailing and one set of files; owners cannot share keys.</summary>
public class SubmitRaceTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Racing_submits_with_one_key_store_one_mailing_and_one_copy_of_its_files(bool useRedis)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        var prefix = RedisServerFixture.NewPrefix();
        await using var api = BulkMailApplication.StartWith(hrbc, useRedis ? redis.ApiSettings(prefix) : []);
        using var http = api.CreateClient();
        var upload = (await (await UploadForm.PostAsync(http, "資料.txt", new byte[200_000], "text/plain")).Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString();

        var request = new
        {
            mode = "Resumes",
            scope = new { kind = "Checked", ids = new[] { 10001L, 10002L } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "s",
            body = "b",
            attachments = new { uploadIds = new[] { upload } },
            idempotencyKey = "race-1",
        };
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => http.PostAsJsonAsync("/api/mailings", request, Ct)));
        var ids = new List<string>();
        foreach (var r in responses)
        {
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            ids.Add((await r.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!);
        }
        Assert.Single(ids.Distinct());
        Assert.Single((await http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).EnumerateArray());
        var store = api.Services.GetRequiredService<IMailingStore>();
        Assert.Single(await store.GetAttachmentsAsync(ids[0], Ct));
        if (useRedis)
        {
            // no copy of the files under any other mailing id
            var server = redis.Require().GetServers()[0];
            var copies = server.Keys(pattern: prefix + "{m:*}:a").ToList();
            Assert.Single(copies);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Owners_with_a_colon_do_not_share_idempotency_keys(bool useRedis)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc, useRedis ? redis.ApiSettings() : []);
        using var http = api.CreateClient();
        async Task<string> SubmitAs(string user, string key)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, "/api/mailings")
            {
                Content = JsonContent.Create(new
                {
                    mode = "Resumes",
                    scope = new { kind = "Checked", ids = new[] { 10001L } },
                    mailFields = new[] { "Resume.P_Mail" },
                    subject = "s",
                    body = "b",
                    idempotencyKey = key,
                }),
            };
            message.Headers.Add("X-BulkMail-User", user);
            using var response = await http.SendAsync(message, Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!;
        }
        // "idem:" + "a:b" + ":" + "c" and "idem:" + "a" + ":" + "b:c" were one key
        var first = await SubmitAs("a:b", "c");
        var second = await SubmitAs("a", "b:c");
        Assert.NotEqual(first, second);
        Assert.Equal(first, await SubmitAs("a:b", "c"));
    }
}
