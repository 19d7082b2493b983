using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// BulkMail's traces and metrics (docs/telemetry.md). Spans carry mailing and delivery ids, never addresses, names,
/// subjects or bodies; the HTTP spans' paths are reduced to their route templates for the same reason.
/// </summary>
public sealed class BulkMailTelemetry : IDisposable
{
    public const string Name = "BulkMail";

    private readonly Meter _meter;
    private long _activeMailings;
    private long _dueWaiting;

    public BulkMailTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        Deliveries = _meter.CreateCounter<long>("bulkmail.deliveries", "{delivery}", "Deliveries by outcome (sent, failed, skipped, bounced, cancelled, requeued).");
        GraphThrottled = _meter.CreateCounter<long>("bulkmail.graph.throttled", "{response}", "Graph answers 429 (or 503 with Retry-After).");
        GraphRetryAfter = _meter.CreateHistogram<double>("bulkmail.graph.retry_after", "s", "How long Graph asked a mailbox to wait.");
        HrbcRequests = _meter.CreateCounter<long>("bulkmail.hrbc.requests", "{request}", "HRBC requests by endpoint and result code.");
        PacingDelay = _meter.CreateHistogram<double>("bulkmail.pacing.delay", "s", "How long the mailbox's pacing made a mailing wait for its next send.");
        DueLag = _meter.CreateHistogram<double>("bulkmail.due.lag", "s", "From a mailing falling due (its pacing window, schedule or Retry-After over) to a worker taking it.");
        _meter.CreateObservableGauge("bulkmail.due.waiting", () => Interlocked.Read(ref _dueWaiting), "{mailing}",
            "Mailings due but not taken at this instance's last look (every instance at capacity): the queue depth.");
        ReaderLag = _meter.CreateHistogram<double>("bulkmail.reader.lag", "s", "From a report or reply arriving in the Inbox to its being applied.");
        _meter.CreateObservableGauge("bulkmail.mailings.active", () => Interlocked.Read(ref _activeMailings), "{mailing}",
            "Mailings this instance is running (expanding, sending or writing follow-ups).");
    }

    public ActivitySource Source { get; } = new(Name);
    public Counter<long> Deliveries { get; }
    public Counter<long> GraphThrottled { get; }
    public Histogram<double> GraphRetryAfter { get; }
    public Counter<long> HrbcRequests { get; }
    public Histogram<double> PacingDelay { get; }
    public Histogram<double> ReaderLag { get; }
    public Histogram<double> DueLag { get; }

    public void SetActiveMailings(long count) => Interlocked.Exchange(ref _activeMailings, count);

    public void SetDueWaiting(long count) => Interlocked.Exchange(ref _dueWaiting, count);

    public void Dispose()
    {
        Source.Dispose();
        _meter.Dispose();
    }
}

/// <summary>When the mailing worker last went round its loop: <c>/readyz</c> says an instance whose worker stopped cannot take work.</summary>
public sealed class WorkerHeartbeat(TimeProvider time)
{
    private long _lastTicks;
    private long _intervalTicks;

    /// <summary>Started, and the next beat is due within <paramref name="interval"/>.</summary>
    public void Beat(TimeSpan interval)
    {
        Interlocked.Exchange(ref _intervalTicks, interval.Ticks);
        Interlocked.Exchange(ref _lastTicks, time.GetUtcNow().UtcTicks);
    }

    public DateTimeOffset? Last => Interlocked.Read(ref _lastTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    public TimeSpan Interval => TimeSpan.FromTicks(Interlocked.Read(ref _intervalTicks));
}

/// <summary>Ready when the worker (if this instance runs one) went round within three of its intervals plus 10 s.</summary>
public sealed class WorkerHeartbeatCheck(WorkerHeartbeat heartbeat, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (heartbeat.Last is not { } last)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The mailing worker has not started yet"));
        }
        var age = time.GetUtcNow() - last;
        return Task.FromResult(age <= heartbeat.Interval * 3 + TimeSpan.FromSeconds(10)
            ? HealthCheckResult.Healthy($"Worker went round {age.TotalSeconds:0.#} s ago")
            : HealthCheckResult.Unhealthy($"Worker last went round {age.TotalSeconds:0} s ago"));
    }
}

public static partial class TelemetrySetup
{
    /// <summary>Health checks tagged so are asked by <c>/readyz</c> (can this instance take work?); <c>/healthz</c> is liveness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Health checks tagged so are asked only by <c>/readyz</c>.</summary>
    public const string ReadyOnlyTag = "ready-only";

    /// <summary>Traces and metrics for BulkMail, ASP.NET Core, HttpClient (Graph, HRBC) and the runtime; exported over OTLP
    /// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard OTEL_* variables or configuration keys choose the rest).</summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddBulkMailMeters();
        var exported = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("bulkmail-api", serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(m => m
                .AddMeter(BulkMailTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation());
        if (exported)
        {
            // Only when they go somewhere: a tracer provider records every span of every delivery and HTTP call
            // (created, tagged, scrubbed), which with no exporter is work for nothing (docs/benchmarks.md (a)).
            // Without it ActivitySource.StartActivity returns null unless some other listener (a test's) asks.
            otel.WithTracing(t => t
                .AddSource(BulkMailTelemetry.Name)
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.Filter = c => !c.Request.Path.StartsWithSegments("/healthz") && !c.Request.Path.StartsWithSegments("/readyz");
                    // Paths can hold an address (/api/suppressions/{address}) or a capability (/unsubscribe/{token}).
                    o.EnrichWithHttpResponse = (activity, response) => ScrubServerPath(activity, response.HttpContext);
                })
                .AddHttpClientInstrumentation(o =>
                {
                    o.EnrichWithHttpRequestMessage = (activity, request) => ScrubClientUrl(activity, request.RequestUri);
                }));
            otel.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>What a feature that records needs (idempotent): each feature's AddXxx calls it, so a host that composes
    /// only some features (the HRBC test harness, a tool) still resolves them, with or without exporters.</summary>
    public static IServiceCollection AddBulkMailMeters(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<BulkMailTelemetry>();
        services.TryAddSingleton<WorkerHeartbeat>();
        return services;
    }

    private static void ScrubServerPath(Activity activity, HttpContext context)
    {
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        activity.SetTag("url.path", route is null ? null : "/" + route.TrimStart('/'));
        activity.SetTag("url.query", null);
    }

    /// <summary>Graph paths name the sender (<c>/users/{upn}</c>) and message ids; HRBC queries carry search terms.
    /// Keep the host and the path's shape only.</summary>
    private static void ScrubClientUrl(Activity activity, Uri? uri)
    {
        if (uri is null)
        {
            return;
        }
        var path = string.Join('/', uri.AbsolutePath.Split('/').Select(s => Opaque().IsMatch(s) && !Version().IsMatch(s) ? "{id}" : s));
        activity.SetTag("url.full", $"{uri.Scheme}://{uri.Authority}{path}");
        activity.SetTag("url.path", path);
        activity.SetTag("url.query", null);
    }

    // A segment that is not a plain word (an address, an id, a GUID, a number, anything encoded).
    [GeneratedRegex(@"[^A-Za-z$]|^[A-Za-z0-9_-]{20,}$")]
    private static partial Regex Opaque();

    [GeneratedRegex(@"^v\d+(\.\d+)?$")]
    private static partial Regex Version();
}
