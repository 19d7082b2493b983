using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using BulkMail.Api.Suppressions;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;

namespace BulkMail.Tests.Suppressions;

/// <summary>
/// Opt-out end to end (docs/opt-out.md), over HTTP with the HRBC and Graph sandboxes and the worker: the footer and the
/// link in the sent message, the unsubscribe page (a GET changes nothing, the POST suppresses and writes HRBC once), the
/// next mailing skipping the address, forged links, the HRBC opt-out field, and tag fallbacks. Redis and memory.
/// </summary>
public abstract partial class OptOutTests(RedisServerFixture redis, string store)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly Dictionary<string, string?> Footer = new()
    {
        ["OptOut:SenderName"] = "採用担当 山田",
        ["OptOut:OrganizationName"] = "株式会社サンプル人材",
        ["OptOut:PostalAddress"] = "〒100-0001 東京都千代田区千代田1-1",
        ["OptOut:Write:Resume:Field"] = "Resume.U_MailOptOut",
        ["OptOut:Write:Resume:Option"] = "Option.U_MailOptOut_Stop",
        ["OptOut:LogActivity"] = "true",
    };

    private Task<EngineHarness> StartAsync(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(Footer);
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }
        return EngineHarness.StartAsync(redis, settings, store: store);
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static int Skipped(JsonElement status, string reason) =>
        status.GetProperty("skippedByReason").TryGetProperty(reason, out var n) ? n.GetInt32() : 0;

    private static async Task<int> SuppressedCountAsync(EngineHarness engine) =>
        (await JsonOf(await engine.Http.GetAsync("/api/suppressions", Ct))).GetProperty("total").GetInt32();

    [GeneratedRegex(@"href=""(?<url>[^""]*/unsubscribe/(?<token>[^""/]+))""")]
    private static partial Regex Link();

    [Fact]
    public async Task A_get_of_the_link_changes_nothing_the_post_unsubscribes_once_and_the_next_mailing_skips_the_address()
    {
        await using var engine = await StartAsync();
        long[] ids = [10001, 10002, 10003];
        var first = await engine.SubmitAsync(EngineHarness.Newsletter(ids, body: "<p>{{Person.P_Name}}様</p><p>配信停止: {{BulkMail.UnsubscribeUrl}}</p>"));
        await engine.WaitForAsync(first, Timeout, "Completed");
        var sent = engine.Graph.Sent();
        Assert.Equal(3, sent.Count);

        // The footer (newsletter default) names the sender, the organisation and its address, and links the delivery's own page.
        var message = sent.Single(m => m.Headers["X-BulkMail-Delivery"] == $"{first}-1");
        Assert.Contains("採用担当 山田", message.Body, StringComparison.Ordinal);
        Assert.Contains("株式会社サンプル人材", message.Body, StringComparison.Ordinal);
        Assert.Contains("〒100-0001 東京都千代田区千代田1-1", message.Body, StringComparison.Ordinal);
        var link = Link().Match(message.Body);
        Assert.True(link.Success, message.Body);
        Assert.Contains("配信停止: " + link.Groups["url"].Value, message.Body, StringComparison.Ordinal); // the tag renders the same link
        Assert.Equal(3, sent.Select(m => Link().Match(m.Body).Groups["token"].Value).Distinct().Count()); // one per delivery
        var path = new Uri(link.Groups["url"].Value).AbsolutePath;
        var address = message.To.Single();

        // A scanner (or the recipient) opening the link: a page, nothing stored.
        using var page = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "Accept-Language", "ja,en;q=0.5" } } };
        var shown = await engine.Http.SendAsync(page, Ct);
        var html = await shown.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.Contains(WebUtility.HtmlEncode(SuppressionAddress.Mask(address.ToLowerInvariant())), html, StringComparison.Ordinal);
        Assert.DoesNotContain(address, html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<form method=\"post\"", html, StringComparison.Ordinal);
        Assert.Contains("配信を停止する", html, StringComparison.Ordinal);
        Assert.Equal("no-referrer", shown.Headers.GetValues("Referrer-Policy").Single());
        await engine.Http.GetAsync(path, Ct);
        Assert.Equal(0, await SuppressedCountAsync(engine));
        var resumeId = ids[0];
        Assert.Equal("", engine.Hrbc.Sandbox.Fields("Resume", resumeId)["Resume.U_MailOptOut"]);
        var activities = engine.Hrbc.Sandbox.Count("Activity");

        // The button: suppressed, HRBC written; a second press changes nothing.
        for (var i = 0; i < 2; i++)
        {
            var confirmed = await engine.Http.PostAsync(path, new FormUrlEncodedContent([]), Ct);
            Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
        }
        var list = await JsonOf(await engine.Http.GetAsync("/api/suppressions", Ct));
        var entry = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal((address.ToLowerInvariant(), "Unsubscribed", first, "unsubscribe"),
            (entry.GetProperty("address").GetString(), entry.GetProperty("code").GetString(), entry.GetProperty("mailingId").GetString(), entry.GetProperty("source").GetString()));
        Assert.Equal("Option.U_MailOptOut_Stop", engine.Hrbc.Sandbox.Fields("Resume", resumeId)["Resume.U_MailOptOut"]);
        Assert.Equal(activities + 1, engine.Hrbc.Sandbox.Count("Activity"));

        // The next mailing: counted as Suppressed in the preview and in the figures, and not sent.
        var preview = await JsonOf(await engine.Http.PostAsJsonAsync("/api/mailings/preview", EngineHarness.Newsletter(ids), Ct));
        Assert.Equal(1, preview.GetProperty("skippedByReason").GetProperty("Suppressed").GetInt32());
        Assert.True(preview.GetProperty("confirmation").GetProperty("optOutFooter").GetBoolean()); // the newsletter's default
        Assert.Equal(2, preview.GetProperty("messages").GetInt32());
        Assert.Contains(preview.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("code").GetString() == "Suppressed");
        var second = await engine.SubmitAsync(EngineHarness.Newsletter(ids));
        var status = await engine.WaitForAsync(second, Timeout, "Completed");
        Assert.Equal((2, 1), (status.GetProperty("sent").GetInt32(), Skipped(status, "Suppressed")));
        Assert.Equal(5, engine.Graph.Sent().Count);
        Assert.DoesNotContain(engine.Graph.Sent().Where(m => m.Headers["X-BulkMail-Delivery"].StartsWith(second, StringComparison.Ordinal)), m => m.To.Contains(address));
        var csv = await engine.CsvAsync(second);
        Assert.Contains("The address is on the suppression list", csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_address_suppressed_after_a_held_mailing_was_counted_is_skipped_when_it_starts()
    {
        await using var engine = await StartAsync();
        var id = await engine.SubmitAsync(new
        {
            mode = "Resumes",
            scope = new { kind = "Checked", ids = new long[] { 10001, 10002, 10004 } }, // (10003 shares 10002's address)
            mailFields = new[] { "Resume.P_Mail" },
            subject = "ご案内",
            body = "<p>{{Person.P_Name}}様</p>",
            hold = true,
        });
        var ready = await engine.WaitForAsync(id, Timeout, "Ready");
        Assert.Equal(0, Skipped(ready, "Suppressed"));
        var address = engine.Hrbc.Sandbox.Fields("Candidate", 20002)["Person.P_Mail"];
        await JsonOf(await engine.Http.PostAsJsonAsync("/api/suppressions", new { address = address.ToUpperInvariant(), reason = "電話で依頼" }, Ct));

        await JsonOf(await engine.Http.PostAsync($"/api/mailings/{id}/start", null, Ct));
        var done = await engine.WaitForAsync(id, Timeout, "Completed");
        Assert.Equal((2, 1), (done.GetProperty("sent").GetInt32(), Skipped(done, "Suppressed")));
        Assert.DoesNotContain(engine.Graph.Sent(), m => m.To.Contains(address, StringComparer.OrdinalIgnoreCase));
        Assert.Empty(engine.Graph.Drafts()); // nothing reached the mailbox for it
    }

    [Fact]
    public async Task Forged_tampered_and_sample_links_are_404_and_store_nothing()
    {
        await using var engine = await StartAsync();
        var id = await engine.SubmitAsync(EngineHarness.Newsletter([10001]));
        await engine.WaitForAsync(id, Timeout, "Completed");
        var token = Link().Match(engine.Graph.Sent().Single().Body).Groups["token"].Value;
        var payload = token[..token.IndexOf('.')];
        var mac = token[(token.IndexOf('.') + 1)..];
        var otherKey = new UnsubscribeTokens(Options.Create(new OptOutOptions { SigningKey = new string('k', 40) }));
        string[] forged =
        [
            "preview",                                              // the preview's sample link
            payload + "." + (mac[0] == 'A' ? "B" : "A") + mac[1..], // one character of the MAC changed
            payload[..^1] + (payload[^1] == 'A' ? "B" : "A") + "." + mac,
            otherKey.Create(id, 1),                                 // well formed, signed with another key
            otherKey.Create(id, 2),
            otherKey.Create(id, 1, new UnsubscribeRecipient("default", "someone@example.com", BulkMail.Api.Modes.MailingMode.Resumes, 10001, null)), // sealed with another key
            payload,
            new string('A', 500),
        ];
        foreach (var t in forged)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await engine.Http.GetAsync("/unsubscribe/" + Uri.EscapeDataString(t), Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await engine.Http.PostAsync("/unsubscribe/" + Uri.EscapeDataString(t), new FormUrlEncodedContent([]), Ct)).StatusCode);
        }
        Assert.Equal(0, await SuppressedCountAsync(engine));
        Assert.Equal(HttpStatusCode.OK, (await engine.Http.GetAsync("/unsubscribe/" + token, Ct)).StatusCode); // the real one still works
    }

    [Fact]
    public async Task A_link_works_after_its_mailing_is_deleted_and_names_no_address_while_a_link_of_the_earlier_version_needs_the_mailing()
    {
        // 特定電子メール法: the way to opt out keeps working however long the recipient keeps the message. The link
        // carries who it unsubscribes, sealed; an earlier version's link (mailing id and number only) is read as before.
        var key = new string('s', 40);
        await using var engine = await StartAsync(new Dictionary<string, string?> { ["OptOut:SigningKey"] = key });
        var id = await engine.SubmitAsync(EngineHarness.Newsletter([10001, 10004]));
        await engine.WaitForAsync(id, Timeout, "Completed");
        var message = engine.Graph.Sent().Single(m => m.Headers["X-BulkMail-Delivery"] == $"{id}-1");
        var address = message.To.Single();
        var token = Link().Match(message.Body).Groups["token"].Value;
        // sealed, not merely encoded: neither the address nor its local part can be read out of the link
        var decoded = string.Join("|", token.Split('.').Select(part =>
        {
            var b = part.Replace('-', '+').Replace('_', '/');
            return System.Text.Encoding.Latin1.GetString(Convert.FromBase64String(b + new string('=', (4 - b.Length % 4) % 4)));
        }));
        Assert.DoesNotContain(address.Split('@')[0], decoded, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(address.Split('@')[0], token, StringComparison.OrdinalIgnoreCase);
        // the preview of the delivery shows the very link that was sent
        var preview = await JsonOf(await engine.Http.GetAsync($"/api/mailings/{id}/preview?seq=1", Ct));
        Assert.Contains("/unsubscribe/" + token + "\"", preview.GetProperty("message").GetProperty("htmlBody").GetString()!, StringComparison.Ordinal);

        var earlier = new UnsubscribeTokens(Options.Create(new OptOutOptions { SigningKey = key })).Create(id, 2);
        Assert.Equal(HttpStatusCode.OK, (await engine.Http.GetAsync("/unsubscribe/" + earlier, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await engine.Http.DeleteAsync($"/api/mailings/{id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await engine.Http.GetAsync($"/api/mailings/{id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await engine.Http.GetAsync("/unsubscribe/" + earlier, Ct)).StatusCode);

        // the mailing is gone; its link still shows the page and unsubscribes, with the HRBC write
        var shown = await engine.Http.GetAsync("/unsubscribe/" + token, Ct);
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.Contains(WebUtility.HtmlEncode(SuppressionAddress.Mask(address.ToLowerInvariant())), await shown.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(0, await SuppressedCountAsync(engine));
        Assert.Equal(HttpStatusCode.OK, (await engine.Http.PostAsync("/unsubscribe/" + token, new FormUrlEncodedContent([]), Ct)).StatusCode);
        var entry = Assert.Single((await JsonOf(await engine.Http.GetAsync("/api/suppressions", Ct))).GetProperty("items").EnumerateArray());
        Assert.Equal((address.ToLowerInvariant(), "Unsubscribed", id),
            (entry.GetProperty("address").GetString(), entry.GetProperty("code").GetString(), entry.GetProperty("mailingId").GetString()));
        Assert.Equal("Option.U_MailOptOut_Stop", engine.Hrbc.Sandbox.Fields("Resume", 10001)["Resume.U_MailOptOut"]);
    }

    [Fact]
    public async Task Records_flagged_in_the_configured_hrbc_field_are_skipped_with_OptedOutInHrbc()
    {
        await using var engine = await StartAsync(new Dictionary<string, string?>
        {
            ["OptOut:Fields:Resume"] = "Resume.U_MailOptOut",
            ["OptOut:Values:Resume:0"] = "Option.U_MailOptOut_Stop",
            ["OptOut:Fields:Recruiter"] = "Recruiter.U_MailOptOut",
        });
        // 10012 and 50007 have 配信停止 ticked in the sandbox (Resume.U_MailOptOut, Recruiter.U_MailOptOut).
        Assert.Equal("Option.U_MailOptOut_Stop", engine.Hrbc.Sandbox.Fields("Resume", 10012)["Resume.U_MailOptOut"]);
        var newsletter = EngineHarness.Newsletter([10011, 10012, 10013]);
        var preview = await JsonOf(await engine.Http.PostAsJsonAsync("/api/mailings/preview", newsletter, Ct));
        Assert.Equal(1, preview.GetProperty("skippedByReason").GetProperty("OptedOutInHrbc").GetInt32());
        var warning = preview.GetProperty("warnings").EnumerateArray().Single(w => w.GetProperty("code").GetString() == "OptedOutInHrbc");
        Assert.Equal(10012, warning.GetProperty("records")[0].GetProperty("recordId").GetInt64());

        var id = await engine.SubmitAsync(newsletter);
        var status = await engine.WaitForAsync(id, Timeout, "Completed");
        Assert.Equal((2, 1), (status.GetProperty("sent").GetInt32(), Skipped(status, "OptedOutInHrbc")));
        var flaggedMail = engine.Hrbc.Sandbox.Fields("Candidate", 20012)["Person.P_Mail"];
        Assert.DoesNotContain(engine.Graph.Sent(), m => m.To.Contains(flaggedMail));

        var notice = new
        {
            mode = "Recruiters",
            scope = new { kind = "Checked", ids = new long[] { 50007, 50008, 50009 } },
            mailFields = new[] { "Recruiter.P_Mail" },
            subject = "お知らせ",
            body = "<p>{{Recruiter.P_Name}}様</p>",
            optOutFooter = false, // not advertising: no footer
        };
        var recruiters = await engine.SubmitAsync(notice);
        var done = await engine.WaitForAsync(recruiters, Timeout, "Completed");
        Assert.Equal((2, 1), (done.GetProperty("sent").GetInt32(), Skipped(done, "OptedOutInHrbc")));
        var noticeMails = engine.Graph.Sent().Where(m => m.Headers["X-BulkMail-Delivery"].StartsWith(recruiters, StringComparison.Ordinal)).ToList();
        Assert.All(noticeMails, m => Assert.DoesNotContain("/unsubscribe/", m.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fallbacks_render_and_the_preview_names_who_got_them()
    {
        await using var engine = await StartAsync();
        // Records whose candidate has a sendable address (the sandbox leaves some empty or malformed on purpose).
        long[] ids = [.. Enumerable.Range(10001, 16).Select(i => (long)i)
            .Where(i => BulkMail.Api.Mailings.Addresses.IsValid(engine.Hrbc.Sandbox.Fields("Candidate", i + 10000)["Person.P_Mail"]))];
        var empty = ids.Where(i => engine.Hrbc.Sandbox.Fields("Resume", i)["Resume.P_Memo"].Length == 0).ToList();
        var filled = ids.Except(empty).ToList();
        Assert.NotEmpty(empty);
        Assert.NotEmpty(filled);
        var request = EngineHarness.Newsletter(ids, subject: "{{default Resume.P_Memo 'ご案内'}}",
            body: "<p>{{Person.P_Name}}様</p><p>メモ: {{default Resume.P_Memo \"（なし）& more\"}}</p>");

        var preview = await JsonOf(await engine.Http.PostAsJsonAsync("/api/mailings/preview", request, Ct));
        var warnings = preview.GetProperty("warnings").EnumerateArray().ToList();
        Assert.DoesNotContain(warnings, w => w.GetProperty("code").GetString() == "EmptyTag");
        var used = warnings.Single(w => w.GetProperty("code").GetString() == "FallbackUsed");
        Assert.Equal(("Resume.P_Memo", empty.Count), (used.GetProperty("args").GetProperty("tag").GetString(), used.GetProperty("count").GetInt32()));
        Assert.Equal(empty.Take(5), used.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("recordId").GetInt64()));
        foreach (var sample in preview.GetProperty("samples").EnumerateArray())
        {
            var got = sample.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetString()).ToList();
            Assert.Equal(empty.Contains(sample.GetProperty("recordId").GetInt64()) ? ["Resume.P_Memo"] : [], got);
        }

        var id = await engine.SubmitAsync(request);
        await engine.WaitForAsync(id, Timeout, "Completed");
        foreach (var m in engine.Graph.Sent())
        {
            var seq = int.Parse(m.Headers["X-BulkMail-Delivery"][(id.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            var record = ids[seq - 1];
            if (empty.Contains(record))
            {
                Assert.Contains("メモ: （なし）&amp; more", m.Body, StringComparison.Ordinal);
                Assert.Equal("ご案内", m.Subject);
            }
            else
            {
                Assert.Contains("メモ: " + WebUtility.HtmlEncode(engine.Hrbc.Sandbox.Fields("Resume", record)["Resume.P_Memo"]), m.Body, StringComparison.Ordinal);
            }
        }
    }
}

public sealed class RedisOptOutTests(RedisServerFixture redis) : OptOutTests(redis, "redis");

public sealed class InMemoryOptOutTests(RedisServerFixture redis) : OptOutTests(redis, "memory");

/// <summary>Outside Development the API refuses to start without what makes unsubscribe links safe and reachable.</summary>
public sealed class OptOutStartupTests(RedisServerFixture redis)
{
    [Theory]
    [InlineData("OptOut:SigningKey", null, "OptOut:SigningKey")]
    [InlineData("OptOut:SigningKey", "too-short", "at least 32 characters")]
    [InlineData("OptOut:PublicBaseUrl", "http://bulkmail.example", "OptOut:PublicBaseUrl")]
    [InlineData("OptOut:PostalAddress", "", "OptOut:PostalAddress")]
    public void Outside_Development_a_missing_or_weak_opt_out_setting_is_refused_at_start_up(string key, string? value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["environment"] = "Production",
            ["Hrbc:BaseUrl"] = "http://127.0.0.1:9/",
            ["Hrbc:AppId"] = "a",
            ["Hrbc:Secret"] = "s",
            ["Hrbc:Partition"] = "1",
            ["Auth:Mode"] = "EntraId",
            ["AzureAd:TenantId"] = FakeEntra.TenantId,
            ["AzureAd:ClientId"] = FakeEntra.ClientId,
            ["AzureAd:ClientSecret"] = FakeEntra.ClientSecret,
            ["Graph:Auth"] = "OnBehalfOf",
            ["ConnectionStrings:Redis"] = redis.ConnectionString ?? "127.0.0.1:9",
            ["Store:KeyPrefix"] = RedisServerFixture.NewPrefix(),
            ["OptOut:SigningKey"] = "an-unsubscribe-link-signing-key-of-40-chars",
            ["OptOut:PublicBaseUrl"] = "https://bulkmail.example",
            ["OptOut:OrganizationName"] = "株式会社サンプル人材",
            ["OptOut:PostalAddress"] = "東京都千代田区千代田1-1",
            [key] = value,
        };
        var error = Assert.ThrowsAny<Exception>(() => BulkMailApplication.Start(settings).Dispose());
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>The public page is limited per client IP, the list's writes per user.</summary>
public sealed class OptOutRateLimitTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_unsubscribe_page_and_suppression_writes_are_rate_limited()
    {
        await using var engine = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:Unsubscribes"] = "3",
            ["RateLimits:SuppressionWrites"] = "2",
        }, worker: false, store: "memory");
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add((await engine.Http.GetAsync("/unsubscribe/not-a-token", Ct)).StatusCode);
        }
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], answers);
        var writes = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            writes.Add((await engine.Http.PostAsJsonAsync("/api/suppressions", new { address = $"a{i}@example.com" }, Ct)).StatusCode);
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], writes);
    }
}
