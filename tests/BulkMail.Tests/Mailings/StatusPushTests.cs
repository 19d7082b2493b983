using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Tests.Mailings;

/// <summary>
/// The status streams are pushed from the store's change notices (IMailingChanges), not read on a timer: open streams on
/// a mailing that does not change read nothing (heartbeats only), every change reaches them promptly, the final status
/// always arrives, and a lost notice is made good by the safety re-read. On both stores.
/// </summary>
public sealed class StatusPushTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Counts every call of the API's store (the streams' reads among them).</summary>
    public class CountingStore : DispatchProxy
    {
        private IMailingStore _inner = null!;
        private long _calls;

        public long Calls => Interlocked.Read(ref _calls);

        public static IMailingStore Wrap(IMailingStore inner, out CountingStore counter)
        {
            var proxy = Create<IMailingStore, CountingStore>();
            counter = (CountingStore)(object)proxy;
            counter._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            Interlocked.Increment(ref _calls);
            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }

    private sealed record Started(EngineHarness Engine, CountingStore Counter) : IAsyncDisposable
    {
        public IMailingStore Store => Engine.Api.Services.GetRequiredService<IMailingStore>();
        public ValueTask DisposeAsync() => Engine.DisposeAsync();
    }

    private async Task<Started> StartAsync(string store, bool worker, TimeSpan? safety = null, TimeSpan? heartbeat = null)
    {
        CountingStore? counter = null;
        var engine = await EngineHarness.StartAsync(redis, new Dictionary<string, string?>
        {
            ["StatusStreams:SafetyReread"] = (safety ?? TimeSpan.FromMinutes(5)).ToString(),
            ["StatusStreams:Heartbeat"] = (heartbeat ?? TimeSpan.FromSeconds(1)).ToString(),
        }, worker: worker, store: store, services: s =>
        {
            s.AddSingleton<IMailingStore>(sp =>
            {
                IMailingStore inner = store == "memory"
                    ? new InMemoryMailingStore(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<MailingStoreOptions>>(),
                        sp.GetRequiredService<InMemoryMailingChanges>())
                    : new RedisMailingStore(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<MailingStoreOptions>>());
                return CountingStore.Wrap(inner, out counter);
            });
        });
        _ = engine.Api.Services.GetRequiredService<IMailingStore>();
        return new Started(engine, counter!);
    }

    /// <summary>An open stream's lines, read in the background: statuses (state, sent) and heartbeat comments.</summary>
    internal sealed class Stream : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly Task _reading;
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _gate = new();
        private readonly List<(JsonElement Status, long At)> _statuses = [];
        private int _heartbeats;

        private Stream(HttpResponseMessage response)
        {
            _response = response;
            _reading = Task.Run(ReadAsync);
        }

        public static async Task<Stream> OpenAsync(HttpClient http, string url)
        {
            var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            return new Stream(response);
        }

        public bool Ended => _reading.IsCompleted;

        public int Heartbeats => Volatile.Read(ref _heartbeats);

        public IReadOnlyList<(JsonElement Status, long At)> Statuses
        {
            get
            {
                lock (_gate)
                {
                    return [.. _statuses];
                }
            }
        }

        private async Task ReadAsync()
        {
            try
            {
                using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
                string? eventType = null;
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (line.StartsWith(':'))
                    {
                        Interlocked.Increment(ref _heartbeats);
                    }
                    else if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        eventType = line[7..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        Assert.Equal("status", eventType);
                        var status = JsonDocument.Parse(line[6..]).RootElement.Clone();
                        lock (_gate)
                        {
                            _statuses.Add((status, Stopwatch.GetTimestamp()));
                        }
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
                // closed by the test
            }
        }

        public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, TimeSpan timeout)
        {
            var until = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                if (Statuses.LastOrDefault(s => match(s.Status)) is { Status.ValueKind: not JsonValueKind.Undefined } found)
                {
                    return found.Status;
                }
                await Task.Delay(20, Ct);
            }
            Assert.Fail($"no matching status in {timeout}: {string.Join(" | ", Statuses.Select(s => s.Status.ToString()))}");
            return default;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _response.Dispose();
            await _reading;
            _stop.Dispose();
        }
    }

    private static string State(JsonElement s) => s.GetProperty("state").GetString()!;

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Streams_on_a_mailing_that_does_not_change_read_nothing_and_a_change_reaches_all_of_them_at_once(string store)
    {
        await using var s = await StartAsync(store, worker: false); // no worker: the mailing stays Preparing, unchanged
        var id = await s.Engine.SubmitAsync(EngineHarness.Newsletter([10001, 10002, 10003]));
        const int n = 5;
        var streams = new List<Stream>();
        for (var i = 0; i < n; i++)
        {
            streams.Add(await Stream.OpenAsync(s.Engine.Http, $"/api/mailings/{id}/events"));
        }
        var own = await Stream.OpenAsync(s.Engine.Http, "/api/mailings/events");
        try
        {
            foreach (var stream in streams)
            {
                Assert.Equal("Preparing", State(await stream.WaitForAsync(_ => true, TimeSpan.FromSeconds(10))));
            }
            Assert.Equal("Preparing", State(await own.WaitForAsync(m => m.GetProperty("id").GetString() == id, TimeSpan.FromSeconds(10))));
            // however many streams watch it, the process listens to the mailing once
            var topics = (MailingChangeTopics)s.Engine.Api.Services.GetRequiredService<IMailingChanges>();
            Assert.Equal(2, topics.TopicCount); // the mailing and its owner
            if (store == "redis")
            {
                var shard = (RedisResult[])(await redis.Require().GetDatabase().ExecuteAsync("PUBSUB", "SHARDNUMSUB",
                    $"{s.Engine.Prefix}{{m:{id}}}:changes"))!;
                Assert.Equal(1, (int)shard[1]);
            }

            var before = s.Counter.Calls;
            await Task.Delay(TimeSpan.FromSeconds(4), Ct);
            var idle = s.Counter.Calls - before;

            // no store reads while nothing changes (once they read 2 a second each: 5 streams × 4 s × 2 ≈ 40 status reads)
            Assert.Equal(0, idle);
            Assert.All(streams, stream => Assert.Single(stream.Statuses));
            Assert.All(streams, stream => Assert.InRange(stream.Heartbeats, 3, 12)); // every second, idle
            Assert.InRange(own.Heartbeats, 3, 12);

            var changedAt = Stopwatch.GetTimestamp();
            var (_, changed) = await s.Store.TransitionAsync(id, [MailingState.Preparing], MailingState.Cancelled, null, DateTimeOffset.UtcNow, Ct);
            Assert.True(changed);
            foreach (var stream in streams)
            {
                var cancelled = await stream.WaitForAsync(m => State(m) == "Cancelled", TimeSpan.FromSeconds(5));
                Assert.NotNull(cancelled.GetProperty("finishedAt").GetString());
            }
            await own.WaitForAsync(m => State(m) == "Cancelled", TimeSpan.FromSeconds(5));
            var slowest = streams.Append(own).Max(stream => Stopwatch.GetElapsedTime(changedAt, stream.Statuses[^1].At));
            Assert.True(slowest < TimeSpan.FromSeconds(1), $"a change took {slowest.TotalMilliseconds:0} ms to reach a stream");
            // a finished mailing's stream ends; the owner's stays open
            var until = DateTime.UtcNow.AddSeconds(5);
            while (!streams.All(stream => stream.Ended) && DateTime.UtcNow < until)
            {
                await Task.Delay(20, Ct);
            }
            Assert.All(streams, stream => Assert.True(stream.Ended));
            Assert.False(own.Ended);
            TestContext.Current.TestOutputHelper?.WriteLine($"{store}: idle store calls {idle} in 4 s with {n + 1} streams; change → all streams in {slowest.TotalMilliseconds:0} ms");
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
            await own.DisposeAsync();
        }
        // every stream gone: no subscription left behind
        var left = (MailingChangeTopics)s.Engine.Api.Services.GetRequiredService<IMailingChanges>();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (left.TopicCount > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, Ct);
        }
        Assert.Equal(0, left.TopicCount);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task A_sending_mailing_s_streams_show_its_progress_at_most_four_times_a_second_and_always_end_with_Completed(string store)
    {
        await using var s = await StartAsync(store, worker: true);
        // the owner's stream is open before the mailing exists: a new mailing is pushed to it
        await using var own = await Stream.OpenAsync(s.Engine.Http, "/api/mailings/events");
        await Task.Delay(200, Ct);
        var ids = Enumerable.Range(10001, 40).Select(i => (long)i).ToList();
        var id = await s.Engine.SubmitAsync(EngineHarness.Newsletter(ids));
        var opened = Stopwatch.GetTimestamp();
        await using var one = await Stream.OpenAsync(s.Engine.Http, $"/api/mailings/{id}/events");

        var done = await one.WaitForAsync(m => State(m) == "Completed", TimeSpan.FromSeconds(60));
        var ownDone = await own.WaitForAsync(m => m.GetProperty("id").GetString() == id && State(m) == "Completed", TimeSpan.FromSeconds(10));

        var took = Stopwatch.GetElapsedTime(opened);
        Assert.Equal(done.GetProperty("sent").GetInt32(), ownDone.GetProperty("sent").GetInt32());
        Assert.True(done.GetProperty("sent").GetInt32() > 0);
        Assert.Equal(done.GetProperty("messages").GetInt32(), done.GetProperty("decided").GetInt32());
        var sent = one.Statuses.Select(x => x.Status.GetProperty("sent").GetInt32()).ToList();
        Assert.Equal(sent.Order(), sent); // never backwards
        // at most one status per 250 ms (plus the first)
        Assert.InRange(one.Statuses.Count, 1, (int)(took.TotalMilliseconds / 250) + 2);
        Assert.Contains(own.Statuses, m => m.Status.GetProperty("id").GetString() == id && State(m.Status) is "Preparing" or "Queued" or "Sending");
        TestContext.Current.TestOutputHelper?.WriteLine($"{store}: {one.Statuses.Count} statuses in {took.TotalMilliseconds:0} ms, sent {string.Join(",", sent)}");
    }

    [Fact]
    public async Task When_the_subscription_connection_comes_back_every_listener_reads_again_and_notices_flow_again()
    {
        var shared = redis.Require();
        var name = "push-" + Guid.NewGuid().ToString("N");
        await using var mux = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",name=" + name);
        var prefix = RedisServerFixture.NewPrefix();
        using var changes = new RedisMailingChanges(mux, Options.Create(new MailingStoreOptions { KeyPrefix = prefix }));
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await changes.SubscribeAsync("m1", () => heard.TrySetResult(), Ct);
        var db = shared.GetDatabase();
        await db.PublishAsync(RedisMailingChanges.MailingChannel(prefix, "m1"), "");
        await heard.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);

        // this multiplexer's subscription connection only (others' on the shared server are left alone)
        heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var clients = ((string)(await admin.GetDatabase().ExecuteAsync("CLIENT", "LIST", "TYPE", "pubsub"))!).Split('\n');
        var id = clients.Single(c => c.Contains($" name={name} ", StringComparison.Ordinal)).Split(' ')[0]["id=".Length..];
        await admin.GetDatabase().ExecuteAsync("CLIENT", "KILL", "ID", id);

        // no notice was published: the listener reads again because some may have been lost meanwhile
        await heard.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!heard.Task.IsCompleted && DateTime.UtcNow < until)
        {
            // resubscribed by the multiplexer: notices reach the listener again
            await db.PublishAsync(RedisMailingChanges.MailingChannel(prefix, "m1"), "");
            await Task.WhenAny(heard.Task, Task.Delay(200, Ct));
        }
        Assert.True(heard.Task.IsCompleted);
    }

    [Fact]
    public async Task A_change_without_a_notice_is_read_by_the_safety_re_read()
    {
        await using var s = await StartAsync("redis", worker: false, safety: TimeSpan.FromSeconds(1));
        var id = await s.Engine.SubmitAsync(EngineHarness.Newsletter([10001]));
        await using var stream = await Stream.OpenAsync(s.Engine.Http, $"/api/mailings/{id}/events");
        await stream.WaitForAsync(m => State(m) == "Preparing", TimeSpan.FromSeconds(10));

        // behind the scripts' back (as a notice lost on the way would be): no SPUBLISH
        await redis.Require().GetDatabase().HashSetAsync($"{s.Engine.Prefix}{{m:{id}}}:meta", "state", "Paused");

        var paused = await stream.WaitForAsync(m => State(m) == "Paused", TimeSpan.FromSeconds(5));
        Assert.Equal("Paused", State(paused));
    }
}
