using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Hrbc;
using BulkMail.Sandbox.Graph;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Mailings;

/// <summary>Replies and bounces read back from the sender's Inbox (docs/graph.md, Replies and bounces): through the API on
/// Kestrel, the real redis-server, the Graph and HRBC sandboxes over loopback.</summary>
public class ReplyScanTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Interviewed = "Option.P_ResumePhase_Interviewed";
    private const int ResumeResource = 17;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Bounces:ScanInterval"] = "00:00:00.200",
        ["Bounces:MoveToFolder"] = "true",
        ["Bounces:LogActivity"] = "true",
        ["Bounces:SuppressHard"] = "true",
        ["Bounces:PageSize"] = "7", // pages, and moves between them
    };

    /// <summary>200 resumes with distinct addresses, mailed with onReply (phase + activity); the mailing completed.</summary>
    private static async Task<(string Mailing, List<SandboxMessage> Sent, long[] Ids)> SendAsync(EngineHarness e)
    {
        var ids = Enumerable.Range(10001, 200).Select(i => (long)i).ToArray();
        var candidates = new List<HrbcWriteItem>();
        await foreach (var r in e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, ids, HrbcFieldList.Of("Resume.P_Id", "Resume.P_Candidate"), Ct))
        {
            candidates.Add(new HrbcWriteItem(r.RefId("Resume.P_Candidate")!.Value).Set("Person.P_Mail", $"candidate{r.Id}@candidates.example"));
        }
        Assert.Equal(200, candidates.Count);
        Assert.All(await e.Hrbc.Client.WriteAsync(HrbcResource.Candidate, candidates, Ct), w => Assert.True(w.Succeeded, w.Message));
        var mailing = await e.SubmitAsync(new
        {
            mode = "Resumes",
            scope = new { kind = "Checked", ids },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "{{Person.P_Name}}様へ 12月のお知らせ",
            body = "<p>{{Person.P_Name}}様</p><p>ご興味があればご返信ください。</p>",
            onReply = new { phase = new { optionAlias = Interviewed }, logActivity = true },
        });
        await e.WaitForAsync(mailing, TimeSpan.FromMinutes(2), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User).OrderBy(m => m.To[0], StringComparer.Ordinal).ToList();
        Assert.Equal(200, sent.Count);
        Assert.All(sent, m => Assert.StartsWith("AAQkAG", m.ConversationId, StringComparison.Ordinal));
        return (mailing, sent, ids);
    }

    private static long ResumeOf(SandboxMessage sent) => long.Parse(sent.To[0]["candidate".Length..sent.To[0].IndexOf('@', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Of_200_deliveries_exactly_the_12_replies_and_the_8_bounces_count_and_hrbc_is_written_once_each(string store)
    {
        await using var e = await EngineHarness.StartAsync(redis, Settings, store: store);
        var (mailing, sent, _) = await SendAsync(e);
        var activitiesBefore = e.Hrbc.Sandbox.Count("Activity");
        // resumes whose latest phase is another one: a write of the same phase would overwrite the latest entry
        var replied = sent.Take(100).Where(m => e.Hrbc.Sandbox.PhaseHistory(ResumeResource, ResumeOf(m)).FirstOrDefault(p => p.Recent)?.PhaseAlias != Interviewed)
            .Take(12).ToList();
        Assert.Equal(12, replied.Count);
        var others = sent.Except(replied).ToList();
        var phasesBefore = replied.ToDictionary(m => m.Id, m => e.Hrbc.Sandbox.PhaseHistory(ResumeResource, ResumeOf(m)).Count(p => p.PhaseAlias == Interviewed));

        // 12 replies: 8 naming the sent copy in In-Reply-To/References, 4 only in its conversation; one of them answers twice
        foreach (var (m, i) in replied.Select((m, i) => (m, i)))
        {
            e.Graph.Reply(m, withThreadHeaders: i < 8);
        }
        e.Graph.Reply(replied[0], "もう一通");
        // 5 automatic replies: 3 of Exchange's out-of-office class, 2 with Auto-Submitted only
        foreach (var (m, i) in others.Take(5).Select((m, i) => (m, i)))
        {
            e.Graph.AutoReply(m, exchangeClass: i < 3);
        }
        // 8 NDRs in four shapes (two without original headers, one base64), plus a Japanese quoted-printable one and an
        // encrypted-zip refusal; and a delay notice, which is no bounce
        var bouncing = others.Skip(10).Take(8).ToList();
        e.Graph.Ndr(bouncing[0], NdrShape.WithDeliveryHeader);
        e.Graph.Ndr(bouncing[1], NdrShape.WithDeliveryHeader);
        e.Graph.Ndr(bouncing[2], NdrShape.MessageIdOnly);
        e.Graph.Ndr(bouncing[3], NdrShape.Base64, "5.1.2", "smtp; 550 5.1.2 SMTPSEND.DNS.NonExistentDomain");
        e.Graph.Ndr(bouncing[4], NdrShape.NoOriginalHeaders);
        e.Graph.Ndr(bouncing[5], NdrShape.NoOriginalHeaders, "5.2.2", "smtp; 552 5.2.2 Mailbox full");
        e.Graph.Ndr(bouncing[6], NdrShape.QuotedPrintableJapanese);
        e.Graph.Ndr(bouncing[7], NdrShape.MessageIdOnly, "5.7.1", "smtp; 550 5.7.1 Password protected (encrypted) zip attachments are not accepted");
        e.Graph.Ndr(others[30], NdrShape.Delayed);

        var status = await WaitForCountsAsync(e, mailing, replied: 12, bounced: 8);
        Assert.Equal(12, status.GetProperty("replied").GetInt32());
        Assert.Equal(8, status.GetProperty("bounced").GetInt32());
        Assert.Equal(192, status.GetProperty("sent").GetInt32());

        // HRBC: the reply's phase and activity, the bounce's activity — once each
        await WaitUntilAsync(() => e.Hrbc.Sandbox.Count("Activity") >= activitiesBefore + 20);
        // scanning again (several passes) changes nothing
        var dates = replied.ToDictionary(m => m.Id, m => e.Hrbc.Sandbox.PhaseHistory(ResumeResource, ResumeOf(m)).Single(p => p.Recent).DateUtc);
        var resumeWrites = e.Hrbc.Sandbox.Requests.Count(r => r.Method == "POST" && r.Resource.Equals("resume", StringComparison.OrdinalIgnoreCase));
        Assert.True(resumeWrites > 0);
        await Task.Delay(1500, Ct);
        Assert.Equal(resumeWrites, e.Hrbc.Sandbox.Requests.Count(r => r.Method == "POST" && r.Resource.Equals("resume", StringComparison.OrdinalIgnoreCase)));
        // a scanner that remembers nothing (as after a restart) reads the same Inbox again and marks nothing
        var fresh = Microsoft.Extensions.DependencyInjection.ActivatorUtilities.CreateInstance<BulkMail.Api.Mailings.InboxScanner>(e.Api.Services);
        var rescan = await fresh.ScanAsync(Ct);
        Assert.Equal((0, 0), (rescan.Replies, rescan.Bounces));
        Assert.True(rescan.AutoReplies > 0); // it did read the Inbox
        var again = await e.StatusAsync(mailing);
        Assert.Equal(12, again.GetProperty("replied").GetInt32());
        Assert.Equal(8, again.GetProperty("bounced").GetInt32());
        Assert.Equal(activitiesBefore + 20, e.Hrbc.Sandbox.Count("Activity"));
        foreach (var m in replied)
        {
            var history = e.Hrbc.Sandbox.PhaseHistory(ResumeResource, ResumeOf(m));
            Assert.Equal(phasesBefore[m.Id] + 1, history.Count(p => p.PhaseAlias == Interviewed));
            Assert.Equal(Interviewed, history.Single(p => p.Recent).PhaseAlias);
            Assert.Equal(dates[m.Id], history.Single(p => p.Recent).DateUtc); // not written again
        }

        // the matched NDRs moved into BulkMail/Bounces; the delay notice and the replies stay in the Inbox
        var folder = e.Graph.FolderId(EngineHarness.User, "BulkMail/Bounces");
        Assert.NotNull(folder);
        Assert.Equal(8, e.Graph.InFolder(EngineHarness.User, folder!).Count);
        Assert.Equal(13 + 5 + 1, e.Graph.Inbox(EngineHarness.User).Count);

        // the result file: RepliedAt for the 12, the bounces with their reasons
        var rows = Csv.Parse(await e.CsvAsync(mailing)).ToList();
        var header = rows[0].ToList();
        var repliedAt = header.IndexOf("RepliedAt");
        var data = rows.Skip(1).ToList();
        Assert.Equal(12, data.Count(r => r[repliedAt].Length > 0));
        var repliedAddresses = replied.Select(m => m.To[0]).ToHashSet();
        Assert.All(data.Where(r => r[repliedAt].Length > 0), r => Assert.Contains(r[7], repliedAddresses));
        Assert.Equal(8, data.Count(r => r[8] == "Bounced"));

        // the deliveries list: who replied, a page at a time; who bounced, hard or soft
        var items = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{mailing}/deliveries?filter=replied&count=5{(cursor is null ? "" : "&cursor=" + cursor)}", Ct);
            items.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null);
        Assert.Equal(3, pages);
        Assert.Equal(repliedAddresses.Order(StringComparer.Ordinal), items.Select(i => i.GetProperty("address").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(items, i => Assert.Equal(JsonValueKind.String, i.GetProperty("repliedAt").ValueKind));
        var bounced = (await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{mailing}/deliveries?filter=bounced", Ct)).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(8, bounced.Count);
        var kinds = bounced.ToDictionary(b => b.GetProperty("address").GetString()!, b => b.GetProperty("bounceKind").GetString());
        Assert.Equal("Soft", kinds[bouncing[5].To[0]]); // mailbox full
        Assert.Equal("Soft", kinds[bouncing[7].To[0]]); // the encrypted zip
        Assert.Equal(6, kinds.Values.Count(k => k == "Hard"));
        Assert.All(bounced, b => Assert.Equal("Bounced", b.GetProperty("status").GetString()));

        // the hard-bounced addresses are suppressed for the tenant (once each), the soft ones are not
        var suppressed = (await e.Http.GetFromJsonAsync<JsonElement>("/api/suppressions?count=100", Ct)).GetProperty("items").EnumerateArray().ToList();
        var hard = kinds.Where(k => k.Value == "Hard").Select(k => k.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(hard, suppressed.Where(s => s.GetProperty("source").GetString() == "bounce").Select(s => s.GetProperty("address").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(suppressed.Where(s => s.GetProperty("source").GetString() == "bounce"), s =>
        {
            Assert.Equal("HardBounce", s.GetProperty("code").GetString());
            Assert.Equal(mailing, s.GetProperty("mailingId").GetString());
        });
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_reply_to_a_finished_mailing_is_pushed_to_the_owners_open_status_stream(string store)
    {
        // The pane's list follows GET /api/mailings/events; a finished mailing's own notices have no listener any more,
        // so without the owner's notice its Replied count would change only when the pane reloads.
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Bounces:ScanInterval"] = "00:00:00.200" }, store: store);
        var mailing = await e.SubmitAsync(EngineHarness.Newsletter([10004, 10005]));
        await e.WaitForAsync(mailing, TimeSpan.FromMinutes(1), "Completed");
        await using var stream = await StatusPushTests.Stream.OpenAsync(e.Http, "/api/mailings/events");
        bool Ours(JsonElement s) => s.GetProperty("id").GetString() == mailing;
        var listed = await stream.WaitForAsync(Ours, TimeSpan.FromSeconds(30));
        Assert.Equal(("Completed", 0), (listed.GetProperty("state").GetString(), listed.GetProperty("replied").GetInt32()));

        e.Graph.Reply(e.Graph.Sent(EngineHarness.User)[0]);
        var pushed = await stream.WaitForAsync(s => Ours(s) && s.GetProperty("replied").GetInt32() == 1, TimeSpan.FromSeconds(30));
        Assert.Equal("Completed", pushed.GetProperty("state").GetString());
    }

    [Fact]
    public async Task The_deliveries_list_checks_its_parameters_and_is_the_owners_only()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Bounces:ScanInterval"] = "00:00:00.200" });
        var mailing = await e.SubmitAsync(EngineHarness.Newsletter([10002, 10003, 10004, 10005]));
        await e.WaitForAsync(mailing, TimeSpan.FromMinutes(1), "Completed");

        var all = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{mailing}/deliveries?count=2", Ct);
        Assert.Equal(2, all.GetProperty("items").GetArrayLength());
        Assert.Equal($"{mailing}-1", all.GetProperty("items")[0].GetProperty("deliveryId").GetString());
        var rest = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{mailing}/deliveries?count=2&cursor={all.GetProperty("nextCursor").GetString()}", Ct);
        Assert.Equal($"{mailing}-3", rest.GetProperty("items")[0].GetProperty("deliveryId").GetString());
        var none = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{mailing}/deliveries?filter=replied", Ct);
        Assert.Equal(0, none.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, none.GetProperty("nextCursor").ValueKind);

        foreach (var (query, field) in new[] { ("filter=answered", "filter"), ("count=0", "count"), ("count=201", "count"), ("cursor=abc", "cursor") })
        {
            var response = await e.Http.GetAsync($"/api/mailings/{mailing}/deliveries?{query}", Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }

        // a reply put into the Inbox over the sandbox's HTTP hook (as the demo and the pane's browser tests do)
        using (var graph = new HttpClient())
        {
            var injected = await graph.PostAsJsonAsync(new Uri(e.GraphHost.BaseUrl, "/sandbox/graph/_inbox"), new { kind = "reply", deliveryId = $"{mailing}-2" }, Ct);
            Assert.Equal(HttpStatusCode.OK, injected.StatusCode);
        }
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await e.StatusAsync(mailing)).GetProperty("replied").GetInt32() < 1 && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
        }
        var replied = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{mailing}/deliveries?filter=replied", Ct);
        Assert.Equal([$"{mailing}-2"], replied.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("deliveryId").GetString()!).ToArray());
        var csv = Csv.Parse(await e.CsvAsync(mailing)).ToList();
        var repliedAt = csv[0].ToList().IndexOf("RepliedAt");
        Assert.Equal([$"{mailing}-2"], csv.Skip(1).Where(r => r[repliedAt].Length > 0).Select(r => r[1]).ToArray());

        using var foreign = new HttpRequestMessage(HttpMethod.Get, $"/api/mailings/{mailing}/deliveries");
        foreign.Headers.Add("X-BulkMail-User", "someone.else@bulkmail.example");
        var hidden = await e.Http.SendAsync(foreign, Ct);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal("MailingNotFound", (await hidden.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("code").GetString());
    }

    private static async Task<JsonElement> WaitForCountsAsync(EngineHarness e, string mailing, int replied, int bounced)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var status = await e.StatusAsync(mailing);
        while ((status.GetProperty("replied").GetInt32() < replied || status.GetProperty("bounced").GetInt32() < bounced) && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
            status = await e.StatusAsync(mailing);
        }
        return status;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
        }
    }
}
