using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BulkMail.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace BulkMail.Tests.Infrastructure;

/// <summary>Runs alone: a tracer provider listens to the whole process (ActivitySource and HttpClient listeners are
/// global), so beside the other tests its export queue fills with their spans and drops this test's own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "telemetry, alone";
}

/// <summary>Traces and metrics leave over OTLP without addresses or bodies; /readyz says whether the worker goes round.</summary>
[Collection(TelemetryCollection.Name)]
public class TelemetryTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An OTLP/HTTP collector on loopback: it keeps every export's bytes (protobuf keeps strings as UTF-8).</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        public ConcurrentQueue<(string Signal, byte[] Body)> Exports { get; } = new();

        private Collector(WebApplication app) => _app = app;

        public Uri Endpoint => new(_app.Urls.First());

        public static async Task<Collector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var collector = new Collector(app);
            app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                collector.Exports.Enqueue((signal, body.ToArray()));
                return Results.Ok();
            });
            await app.StartAsync();
            return collector;
        }

        public string Text(string signal) =>
            string.Concat(Exports.Where(e => e.Signal == signal).Select(e => Encoding.UTF8.GetString(e.Body)));

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }

    [Fact]
    public async Task A_mailings_spans_form_one_trace_from_the_submit_through_expansion_deliveries_and_follow_ups()
    {
        // The submit is made under a span of ours (HttpClient sends its trace on); every span of this mailing must carry it.
        using var source = new System.Diagnostics.ActivitySource("BulkMail.Tests.Telemetry");
        var traceId = default(System.Diagnostics.ActivityTraceId);
        var spans = new ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name is BulkMail.Api.Infrastructure.BulkMailTelemetry.Name or "Microsoft.AspNetCore" or "BulkMail.Tests.Telemetry",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> o) =>
                o.Source.Name == "BulkMail.Tests.Telemetry" || o.TraceId == traceId
                    ? System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded : System.Diagnostics.ActivitySamplingResult.None,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await using var e = await EngineHarness.StartAsync(redis);
        using var submit = new HttpRequestMessage(HttpMethod.Post, "/api/mailings")
        {
            Content = JsonContent.Create(new
            {
                mode = "Resumes",
                scope = new { kind = "Checked", ids = Enumerable.Range(10001, 4).Select(i => (long)i) },
                mailFields = new[] { "Resume.P_Mail" },
                subject = "{{Person.P_Name}}様へ",
                body = "<p>{{Person.P_Name}}様</p>",
                logActivity = true,
            }),
        };
        var previous = System.Diagnostics.Activity.Current;
        System.Diagnostics.Activity.Current = null; // a root of our own, not the test host's
        using var root = source.StartActivity("test.submit")!;
        traceId = root.TraceId;
        using var submitted = await e.Http.SendAsync(submit, Ct);
        root.Stop();
        System.Diagnostics.Activity.Current = previous;
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!;
        await e.WaitForAsync(id, TimeSpan.FromMinutes(2), "Completed");
        var sent = e.Graph.Sent(EngineHarness.User).Count;

        var ours = spans.Where(a => a.TraceId == traceId).ToList();
        string? Tag(System.Diagnostics.Activity a) => a.GetTagItem("bulkmail.mailing.id") as string;
        Assert.Contains(ours, a => a.OperationName == "bulkmail.tick" && Tag(a) == id);
        Assert.Contains(ours, a => a.OperationName == "bulkmail.expansion.page" && Tag(a) == id);
        Assert.Equal(sent, ours.Count(a => a.OperationName == "bulkmail.delivery" && Tag(a) == id && a.Parent?.OperationName == "bulkmail.tick"));
        Assert.Contains(ours, a => a.OperationName == "bulkmail.followups.batch" && Tag(a) == id);
    }

    [Fact]
    public async Task A_mailing_exports_traces_and_metrics_over_otlp_without_addresses_subjects_or_search_terms()
    {
        await using var collector = await Collector.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        var ids = Enumerable.Range(10001, 6).Select(i => (long)i).ToList();
        List<string> addresses;
        string subject;
        string mailingId;
        await using (var e = await EngineHarness.StartAsync(redis, settings))
        {
            using (var search = await e.Http.GetAsync("/api/hrbc/resumes?keywords=ひみつの検索語&count=5", Ct))
            {
                Assert.Equal(HttpStatusCode.OK, search.StatusCode);
            }
            mailingId = await e.SubmitAsync(EngineHarness.Newsletter(ids, ["Resume.P_Mail"]));
            await e.WaitForAsync(mailingId, TimeSpan.FromMinutes(2), "Completed");
            var sent = e.Graph.Sent(EngineHarness.User);
            Assert.NotEmpty(sent);
            addresses = sent.Select(m => m.To[0]).ToList();
            subject = sent[0].Subject;
            // Metrics go out every 500 ms; the last deliveries' counts may miss the flush at disposal (the instruments'
            // meter can be disposed before the provider), so wait for one periodic export that has them (up to 30 s: on
            // a starved machine one export can take seconds, and the next waits for it).
            for (var waited = 0; waited < 300 && !collector.Text("metrics").Contains("bulkmail.deliveries", StringComparison.Ordinal); waited++)
            {
                await Task.Delay(100, Ct);
            }
            // Disposing the host flushes the exporters.
        }

        var traces = collector.Text("traces");
        var metrics = collector.Text("metrics");
        Assert.Contains("api/mailings", traces, StringComparison.Ordinal);  // the submit's server span, by route
        Assert.Contains("bulkmail-api", traces, StringComparison.Ordinal); // the service name
        Assert.Contains("bulkmail.delivery", traces, StringComparison.Ordinal); // one span per delivery, named by ids
        Assert.Contains(mailingId + "-", traces, StringComparison.Ordinal);
        Assert.Contains("/resume", traces, StringComparison.Ordinal); // the HRBC client call of the search, its query dropped
        Assert.Contains("bulkmail.deliveries", metrics, StringComparison.Ordinal);
        Assert.Contains("http.client.request.duration", metrics, StringComparison.Ordinal);
        Assert.Contains("bulkmail.hrbc.requests", metrics, StringComparison.Ordinal);
        Assert.Contains("bulkmail.pacing.delay", metrics, StringComparison.Ordinal);
        Assert.Contains("bulkmail.mailings.active", metrics, StringComparison.Ordinal);
        Assert.Contains("bulkmail.due.lag", metrics, StringComparison.Ordinal);      // due → taken
        Assert.Contains("bulkmail.due.waiting", metrics, StringComparison.Ordinal);  // the queue depth
        foreach (var text in new[] { traces, metrics })
        {
            Assert.DoesNotContain(EngineHarness.User, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("ひみつの検索語", text, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString("ひみつの検索語"), text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(subject, text, StringComparison.Ordinal);
            Assert.All(addresses, a => Assert.DoesNotContain(a, text, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Readyz_is_200_while_the_worker_goes_round_and_503_once_it_stopped_while_healthz_stays_200()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T09:00:00+09:00", System.Globalization.CultureInfo.InvariantCulture));
        await using var e = await EngineHarness.StartAsync(redis, time: time);
        await WaitAsync(async () => (await e.Http.GetAsync("/readyz", Ct)).StatusCode == HttpStatusCode.OK);
        var ready = await (await e.Http.GetAsync("/readyz", Ct)).Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("worker").GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        Assert.False(ready.GetProperty("checks").TryGetProperty("hrbc", out _)); // HRBC away does not stop sending already expanded work

        var worker = e.Api.Services.GetServices<IHostedService>().Single(s => s.GetType().Name == "MailingWorker");
        await worker.StopAsync(Ct);
        time.Advance(TimeSpan.FromMinutes(2));

        using var notReady = await e.Http.GetAsync("/readyz", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var body = await notReady.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("Unhealthy", body.GetProperty("checks").GetProperty("worker").GetProperty("status").GetString());
        using var live = await e.Http.GetAsync("/healthz", Ct);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.False((await live.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("checks").TryGetProperty("worker", out _));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not met within 30 s");
            await Task.Delay(50, Ct);
        }
    }
}
