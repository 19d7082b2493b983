using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using BulkMail.Sandbox.Graph;
using BulkMail.Sandbox.Hrbc;

/// <summary>
/// (g) scale: M mailboxes (one signed-in user each, Development sign-in) each send one mailing of 43 messages at the
/// default pace (30 a minute) through N API instances sharing one redis-server, Graph answering every call after
/// 150 ms. All are submitted held and then started for one common sendAt a little ahead, so every mailing begins at
/// the same instant. Measured only from outside the engine — HTTP, the sandboxes and redis INFO — so it runs unchanged
/// against any engine: Redis commands per second per waiting mailing and API CPU while every mailing waits for its
/// next pacing window, then sent, duplicates and missing per (mailbox, recipient), and each mailbox's achieved rate.
/// Usage: scale [mailboxes, comma-separated; default 20,100] [instances; default 1,3].
/// </summary>
static partial class ScaleBench
{
    private const int MessagesPerMailbox = 43;
    private const int PerWindow = 30; // Sending:MessagesPerMinute's default
    private static readonly TimeSpan GraphLatency = TimeSpan.FromMilliseconds(150);
    // The least time the limiter allows between the sandbox's receipts of message k and k + 30: the window counts k from
    // its send's answer (the sandbox answers as it takes it), a minute + Sending:PacingMargin's default 0.25 s, and
    // message k + 30's own send call takes GraphLatency before the sandbox takes it.
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1) + TimeSpan.FromMilliseconds(250) + GraphLatency;

    public static async Task<List<string>> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var sizes = args.Length > 0 ? Ints(args[0]) : [20, 100];
        var instances = args.Length > 1 ? Ints(args[1]) : [1, 3];
        var results = new List<string>();
        foreach (var n in instances)
        {
            foreach (var m in sizes)
            {
                var line = await RunOneAsync(m, n, cancellationToken);
                Console.WriteLine(line); // as it comes: a long series should not lose the finished runs
                results.Add(line);
            }
        }
        return results;
    }

    private static int[] Ints(string list) => [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture))];

    internal static string User(int i) => $"m{i:D4}@bulkmail.example";

    private static async Task<string> RunOneAsync(int mailboxes, int instanceCount, CancellationToken cancellationToken)
    {
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var clock = Stopwatch.StartNew();
        Log($"(g) M={mailboxes} N={instanceCount}: starting (load {load})");
        using var redis = Redis.Start();
        // Every mailbox sends to the same 43 candidates (duplicates are counted per mailbox and recipient); HRBC's
        // read limit is the API's to keep, not the point here.
        await using var hrbc = await HrbcSandboxHost.StartAsync(new HrbcSandboxOptions { ReadsPerMinute = 1_000_000 }, ct: cancellationToken);
        await using var graph = await GraphSandboxHost.StartAsync(ct: cancellationToken);
        graph.Sandbox.Faults.Latency = GraphLatency;
        var recipients = PickRecipients(hrbc.Sandbox, MessagesPerMailbox);
        var prefix = $"bench:{Guid.NewGuid():N}:";
        var apis = new List<Api>();
        try
        {
            for (var i = 0; i < instanceCount; i++)
            {
                apis.Add(Api.Start(hrbc, graph, redis, new() { ["Hrbc:ReadsPerMinute"] = "2000" }, prefix,
                    Path.Combine(Path.GetTempPath(), $"bulkmail-bench-scale-{mailboxes}x{instanceCount}-api{i}.log")));
            }
            Api ApiOf(int i) => apis[i % apis.Count];

            // Held first, so every scope is read before any sending starts: the waiting phase then has all mailings
            // in it at once (HRBC's 2,000 reads a minute would otherwise spread the starts over minutes at M=1,000).
            var ids = new string[mailboxes];
            var startErrors = 0; // submits and starts answered 5xx (then sent again)
            await Parallel.ForEachAsync(Enumerable.Range(0, mailboxes), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    // A 5xx is submitted again with the same idempotency key, so it never makes a second mailing.
                    for (var attempt = 0; ; attempt++)
                    {
                        using var r = await ApiOf(i + attempt).AsUserAsync(HttpMethod.Post, "/api/mailings", new
                        {
                            mode = "Resumes", scope = new { kind = "Checked", ids = recipients.Keys }, mailFields = new[] { "Resume.P_Mail" },
                            subject = "{{Person.P_Name}}様へ お知らせ", body = "<p>{{Person.P_Name}}様</p><p>{{User.P_Name}}です。</p>", hold = true,
                            idempotencyKey = $"scale-{i}",
                        }, User(i), ct);
                        var text = await r.Content.ReadAsStringAsync(ct);
                        if (r.StatusCode == HttpStatusCode.Accepted)
                        {
                            ids[i] = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
                            return;
                        }
                        if ((int)r.StatusCode < 500 || attempt == 4) { throw new InvalidOperationException($"submit {i}: {(int)r.StatusCode} {text}"); }
                        Interlocked.Increment(ref startErrors);
                        await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    }
                });
            Log($"  submitted {mailboxes} held mailings at {clock.Elapsed.TotalSeconds:F0} s");
            await WaitForStatesAsync(ids, ApiOf, ["Ready"], TimeSpan.FromMinutes(10), cancellationToken);
            Log($"  all Ready at {clock.Elapsed.TotalSeconds:F0} s");

            // A common start: every mailing is started with the same sendAt a little ahead (docs/scheduling.md), so it
            // waits in Scheduled and all begin together when the instant comes, however long the M starts take. The
            // lead is a guess at the starts' time (plus a margin); the report says whether they finished in time.
            var lead = TimeSpan.FromSeconds(10 + 0.05 * mailboxes);
            var startsBegan = DateTimeOffset.UtcNow;
            var sendAt = startsBegan + lead;
            var sendAtText = sendAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            await Parallel.ForEachAsync(Enumerable.Range(0, mailboxes), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    // As a user would: a 5xx is pressed again (on the next instance) with the same sendAt — while it is
                    // Scheduled with nothing handed over, a second start only sets the same schedule again; a 409 then
                    // means the first one started it and it has begun.
                    for (var attempt = 0; ; attempt++)
                    {
                        using var r = await ApiOf(i + attempt).AsUserAsync(HttpMethod.Post, $"/api/mailings/{ids[i]}/start",
                            new { sendAt = sendAtText, undoSeconds = 0 }, User(i), ct);
                        if (r.IsSuccessStatusCode || (attempt > 0 && r.StatusCode == HttpStatusCode.Conflict)) { return; }
                        if ((int)r.StatusCode < 500 || attempt == 4)
                        {
                            throw new InvalidOperationException($"start {i}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync(ct)}");
                        }
                        Interlocked.Increment(ref startErrors);
                        await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    }
                });
            var startsEnded = DateTimeOffset.UtcNow;
            var startSpread = startsEnded - startsBegan;
            var margin = sendAt - startsEnded;
            Log(string.Create(CultureInfo.InvariantCulture,
                $"  started all for sendAt {sendAtText} in {startSpread.TotalSeconds:F1} s, {margin.TotalSeconds:F1} s before it ({startErrors} submits or starts answered 5xx and were sent again)"));
            if (margin < TimeSpan.Zero)
            {
                Log("  WARNING: the starts ended after sendAt: the first mailings may have begun before the last were started");
            }
            var started = sendAt;

            // Phase 1: every mailbox uses its first window (30 messages), then all wait for the next.
            var waiting = await WaitForAllWaitingAsync(graph.Sandbox, mailboxes, started + TimeSpan.FromMinutes(5), cancellationToken);
            var quiet = "no all-waiting phase";
            if (waiting.AllWaitingAt is { } allWaiting)
            {
                var from = allWaiting + TimeSpan.FromSeconds(1);
                // Measured until the first Graph request after it; at the latest a window after the first request.
                var until = graph.Sandbox.Requests.Min(r => r.At) + Window + TimeSpan.FromSeconds(5);
                if (until - from >= TimeSpan.FromSeconds(3))
                {
                    quiet = await MeasureQuietAsync(redis, apis, graph.Sandbox, from, until, mailboxes, cancellationToken);
                }
                else
                {
                    quiet = string.Create(CultureInfo.InvariantCulture,
                        $"all-waiting phase too short to measure ({(until - allWaiting).TotalSeconds:F1} s: the first windows took {(allWaiting - waiting.FirstSent).TotalSeconds:F0} s)");
                }
            }
            else
            {
                quiet = string.Create(CultureInfo.InvariantCulture,
                    $"no all-waiting phase: {waiting.Full} of {mailboxes} mailboxes had used their first window when the earliest reopened");
            }
            Log($"  {quiet}");

            // Phase 2: the rest of every mailing (13 each), then the final states.
            var deadline = started + TimeSpan.FromMinutes(2 + mailboxes / 100.0);
            while (DateTimeOffset.UtcNow < deadline && graph.Sandbox.Sent().Count < mailboxes * MessagesPerMailbox)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
            var sent = graph.Sandbox.Sent();
            if (Environment.GetEnvironmentVariable("BULKMAIL_BENCH_DUMP") is { Length: > 0 } dump)
            {
                // every send's mailbox and time (ms after sendAt), for a closer look at the pacing than the summary gives
                await File.WriteAllLinesAsync(dump, sent.Select(m => string.Create(CultureInfo.InvariantCulture,
                    $"{m.Mailbox},{(m.SentAt!.Value - sendAt).TotalMilliseconds:F1}")), cancellationToken);
            }
            var lastSent = sent.Count > 0 ? sent.Max(m => m.SentAt!.Value) : started;
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            var completed = await CountStatesAsync(ids, ApiOf, "Completed", cancellationToken);
            var common = new CommonStart(sendAt, startSpread, margin, sent.Count(m => m.SentAt!.Value < sendAt));
            return Report(mailboxes, instanceCount, load, sent, recipients.Values, quiet, lastSent - started, completed, graph.Sandbox.Requests.Count(r => r.Status == 429),
                clock.Elapsed, common, startErrors);
        }
        finally
        {
            foreach (var api in apis)
            {
                api.Dispose();
            }
        }
    }

    private sealed record Waiting(DateTimeOffset? AllWaitingAt, DateTimeOffset FirstSent, int Full);

    /// <summary>Until every mailbox has sent exactly its first window and Graph has had no request for half a second
    /// (nothing in flight; not "no drafts", which an engine may leave behind) — or some mailbox sends its 31st
    /// message first, in which case the phase never came.</summary>
    private static async Task<Waiting> WaitForAllWaitingAsync(GraphSandbox graph, int mailboxes, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var full = 0;
        DateTimeOffset? first = null;
        var requests = -1;
        while (DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            var before = requests;
            requests = graph.Requests.Count;
            var sent = graph.Sent();
            if (sent.Count == 0) { continue; }
            first = sent.Min(m => m.SentAt!.Value);
            var counts = sent.GroupBy(m => m.Mailbox, StringComparer.OrdinalIgnoreCase).Select(g => g.Count()).ToList();
            full = counts.Count(c => c >= PerWindow);
            if (counts.Any(c => c > PerWindow))
            {
                return new Waiting(null, first.Value, full);
            }
            if (full == mailboxes && requests == before)
            {
                return new Waiting(DateTimeOffset.UtcNow, first.Value, full);
            }
        }
        return new Waiting(null, first ?? DateTimeOffset.UtcNow, full);
    }

    /// <summary>From <paramref name="from"/> the bench calls nothing but one INFO a second and reads /proc, until the
    /// first Graph request after it (a window reopened: the quiet phase is over) or <paramref name="until"/>: Redis
    /// commands per second per waiting mailing and the API processes' and redis-server's CPU over the seconds in
    /// which no mailbox sent anything.</summary>
    private static async Task<string> MeasureQuietAsync(Redis redis, List<Api> apis, GraphSandbox graph, DateTimeOffset from, DateTimeOffset until,
        int mailboxes, CancellationToken cancellationToken)
    {
        await Task.Delay(Max(from - DateTimeOffset.UtcNow, TimeSpan.Zero), cancellationToken);
        var graphRequests = graph.Requests.Count;
        var sw = Stopwatch.StartNew();
        var first = Sample(redis, apis, 0.0);
        var samples = new List<(double At, long Commands, Dictionary<string, long> Calls, List<long> Cpu, long Redis)> { first };
        while (DateTimeOffset.UtcNow < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var sample = Sample(redis, apis, sw.Elapsed.TotalSeconds);
            if (graph.Requests.Count != graphRequests)
            {
                // This second saw sending, and the one before may hold the reopening window's grants and claims
                // (they come just before the Graph request): neither is quiet.
                samples.RemoveAt(samples.Count - 1);
                break;
            }
            samples.Add(sample);
        }
        if (samples.Count == 0) { samples.Add(first); }
        var last = samples[^1];
        var infos = samples.Count - 1; // every INFO before the last one used is counted in it
        var seconds = last.At - first.At;
        if (seconds < 3)
        {
            return string.Create(CultureInfo.InvariantCulture, $"all-waiting phase too short to measure ({seconds:F0} s without Graph requests)");
        }
        // Every INFO but the last one read is in the last reading.
        var perSecond = (last.Commands - first.Commands - infos) / seconds;
        var tick = ClockTicksPerSecond();
        // Which commands they were (scripts' inner calls included, as in the total; the bench's INFOs left out).
        var calls = last.Calls.Select(c => (Name: c.Key, Calls: c.Value - first.Calls.GetValueOrDefault(c.Key) - (c.Key == "info" ? infos : 0)))
            .Where(c => c.Calls > 0).OrderByDescending(c => c.Calls).Take(8)
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} {c.Calls}"));
        var perInstance = last.Cpu.Zip(first.Cpu, (a, b) => (a - b) / tick / seconds * 100).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            // Three decimals: the due index brings the total to a few commands a second, so F2 per mailing printed 0.00.
            $"while all {mailboxes} wait ({seconds:F0} s without a Graph request): {perSecond / mailboxes:F3} Redis commands/s per waiting mailing " +
            $"({perSecond:F2}/s in all: {last.Commands - first.Commands - infos} commands in {seconds:F1} s, {infos} bench INFOs left out); " +
            $"API CPU {perInstance.Sum():F0} % of a core ({string.Join(" + ", perInstance.Select(p => p.ToString("F0", CultureInfo.InvariantCulture)))}); " +
            $"redis-server {(last.Redis - first.Redis) / tick / seconds * 100:F0} %; commands: {string.Join(", ", calls)}");
    }

    /// <summary>One INFO (stats and commandstats in one command, Redis ≥ 7) and the processes' CPU.</summary>
    private static (double At, long Commands, Dictionary<string, long> Calls, List<long> Cpu, long Redis) Sample(Redis redis, List<Api> apis, double at)
    {
        var info = redis.Command("INFO", "stats", "commandstats");
        long total = 0;
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n').Select(l => l.Trim()))
        {
            if (line.StartsWith("total_commands_processed:", StringComparison.Ordinal))
            {
                total = long.Parse(line["total_commands_processed:".Length..], CultureInfo.InvariantCulture);
            }
            else if (CommandStat().Match(line) is { Success: true } m)
            {
                calls[m.Groups[1].Value] = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }
        return (at, total, calls, apis.Select(a => a.CpuTicks()).ToList(), redis.CpuTicks());
    }

    [GeneratedRegex(@"^cmdstat_([^:]+):calls=(\d+),")]
    private static partial Regex CommandStat();

    internal static double ClockTicksPerSecond()
    {
        using var p = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return double.TryParse(text, CultureInfo.InvariantCulture, out var t) && t > 0 ? t : 100;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The common scheduled start: the sendAt every mailing got, how long the M starts took, how long before
    /// sendAt they ended (negative: after it), and messages Graph received before sendAt (must be 0).</summary>
    private sealed record CommonStart(DateTimeOffset SendAt, TimeSpan Spread, TimeSpan Margin, int EarlySends);

    private static string Report(int mailboxes, int instances, string load, IReadOnlyList<SandboxMessage> sent, IEnumerable<string> expected, string quiet,
        TimeSpan lastSent, int completed, int throttled, TimeSpan wall, CommonStart common, int startErrors)
    {
        var byMailbox = sent.GroupBy(m => m.Mailbox, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
        var expectedSet = expected.ToHashSet(StringComparer.OrdinalIgnoreCase);
        long duplicates = 0, missing = 0;
        var worstGaps = new List<TimeSpan>();
        var firstSends = new List<double>(); // each mailbox's first message, seconds after sendAt
        for (var i = 0; i < mailboxes; i++)
        {
            var messages = byMailbox.GetValueOrDefault(User(i)) ?? [];
            var perRecipient = messages.GroupBy(m => m.To[0], StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
            duplicates += perRecipient.Values.Sum(c => c - 1);
            missing += expectedSet.Count(a => !perRecipient.ContainsKey(a));
            // Achieved rate once the first window has passed: message k + 30 can go no sooner than a window after
            // message k; the longest such gap is the mailbox's worst pace.
            var times = messages.Select(m => m.SentAt!.Value).Order().ToList();
            if (times.Count > 0)
            {
                firstSends.Add((times[0] - common.SendAt).TotalSeconds);
            }
            if (times.Count > PerWindow)
            {
                worstGaps.Add(Enumerable.Range(0, times.Count - PerWindow).Max(k => times[k + PerWindow] - times[k]));
            }
        }
        // The slowest mailbox has the longest gap; both ways of reading it: of the nominal 30 per minute (100 % = 60 s;
        // over 100 % breaks Microsoft's limit) and of the configured pace (100 % = Window, the least gap the limiter
        // allows).
        worstGaps.Sort((a, b) => b.CompareTo(a));
        string Rates(TimeSpan unit) => string.Create(CultureInfo.InvariantCulture,
            $"{unit / worstGaps[0] * 100:F1} / {unit / worstGaps[worstGaps.Count / 2] * 100:F1} / {unit / worstGaps[^1] * 100:F1} %");
        var rate = worstGaps.Count == 0 ? "no mailbox past its first window"
            : string.Create(CultureInfo.InvariantCulture,
                $"achieved rate after the first window (min / median / max, {worstGaps.Count} mailboxes): {Rates(TimeSpan.FromMinutes(1))} of the nominal 30/min, " +
                $"{Rates(Window)} of the configured pace (30 per {Window.TotalSeconds:F2} s between receipts; over 100 % of nominal would break the limit)");
        firstSends.Sort();
        var begin = firstSends.Count == 0 ? "nothing sent"
            : string.Create(CultureInfo.InvariantCulture,
                $"first message per mailbox {firstSends[0]:F1} / {firstSends[firstSends.Count / 2]:F1} / {firstSends[^1]:F1} s after sendAt (min / median / max), {common.EarlySends} before it");
        return string.Create(CultureInfo.InvariantCulture,
            $"(g) scale M={mailboxes} on {instances} instance(s), Graph latency {GraphLatency.TotalMilliseconds:F0} ms, load {load} at start: " +
            $"common start at sendAt (the {mailboxes} starts took {common.Spread.TotalSeconds:F1} s and ended {common.Margin.TotalSeconds:F1} s before it; {startErrors} submits/starts answered 5xx and were retried), {begin}; " +
            $"{quiet}; " +
            $"{sent.Count:N0}/{mailboxes * MessagesPerMailbox:N0} sent, {duplicates} duplicates, {missing} missing, {completed}/{mailboxes} Completed, {throttled} Graph 429s; " +
            $"{rate}; last send {lastSent.TotalSeconds:F0} s after sendAt; wall {wall.TotalMinutes:F1} min, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at the end");
    }

    /// <summary>The first <paramref name="count"/> resumes with a plain, distinct address and no opt-out (skips,
    /// malformed and shared addresses would blur the counts): resume id → address (the candidate's, which
    /// Resume.P_Mail mirrors).</summary>
    internal static Dictionary<long, string> PickRecipients(HrbcSandbox hrbc, int count)
    {
        var picked = new Dictionary<long, string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var id = 10001L; picked.Count < count; id++)
        {
            var resume = hrbc.Fields("resume", id);
            if (resume.Count == 0) { throw new InvalidOperationException($"the HRBC sandbox has fewer than {count} resumes with an address"); }
            var candidate = hrbc.Fields("candidate", long.Parse(resume["Resume.P_Candidate"], CultureInfo.InvariantCulture));
            if (resume.GetValueOrDefault("Resume.U_MailOptOut") is not { Length: > 0 }
                && candidate.GetValueOrDefault("Person.P_Mail") is { Length: > 0 } a && ValidAddress().IsMatch(a) && seen.Add(a))
            {
                picked[id] = a;
            }
        }
        return picked;
    }

    [GeneratedRegex(@"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
    private static partial Regex ValidAddress();

    internal static async Task WaitForStatesAsync(string[] ids, Func<int, Api> apiOf, string[] states, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = Enumerable.Range(0, ids.Length).ToHashSet();
        var until = DateTime.UtcNow + timeout;
        while (pending.Count > 0)
        {
            if (DateTime.UtcNow > until) { throw new TimeoutException($"{pending.Count} mailings not {string.Join("/", states)}"); }
            var done = new System.Collections.Concurrent.ConcurrentBag<int>();
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
            {
                var state = (await apiOf(i).StatusAsync(ids[i], User(i), ct)).GetProperty("state").GetString();
                if (states.Contains(state)) { done.Add(i); }
                else if (state is "Failed" or "Cancelled" or "Paused") { throw new InvalidOperationException($"mailing {i} is {state}"); }
            });
            pending.ExceptWith(done);
            if (pending.Count > 0) { await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); }
        }
    }

    internal static async Task<int> CountStatesAsync(string[] ids, Func<int, Api> apiOf, string state, CancellationToken cancellationToken)
    {
        var count = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Length), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            if ((await apiOf(i).StatusAsync(ids[i], User(i), ct)).GetProperty("state").GetString() == state) { Interlocked.Increment(ref count); }
        });
        return count;
    }

    internal static void Log(string line) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}");
}
