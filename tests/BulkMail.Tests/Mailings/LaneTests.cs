using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Infrastructure;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Mailings;

/// <summary>
/// A mailing's lanes between the slots of a pacing window (docs/architecture.md, Mailing engine: Worker): a lane sleeps
/// out a pacing wait of up to 2 s itself, and leaves the tick for a longer one (the due index's, so a waiting mailing
/// costs nothing); a grant whose step sent nothing is handed back, so its slot is not lost. Real time, a
/// short window and a slow Graph, through HTTP, the store (Redis or the demo's memory) and the Graph sandbox.
/// </summary>
public sealed class LaneTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(200); // each Graph call

    /// <summary>How often the worker took the mailing off the due index when it fell due (<c>bulkmail.due.lag</c>,
    /// recorded once per such take): the ticks a lane that left for a pacing wait costs.</summary>
    private sealed class DueTakes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _count;

        public DueTakes(BulkMailTelemetry telemetry)
        {
            var lag = telemetry.DueLag;
            // this API's own instrument: other tests' APIs run in the same process with meters of the same name
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument, lag))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _count));
            _listener.Start();
        }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    [Theory]
    [InlineData("redis", 1, false)]
    [InlineData("memory", 1, false)]
    [InlineData("redis", 6, true)]
    [InlineData("memory", 6, true)]
    public async Task A_lane_sleeps_out_a_pacing_wait_of_a_few_seconds_itself_and_leaves_the_tick_for_a_longer_one(string store, int windowSeconds, bool leaves)
    {
        // One lane, 3 messages per window (+ the 1 s margin), drafts made after the grant: after each window's third
        // message the lane is refused for about the window's length less the three messages' 1.2 s. At a 2 s window that
        // is ~1 s, slept in the lane; at a 7 s window ~6 s, past SleepInLane: the lane leaves and the due index wakes
        // the mailing when its slot frees.
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Sending:MessagesPerMinute"] = "3",
            ["Sending:PacingWindow"] = $"00:00:0{windowSeconds}",
            ["Sending:PacingMargin"] = "00:00:01",
            ["Sending:MaxConcurrency"] = "1",
            ["Sending:PrepareAhead"] = "00:00:00",
        }, store: store);
        e.Graph.Faults.Latency = Latency;
        using var takes = new DueTakes(e.Api.Services.GetRequiredService<BulkMailTelemetry>());
        var id = await e.SubmitAsync(EngineHarness.Newsletter(Enumerable.Range(10001, 9).Select(i => (long)i)));
        var status = await e.WaitForAsync(id, TimeSpan.FromMinutes(2), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User);
        Assert.Equal(status.GetProperty("messages").GetInt32(), sent.Count);
        Assert.True(sent.Count >= 7, $"{sent.Count} sent: {status}");
        // the pace held either way: a message no sooner than a window after the one three before it
        var times = sent.Select(m => m.SentAt!.Value).Order().ToList();
        var window = TimeSpan.FromSeconds(windowSeconds);
        Assert.All(Enumerable.Range(3, times.Count - 3), i => Assert.True(times[i] - times[i - 3] >= window, $"message {i} over the limit"));
        var windows = (sent.Count - 1) / 3; // the waits the mailing had to sit out
        if (leaves)
        {
            // each wait ended the tick and the due index brought the mailing back when its slot freed
            Assert.True(takes.Count >= windows, $"{takes.Count} takes off the due index for {windows} pacing waits");
        }
        else
        {
            // the waits were slept in the lane: the mailing never went back to the due index between its windows (one
            // take at most, the tick that follows its expansion)
            Assert.True(takes.Count <= 1, $"{takes.Count} takes off the due index for {windows} pacing waits of ~1 s");
        }
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_grant_whose_delivery_was_skipped_is_handed_back_and_its_slot_sends_the_next_delivery(string store)
    {
        // One message per 2 s window (1 s + the margin), two lanes. The second delivery's address is unsubscribed while
        // the mailing is held: the lane that takes the second slot skips it and hands the grant back (Microsoft counts
        // sends, so the window does not count it either), and the same slot sends the third delivery: one window
        // after the first message, not two.
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["Sending:MessagesPerMinute"] = "1",
            ["Sending:PacingWindow"] = "00:00:01",
            ["Sending:PacingMargin"] = "00:00:01",
            ["Sending:MaxConcurrency"] = "2",
            ["Sending:PrepareAhead"] = "00:00:00",
        }, store: store);
        e.Graph.Faults.Latency = Latency;
        var id = await e.SubmitAsync(PreparedMailingTests.Held(new { kind = "Checked", ids = new long[] { 10961, 10962, 10963 } }));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Ready");
        var second = await e.Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}/preview?seq=2", Ct);
        var address = second.GetProperty("message").GetProperty("address").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsJsonAsync("/api/suppressions", new { address }, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await e.Http.PostAsync($"/api/mailings/{id}/start", null, Ct)).StatusCode);
        var done = await e.WaitForAsync(id, TimeSpan.FromMinutes(1), "Completed");

        var sent = e.Graph.Sent(EngineHarness.User).OrderBy(m => m.SentAt).ToList();
        Assert.Equal(2, sent.Count);
        Assert.Equal(1, done.GetProperty("skipped").GetInt32());
        Assert.DoesNotContain(sent, m => m.To.Contains(address, StringComparer.OrdinalIgnoreCase));
        var gap = sent[1].SentAt!.Value - sent[0].SentAt!.Value;
        // never over the limit; and one 2 s window, not two (the sibling would have slept until the slot after)
        Assert.True(gap >= TimeSpan.FromSeconds(1), $"over the limit: {gap.TotalSeconds:F3} s");
        Assert.True(gap < TimeSpan.FromSeconds(3.2), $"the third delivery waited {gap.TotalSeconds:F3} s: a slot went by unused");
    }
}
