using System.Diagnostics;
using System.Globalization;
using System.Net;
using BulkMail.Sandbox.Graph;
using BulkMail.Sandbox.Hrbc;

/// <summary>
/// (h) 1 vs N instances on CPU-bound sending: pacing off (<c>Sending:MessagesPerMinute</c> 1,000,000), the Graph
/// sandbox answering at once, N API processes on one redis-server (one key prefix). Two cases: <c>one</c> — one mailing
/// of 1,000 messages from one mailbox; <c>eight</c> — eight mailings of 1,000 from eight mailboxes at once;
/// <c>eight-capped</c> — the same with <c>Sending:MaxMailingsPerInstance</c> = ⌈8 / N⌉, so no instance can take every
/// due mailing in one take (a configuration experiment: what sharing would give). Every
/// mailing is submitted held and started for one common sendAt, so expansion is over and all begin together; the time
/// measured runs from sendAt to the last message Graph received (and to the last mailing Completed). The instance
/// counts run back to back per case, so each speed-up compares runs at about the same machine load. Measured from
/// outside only: HTTP, the Graph sandbox and /proc. A small warm-up mailing first JITs the sandboxes in this process,
/// so the first measured run does not pay for it. Usage: speedup [cases: one,eight,eight-capped] [instances: 1,3] [runs: 1].
/// </summary>
static class SpeedupBench
{
    private const int MessagesPerMailing = 1000;
    private const int WarmUpMessages = 100;

    private sealed record Run(string Case, int Instances, int PerMailing, int Messages, int Sent, int Duplicates, int Completed, int Mailings, TimeSpan FirstSend,
        TimeSpan LastSend, TimeSpan? AllCompleted, List<double> ApiCpu, double RedisCpu, double BenchCpu, string LoadBefore, string LoadAfter);

    public static async Task<List<string>> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var cases = args.Length > 0 ? args[0].Split(',', StringSplitOptions.RemoveEmptyEntries) : ["one", "eight", "eight-capped"];
        var instances = args.Length > 1 ? [.. args[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture))] : new[] { 1, 3 };
        var repeats = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        var lines = new List<string>();
        ScaleBench.Log($"(h) warm-up: {Line(await RunOneAsync("warm-up", 1, 1, WarmUpMessages, capped: false, cancellationToken), null)}");
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var name in cases)
            {
                var mailings = name switch
                {
                    "one" => 1,
                    "eight" or "eight-capped" => 8,
                    _ => throw new ArgumentException($"unknown case {name}: one, eight or eight-capped"),
                };
                var runs = new List<Run>();
                foreach (var n in instances)
                {
                    var run = await RunOneAsync(name, mailings, n, MessagesPerMailing, name == "eight-capped", cancellationToken);
                    runs.Add(run);
                    var line = Line(run, runs[0]);
                    Console.WriteLine(line);
                    lines.Add(line);
                }
            }
        }
        return lines;
    }

    private static async Task<Run> RunOneAsync(string name, int mailings, int instanceCount, int perMailing, bool capped, CancellationToken cancellationToken)
    {
        var loadBefore = Load();
        ScaleBench.Log($"(h) {name}: {mailings} mailing(s) on {instanceCount} instance(s) (load {loadBefore})");
        using var redis = Redis.Start();
        // More resumes than the 1,000 recipients need: PickRecipients takes only plain, distinct, valid addresses.
        await using var hrbc = await HrbcSandboxHost.StartAsync(new HrbcSandboxOptions { ResumeCount = 2500, ReadsPerMinute = 1_000_000 }, ct: cancellationToken);
        await using var graph = await GraphSandboxHost.StartAsync(ct: cancellationToken);
        var recipients = ScaleBench.PickRecipients(hrbc.Sandbox, perMailing);
        var prefix = $"bench:{Guid.NewGuid():N}:";
        var apis = new List<Api>();
        try
        {
            for (var i = 0; i < instanceCount; i++)
            {
                var settings = new Dictionary<string, string>
                {
                    ["Sending:MessagesPerMinute"] = "1000000", ["Sending:DailyRecipientLimit"] = "1000000", ["Hrbc:ReadsPerMinute"] = "2000",
                };
                if (capped)
                {
                    settings["Sending:MaxMailingsPerInstance"] = ((mailings + instanceCount - 1) / instanceCount).ToString(CultureInfo.InvariantCulture);
                }
                apis.Add(Api.Start(hrbc, graph, redis, settings, prefix, Path.Combine(Path.GetTempPath(), $"bulkmail-bench-speedup-{name}x{instanceCount}-api{i}.log")));
            }
            Api ApiOf(int i) => apis[i % apis.Count];

            var ids = new string[mailings];
            for (var i = 0; i < mailings; i++)
            {
                using var r = await ApiOf(i).AsUserAsync(HttpMethod.Post, "/api/mailings", new
                {
                    mode = "Resumes", scope = new { kind = "Checked", ids = recipients.Keys }, mailFields = new[] { "Resume.P_Mail" },
                    subject = "{{Person.P_Name}}様へ お知らせ", body = "<p>{{Person.P_Name}}様</p><p>{{User.P_Name}}です。</p>", hold = true,
                }, ScaleBench.User(i), cancellationToken);
                var text = await r.Content.ReadAsStringAsync(cancellationToken);
                if (r.StatusCode != HttpStatusCode.Accepted) { throw new InvalidOperationException($"submit {i}: {(int)r.StatusCode} {text}"); }
                ids[i] = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
            }
            await ScaleBench.WaitForStatesAsync(ids, ApiOf, ["Ready"], TimeSpan.FromMinutes(5), cancellationToken);

            // One common sendAt a few seconds ahead: every mailing waits in Scheduled until then, so all begin together
            // and the instances that take them start from the same instant.
            var sendAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5);
            var sendAtText = sendAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            for (var i = 0; i < mailings; i++)
            {
                using var r = await ApiOf(i).AsUserAsync(HttpMethod.Post, $"/api/mailings/{ids[i]}/start", new { sendAt = sendAtText, undoSeconds = 0 },
                    ScaleBench.User(i), cancellationToken);
                if (!r.IsSuccessStatusCode) { throw new InvalidOperationException($"start {i}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(cancellationToken)}"); }
            }
            if (DateTimeOffset.UtcNow > sendAt) { ScaleBench.Log("  WARNING: the starts ended after sendAt"); }
            await Task.Delay(Max(sendAt - DateTimeOffset.UtcNow, TimeSpan.Zero), cancellationToken);
            var cpuBefore = apis.Select(a => a.CpuTicks()).ToList();
            var redisBefore = redis.CpuTicks();
            var benchBefore = Process.GetCurrentProcess().TotalProcessorTime;

            // The sandbox is in this process: counting its messages costs the API nothing. Completed is read over HTTP
            // only once Graph has every message, so the status polls do not compete with the sending.
            var total = mailings * perMailing;
            var deadline = sendAt + TimeSpan.FromMinutes(10);
            while (graph.Sandbox.Sent().Count < total && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
            TimeSpan? allCompleted = null;
            while (DateTimeOffset.UtcNow < deadline)
            {
                if (await ScaleBench.CountStatesAsync(ids, ApiOf, "Completed", cancellationToken) == mailings)
                {
                    allCompleted = DateTimeOffset.UtcNow - sendAt;
                    break;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
            var tick = ScaleBench.ClockTicksPerSecond();
            var apiCpu = apis.Zip(cpuBefore, (a, b) => (a.CpuTicks() - b) / tick).ToList();
            var redisCpu = (redis.CpuTicks() - redisBefore) / tick;
            var benchCpu = (Process.GetCurrentProcess().TotalProcessorTime - benchBefore).TotalSeconds;
            var sent = graph.Sandbox.Sent();
            var duplicates = sent.GroupBy(m => (m.Mailbox.ToUpperInvariant(), m.To[0].ToUpperInvariant())).Sum(g => g.Count() - 1);
            var completed = await ScaleBench.CountStatesAsync(ids, ApiOf, "Completed", cancellationToken);
            return new Run(name, instanceCount, perMailing, total, sent.Count, duplicates, completed, mailings,
                sent.Count > 0 ? sent.Min(m => m.SentAt!.Value) - sendAt : TimeSpan.Zero,
                sent.Count > 0 ? sent.Max(m => m.SentAt!.Value) - sendAt : TimeSpan.Zero,
                allCompleted, apiCpu, redisCpu, benchCpu, loadBefore, Load());
        }
        finally
        {
            foreach (var api in apis)
            {
                api.Dispose();
            }
        }
    }

    private static string Line(Run r, Run? baseline)
    {
        var toCompleted = r.AllCompleted is { } c && baseline?.AllCompleted is { } b
            ? string.Create(CultureInfo.InvariantCulture, $", {b / c:F2}× to Completed") : "";
        var speedup = baseline is null || r.Instances == baseline.Instances ? ""
            : string.Create(CultureInfo.InvariantCulture,
                $"; speed-up vs {baseline.Instances} instance(s): {baseline.LastSend / r.LastSend:F2}× to the last send{toCompleted}");
        var wall = r.AllCompleted is { } done ? string.Create(CultureInfo.InvariantCulture, $"{done.TotalSeconds:F1} s") : "not within 10 min";
        return string.Create(CultureInfo.InvariantCulture,
            $"(h) {r.Case}: {r.Mailings} mailing(s) × {r.PerMailing} on {r.Instances} instance(s), pacing off, Graph latency 0: " +
            $"{r.Sent}/{r.Messages} sent, {r.Duplicates} duplicates, {r.Completed}/{r.Mailings} Completed; " +
            $"from sendAt: first send {r.FirstSend.TotalSeconds:F1} s, last send {r.LastSend.TotalSeconds:F1} s ({(r.Sent - 1) / (r.LastSend - r.FirstSend).TotalSeconds:F0} msg/s first to last), all Completed {wall}; " +
            $"CPU s: API {string.Join(" + ", r.ApiCpu.Select(c => c.ToString("F1", CultureInfo.InvariantCulture)))} (busiest {r.ApiCpu.Max() / r.ApiCpu.Sum() * 100:F0} %), redis-server {r.RedisCpu:F1}, bench + sandboxes {r.BenchCpu:F1}; " +
            $"load {r.LoadBefore} before, {r.LoadAfter} after{speedup}");
    }

    private static string Load() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
