using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BulkMail.Tests.Support;
using StackExchange.Redis;

namespace BulkMail.Tests.Hostile;

/// <summary>
/// The hostile corpus (<c>Hostile/*.jsonl</c>, one case a line) against the whole API on each store: every case is
/// answered below 500; every refusal is <c>application/problem+json</c> naming its field; nothing is stored or changed
/// (both users' mailings and templates, the Graph mailbox, and on Redis every key under the test's prefix). Each case's
/// wall time, CPU time and peak working set growth are measured and bounded, the worst are written to the output.
/// </summary>
public class HostileCorpusTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Other = "other@bulkmail.example";

    /// <summary>Generous bounds: a regression to quadratic work or unbounded amplification crosses them.</summary>
    // Wall time is generous because two cores are shared with builds; CPU time is the sharper bound.
    private static readonly TimeSpan MaxWall = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxCpu = TimeSpan.FromSeconds(5);
    private const long MaxPeakGrowth = 500L * 1024 * 1024;

    public static IReadOnlyList<JsonObject> LoadCases()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Hostile");
        var cases = new List<JsonObject>();
        foreach (var file in Directory.GetFiles(dir, "*.jsonl").Order(StringComparer.Ordinal))
        {
            var n = 0;
            foreach (var line in File.ReadLines(file))
            {
                n++;
                if (string.IsNullOrWhiteSpace(line) || line.StartsWith("//", StringComparison.Ordinal))
                {
                    continue;
                }
                var c = JsonNode.Parse(line)?.AsObject() ?? throw new InvalidDataException($"{Path.GetFileName(file)}:{n} is not a JSON object");
                c["file"] = $"{Path.GetFileName(file)}:{n}";
                cases.Add(c);
            }
        }
        return cases;
    }

    [Fact]
    public void The_corpus_has_at_least_300_named_unique_cases()
    {
        var cases = LoadCases();
        Assert.True(cases.Count >= 300, $"{cases.Count} cases");
        var names = cases.Select(c => (string?)c["name"]).ToList();
        Assert.All(names, n => Assert.False(string.IsNullOrWhiteSpace(n)));
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Every_hostile_case_is_a_named_4xx_problem_or_harmless_and_stores_nothing(string store)
    {
        // Per-user rate limits would turn most of 900 requests a minute into 429s; they have their own tests.
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["RateLimits:Enabled"] = "false" }, worker: false, store: store);
        var ctx = await SetUpAsync(e);
        var otherBefore = await OtherMailingAsync(e, ctx);
        var server = store == "redis" ? redis.Connection!.GetServers()[0] : null;

        var cases = LoadCases();
        var failures = new List<string>();
        var measures = new List<(string Name, double Wall, double Cpu, long Peak, long Alloc)>();
        var before = await SnapshotAsync(e, server);
        var self = Process.GetCurrentProcess();
        foreach (var c in cases)
        {
            var name = (string)c["name"]!;
            self.Refresh();
            var peak0 = self.PeakWorkingSet64;
            var cpu0 = self.TotalProcessorTime;
            var alloc0 = GC.GetTotalAllocatedBytes();
            var clock = Stopwatch.StartNew();
            Answer answer;
            try
            {
                answer = await SendAsync(e, c, ctx);
            }
            catch (Exception x)
            {
                failures.Add($"{name} ({c["file"]}): the request failed: {x.GetType().Name}: {x.Message}");
                continue;
            }
            clock.Stop();
            self.Refresh();
            var m = (name, clock.Elapsed.TotalSeconds, (self.TotalProcessorTime - cpu0).TotalSeconds, self.PeakWorkingSet64 - peak0,
                GC.GetTotalAllocatedBytes() - alloc0);
            measures.Add(m);
            foreach (var problem in Check(c, answer))
            {
                failures.Add($"{name} ({c["file"]}): {problem} — {(int)answer.Status} {Trim(answer.Body)}");
            }
            if (clock.Elapsed > MaxWall)
            {
                failures.Add($"{name}: took {clock.Elapsed.TotalSeconds:0.0} s (bound {MaxWall.TotalSeconds} s)");
            }
            if (m.Item3 > MaxCpu.TotalSeconds)
            {
                failures.Add($"{name}: used {m.Item3:0.0} s of CPU (bound {MaxCpu.TotalSeconds} s)");
            }
            if (m.Item4 > MaxPeakGrowth)
            {
                failures.Add($"{name}: peak working set grew {m.Item4 / 1048576} MB (bound {MaxPeakGrowth / 1048576} MB)");
            }
            if (c["mayStore"]?.GetValue<bool>() != true)
            {
                var after = await SnapshotAsync(e, server);
                if (after != before)
                {
                    failures.Add($"{name} ({c["file"]}): something was stored or changed: {Diff(before, after)}");
                    before = after;
                }
            }
            else
            {
                before = await SnapshotAsync(e, server); // what it may store is the new baseline
            }
        }

        var output = TestContext.Current.TestOutputHelper!;
        output.WriteLine($"{store}: {cases.Count} cases, {failures.Count} failures, {measures.Sum(m => m.Wall):0.0} s in all");
        foreach (var g in cases.GroupBy(c => (string?)c["class"] ?? "?").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  class {g.Key}: {g.Count()}");
        }
        foreach (var (label, pick) in new (string, Func<(string Name, double Wall, double Cpu, long Peak, long Alloc), double>)[]
        {
            ("wall", m => m.Wall), ("cpu", m => m.Cpu), ("peak working set growth", m => m.Peak), ("allocated", m => m.Alloc),
        })
        {
            foreach (var w in measures.OrderByDescending(pick).Take(3))
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  worst {label}: {w.Name}: wall {w.Wall:0.000} s, cpu {w.Cpu:0.000} s, peak +{w.Peak / 1048576.0:0.0} MB, allocated {w.Alloc / 1048576.0:0.0} MB"));
            }
        }
        foreach (var f in failures)
        {
            output.WriteLine("FAIL " + f);
        }

        // The other user's mailing is as it was made (the worker is off: nothing but a case could have moved it).
        Assert.Equal(otherBefore, await OtherMailingAsync(e, ctx));
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed on {store}:\n" + string.Join("\n", failures.Take(60)));
    }

    private static async Task<string> OtherMailingAsync(EngineHarness e, Context ctx)
    {
        using var asOther = Request(HttpMethod.Get, $"/api/mailings/{ctx.OtherMailing}", Other);
        using var r = await e.Http.SendAsync(asOther, Ct);
        var status = await r.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return $"{status.GetProperty("state").GetString()} total={status.GetProperty("total").GetInt32()} sent={status.GetProperty("sent").GetInt32()}";
    }

    private sealed record Context(string OtherMailing, string OtherTemplate, string OtherUpload, string MyMailing, string MyTemplate, string MyUpload);

    private static async Task<Context> SetUpAsync(EngineHarness e)
    {
        async Task<string> Create(string path, string? user, HttpContent content)
        {
            using var request = Request(HttpMethod.Post, path, user);
            request.Content = content;
            using var response = await e.Http.SendAsync(request, Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.IsSuccessStatusCode, $"{path}: {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        }
        HttpContent Upload(string name) => UploadForm.Form(name, "%PDF-1.4\n%hostile corpus\n"u8.ToArray());
        var template = new { name = "Owned", subject = "{{Person.P_Name}}様", body = "<p>{{Person.P_Name}}様</p>" };
        var mailing = EngineHarness.Newsletter([10001, 10002]);
        return new Context(
            await Create("/api/mailings", Other, JsonContent.Create(mailing)),
            await Create("/api/templates", Other, JsonContent.Create(template)),
            await Create("/api/uploads", Other, Upload("other.pdf")),
            await Create("/api/mailings", null, JsonContent.Create(mailing)),
            await Create("/api/templates", null, JsonContent.Create(template)),
            await Create("/api/uploads", null, Upload("mine.pdf")));
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? user)
    {
        var r = new HttpRequestMessage(method, path);
        if (user is not null)
        {
            r.Headers.TryAddWithoutValidation("X-BulkMail-User", user);
        }
        return r;
    }

    /// <summary>What can be stored or changed, as one comparable text: both users' mailings (id, state) and templates,
    /// the Graph mailbox, and on Redis the keys under the prefix.</summary>
    private static async Task<string> SnapshotAsync(EngineHarness e, IServer? server)
    {
        var text = new StringBuilder();
        foreach (var user in new string?[] { null, Other })
        {
            using (var r = Request(HttpMethod.Get, "/api/mailings", user))
            using (var a = await e.Http.SendAsync(r, Ct))
            {
                foreach (var m in (await a.Content.ReadFromJsonAsync<JsonElement>(Ct)).EnumerateArray())
                {
                    text.Append(CultureInfo.InvariantCulture, $"mailing {user} {m.GetProperty("id")} {m.GetProperty("state")}\n");
                }
            }
            using (var r = Request(HttpMethod.Get, "/api/templates", user))
            using (var a = await e.Http.SendAsync(r, Ct))
            {
                text.Append(CultureInfo.InvariantCulture, $"templates {user} {await a.Content.ReadAsStringAsync(Ct)}\n");
            }
        }
        text.Append(CultureInfo.InvariantCulture, $"graph messages {e.Graph.Sent().Count}\n");
        if (server is not null)
        {
            var keys = server.Keys(pattern: e.Prefix + "*", pageSize: 1000).Select(k => k.ToString()).Order(StringComparer.Ordinal);
            foreach (var k in keys)
            {
                text.Append("key ").Append(k[e.Prefix.Length..]).Append('\n');
            }
        }
        return text.ToString();
    }

    private static string Diff(string before, string after)
    {
        var b = before.Split('\n').ToHashSet(StringComparer.Ordinal);
        var a = after.Split('\n').ToHashSet(StringComparer.Ordinal);
        return "new: " + Trim(string.Join(" | ", a.Except(b))) + "; gone: " + Trim(string.Join(" | ", b.Except(a)));
    }

    private sealed record Answer(int Status, string? ContentType, string Body);

    private static IEnumerable<string> Check(JsonObject c, Answer a)
    {
        if (a.Status >= 500)
        {
            yield return "5xx";
            yield break;
        }
        var range = c["expectStatus"]?.AsArray();
        var (min, max) = range is null ? (400, 499) : (range[0]!.GetValue<int>(), range[1]!.GetValue<int>());
        if (a.Status < min || a.Status > max)
        {
            yield return $"status {a.Status} outside {min}–{max}";
        }
        if (a.Status < 400)
        {
            yield break;
        }
        if (c["bareRejection"]?.GetValue<bool>() == true && a.Body.Length == 0 && a.Status is 400 or 414 or 431)
        {
            yield break; // Kestrel refused the request line or headers before the application saw it
        }
        if (a.ContentType?.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase) != true)
        {
            yield return $"refusal with content type {a.ContentType ?? "none"}, not application/problem+json";
            yield break;
        }
        JsonElement problem;
        try
        {
            problem = JsonDocument.Parse(a.Body).RootElement;
        }
        catch (JsonException)
        {
            problem = default;
        }
        if (problem.ValueKind != JsonValueKind.Object)
        {
            yield return "the problem is not a JSON object";
            yield break;
        }
        var named = Named(problem).ToList();
        var code = problem.TryGetProperty("code", out var cv) && cv.ValueKind == JsonValueKind.String ? cv.GetString() : null;
        if (named.Count == 0 && string.IsNullOrEmpty(code))
        {
            yield return "the problem names no field (no errors, fieldCodes, field or code)";
        }
        if ((string?)c["expectField"] is { } field && !named.Any(n => n == field || n.StartsWith(field + ".", StringComparison.Ordinal)
            || n.StartsWith(field + "[", StringComparison.Ordinal)))
        {
            yield return $"the problem does not name {field} (names: {string.Join(", ", named)})";
        }
        if ((string?)c["expectCode"] is { } expected && code != expected)
        {
            yield return $"code {code ?? "none"}, expected {expected}";
        }
        if (a.Body.Contains("   at ", StringComparison.Ordinal) || a.Body.Contains("System.", StringComparison.Ordinal))
        {
            yield return "the problem shows .NET internals";
        }
    }

    /// <summary>The fields a problem names: <c>errors</c> and <c>fieldCodes</c> keys, a <c>field</c> extension, the
    /// parts of template errors.</summary>
    private static IEnumerable<string> Named(JsonElement problem)
    {
        foreach (var bag in new[] { "errors", "fieldCodes" })
        {
            if (problem.TryGetProperty(bag, out var o) && o.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in o.EnumerateObject())
                {
                    yield return p.Name;
                }
            }
        }
        if (problem.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String)
        {
            yield return f.GetString()!;
        }
        if (problem.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Object
            && d.TryGetProperty("templateErrors", out var te) && te.ValueKind == JsonValueKind.Array)
        {
            foreach (var t in te.EnumerateArray())
            {
                if (t.TryGetProperty("part", out var part) && part.ValueKind == JsonValueKind.String)
                {
                    yield return part.GetString()!;
                }
            }
        }
    }

    private static string Trim(string s) => s.Length <= 400 ? s : s[..400] + "…";

    private static string Fill(string s, Context ctx) => s
        .Replace("$OTHER_MAILING", ctx.OtherMailing, StringComparison.Ordinal)
        .Replace("$OTHER_TEMPLATE", ctx.OtherTemplate, StringComparison.Ordinal)
        .Replace("$OTHER_UPLOAD", ctx.OtherUpload, StringComparison.Ordinal)
        .Replace("$MY_MAILING", ctx.MyMailing, StringComparison.Ordinal)
        .Replace("$MY_TEMPLATE", ctx.MyTemplate, StringComparison.Ordinal)
        .Replace("$MY_UPLOAD", ctx.MyUpload, StringComparison.Ordinal);

    /// <summary>A generated string or array: <c>{repeat, times, prefix?, suffix?, suffixRepeat?, suffixTimes?}</c> (text) or
    /// <c>{numbers: {from, count}}</c> or <c>{item, times}</c> (arrays), so that huge cases stay small on disk.</summary>
    private static JsonNode Generate(JsonObject spec)
    {
        if (spec["numbers"] is JsonObject n)
        {
            var from = n["from"]!.GetValue<long>();
            return new JsonArray([.. Enumerable.Range(0, n["count"]!.GetValue<int>()).Select(i => (JsonNode?)JsonValue.Create(from + i))]);
        }
        if (spec["item"] is { } item)
        {
            return new JsonArray([.. Enumerable.Range(0, spec["times"]!.GetValue<int>()).Select(_ => item.DeepClone())]);
        }
        return JsonValue.Create(GenerateText(spec));
    }

    private static string GenerateText(JsonObject spec)
    {
        var times = spec["times"]!.GetValue<int>();
        var unit = (string?)spec["repeat"] ?? "";
        var text = new StringBuilder((string?)spec["prefix"] ?? "", unit.Length * times + 64);
        for (var i = 0; i < times; i++)
        {
            text.Append(unit);
        }
        text.Append((string?)spec["suffix"] ?? "");
        // A long closing run (]]]…, {{/if}}…) without storing it.
        var closer = (string?)spec["suffixRepeat"] ?? "";
        for (var i = spec["suffixTimes"]?.GetValue<int>() ?? 0; i > 0; i--)
        {
            text.Append(closer);
        }
        return text.ToString();
    }

    /// <summary>Sets a generated value at a dotted path (<c>scope.ids</c>) of the case's JSON body.</summary>
    private static void SetAt(JsonObject root, string path, JsonNode value)
    {
        var parts = path.Split('.');
        var node = root;
        foreach (var p in parts[..^1])
        {
            node = node[p] as JsonObject ?? (JsonObject)(node[p] = new JsonObject());
        }
        node[parts[^1]] = value;
    }

    private static (byte[]? Body, string? ContentType) BodyOf(JsonObject c, Context ctx)
    {
        var contentType = c.ContainsKey("contentType") ? (string?)c["contentType"] : null;
        string? text = null;
        if (c["json"] is JsonNode json)
        {
            var root = json.DeepClone();
            if (c["gen"] is JsonObject gens && root is JsonObject o)
            {
                foreach (var (path, spec) in gens)
                {
                    SetAt(o, path, Generate((JsonObject)spec!));
                }
            }
            text = root.ToJsonString();
            contentType = c.ContainsKey("contentType") ? contentType : "application/json";
        }
        else if (c["body"] is JsonNode body)
        {
            text = (string)body!;
            contentType = c.ContainsKey("contentType") ? contentType : "application/json";
        }
        else if (c["bodyGen"] is JsonObject bodyGen)
        {
            text = GenerateText(bodyGen);
            contentType = c.ContainsKey("contentType") ? contentType : "application/json";
        }
        else if (c["bodyBase64"] is JsonNode b64)
        {
            return (Convert.FromBase64String((string)b64!), c.ContainsKey("contentType") ? contentType : "application/json");
        }
        else if (c["multipart"] is JsonObject mp)
        {
            const string boundary = "hostile-corpus-boundary";
            var part = new StringBuilder();
            part.Append("--").Append((string?)mp["boundary"] ?? boundary).Append("\r\n");
            part.Append("Content-Disposition: form-data; name=\"").Append((string?)mp["field"] ?? "file").Append('"');
            if (mp["fileName"] is JsonNode fn)
            {
                part.Append("; filename=\"").Append((string)fn!).Append('"');
            }
            part.Append("\r\n");
            if (mp["partContentType"] is JsonNode pct)
            {
                part.Append("Content-Type: ").Append((string)pct!).Append("\r\n");
            }
            part.Append("\r\n");
            var head = Encoding.UTF8.GetBytes(part.ToString());
            var content = mp["contentBase64"] is JsonNode cb ? Convert.FromBase64String((string)cb!)
                : mp["contentGen"] is JsonObject cg ? Encoding.UTF8.GetBytes(GenerateText(cg))
                : Encoding.UTF8.GetBytes((string?)mp["content"] ?? "%PDF-1.4\nhostile\n");
            var tail = Encoding.UTF8.GetBytes(mp["noClose"]?.GetValue<bool>() == true ? "" : $"\r\n--{boundary}--\r\n");
            return ([.. head, .. content, .. tail], c.ContainsKey("contentType") ? contentType : $"multipart/form-data; boundary={boundary}");
        }
        return (text is null ? null : Encoding.UTF8.GetBytes(Fill(text, ctx)), contentType);
    }

    private static async Task<Answer> SendAsync(EngineHarness e, JsonObject c, Context ctx)
    {
        var method = new HttpMethod((string?)c["method"] ?? "GET");
        var path = Fill((string)c["path"]!, ctx);
        var headers = (c["headers"] as JsonObject)?.Select(h => (h.Key, Value: h.Value is JsonObject spec ? GenerateText(spec) : Fill((string)h.Value!, ctx))).ToList() ?? [];
        var (body, contentType) = BodyOf(c, ctx);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        if (c["raw"]?.GetValue<bool>() == true)
        {
            return await RawAsync(e.Http.BaseAddress!, method.Method, path, headers, body, contentType, timeout.Token);
        }
        using var request = new HttpRequestMessage(method, path);
        foreach (var (k, v) in headers)
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }
        using var response = await e.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var type = response.Content.Headers.ContentType?.ToString();
        // An event stream that was (wrongly) opened is read briefly, not to its end.
        string text;
        if (type?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
        {
            text = "(event stream)";
        }
        else
        {
            text = await response.Content.ReadAsStringAsync(timeout.Token);
        }
        return new Answer((int)response.StatusCode, type, text);
    }

    /// <summary>HTTP/1.1 written by hand, for what HttpClient refuses to send (an empty or out-of-range Host, CR/LF in
    /// header values).</summary>
    private static async Task<Answer> RawAsync(Uri baseAddress, string method, string path, List<(string Key, string Value)> headers,
        byte[]? body, string? contentType, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port, cancellationToken);
        await using var stream = tcp.GetStream();
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\n");
        if (!headers.Any(h => h.Key.Equals("Host", StringComparison.OrdinalIgnoreCase)))
        {
            head.Append(CultureInfo.InvariantCulture, $"Host: {baseAddress.Authority}\r\n");
        }
        foreach (var (k, v) in headers)
        {
            head.Append(k).Append(": ").Append(v).Append("\r\n");
        }
        if (contentType is not null)
        {
            head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body?.Length ?? 0}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head.ToString()), cancellationToken);
        if (body is not null)
        {
            await stream.WriteAsync(body, cancellationToken);
        }
        using var all = new MemoryStream();
        await stream.CopyToAsync(all, cancellationToken);
        var bytes = all.ToArray();
        var split = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        var lines = Encoding.ASCII.GetString(bytes, 0, split < 0 ? bytes.Length : split).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var type = lines.Skip(1).FirstOrDefault(l => l.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase))?[13..].Trim();
        var rest = split < 0 ? [] : bytes[(split + 4)..];
        if (lines.Any(l => l.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)))
        {
            rest = Dechunk(rest);
        }
        return new Answer(status, type, Encoding.UTF8.GetString(rest));
    }

    private static byte[] Dechunk(byte[] s)
    {
        using var result = new MemoryStream();
        var i = 0;
        while (i < s.Length)
        {
            var eol = s.AsSpan(i).IndexOf("\r\n"u8);
            if (eol < 0 || !int.TryParse(Encoding.ASCII.GetString(s, i, eol), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size == 0)
            {
                break;
            }
            var start = i + eol + 2;
            result.Write(s, start, Math.Min(size, s.Length - start));
            i = start + size + 2;
        }
        return result.ToArray();
    }
}
