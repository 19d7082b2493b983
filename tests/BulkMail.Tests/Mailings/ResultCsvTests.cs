using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Mailings;

/// <summary>The result file a Japanese office can use: Japanese reasons, outcomes, labels and status words from the
/// codes, local times Excel reads as dates, the mailing in the file name; the English file as it was plus the additive
/// columns.</summary>
public partial class ResultCsvTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeZoneInfo Tokyo = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");

    [Fact]
    public async Task The_japanese_file_has_no_english_sentence_local_times_and_names_the_mailing()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["FollowUps:BatchInterval"] = "00:00:00.200",
        });
        // 10401–10402 are sent (phase written), 10403 has an invalid address, 10404 none, 10405 is refused by Microsoft
        // 365, 99999999 does not exist in HRBC.
        var resumes = await e.Hrbc.Client.ReadByIdsAsync(HrbcResource.Resume, [10403, 10404, 10405], HrbcFieldList.Of("Resume.P_Id", "Resume.P_Candidate"), Ct).ToListAsync(Ct);
        string[] addresses = ["not-an-address", "", "nobody@invalid.example"];
        var writes = resumes.OrderBy(r => r.Id).Select((r, i) => new HrbcWriteItem(r.RefId("Resume.P_Candidate")!.Value).Set("Person.P_Mail", addresses[i])).ToList();
        Assert.All(await e.Hrbc.Client.WriteAsync(HrbcResource.Candidate, writes, Ct), w => Assert.True(w.Succeeded));

        var id = await e.SubmitAsync(new
        {
            mode = "Resumes",
            scope = new { kind = "Checked", ids = new long[] { 10401, 10402, 10403, 10404, 10405, 99999999 } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "{{Person.P_Name}}様へ 11月/のお知らせ?", body = "<p>{{Person.P_Name}}様</p>",
            phase = new { optionAlias = "Option.P_ResumePhase_NewsletterSent" },
        });
        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal((2, 1, 3), (status.GetProperty("sent").GetInt32(), status.GetProperty("failed").GetInt32(), status.GetProperty("skipped").GetInt32()));

        using var response = await e.Http.GetAsync($"/api/mailings/{id}/results.csv?lang=ja", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var created = TimeZoneInfo.ConvertTime(status.GetProperty("createdAt").GetDateTimeOffset(), Tokyo);
        Assert.Equal($"BulkMail_{created:yyyyMMdd-HHmm}_様へ_11月_のお知らせ.csv", response.Content.Headers.ContentDisposition?.FileNameStar);
        var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
        var ja = Csv.Parse(System.Text.Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3));
        var en = Csv.Parse(await e.CsvAsync(id));

        Assert.Equal(["宛名", "返信日時", "タイムゾーン"], ja[0][15..]);
        Assert.Equal(["MailingId", "DeliveryId", "RecordType", "RecordId", "RecordName", "JobId", "MailField", "Address", "Status", "Reason",
            "Attempts", "SentAt", "PhaseUpdate", "BouncedAt", "BounceReason", "RecipientName", "RepliedAt", "TimeZone"], en[0]);
        Assert.Equal(7, ja.Count);
        var label = (await e.Hrbc.Client.GetMailFieldsAsync(HrbcResource.Resume, Ct)).Single(f => f.Alias == "Resume.P_Mail").Name;
        foreach (var (row, english) in ja.Skip(1).Zip(en.Skip(1)))
        {
            Assert.Equal(row[1], english[1]);
            // the pane's words: 送信対象外, 失敗, 送信済み
            Assert.Equal(english[8] switch { "Sent" => "送信済み", "Failed" => "失敗", "Skipped" => "送信対象外", _ => "?" }, row[8]);
            foreach (var cell in new[] { row[9], row[12] }.Where(c => c.Length > 0))
            {
                // the values a sentence quotes (Microsoft 365's own message, a code) may be English; the sentence is not
                var quoted = Regex.Replace(cell, @"（[^（）]*）|[A-Za-z]+[A-Z][A-Za-z]+|HRBC|Microsoft 365", "");
                Assert.Matches(@"\p{IsHiragana}|\p{IsKatakana}|\p{IsCJKUnifiedIdeographs}", cell);
                Assert.DoesNotMatch(EnglishWords(), quoted);
            }
            Assert.Equal("Asia/Tokyo", row[17]);
            Assert.Equal("UTC", english[17]);
            if (english[6].Length > 0)
            {
                Assert.Equal(label, row[6]);
            }
            if (english[8] == "Sent")
            {
                // Excel reads yyyy/MM/dd HH:mm:ss as a date; it is the English file's instant in Tokyo
                var local = DateTime.ParseExact(row[11], "yyyy/MM/dd HH:mm:ss", CultureInfo.InvariantCulture);
                Assert.Equal(DateTime.Parse(row[11], new CultureInfo("ja-JP")), local);
                var instant = DateTimeOffset.ParseExact(english[11], "yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
                Assert.Equal(TimeSpan.Zero, instant.Offset);
                Assert.Equal(TimeZoneInfo.ConvertTime(instant, Tokyo).DateTime.ToString("yyyy/MM/dd HH:mm:ss", CultureInfo.InvariantCulture), row[11]);
                Assert.StartsWith("レジュメのフェーズを更新: メルマガ送付", row[12], StringComparison.Ordinal);
                Assert.StartsWith("Resume phase updated: メルマガ送付", english[12], StringComparison.Ordinal);
                Assert.NotEqual("", english[15]); // the recipient's name
            }
        }
        Assert.Equal(new[] { "メールアドレスが正しくありません", "選んだメール項目にアドレスがありません", "HRBC にレコードがありません" }.Order(StringComparer.Ordinal),
            ja.Skip(1).Where(r => r[8] == "送信対象外").Select(r => r[9]).Order(StringComparer.Ordinal));
        Assert.StartsWith("Microsoft 365 が送信を拒否しました（ErrorInvalidRecipients", ja.Single(r => r[8] == "失敗")[9], StringComparison.Ordinal);
        Assert.Equal(["Invalid address", "No address in the ticked mail fields", "Record not found in HRBC"],
            en.Skip(1).Where(r => r[8] == "Skipped").Select(r => r[9]).Order(StringComparer.Ordinal));

        // another zone when asked; a zone that is none is a problem naming the parameter
        var london = Csv.Parse(await e.CsvAsync(id, "ja&tz=Europe/London"));
        Assert.All(london.Skip(1), r => Assert.Equal("Europe/London", r[17]));
        using var wrong = await e.Http.GetAsync($"/api/mailings/{id}/results.csv?lang=ja&tz=Mars/Olympus", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        var problem = await wrong.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("TimeZoneUnknown", problem.GetProperty("fieldCodes").GetProperty("tz")[0].GetProperty("code").GetString());
    }

    /// <summary>Two English words in a row: a sentence, not a quoted value.</summary>
    [GeneratedRegex(@"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")]
    private static partial Regex EnglishWords();
}
