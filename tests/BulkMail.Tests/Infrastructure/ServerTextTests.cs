using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Infrastructure;

/// <summary>The server's one table of words by code, and problems in Japanese for a client that asks for it.</summary>
public class ServerTextTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_code_has_english_and_japanese_with_the_same_arguments()
    {
        var codes = ServerText.CodeTypes.SelectMany(t => Enum.GetValues(t).Cast<Enum>()).ToList();
        Assert.True(codes.Count > 100, $"{codes.Count} codes");
        foreach (var code in codes)
        {
            var text = ServerText.Find(code);
            Assert.True(text is not null, $"{code.GetType().Name}.{code} has no entry in ServerText");
            Assert.False(string.IsNullOrWhiteSpace(text.En), $"{code} has no English");
            Assert.False(string.IsNullOrWhiteSpace(text.Ja), $"{code} has no Japanese");
            // Japanese may leave out a value the English names, never name one the English does not have
            Assert.True(ServerText.PlaceholdersOf(text.Ja).IsSubsetOf(ServerText.PlaceholdersOf(text.En)), $"{code}: {text.Ja}");
        }
        foreach (var (code, (arg, texts)) in ServerText.ArgumentEntries)
        {
            foreach (var (value, text) in texts)
            {
                Assert.True(ServerText.PlaceholdersOf(text.Ja).IsSubsetOf(ServerText.PlaceholdersOf(text.En)), $"{code} ({arg}={value}): {text.Ja}");
            }
        }
        Assert.Equal("状況表示のストリームをすでに 3 本開いています。1 本閉じるか、10 秒後にもう一度お試しください。",
            ServerText.Format(ProblemCode.RateLimited, new Dictionary<string, string> { ["policy"] = "streams", ["limit"] = "3", ["retryAfterSeconds"] = "10" }, japanese: true));
        // problem codes and template codes share the field-code space: no name may mean two things
        Assert.Empty(Enum.GetNames<ProblemCode>().Intersect(Enum.GetNames<TemplateErrorCode>()));
        // the template codes MailTemplate writes are the code set the clients translate
        Assert.Equal(typeof(BulkMail.Api.Templates.TemplateErrorCodes).GetFields().Select(f => (string)f.GetValue(null)!).Order(), Enum.GetNames<TemplateErrorCode>().Order());
        // the delivery reason constants the engine writes are the code set the clients translate
        var constants = typeof(ReasonCodes).GetFields().Select(f => (string)f.GetValue(null)!).ToHashSet();
        Assert.Subset(Enum.GetNames<ReasonCode>().ToHashSet(), constants);
    }

    [Theory]
    [InlineData("The subject can be at most 255 characters.", "件名は 255 文字までです。")]
    [InlineData("Paused after 10 failures in a row. Check the failures in the result file, then resume or retry failed.",
        "送信の失敗が 10 件続いたため一時停止しました。結果ファイルで失敗の内容を確認し、「再開」または「失敗分を再送」を押してください。")]
    public void Sentences_come_from_the_table_in_both_languages(string english, string japanese)
    {
        var coded = english.StartsWith("Paused", StringComparison.Ordinal)
            ? CodedText.Of(PausedCode.FailureStreak, ("count", 10))
            : CodedText.Of(ProblemCode.SubjectTooLong, ("max", 255));
        Assert.Equal(english, coded.English);
        Assert.Equal(japanese, english.StartsWith("Paused", StringComparison.Ordinal)
            ? ServerText.Japanese<PausedCode>(english)
            : ServerText.Format<ProblemCode>(coded.Code, coded.Args, japanese: true));
        Assert.Equal("HRBC に レジュメ 10001 が存在しません。",
            ServerText.Format(ProblemCode.RecordNotFound, new Dictionary<string, string> { ["resource"] = "Resume", ["id"] = "10001" }, japanese: true));
        Assert.Equal("Something the table does not know.", ServerText.Japanese<PausedCode>("Something the table does not know."));
    }

    [Fact]
    public async Task A_mailing_with_an_unknown_tag_is_refused_with_codes_in_japanese_when_asked_and_in_english_otherwise()
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
        Assert.Equal("InvalidMailing", problem.GetProperty("code").GetString());
        Assert.Equal("入力に誤りがあります（何も保存していません）。", problem.GetProperty("title").GetString());
        Assert.Equal("{{Nope.X}} は使えない差し込みタグです（HRBC の項目エイリアス、例: {{Person.P_Name}}）。",
            problem.GetProperty("errors").GetProperty("body")[0].GetString());
        var fieldCode = problem.GetProperty("fieldCodes").GetProperty("body")[0];
        Assert.Equal("UnknownTag", fieldCode.GetProperty("code").GetString());
        Assert.Equal("Nope.X", fieldCode.GetProperty("args").GetProperty("tag").GetString());
        var templateError = problem.GetProperty("details").GetProperty("templateErrors")[0];
        // the place is given once, as part/line/column (the pane words it)
        Assert.StartsWith("{{Nope.X}} は使えない差し込みタグです", templateError.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("2", templateError.GetProperty("args").GetProperty("line").GetString());
        Assert.Equal("body", templateError.GetProperty("args").GetProperty("part").GetString());

        var en = await http.PostAsJsonAsync("/api/mailings/preview", body, Ct);
        var english = await en.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.StartsWith("Unknown tag {{Nope.X}}: ", english.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("UnknownTag", english.GetProperty("fieldCodes").GetProperty("body")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Problems_carry_codes_and_arguments_and_speak_japanese_by_code()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        async Task<JsonElement> Send(HttpMethod method, string path, object? json, bool japanese)
        {
            using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : JsonContent.Create(json) };
            if (japanese)
            {
                request.Headers.AcceptLanguage.ParseAdd("ja");
            }
            using var response = await http.SendAsync(request, Ct);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(japanese ? "ja" : null, response.Content.Headers.ContentLanguage.FirstOrDefault());
            return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        }

        // a 404 of the API's own: code, args, English detail; Japanese by code
        var missing = await Send(HttpMethod.Get, "/api/mailings/nope", null, japanese: false);
        Assert.Equal(("MailingNotFound", "nope", "There is no mailing nope of yours."),
            (missing.GetProperty("code").GetString(), missing.GetProperty("args").GetProperty("id").GetString(), missing.GetProperty("detail").GetString()));
        var missingJa = await Send(HttpMethod.Get, "/api/mailings/nope", null, japanese: true);
        Assert.Equal(("メール送信が見つかりません", "あなたのメール送信 nope はありません。"),
            (missingJa.GetProperty("title").GetString(), missingJa.GetProperty("detail").GetString()));

        // a validation problem: the field's code and its arguments beside the standard errors
        var invalid = new { mode = "Resumes", scope = new { kind = "Checked", ids = new long[] { 10001 } }, mailFields = new[] { "Resume.P_Mail" },
            subject = new string('件', 300), body = "<p>x</p>" };
        var tooLong = await Send(HttpMethod.Post, "/api/mailings/preview", invalid, japanese: true);
        Assert.Equal("255 文字までです（300 文字あります）。", tooLong.GetProperty("errors").GetProperty("subject")[0].GetString());
        var code = tooLong.GetProperty("fieldCodes").GetProperty("subject")[0];
        Assert.Equal(("TooLong", "255", "subject"), (code.GetProperty("code").GetString(), code.GetProperty("args").GetProperty("max").GetString(),
            code.GetProperty("args").GetProperty("part").GetString()));

        // the search's problems, a resource that is not one
        var search = await Send(HttpMethod.Get, "/api/hrbc/resumes?count=0&condition=" + Uri.EscapeDataString("Resume.P_Name:xx=1"), null, japanese: true);
        Assert.Equal("InvalidSearch", search.GetProperty("code").GetString());
        Assert.Equal("検索条件に誤りがあります。", search.GetProperty("title").GetString());
        Assert.Equal("NumberOutOfRange", search.GetProperty("fieldCodes").GetProperty("count")[0].GetProperty("code").GetString());
        Assert.Equal("ConditionSuffixUnknown", search.GetProperty("fieldCodes").GetProperty("condition")[0].GetProperty("code").GetString());
        Assert.DoesNotMatch("[A-Za-z]{4,} [a-z]{3,}", search.GetProperty("errors").GetProperty("count")[0].GetString()!);

        // a problem the framework makes by status alone still has a code
        var nowhere = await Send(HttpMethod.Get, "/api/nowhere", null, japanese: true);
        Assert.Equal(("NotFound", "このアドレスには何もありません。"), (nowhere.GetProperty("code").GetString(), nowhere.GetProperty("title").GetString()));
    }
}
