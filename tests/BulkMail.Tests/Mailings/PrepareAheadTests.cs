using BulkMail.Tests.Support;

namespace BulkMail.Tests.Mailings;

/// <summary>
/// Drafts made ahead of the pacing slot (<c>Sending:PrepareAhead</c>): a paced mailing wakes a little before its window
/// frees a slot, makes the next drafts then, and sends each as its slot frees, so the draft's round trip is not added
/// to every window. Real time, a short window and a slow Graph, so the difference is far larger than timer noise.
/// </summary>
public sealed class PrepareAheadTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(1200); // each Graph call, the draft's too
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3); // PacingWindow below: what "Microsoft" counts in
    // From one send's arrival to the send its slot frees: the window counts from the send's answer (the sandbox answers as
    // it takes it), plus PacingMargin's default 0.25 s, plus the next send's own call.
    private static readonly TimeSpan Pace = Window + TimeSpan.FromMilliseconds(250) + Latency;

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Sending:MessagesPerMinute"] = "4",
        ["Sending:PacingWindow"] = "00:00:03",
        ["Sending:PrepareAhead"] = "00:00:02",
    };

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Each_send_goes_as_its_pacing_slot_frees_because_its_draft_was_made_ahead(string store)
    {
        await using var e = await EngineHarness.StartAsync(redis, Settings(), store: store);
        e.Graph.Faults.Latency = Latency;
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Enumerable.Range(10001, 14).Select(i => (long)i)));
        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(2), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.True(sent.Count >= 12 && status.GetProperty("messages").GetInt32() == sent.Count, $"{sent.Count} sent: {status}");
        AssertOnceEach(sent);
        var gaps = Gaps(sent);
        // Never over the limit (the margin covers how much later one send may reach Graph after its stamp than another:
        // the sandbox's latency timer, a first call's JIT); and each
        // window only as long as the pace: without the drafts made ahead every one of them would be at least a draft's
        // round trip (1.2 s) longer.
        Assert.True(gaps.Min() >= Window, $"over the limit: {Describe(gaps)}");
        Assert.True(gaps.Max() <= Pace + Latency / 2, $"windows longer than the pace: {Describe(gaps)}; " + string.Join("\n", e.Graph.Requests.Select(r => $"{r.At:ss.fff} {r.Method} {r.Path} {r.Status}")));
        Assert.Empty(e.Graph.Drafts(EngineHarness.User));
        Assert.True(e.Graph.MaxObservedConcurrency(EngineHarness.User) <= 4, "more than 4 requests at once");
    }

    [Fact]
    public async Task A_draft_made_for_a_slot_another_mailing_took_is_sent_in_a_later_window_once_and_none_is_left()
    {
        // Two mailings of one mailbox: both wake before the window frees its four slots and make four drafts each; the
        // four that lose the race go back to the queue with their drafts, which a later window sends.
        await using var e = await EngineHarness.StartAsync(redis, Settings());
        e.Graph.Faults.Latency = Latency;
        var first = await e.SubmitAsync(EngineHarness.Newsletter(Enumerable.Range(10001, 9).Select(i => (long)i)));
        var second = await e.SubmitAsync(EngineHarness.Newsletter(Enumerable.Range(10021, 9).Select(i => (long)i)));
        var a = await e.WaitForAsync(first, TimeSpan.FromMinutes(2), "Completed");
        var b = await e.WaitForAsync(second, TimeSpan.FromMinutes(2), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(a.GetProperty("messages").GetInt32() + b.GetProperty("messages").GetInt32(), sent.Count);
        AssertOnceEach(sent);
        var gaps = Gaps(sent);
        Assert.True(gaps.Min() >= Window, $"over the limit: {Describe(gaps)}");
        // every draft made was sent or replaced: none is left in the user's Drafts
        Assert.Empty(e.Graph.Drafts(EngineHarness.User));
        var creates = e.Graph.Requests.Count(r => r.Method == "POST" && r.Path.Trim('/') == "messages" && r.Status == 201);
        Assert.True(creates == sent.Count, $"{creates} drafts made for {sent.Count} messages: a draft that waited was made again");
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_send_held_up_on_its_way_counts_from_its_answer_so_no_window_holds_more_than_the_limit(string store)
    {
        // Two per 2 s; the first two sends reach "Exchange" 1.5 s after their calls. Counted from the calls, the next two
        // would go 2.25 s after them — 0.75 s after Exchange counted the first two: four in its window.
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Sending:MessagesPerMinute"] = "2",
            ["Sending:PacingWindow"] = "00:00:02",
        }, store: store);
        e.Graph.Faults.DelaySends(2, TimeSpan.FromMilliseconds(1500));
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Enumerable.Range(10004, 6).Select(i => (long)i)));
        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.True(sent.Count >= 5 && status.GetProperty("messages").GetInt32() == sent.Count, $"{sent.Count} sent: {status}");
        AssertOnceEach(sent);
        var times = sent.Select(m => m.SentAt!.Value).Order().ToList();
        var gaps = Enumerable.Range(2, times.Count - 2).Select(i => times[i] - times[i - 2]).ToList();
        Assert.True(gaps.Min() >= TimeSpan.FromSeconds(2), $"over the limit, as Exchange counts: {Describe(gaps)}");
    }

    private static void AssertOnceEach(IReadOnlyList<BulkMail.Sandbox.Graph.SandboxMessage> sent)
    {
        // each delivery once (two sample resumes share an address, so addresses are not the key)
        var twice = sent.GroupBy(m => m.Headers["X-BulkMail-Delivery"], StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, "mailed twice: " + string.Join(", ", twice));
    }

    // The time from each send to the send four later: the window that fourth one waited for.
    private static List<TimeSpan> Gaps(IReadOnlyList<BulkMail.Sandbox.Graph.SandboxMessage> sent)
    {
        var times = sent.Select(m => m.SentAt!.Value).Order().ToList();
        return [.. Enumerable.Range(4, times.Count - 4).Select(i => times[i] - times[i - 4])];
    }

    private static string Describe(IEnumerable<TimeSpan> gaps) =>
        string.Join(", ", gaps.Select(g => g.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)));
}
