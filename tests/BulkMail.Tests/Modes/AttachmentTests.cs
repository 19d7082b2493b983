using BulkMail.Api.Mail;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using ICSharpCode.SharpZipLib.Zip;

namespace BulkMail.Tests.Modes;

/// <summary>Attachments end to end: HRBC files, uploads, one password zip for everyone, upload sessions for big files.</summary>
public class AttachmentTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> UploadAsync(EngineHarness e, string name, byte[] content, string type = "application/pdf")
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        form.Add(file, "file", name);
        return await e.Http.PostAsync("/api/uploads", form, Ct);
    }

    private static async Task<string> UploadIdAsync(EngineHarness e, string name, byte[] content)
    {
        using var response = await UploadAsync(e, name, content);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        Assert.Equal(name, body.GetProperty("name").GetString());
        Assert.Equal(content.Length, body.GetProperty("size").GetInt64());
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>Opens a zip with the password as a recipient's tool would; entry name → bytes.</summary>
    private static Dictionary<string, byte[]> Unzip(byte[] zip, string password, bool expectAes)
    {
        using var file = new ZipFile(new MemoryStream(zip)) { Password = password };
        var result = new Dictionary<string, byte[]>();
        foreach (ZipEntry entry in file)
        {
            Assert.True(entry.IsCrypted);
            Assert.True(entry.IsUnicodeText);
            Assert.Equal(expectAes ? 256 : 0, entry.AESKeySize);
            using var s = file.GetInputStream(entry);
            using var buffer = new MemoryStream();
            s.CopyTo(buffer);
            result[entry.Name] = buffer.ToArray();
        }
        return result;
    }

    [Fact]
    public async Task The_jobs_pdf_zipped_with_one_password_reaches_every_candidate_and_opens_to_the_same_bytes()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        const long jobId = 30004;
        var pdf = (await e.Hrbc.Client.GetAttachmentsAsync(HrbcResource.Job, jobId, Ct)).Single();
        var pdfBytes = (await e.Hrbc.Client.GetAttachmentContentAsync(HrbcResource.Job, pdf.Id, Ct))!.Content;
        var note = "面談のご案内です。"u8.ToArray();
        var upload = await UploadIdAsync(e, "面談のご案内.txt", note);
        const string password = "Kx7#pQ2!vL";
        var request = new
        {
            mode = "JobToResumes",
            anchorId = jobId,
            scope = new { kind = "Checked", ids = new long[] { 10002, 10003, 10004 } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "{{Job.P_Position}}のご紹介",
            body = "<p>{{Person.P_Name}}様</p><p>パスワードは別途お送りします。</p>",
            attachments = new { recordAttachmentIds = new[] { pdf.Id }, uploadIds = new[] { upload }, zipPassword = password },
        };
        var preview = await (await e.Http.PostAsJsonAsync("/api/mailings/preview", request, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var confirmation = preview.GetProperty("confirmation");
        Assert.True(confirmation.GetProperty("zipped").GetBoolean());
        Assert.Equal("Aes256", confirmation.GetProperty("zipEncryption").GetString());
        Assert.Equal("attachments.zip", confirmation.GetProperty("attachments")[0].GetProperty("name").GetString());
        Assert.Equal([pdf.FileName, "面談のご案内.txt"], confirmation.GetProperty("sources").EnumerateArray().Select(x => x.GetProperty("name").GetString()));
        Assert.DoesNotContain(password, preview.ToString(), StringComparison.Ordinal);

        var id = await e.SubmitAsync(request);
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.NotEmpty(sent);
        var zips = sent.Select(m => Assert.Single(m.Attachments)).ToList();
        Assert.All(zips, z => Assert.Equal("attachments.zip", z.Name));
        Assert.All(zips, z => Assert.Equal(zips[0].Content, z.Content)); // the same zip for everyone
        // The same bytes over Graph's own routes: list the attachments, then fetch the raw contents.
        using (var graph = new HttpClient { BaseAddress = new Uri(e.GraphHost.BaseUrl.ToString().TrimEnd('/') + "/") })
        {
            var path = $"users/{Uri.EscapeDataString(EngineHarness.User)}/messages/{Uri.EscapeDataString(sent[0].Id)}/attachments";
            var listed = (await graph.GetFromJsonAsync<JsonElement>(path, Ct)).GetProperty("value");
            var attachmentId = Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString();
            Assert.Equal(zips[0].Content, await graph.GetByteArrayAsync($"{path}/{attachmentId}/$value", Ct));
        }
        var files = Unzip(zips[0].Content, password, expectAes: true);
        Assert.Equal(pdfBytes, files[pdf.FileName]);
        Assert.Equal(note, files["面談のご案内.txt"]);
        Assert.ThrowsAny<Exception>(() => Unzip(zips[0].Content, "wrong-password", expectAes: true));

        // the password is nowhere: not in the status, the list, the CSV, or the stored mailing
        var everything = (await e.StatusAsync(id)).ToString() + await e.Http.GetStringAsync("/api/mailings", Ct) + await e.CsvAsync(id);
        Assert.DoesNotContain(password, everything, StringComparison.Ordinal);
        var stored = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(e.Redis);
        var server = stored.GetServers()[0];
        foreach (var key in server.Keys(pattern: e.Prefix + "*"))
        {
            if (await stored.GetDatabase().KeyTypeAsync(key) == StackExchange.Redis.RedisType.Hash)
            {
                foreach (var entry in await stored.GetDatabase().HashGetAllAsync(key))
                {
                    Assert.DoesNotContain(password, entry.Value.ToString(), StringComparison.Ordinal);
                }
            }
        }
        await stored.DisposeAsync();
    }

    [Fact]
    public void The_compatible_choice_is_traditional_zipcrypto_and_opens_with_the_password()
    {
        var files = new[] { new MailAttachment("求人票.pdf", "application/pdf", [1, 2, 3, 4, 5]) };
        var zip = MailingAttachmentBuilder.Zip(files, "Compat1234", MailingAttachmentBuilder.ZipCrypto, new DateTime(2026, 11, 27, 12, 0, 0, DateTimeKind.Local));
        Assert.Equal("求人票.zip", zip.Name);
        Assert.Equal(files[0].Content, Unzip(zip.Content, "Compat1234", expectAes: false)["求人票.pdf"]);
    }

    [Fact]
    public async Task A_12_MB_upload_goes_through_an_upload_session_in_ranges_under_4_MB()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var big = new byte[12 * 1024 * 1024];
        new Random(42).NextBytes(big);
        var upload = await UploadIdAsync(e, "会社案内_2026.pdf", big);
        var id = await e.SubmitAsync(new
        {
            mode = "Resumes",
            scope = new { kind = "Checked", ids = new long[] { 10002, 10003 } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "会社案内をお送りします",
            body = "<p>{{Person.P_Name}}様</p>",
            attachments = new { uploadIds = new[] { upload } },
        });
        await e.WaitForAsync(id, TimeSpan.FromMinutes(2), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(2, sent.Count);
        Assert.All(sent, m => Assert.Equal(big, Assert.Single(m.Attachments).Content));
        var requests = e.Graph.Requests;
        Assert.Equal(2, requests.Count(r => r.Path.EndsWith("/attachments/createUploadSession", StringComparison.Ordinal)));
        Assert.True(requests.Count(r => r.Method == "PUT" && r.Path == "upload") >= 8); // 12 MB in ranges of 3.125 MB, twice
        Assert.DoesNotContain(requests, r => r.Status == 413);
    }

    [Fact]
    public async Task With_failing_graph_calls_no_recipient_gets_two_messages_or_one_with_missing_files()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Sending:MaxAttempts"] = "10" });
        var big = new byte[3_500_000]; // above 3 MB: a bare draft, then an upload session
        new Random(7).NextBytes(big);
        var small = "小さいファイル"u8.ToArray();
        var uploads = new[] { await UploadIdAsync(e, "資料.pdf", big), await UploadIdAsync(e, "メモ.txt", small) };
        var ids = Enumerable.Range(10002, 12).Select(i => (long)i).ToList();
        var expected = await Mailings.MailingEngineTests.ExpectedAsync(e.Hrbc, ids, "Resume.P_Mail");
        var graphFaults = e.Graph.Faults;
        graphFaults.Seed = 11;
        graphFaults.ServiceUnavailableRate = 0.25;

        var id = await e.SubmitAsync(new
        {
            mode = "Resumes",
            scope = new { kind = "Checked", ids },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "資料送付",
            body = "<p>{{Person.P_Name}}様</p>",
            attachments = new { uploadIds = uploads },
        });
        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(3), "Completed", "Paused");
        Assert.Equal("Completed", status.GetProperty("state").GetString());
        Assert.True(e.Graph.Requests.Count(r => r.Status == 503) > 0, "the fault was not exercised");

        var sent = e.Graph.Sent(EngineHarness.User);
        var received = sent.GroupBy(m => m.Headers["X-BulkMail-Delivery"]).ToDictionary(g => g.Key, g => g.ToList());
        var rows = Csv.Parse(await e.CsvAsync(id)).Skip(1).ToList();
        // every intended message is accounted for: Sent and received exactly once, or Failed (after 10 attempts, each
        // of several requests failing a quarter of the time) with its reason and never received
        Assert.Equal(expected.Count, rows.Count(r => r[8] is "Sent" or "Failed"));
        foreach (var r in rows)
        {
            var copies = received.GetValueOrDefault(r[1])?.Count ?? 0;
            Assert.True(r[8] == "Sent" ? copies == 1 : copies == 0, $"{r[1]} is {r[8]} ({r[9]}) and was received {copies} time(s)");
            Assert.True(r[8] != "Failed" || r[9].Length > 0);
            if (r[8] == "Sent")
            {
                Assert.Equal(r[7], received[r[1]][0].To.Single(), StringComparer.OrdinalIgnoreCase);
            }
        }
        Assert.Equal(rows.Count(r => r[8] == "Sent"), sent.Count);
        Assert.True(sent.Count >= expected.Count / 2, $"only {sent.Count} of {expected.Count} sent");
        Assert.All(sent, m =>
        {
            Assert.Equal(2, m.Attachments.Count);
            Assert.Equal(big, m.Attachments.Single(a => a.Name == "資料.pdf").Content);
            Assert.Equal(small, m.Attachments.Single(a => a.Name == "メモ.txt").Content);
        });
    }

    [Fact]
    public async Task Each_users_uploads_are_capped_while_they_are_kept_and_one_users_cap_does_not_touch_another()
    {
        const int Mb = 1024 * 1024;
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Uploads:MaxBytesPerUser"] = (3 * Mb).ToString(CultureInfo.InvariantCulture) }, worker: false);
        await UploadIdAsync(e, "会社案内.pdf", new byte[2 * Mb]);

        using (var over = await UploadAsync(e, "求人票.pdf", new byte[2 * Mb]))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
            var problem = await over.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal("Too many uploads", problem.GetProperty("title").GetString());
            Assert.Contains("come to 2 MB", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Contains("3 MB (Uploads:MaxBytesPerUser)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        using (var ja = new HttpRequestMessage(HttpMethod.Post, "/api/uploads"))
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(new byte[2 * Mb]), "file", "求人票.pdf" } };
            ja.Content = form;
            ja.Headers.AcceptLanguage.ParseAdd("ja");
            var problem = await (await e.Http.SendAsync(ja, Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.StartsWith("過去 24 時間のアップロードが合計 2 MB あり", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        // up to the cap exactly is fine; the refused files were not stored (they would have used it up)
        await UploadIdAsync(e, "地図.pdf", new byte[1 * Mb]);
        using (var full = await UploadAsync(e, "1バイト.txt", [1], "text/plain"))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, full.StatusCode);
        }
        // another recruiter has a cap of their own
        using (var other = new HttpRequestMessage(HttpMethod.Post, "/api/uploads"))
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(new byte[2 * Mb]), "file", "資料.pdf" } };
            other.Content = form;
            other.Headers.Add("X-BulkMail-User", "suzuki@bulkmail.example");
            Assert.Equal(HttpStatusCode.Created, (await e.Http.SendAsync(other, Ct)).StatusCode);
        }
    }

    [Fact]
    public async Task Disallowed_or_too_large_attachments_are_refused_with_a_clear_problem_and_nothing_is_sent()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Uploads:MaxFileBytes"] = (2 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Uploads:MaxMessageBytes"] = (3 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using (var exe = await UploadAsync(e, "setup.exe", [0x4D, 0x5A], "application/octet-stream"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, exe.StatusCode);
            Assert.Equal("application/problem+json", exe.Content.Headers.ContentType?.MediaType);
            Assert.Contains("blocked by Outlook", await exe.Content.ReadAsStringAsync(Ct));
        }
        using (var large = await UploadAsync(e, "big.pdf", new byte[2 * 1024 * 1024 + 1]))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
            Assert.Contains("at most 2 MB", await large.Content.ReadAsStringAsync(Ct));
        }
        var a = await UploadIdAsync(e, "a.pdf", new byte[2 * 1024 * 1024]);
        var b = await UploadIdAsync(e, "b.pdf", new byte[2 * 1024 * 1024]);
        var tooMuch = await e.Http.PostAsJsonAsync("/api/mailings", new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10002 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "s", body = "b", attachments = new { uploadIds = new[] { a, b } },
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooMuch.StatusCode);
        Assert.Contains("at most 3 MB", await tooMuch.Content.ReadAsStringAsync(Ct));
        var unknown = await e.Http.PostAsJsonAsync("/api/mailings", new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10002 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "s", body = "b", attachments = new { uploadIds = new[] { "0123456789abcdef01234567" } },
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("upload the file again", await unknown.Content.ReadAsStringAsync(Ct));
        var weak = await e.Http.PostAsJsonAsync("/api/mailings", new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10002 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "s", body = "b", attachments = new { uploadIds = new[] { a }, zipPassword = "パスワード12345" },
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.Contains("attachments.zipPassword", await weak.Content.ReadAsStringAsync(Ct));
        // another user cannot use my upload
        using var other = new HttpRequestMessage(HttpMethod.Post, "/api/mailings")
        {
            Content = JsonContent.Create(new
            {
                mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10002 } }, mailFields = new[] { "Resume.P_Mail" },
                subject = "s", body = "b", attachments = new { uploadIds = new[] { a } },
            }),
        };
        other.Headers.Add("X-BulkMail-User", "someone.else@bulkmail.example");
        Assert.Equal(HttpStatusCode.BadRequest, (await e.Http.SendAsync(other, Ct)).StatusCode);
        Assert.Empty(e.Graph.Sent());
        Assert.Equal(0, (await e.Http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
    }
}
