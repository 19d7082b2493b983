using System.Diagnostics;
using Process = System.Diagnostics.Process;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using BulkMail.Sandbox.Graph;
using BulkMail.Sandbox.Hrbc;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;

// End-to-end benchmarks of the mailing engine (docs/benchmarks.md): the API runs as its own process against the
// HRBC and Graph sandboxes and a real redis-server, all on loopback. Usage: dotnet run -c Release -- [a|a2|b|c|d|e|f|all],
// `scale [mailboxes,...] [instances,...]` (g), `speedup [one,eight] [instances,...] [runs]` (h) and `reliability [scenario,...]`
// (docs/reliability.md).
var which = args.FirstOrDefault() ?? "all";
if (which == "scale")
{
    await ScaleBench.RunAsync(args[1..], CancellationToken.None); // prints each run as it finishes
    return;
}
if (which == "speedup")
{
    await SpeedupBench.RunAsync(args[1..], CancellationToken.None); // prints each run as it finishes
    return;
}
if (which == "reliability")
{
    Environment.ExitCode = await ReliabilitySuite.RunAsync(args[1..], CancellationToken.None);
    return;
}
var results = new List<string>();
using var redis = Redis.Start();

if (which is "a" or "all")
{
    // `a [rounds]`: the cold round, then rounds - 1 warm ones in the same processes (a server that has run a while)
    var rounds = which == "a" && args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
    results.Add(await ThroughputAsync(redis, TimeSpan.Zero, "(a)", rounds));
}

if (which is "a2" or "all")
{
    // The same with 50 ms per Graph call (Graph itself answers in tens to hundreds of ms): what a mailbox sees.
    results.Add(await ThroughputAsync(redis, TimeSpan.FromMilliseconds(50), "(a2)"));
}

if (which is "b" or "all")
{
    // More messages than two minutes allow, so the queue never runs dry while the rate is measured.
    await using var hrbc = await HrbcSandboxHost.StartAsync(new HrbcSandboxOptions { ResumeCount = 3000 });
    await using var graph = await GraphSandboxHost.StartAsync();
    var ids = Enumerable.Range(10001, 3000).Select(i => (long)i).ToList();
    using var api = Api.Start(hrbc, graph, redis, new() { ["Sending:MessagesPerMinute"] = "600", ["Sending:DailyRecipientLimit"] = "1000000" });
    var id = await api.SubmitAsync(Api.Newsletter(ids));
    await api.WaitAsync(id, "Sending", TimeSpan.FromMinutes(1));
    await Task.Delay(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(5));
    var times = graph.Sandbox.Sent().Select(m => m.SentAt!.Value).Order().ToList();
    var first = times[0];
    var inTwoMinutes = times.Count(t => t < first + TimeSpan.FromMinutes(2));
    var maxWindow = 0;
    for (int i = 0, j = 0; i < times.Count; i++)
    {
        while (times[i] - times[j] >= TimeSpan.FromMinutes(1)) { j++; }
        maxWindow = Math.Max(maxWindow, i - j + 1);
    }
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"(b) pacing at 600/min: {inTwoMinutes} sent in the first 2 minutes = {inTwoMinutes / 1200.0:P1} of the allowed 1,200 (goal ≥ 98 %); most in any 60 s window: {maxWindow} (limit 600)"));
}

if (which is "c" or "all")
{
    await using var hrbc = await HrbcSandboxHost.StartAsync(new HrbcSandboxOptions { ResumeCount = 10_000 });
    await using var graph = await GraphSandboxHost.StartAsync();
    using var api = Api.Start(hrbc, graph, redis, new() { ["Sending:WorkerEnabled"] = "true", ["Sending:MessagesPerMinute"] = "1" });
    // Warm the metadata caches and the token first: the measure is the scope's expansion.
    await api.PreviewAsync(Api.Newsletter([10001]));
    hrbc.Sandbox.ClearRequests();
    var sw = Stopwatch.StartNew();
    var id = await api.SubmitAsync(new
    {
        mode = "Resumes", scope = new { kind = "All", query = new { keywords = "" } }, mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様", body = "<p>{{Person.P_Name}}様</p>",
    });
    await api.WaitAsync(id, "Sending", TimeSpan.FromMinutes(5), "Completed", "Queued");
    var seconds = sw.Elapsed.TotalSeconds;
    var reads = hrbc.Sandbox.Requests.Count(r => r.Resource == "resume");
    var all = hrbc.Sandbox.Requests.Count;
    var total = (await api.StatusAsync(id)).GetProperty("total").GetInt32();
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"(c) expansion of a 10,000-record All scope: {reads} resume reads ({all} HRBC requests in all, incl. the submit probe) in {seconds:F1} s, {total} deliveries (goal ≤ 51 requests)"));
}

if (which is "d" or "all")
{
    await using var hrbc = await HrbcSandboxHost.StartAsync(new HrbcSandboxOptions { ResumeCount = 100_000, ReadsPerMinute = 100_000 });
    await using var graph = await GraphSandboxHost.StartAsync();
    using var api = Api.Start(hrbc, graph, redis, new()
    {
        ["Sending:MessagesPerMinute"] = "100000", ["Sending:DailyRecipientLimit"] = "1000000", ["Hrbc:ReadsPerMinute"] = "2000",
    });
    var sw = Stopwatch.StartNew();
    var id = await api.SubmitAsync(new
    {
        mode = "Resumes", scope = new { kind = "All", query = new { keywords = "" } }, mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様", body = "<p>{{Person.P_Name}}様、こんにちは。</p>",
    });
    var status = await api.WaitAsync(id, "Completed", TimeSpan.FromMinutes(30));
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"(d) 100,000-record mailing ({status.GetProperty("total").GetInt32()} deliveries, {status.GetProperty("sent").GetInt32()} sent) in {sw.Elapsed.TotalSeconds:F0} s: peak RSS of the API process {api.PeakRssMb():F0} MB (goal ≤ 200 MB)"));
}

if (which is "e" or "all")
{
    // JOB打診 of one job to 1,000 resumes with the job's PDF, the process phase set after each send and an activity
    // per mail: HRBC requests used by the follow-ups (batched ≤ 200 items), attachment fetches, time.
    await using var hrbc = await HrbcSandboxHost.StartAsync();
    await using var graph = await GraphSandboxHost.StartAsync();
    using var api = Api.Start(hrbc, graph, redis, new()
    {
        ["Sending:MessagesPerMinute"] = "10000", ["Sending:DailyRecipientLimit"] = "1000000", ["FollowUps:BatchInterval"] = "00:00:02",
    });
    var ids = Enumerable.Range(10001, 1000).Select(i => (long)i).ToList();
    hrbc.Sandbox.ClearRequests();
    var sw = Stopwatch.StartNew();
    var id = await api.SubmitAsync(new
    {
        mode = "JobToResumes", anchorId = 30004, scope = new { kind = "Checked", ids }, mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Job.P_Position}}のご紹介", body = "<p>{{Person.P_Name}}様</p><p>{{Client.P_Name}}の求人です。</p>",
        attachments = new { recordAttachmentIds = new[] { 1L } },
        phase = new { optionAlias = "Option.P_ProcessPhase_JobOffered" }, logActivity = true,
    });
    var status = await api.WaitAsync(id, "Completed", TimeSpan.FromMinutes(30));
    var seconds = sw.Elapsed.TotalSeconds;
    var sent = status.GetProperty("sent").GetInt32();
    var byResource = hrbc.Sandbox.Requests.GroupBy(r => (r.Resource, r.Method)).ToDictionary(g => g.Key, g => g.Count());
    int Count(string resource, string method) => byResource.GetValueOrDefault((resource, method));
    var rows = (await api.CsvAsync(id)).Split('\n').Skip(1).Where(l => l.Contains(",Sent,", StringComparison.Ordinal)).ToList();
    var complete = rows.Count(l => l.Contains("Process ", StringComparison.Ordinal) && l.Contains("; Activity ", StringComparison.Ordinal));
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"(e) JobToResumes to 1,000 resumes with the job's PDF, phase + activity: {sent} sent and followed up in {seconds:F1} s " +
        $"({complete} of {rows.Count} sent rows with process phase and activity written); HRBC: " +
        $"{Count("attachment", "GET")} attachment reads, {Count("process", "GET")} process reads, {Count("process", "POST")} process writes, " +
        $"{Count("activity", "POST")} activity writes, {Count("resume", "GET")} resume reads, {Count("job", "GET")} job reads"));
}

if (which is "f" or "all")
{
    // 45 messages each carrying a 4 MB file (upload sessions), against the sandbox's 150 MB per 5 minutes budget:
    // the most uploaded in any 5-minute window at the sandbox, and whether Graph had to refuse anything.
    await using var hrbc = await HrbcSandboxHost.StartAsync();
    await using var graph = await GraphSandboxHost.StartAsync();
    using var api = Api.Start(hrbc, graph, redis, new() { ["Sending:MessagesPerMinute"] = "10000" });
    var big = new byte[4 * 1024 * 1024];
    new Random(1).NextBytes(big);
    var upload = await api.UploadAsync("会社案内.pdf", big);
    var ids = Enumerable.Range(10001, 60).Select(i => (long)i).ToList();
    var sw = Stopwatch.StartNew();
    var id = await api.SubmitAsync(new
    {
        mode = "Resumes", scope = new { kind = "Checked", ids }, mailFields = new[] { "Resume.P_Mail" },
        subject = "会社案内", body = "<p>{{Person.P_Name}}様</p>", attachments = new { uploadIds = new[] { upload } },
    });
    var status = await api.WaitAsync(id, "Completed", TimeSpan.FromMinutes(30));
    var sentAt = graph.Sandbox.Sent().Select(m => m.SentAt!.Value).Order().ToList();
    var perWindow = sentAt.Select((t, i) => sentAt.Skip(i).TakeWhile(u => u - t < TimeSpan.FromMinutes(5)).Count()).Max();
    var refused = graph.Sandbox.Requests.Count(r => r.Status == 429);
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"(f) {status.GetProperty("sent").GetInt32()} messages with a 4 MB file in {sw.Elapsed.TotalMinutes:F1} min: at most {perWindow} sent " +
        $"({perWindow * 4} MB uploaded) in any 5 minutes against a 150 MB budget, {refused} requests refused with 429"));
}

foreach (var r in results)
{
    Console.WriteLine(r);
}


static async Task<string> ThroughputAsync(Redis redis, TimeSpan latency, string label, int rounds = 2)
{
    await using var hrbc = await HrbcSandboxHost.StartAsync();
    await using var graph = await GraphSandboxHost.StartAsync();
    graph.Sandbox.Faults.Latency = latency;
    var ids = Enumerable.Range(10001, 1200).Select(i => (long)i).ToList();
    using var api = Api.Start(hrbc, graph, redis, new() { ["Sending:MessagesPerMinute"] = "10000", ["Sending:DailyRecipientLimit"] = "1000000" });
    var client = new GraphServiceClient(GraphClientFactory.Create(GraphClientFactory.CreateDefaultHandlers()), new AnonymousAuthenticationProvider(),
        graph.BaseUrl.AbsoluteUri.TrimEnd('/'));
    // Cold: the first mailing of a fresh API process, as (a) always measured it — tier-0 code and the JIT of everything
    // a message touches are in it. Warm: the same mailing again in the same processes, the bare loop again too — what
    // a server that has been up for a while does.
    var lines = new List<string>();
    foreach (var phase in Enumerable.Range(0, Math.Max(1, rounds)).Select(r => r == 0 ? "cold" : rounds == 2 ? "warm" : $"warm {r}"))
    {
        graph.Sandbox.Clear();
        var engine = await EngineRunAsync(api, redis, graph, ids);
        var bareRate = await BareLoopAsync(client, graph, engine.Sent);
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"{label} {phase}: throughput, pacing off, concurrency 4, Graph latency {latency.TotalMilliseconds:F0} ms, {engine.Sent} messages: engine {engine.Rate:F1} msg/s while sending (submit to Completed {engine.Seconds:F1} s incl. expansion), bare SDK loop {bareRate:F1} msg/s, ratio {engine.Rate / bareRate:F2} (goal ≥ 0.8); {engine.PerMessage}"));
    }
    return string.Join(Environment.NewLine, lines);
}

// One Newsletter mailing through the API, submit to Completed: its rate while sending and what each message cost.
static async Task<(int Sent, double Rate, double Seconds, string PerMessage)> EngineRunAsync(Api api, Redis redis, GraphSandboxHost graph, List<long> ids)
{
    var commandsBefore = redis.CommandStats();
    var graphBefore = graph.Sandbox.Requests.Count;
    var (apiCpuBefore, redisCpuBefore, benchCpuBefore) = (Api.CpuTicksOf(api.Pid), redis.CpuTicks(), Process.GetCurrentProcess().TotalProcessorTime);
    var sw = Stopwatch.StartNew();
    var id = await api.SubmitAsync(Api.Newsletter(ids));
    var status = await api.WaitAsync(id, "Completed", TimeSpan.FromMinutes(10));
    var seconds = sw.Elapsed.TotalSeconds;
    var sent = status.GetProperty("sent").GetInt32();
    // Per message, submit to Completed (expansion, the bench's status polls and the INFO itself included): what the
    // engine asks of Redis and Graph, and the CPU each process spends, for each message it sends.
    var commandsAfter = redis.CommandStats();
    const double tick = 100.0; // USER_HZ: /proc's clock ticks on Linux
    var apiCpuMs = (Api.CpuTicksOf(api.Pid) - apiCpuBefore) * 1000 / tick / sent;
    var redisCpuMs = (redis.CpuTicks() - redisCpuBefore) * 1000 / tick / sent;
    var benchCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - benchCpuBefore).TotalMilliseconds / sent;
    var graphPerMessage = (graph.Sandbox.Requests.Count - graphBefore) / (double)sent;
    var perCommand = commandsAfter.Select(c => (Name: c.Key, Calls: c.Value - commandsBefore.GetValueOrDefault(c.Key)))
        .Where(c => c.Calls > 0).OrderByDescending(c => c.Calls).ToList();
    var commandsPerMessage = perCommand.Sum(c => c.Calls) / (double)sent;
    var commandList = string.Join(", ", perCommand.Take(14).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} {c.Calls / (double)sent:F2}")));
    return (sent, Rate(graph.Sandbox.Sent("demo@bulkmail.example")), seconds, string.Create(CultureInfo.InvariantCulture,
        $"per message: {commandsPerMessage:F2} Redis commands ({commandList}), {graphPerMessage:F2} Graph requests; " +
        $"CPU per message: API {apiCpuMs:F2} ms, redis-server {redisCpuMs:F2} ms, bench process (sandboxes) {benchCpuMs:F2} ms"));
}

// The same protocol (draft with immutable id + send, SDK retry off) in a bare loop, 4 in parallel.
static async Task<double> BareLoopAsync(GraphServiceClient client, GraphSandboxHost graph, int count)
{
    var queue = new System.Collections.Concurrent.ConcurrentQueue<int>(Enumerable.Range(0, count));
    await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
    {
        while (queue.TryDequeue(out var n))
        {
            var draft = await client.Users["bare@bulkmail.example"].Messages.PostAsync(new Message
            {
                Subject = $"bare {n}",
                Body = new ItemBody { ContentType = BodyType.Html, Content = "<p>bare</p>" },
                ToRecipients = [new Recipient { EmailAddress = new EmailAddress { Address = $"bare{n}@example.jp" } }],
            }, rc => { rc.Headers.Add("Prefer", "IdType=\"ImmutableId\""); rc.Options.Add(new RetryHandlerOption { MaxRetry = 0 }); });
            await client.Users["bare@bulkmail.example"].Messages[draft!.Id].Send.PostAsync(rc => rc.Options.Add(new RetryHandlerOption { MaxRetry = 0 }));
        }
    }));
    return Rate(graph.Sandbox.Sent("bare@bulkmail.example"));
}

// Throughput while sending: from the first to the last message the sandbox received (expansion excluded).
static double Rate(IReadOnlyList<SandboxMessage> m) =>
    (m.Count - 1) / (m.Max(x => x.SentAt!.Value) - m.Min(x => x.SentAt!.Value)).TotalSeconds;

sealed class Redis : IDisposable
{
    private readonly string _arguments;
    private Process _process;
    public string ConnectionString { get; }
    public int Port { get; }
    public int Pid => _process.Id;

    private Redis(Process p, int port, string arguments)
    {
        _process = p;
        Port = port;
        _arguments = arguments;
        ConnectionString = $"127.0.0.1:{port}";
    }

    /// <summary>A redis-server on a free loopback port; no persistence unless <paramref name="persistence"/> gives
    /// the options (e.g. AOF for the reliability suite).</summary>
    public static Redis Start(string persistence = "--save \"\" --appendonly no")
    {
        var port = Api.FreePort();
        var arguments = $"--port {port} --bind 127.0.0.1 {persistence}";
        var redis = new Redis(Launch(arguments), port, arguments);
        redis.WaitUntilUp();
        return redis;
    }

    private static Process Launch(string arguments) =>
        Process.Start(new ProcessStartInfo("redis-server", arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;

    private void WaitUntilUp()
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                // Loading an AOF can take a moment: up only once PING answers PONG (a loading server says LOADING).
                if (Command("PING").StartsWith("+PONG", StringComparison.Ordinal)) { return; }
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(100);
        }
        throw new InvalidOperationException($"redis-server on port {Port} did not start");
    }

    /// <summary>SIGKILL: no shutdown save, no AOF rewrite — a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    /// <summary>The same server (port, options, data directory) started again after <see cref="Kill"/>.</summary>
    public void Restart()
    {
        Kill();
        _process.Dispose();
        _process = Launch(_arguments);
        WaitUntilUp();
    }

    /// <summary>INFO stats' total_commands_processed, over a fresh plain socket so no client library adds commands of
    /// its own (keep-alive pings, handshakes); the INFO itself counts once in the next reading.</summary>
    public long TotalCommandsProcessed()
    {
        var info = Command("INFO", "stats");
        var line = info.Split('\n').First(l => l.StartsWith("total_commands_processed:", StringComparison.Ordinal));
        return long.Parse(line["total_commands_processed:".Length..].Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>Calls per command name (INFO commandstats; a script's inner calls are counted under their own names,
    /// its EVALSHA once), over a plain socket like <see cref="TotalCommandsProcessed"/>.</summary>
    public Dictionary<string, long> CommandStats()
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in Command("INFO", "commandstats").Split('\n').Select(l => l.Trim()))
        {
            // cmdstat_NAME:calls=N,usec=...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal) && line.IndexOf(":calls=", StringComparison.Ordinal) is var at and > 0)
            {
                var rest = line[(at + ":calls=".Length)..];
                calls[line["cmdstat_".Length..at]] = long.Parse(rest[..rest.IndexOf(',', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            }
        }
        return calls;
    }

    /// <summary>One RESP command; the reply as text (a bulk string's content, or the status line).</summary>
    public string Command(params string[] parts)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, Port);
        using var stream = client.GetStream();
        var request = new System.Text.StringBuilder($"*{parts.Length}\r\n");
        foreach (var part in parts)
        {
            request.Append(CultureInfo.InvariantCulture, $"${System.Text.Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }
        stream.Write(System.Text.Encoding.UTF8.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        var head = reader.ReadLine() ?? throw new IOException("redis closed the connection");
        if (!head.StartsWith('$'))
        {
            return head;
        }
        var length = int.Parse(head[1..], CultureInfo.InvariantCulture);
        var buffer = new char[length];
        var read = 0;
        while (read < length)
        {
            var n = reader.Read(buffer, read, length - read);
            if (n == 0) { throw new IOException("redis closed the connection"); }
            read += n;
        }
        return new string(buffer);
    }

    /// <summary>utime + stime of the redis-server process in clock ticks.</summary>
    public long CpuTicks() => Api.CpuTicksOf(Pid);

    public void Dispose() { Kill(); _process.Dispose(); }
}

sealed class Api : IDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;

    private Api(Process process, HttpClient http) { _process = process; _http = http; }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Instances given the same <paramref name="prefix"/> share one store (several API processes); by default
    /// each gets its own.</summary>
    /// <param name="log">A file for the process's output (its warnings and errors), else it is discarded.</param>
    public static Api Start(HrbcSandboxHost hrbc, GraphSandboxHost graph, Redis redis, Dictionary<string, string> extra, string? prefix = null,
        string? log = null)
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "BulkMail.Api.dll");
        var info = new ProcessStartInfo("dotnet", $"\"{dll}\"") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        var settings = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}", ["ASPNETCORE_ENVIRONMENT"] = "Development", ["Logging__LogLevel__Default"] = "Warning",
            ["Hrbc__BaseUrl"] = hrbc.BaseUrl.ToString(), ["Hrbc__AppId"] = "bulkmail-demo", ["Hrbc__Secret"] = "sandbox-secret", ["Hrbc__Partition"] = "1234",
            ["Graph__BaseUrl"] = graph.BaseUrl.ToString(), ["Graph__Auth"] = "None", ["Auth__Mode"] = "Development",
            ["ConnectionStrings__Redis"] = redis.ConnectionString, ["Store__KeyPrefix"] = prefix ?? $"bench:{Guid.NewGuid():N}:",
        };
        foreach (var (k, v) in extra)
        {
            settings[k.Replace(":", "__", StringComparison.Ordinal)] = v;
        }
        foreach (var (k, v) in settings)
        {
            info.Environment[k] = v;
        }
        var p = Process.Start(info)!;
        var writer = log is null ? null : TextWriter.Synchronized(new StreamWriter(log, append: false) { AutoFlush = true });
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { writer?.WriteLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { writer?.WriteLine(e.Data); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                if (http.GetAsync("/openapi/v1.json").Result.IsSuccessStatusCode) { break; }
            }
            catch (Exception e) when (e is HttpRequestException or AggregateException) { }
            Thread.Sleep(200);
        }
        return new Api(p, http);
    }

    public static object Newsletter(IEnumerable<long> ids) => new
    {
        mode = "Resumes", scope = new { kind = "Checked", ids }, mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様へ お知らせ", body = "<p>{{Person.P_Name}}様</p><p>{{User.P_Name}}です。</p>",
    };

    public async Task<string> SubmitAsync(object body)
    {
        var r = await _http.PostAsJsonAsync("/api/mailings", body);
        var text = await r.Content.ReadAsStringAsync();
        if (r.StatusCode != HttpStatusCode.Accepted) { throw new InvalidOperationException(text); }
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    public async Task<string> CsvAsync(string id) => await _http.GetStringAsync($"/api/mailings/{id}/results.csv");

    public async Task<string> UploadAsync(string name, byte[] content)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(content), "file", name);
        var response = await _http.PostAsync("/api/uploads", form);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async Task PreviewAsync(object body) => (await _http.PostAsJsonAsync("/api/mailings/preview", body)).EnsureSuccessStatusCode();

    public async Task<JsonElement> StatusAsync(string id) => await _http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}");

    public async Task<JsonElement> WaitAsync(string id, string state, TimeSpan timeout, params string[] orStates)
    {
        var until = DateTime.UtcNow + timeout;
        JsonElement s;
        do
        {
            s = await StatusAsync(id);
            var now = s.GetProperty("state").GetString();
            if (now == state || orStates.Contains(now)) { return s; }
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < until);
        throw new TimeoutException(s.ToString());
    }

    /// <summary>VmHWM: the most resident memory the process has had.</summary>
    public double PeakRssMb() =>
        File.ReadLines($"/proc/{_process.Id}/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).First();

    /// <summary>A request as the signed-in <paramref name="user"/> (Development sign-in: the X-BulkMail-User header
    /// names the user, whose mailbox then sends).</summary>
    public async Task<HttpResponseMessage> AsUserAsync(HttpMethod method, string path, object? body, string user, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-BulkMail-User", user);
        return await _http.SendAsync(request, cancellationToken);
    }

    public async Task<JsonElement> StatusAsync(string id, string user, CancellationToken cancellationToken)
    {
        using var response = await AsUserAsync(HttpMethod.Get, $"/api/mailings/{id}", null, user, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <summary>utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15, counted after the
    /// parenthesised name, which may itself hold spaces).</summary>
    public static long CpuTicksOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime 15
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    public long CpuTicks() => CpuTicksOf(Pid);

    /// <summary>SIGKILL: no shutdown hooks, leases left as they are — a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _http.Dispose();
    }
}
