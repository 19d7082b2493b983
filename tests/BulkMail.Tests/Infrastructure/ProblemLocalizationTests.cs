using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Infrastructure;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Infrastructure;

/// <summary>Problems in Japanese for a client that asks for it (the task pane sends its UI language).</summary>
public class ProblemLocalizationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Unknown tag {{Nope.X}} in the body at line 2, column 5: tags are field aliases such as {{Person.P_Name}}.",
        "本文の 2 行 5 列: {{Nope.X}} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。")]
    [InlineData("Unknown tag {{Job.P_Nope}} in the subject at line 1, column 3.",
        "件名の 1 行 3 列: {{Job.P_Nope}} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。")]
    [InlineData("The subject is required.", "件名を入力してください。")]
    [InlineData("Job 39999 does not exist in HRBC.", "HRBC に Job 39999 が存在しません。")]
    [InlineData(".exe files are blocked by Outlook for their recipients; zip it or send a link instead.",
        ".exe ファイルは受信者の Outlook でブロックされます。zip にするか、リンクで送ってください。")]
    [InlineData("Paused after 10 failures in a row. Check the failures in the result file, then resume or retry failed.",
        "送信の失敗が 10 件続いたため一時停止しました。結果ファイルで失敗の内容を確認し、「再開」または「失敗分を再送」を押してください。")]
    [InlineData("The daily limit of 10,000 recipients per 24 hours is reached; sending continues when earlier sends leave the window.",
        "24 時間あたりの宛先数の上限（10,000 件）に達しました。時間がたって送信済みの分が枠から外れると、自動で送信を再開します。")]
    [InlineData("Something the table does not know.", "Something the table does not know.")]
    public void Messages_are_translated_from_one_table(string english, string japanese) =>
        Assert.Equal(japanese, ProblemLocalization.Translate(english));

    [Fact]
    public async Task A_mailing_with_an_unknown_tag_is_refused_in_japanese_when_asked_and_in_english_otherwise()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var body = new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10001 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = "ご案内", body = "<p>{{Person.P_Name}}様</p>\n<p>{{Nope.X}}</p>",
        };
        using var ja = new HttpRequestMessage(HttpMethod.Post, "/api/mailings/preview") { Content = JsonContent.Create(body) };
        ja.Headers.AcceptLanguage.ParseAdd("ja-JP,ja;q=0.9,en;q=0.5");
        var response = await http.SendAsync(ja, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("入力に誤りがあります（何も保存していません）。", problem.GetProperty("title").GetString());
        Assert.StartsWith("{{Nope.X}} は使えない差し込みタグです", problem.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
        var templateError = problem.GetProperty("details").GetProperty("templateErrors")[0];
        // the place is given once, as part/line/column (the pane words it); the message does not repeat it
        Assert.StartsWith("{{Nope.X}} は使えない差し込みタグです", templateError.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("行", templateError.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(("UnknownTag", "Nope.X", "body", 2, 1), (templateError.GetProperty("code").GetString(), templateError.GetProperty("args").GetProperty("tag").GetString(),
            templateError.GetProperty("part").GetString(), templateError.GetProperty("line").GetInt32(), templateError.GetProperty("column").GetInt32()));

        var en = await http.PostAsJsonAsync("/api/mailings/preview", body, Ct);
        var english = await en.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.StartsWith("Unknown tag {{Nope.X}}: ", english.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
    }
}
