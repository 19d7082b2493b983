using BulkMail.Api.Modes;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Hardening;

/// <summary>
/// Bad input is a 4xx problem that names the field, in every environment, and stores nothing: malformed and mistyped
/// JSON, flag-syntax enums, bad Host headers, broken multipart framing. The cases are data so that a corpus can grow.
/// </summary>
public class HostileInputTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Valid = """{"mode":"Resumes","scope":{"kind":"Checked","ids":[10001]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}""";

    /// <summary>(name, raw body, the field the problem must name). Bodies are bytes so that invalid UTF-8 can be sent.</summary>
    public static TheoryData<string, string, string> JsonCases => new()
    {
        { "number for a string", """{"mode":3,"scope":{"kind":"Checked","ids":[10001]}}""", "mode" },
        { "string for a number", """{"mode":"Resumes","anchorId":"abc"}""", "anchorId" },
        { "overflow", """{"mode":"Resumes","anchorId":99999999999999999999999}""", "anchorId" },
        { "fraction for an id", """{"mode":"Resumes","scope":{"kind":"Checked","ids":[10001,1.5]}}""", "scope.ids[1]" },
        { "string in an id list", """{"mode":"Resumes","scope":{"kind":"Checked","ids":[10001,"x"]}}""", "scope.ids[1]" },
        { "object for a list", """{"mode":"Resumes","mailFields":{"a":1}}""", "mailFields" },
        { "string for a bool", """{"mode":"Resumes","logActivity":"yes"}""", "logActivity" },
        { "array for an object", """{"mode":"Resumes","scope":[1,2]}""", "scope" },
        { "truncated", """{"mode":"Resumes","scope":{"kind":""", "scope.kind" },
        { "trailing garbage", Valid + "}", "$" },
        { "single quotes", "{'mode':'Resumes'}", "$" },
        { "comment", "{/* hi */\"mode\":\"Resumes\"}", "$" },
        { "10,000 deep", "{\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}", "x" },
        { "invalid UTF-8", "{\"subject\":\"\u00ff\u00fe\"}", "subject" },
        { "null body", "null", "$" },
    };

    [Theory]
    [MemberData(nameof(JsonCases))]
    public async Task Malformed_or_mistyped_JSON_is_a_400_naming_the_JSON_path_and_stores_nothing(string name, string body, string field)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        // Both stores, and an environment other than Development would behave the same (the mapping is not per environment).
        await using var api = BulkMailApplication.StartWith(hrbc, redis.ApiSettings());
        using var http = api.CreateClient();
        var bytes = name == "invalid UTF-8" ? Latin1WithRawBytes(body) : Encoding.UTF8.GetBytes(body);
        foreach (var path in new[] { "/api/mailings", "/api/mailings/preview", "/api/mailings/test" })
        {
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(path, content, Ct);
            var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, $"{name} at {path}");
            var errors = problem.GetProperty("errors");
            Assert.True(errors.EnumerateObject().Any(e => e.Name == field || e.Name.StartsWith(field, StringComparison.Ordinal)),
                $"{name}: expected {field} in {errors}");
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("code").GetString()));
            Assert.DoesNotContain("System.", problem.GetRawText(), StringComparison.Ordinal); // no .NET type names
        }
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.UnsupportedMediaType, "ContentTypeUnsupported")]
    [InlineData("text/plain", HttpStatusCode.UnsupportedMediaType, "ContentTypeUnsupported")]
    [InlineData("application/json", HttpStatusCode.BadRequest, "BodyMissing")]
    public async Task No_body_or_no_JSON_content_type_is_a_problem_not_a_500(string? contentType, HttpStatusCode status, string code)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        using var content = new ByteArrayContent(contentType == "application/json" ? [] : Encoding.UTF8.GetBytes(Valid));
        content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        using var response = await http.PostAsync("/api/mailings", content, Ct);
        var problem = await AssertProblemAsync(response, status, contentType ?? "none");
        Assert.True(problem.TryGetProperty("code", out var c) && c.GetString() == code, problem.GetRawText());
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
    }

    /// <summary>Enum names only: no numbers, no flag syntax, no padding, no other case.</summary>
    [Theory]
    [InlineData("mode", "JobToResumes, Recruiters")]
    [InlineData("mode", "Resumes,Recruiters")]
    [InlineData("mode", "3")]
    [InlineData("mode", "-1")]
    [InlineData("mode", " Resumes")]
    [InlineData("mode", "resumes")]
    [InlineData("scope.kind", "Displayed, Checked")]
    [InlineData("scope.kind", "1")]
    [InlineData("scope.kind", "checked")]
    public async Task Enums_are_parsed_by_their_exact_names_only(string field, string value)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var body = field == "mode"
            ? new { mode = value, scope = new { kind = "Checked", ids = new[] { 10001L } }, mailFields = new[] { "Resume.P_Mail" }, subject = "s", body = "b" }
            : (object)new { mode = "Resumes", scope = new { kind = value, ids = new[] { 10001L } }, mailFields = new[] { "Resume.P_Mail" }, subject = "s", body = "b" };
        using var response = await http.PostAsJsonAsync("/api/mailings", body, Ct);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, value);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
        if (field == "mode")
        {
            using var template = await http.PostAsJsonAsync("/api/templates", new { name = "t", mode = value, subject = "s", body = "b" }, Ct);
            Assert.True((await AssertProblemAsync(template, HttpStatusCode.BadRequest, value)).GetProperty("errors").TryGetProperty("mode", out _));
        }
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
    }

    [Theory]
    [InlineData("\"JobToResumes, Recruiters\"")]
    [InlineData("3")]
    [InlineData("\"3\"")]
    [InlineData("\"resumes\"")]
    public void The_enum_converter_refuses_numbers_and_flags(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<MailingMode>(json));
        Assert.Equal(MailingMode.JobToResumes, JsonSerializer.Deserialize<MailingMode>("\"JobToResumes\""));
        Assert.Equal("\"ResumesToRecruiter\"", JsonSerializer.Serialize(MailingMode.ResumesToRecruiter));
    }

    public static TheoryData<string, string> BadConditions => new()
    {
        { "another resource's alias", "Job.P_Id:ge=1" },
        { "an unknown field", "Resume.P_NoSuchField=1" },
        { "5,000 values", "Resume.P_Id:or=" + string.Join(':', Enumerable.Range(10_001, 5_000)) },
        { "a suffix HRBC does not have", "Resume.P_Id:like=3" },
    };

    /// <summary>Conditions are checked against Field Read and the request cap before HRBC is asked: a 400, never a 5xx.</summary>
    [Theory]
    [MemberData(nameof(BadConditions))]
    public async Task A_condition_HRBC_would_refuse_is_a_400_naming_the_condition(string name, string condition)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        // A cap of 4,000 lets a search past it still fit Kestrel's 8 KB request line (beyond which Kestrel itself says 414).
        var settings = redis.ApiSettings();
        settings["Hrbc:MaxRequestLength"] = "4000";
        await using var api = BulkMailApplication.StartWith(hrbc, settings);
        using var http = api.CreateClient();
        var request = new
        {
            mode = "Resumes",
            scope = new { kind = "All", query = new { condition } },
            mailFields = new[] { "Resume.P_Mail" },
            subject = "{{Person.P_Name}}様",
            body = "b",
        };
        foreach (var path in new[] { "/api/mailings", "/api/mailings/preview" })
        {
            using var response = await http.PostAsJsonAsync(path, request, Ct);
            var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, $"{name} at {path}");
            Assert.True(problem.GetProperty("errors").TryGetProperty("scope.query.condition", out _), problem.GetRawText());
        }
        var searched = name == "5,000 values" ? string.Join(':', condition.Split(':').Take(700)) : condition;
        using (var search = await http.GetAsync("/api/hrbc/resumes?condition=" + Uri.EscapeDataString(searched), Ct))
        {
            var problem = await AssertProblemAsync(search, HttpStatusCode.BadRequest, $"{name} at /api/hrbc/resumes");
            Assert.True(problem.GetProperty("errors").TryGetProperty("condition", out _), problem.GetRawText());
        }
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/mailings", Ct)).GetArrayLength());
        // HRBC was never asked with the bad condition
        Assert.DoesNotContain(hrbc.Sandbox.Requests, r => r.ResultCode != 0 && r.Resource == "resume");
    }

    [Fact]
    public async Task The_OpenAPI_document_still_describes_the_strict_enums_as_their_names()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var schemas = (await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Ct)).GetProperty("components").GetProperty("schemas");
        var state = schemas.GetProperty("MailingState");
        Assert.Equal("string", state.GetProperty("type").GetString());
        Assert.Equal(Enum.GetNames<MailingState>(), state.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("a:99999")]
    [InlineData("")]
    [InlineData("a:0x50")]
    [InlineData("[::1")]
    public async Task A_manifest_for_a_bad_Host_header_is_a_400_problem(string host)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        var (status, type, body) = await RawAsync(api, $"GET /addin/manifest.xml HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        Assert.True(status is 400, $"{host}: {status} {body}");
        if (type is not null)
        {
            Assert.StartsWith("application/problem+json", type);
        }
    }

    [Fact]
    public async Task A_multipart_body_whose_boundary_differs_from_the_header_is_a_400_and_stores_nothing()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var body = "--OTHER\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--OTHER--\r\n";
        foreach (var boundary in new[] { "EXPECTED", "\"\"" })
        {
            using var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
            content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
            using var response = await http.PostAsync("/api/uploads", content, Ct);
            var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, boundary);
            Assert.NotNull(problem.GetProperty("code").GetString());
        }
        // truncated: the closing boundary never comes
        using var truncated = new ByteArrayContent(Encoding.ASCII.GetBytes(body.Replace("--OTHER--\r\n", "", StringComparison.Ordinal).Replace("OTHER", "B", StringComparison.Ordinal)));
        truncated.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=B");
        await AssertProblemAsync(await http.PostAsync("/api/uploads", truncated, Ct), HttpStatusCode.BadRequest, "truncated");
    }

    /// <summary>Anything but Development (trimmed, any case) refuses the demo's stand-ins at start-up.</summary>
    [Theory]
    [InlineData("Production ", "Auth:Mode", "Development")]
    [InlineData("Staging", "Auth:Mode", "Development")]
    [InlineData("production", "Auth:Mode", "Development")]
    [InlineData("Testing", "Auth:Mode", "Development")]
    [InlineData("Develop", "Auth:Mode", "Development")]
    [InlineData("Staging", "Sandbox:Enabled", "true")]
    [InlineData("Production ", "Graph:Auth", "None")]
    [InlineData("Staging", "ConnectionStrings:Redis", "")]
    public void Outside_Development_the_demo_settings_are_refused_at_start_up(string environment, string key, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["environment"] = environment,
            ["Hrbc:BaseUrl"] = "http://127.0.0.1:9/",
            ["Hrbc:AppId"] = "a",
            ["Hrbc:Secret"] = "s",
            ["Hrbc:Partition"] = "1",
            // Everything production-ready except the one demo setting under test.
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
        // The sandbox exists only in the demo host; the published API has no such setting to refuse.
        var error = Assert.ThrowsAny<Exception>(() => (key == "Sandbox:Enabled" ? (IDisposable)DemoApplication.Start(settings) : BulkMailApplication.Start(settings)).Dispose());
        var text = error.ToString();
        Assert.Contains(key == "ConnectionStrings:Redis" ? "ConnectionStrings:Redis" : key, text);
        Assert.Contains("Development", text);
    }

    [Theory]
    [InlineData(" Development ")]
    [InlineData("development")]
    public async Task Development_however_spelled_allows_the_demo(string environment)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?> { ["environment"] = environment });
        using var http = api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/mailings", Ct)).StatusCode);
    }


    /// <summary>The body's characters U+0000–U+00FF as single bytes: "\u00ff" becomes the invalid UTF-8 byte 0xFF.</summary>
    private static byte[] Latin1WithRawBytes(string body) => Encoding.Latin1.GetBytes(body);

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>A request written by hand (HttpClient will not send a bad Host); the status line, content type and body.</summary>
    internal static async Task<(int Status, string? ContentType, string Body)> RawAsync(BulkMailApplication api, string request)
    {
        var address = new Uri(api.ClientOptions.BaseAddress.ToString());
        using var http = api.CreateClient();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(http.BaseAddress!.Host, http.BaseAddress.Port, Ct);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var all = await reader.ReadToEndAsync(Ct);
        var head = all.Split("\r\n\r\n", 2);
        var lines = head[0].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var type = lines.FirstOrDefault(l => l.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase))?.Split(':', 2)[1].Trim();
        _ = address;
        return (status, type, head.Length > 1 ? head[1] : "");
    }
}
