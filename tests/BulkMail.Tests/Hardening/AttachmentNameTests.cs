using BulkMail.Api.Mail;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BulkMail.Api.Mailings;
using BulkMail.Api.Uploads;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Hardening;

/// <summary>Uploads, HRBC files and zip entries under one name rule; the server decides the content type.</summary>
public class AttachmentNameTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly byte[] Pdf = Encoding.ASCII.GetBytes("%PDF-1.4\n%\u00e2\u00e3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
    private static readonly byte[] Program = [0x4D, 0x5A, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00];

    /// <summary>Names that must be refused, with the refusal's code.</summary>
    public static TheoryData<string, string> RefusedNames => new()
    {
        { "invoice.exe.", "FileTypeBlocked" },
        { "invoice.exe ", "FileTypeBlocked" },
        { "invoice.exe . . ", "FileTypeBlocked" },
        { "invoice.\u200Bexe", "FileTypeBlocked" },     // zero-width space inside the extension
        { "CON", "FileNameReserved" },
        { "AUX.pdf", "FileNameReserved" },
        { "com1.docx", "FileNameReserved" },
        { "LPT9.tar.gz", "FileNameReserved" },
        { "NUL .txt", "FileNameReserved" },
        { "a\r\nb.pdf", "FileNameInvalidCharacter" },
        { "a\u2028b.pdf", "FileNameInvalidCharacter" },
        { "a:b.pdf", "FileNameInvalidCharacter" },
        { "..\\..\\evil.pdf", "FileNameInvalidCharacter" },
        { "...", "FileNameEmpty" },
        { "\u202E\u200F", "FileNameEmpty" },
    };

    [Theory]
    [MemberData(nameof(RefusedNames))]
    public async Task Upload_names_that_walk_around_the_rules_are_refused(string name, string code)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc, RedisSettings());
        using var http = api.CreateClient();
        using var response = await UploadAsync(http, name, Pdf, "application/pdf");
        var problem = await HostileInputTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, name);
        Assert.Equal(code, problem.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("cv\u202Efdp.html", "cvfdp.html", "text/html")]                // shown as cvlmth.pdf before
    [InlineData("  report.pdf . ", "report.pdf", "application/pdf")]
    [InlineData("\u2066report\u2069.pdf", "report.pdf", "application/pdf")]
    [InlineData("カ\u3099イシャ.pdf", "ガイシャ.pdf", "application/pdf")]        // a Mac's decomposed Japanese → NFC
    public async Task Upload_names_are_stored_as_Windows_will_show_them(string sent, string stored, string type)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        using var response = await UploadAsync(http, sent, Pdf, "image/png");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        Assert.Equal(stored, body.GetProperty("name").GetString());
        Assert.Equal(type, body.GetProperty("contentType").GetString());
    }

    [Theory]
    [InlineData("report.pdf", "%PDF-1.4", "application/pdf")]
    [InlineData("report.pdf", "not a pdf", "application/octet-stream")]  // the name claims a signature the bytes lack
    [InlineData("photo.png", "%PDF-1.4", "application/octet-stream")]
    [InlineData("notes.txt", "hello", "text/plain")]
    [InlineData("data.unknownext", "x", "application/octet-stream")]
    public async Task The_server_decides_the_content_type_from_the_name_and_the_bytes_not_the_part_header(string name, string content, string type)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        // a part header smuggling a second header line through CR/LF, and a type that is a lie
        var boundary = "b0undary";
        var raw = $"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/html\r\nX-Evil: 1\r\n\r\n{content}\r\n--{boundary}--\r\n";
        using var form = new ByteArrayContent(Encoding.UTF8.GetBytes(raw));
        form.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
        using var response = await http.PostAsync("/api/uploads", form, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        Assert.Equal(type, body.GetProperty("contentType").GetString());
    }

    [Fact]
    public async Task A_program_renamed_to_a_document_is_refused()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        using var response = await UploadAsync(http, "請求書.pdf", Program, "application/pdf");
        var problem = await HostileInputTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "MZ");
        Assert.Equal("FileIsProgram", problem.GetProperty("code").GetString());
    }

    /// <summary>HRBC's file names come from whoever uploaded them to HRBC: the same rule, and the same name in the zip.</summary>
    [Fact]
    public async Task HRBC_file_names_follow_the_same_rule_and_so_do_zip_entry_names()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc, RedisSettings());
        using var http = api.CreateClient();
        const long jobId = 30004;
        var spoofed = hrbc.Sandbox.AddAttachment(3, jobId, "cv\u202Efdp.html ", "application/pdf", Pdf);
        object Request(long file, string? password = null) => new
        {
            mode = "JobToResumes",
            anchorId = jobId,
            scope = new { kind = "Checked", ids = new long[] { 10002 } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "s",
            body = "b",
            attachments = new { recordAttachmentIds = new[] { file }, zipPassword = password },
        };
        var preview = await (await http.PostAsJsonAsync("/api/mailings/preview", Request(spoofed), Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        var sent = preview.GetProperty("confirmation").GetProperty("attachments")[0];
        Assert.Equal("cvfdp.html", sent.GetProperty("name").GetString());
        Assert.Equal("text/html", sent.GetProperty("contentType").GetString()); // not HRBC's "application/pdf"

        foreach (var bad in new[] { ("invoice.exe.", Pdf), ("COM1.pdf", Pdf), ("../../evil.pdf", Pdf), ("請求書.pdf", Program) })
        {
            var id = hrbc.Sandbox.AddAttachment(3, jobId, bad.Item1, "application/pdf", bad.Item2);
            using var response = await http.PostAsJsonAsync("/api/mailings", Request(id), Ct);
            var problem = await HostileInputTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, bad.Item1);
            Assert.True(problem.GetProperty("errors").TryGetProperty("attachments.recordAttachmentIds", out _), problem.GetRawText());
        }
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());

        // zip entries: the same rule whoever calls Zip
        Assert.Throws<ArgumentException>(() => MailingAttachmentBuilder.Zip([new MailAttachment("../../x.pdf", "application/pdf", Pdf)], "Kx7#pQ2!vL", "Aes256", DateTime.Now));
        var zip = MailingAttachmentBuilder.Zip([new MailAttachment("cv\u202Efdp.html", "text/html", Pdf)], "Kx7#pQ2!vL", "Aes256", DateTime.Now);
        using var file = new ICSharpCode.SharpZipLib.Zip.ZipFile(new MemoryStream(zip.Content)) { Password = "Kx7#pQ2!vL" };
        Assert.Equal("cvfdp.html", file[0].Name);
    }

    [Theory]
    [InlineData("invoice.exe.", "invoice.exe")]
    [InlineData("a\u202Eb", "ab")]
    [InlineData(" x.pdf\u3000", "x.pdf")]
    public void Normalize_is_what_Windows_shows(string name, string shown) => Assert.Equal(shown, AttachmentRules.Normalize(name));

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient http, string name, byte[] content, string type)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        // the file name exactly as given (MultipartFormDataContent would encode or quote it its own way)
        file.Headers.TryAddWithoutValidation("Content-Disposition", $"form-data; name=\"file\"; filename*=UTF-8''{Uri.EscapeDataString(name)}");
        form.Add(file);
        return await http.PostAsync("/api/uploads", form, Ct);
    }

    private Dictionary<string, string?> RedisSettings()
    {
        redis.Require();
        return new() { ["ConnectionStrings:Redis"] = redis.ConnectionString, ["Store:KeyPrefix"] = RedisServerFixture.NewPrefix() };
    }
}
