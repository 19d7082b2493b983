using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Infrastructure;

/// <summary>The <c>RateLimits</c> section: per signed-in user, per minute unless named otherwise. The defaults leave a
/// recruiter room to work and stop a script (or a stuck button) from flooding HRBC, Graph or Redis.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Off only for load tests; the limits are part of what protects HRBC's and Graph's quotas.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The length of each user's counting window.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    [Range(1, 100_000)] public int Submits { get; set; } = 10;
    /// <summary>POST /api/mailings/preview and GET /api/mailings/{id}/preview (stepping through recipients).</summary>
    [Range(1, 100_000)] public int Previews { get; set; } = 120;
    [Range(1, 100_000)] public int TestSends { get; set; } = 5;
    [Range(1, 100_000)] public int Uploads { get; set; } = 30;
    /// <summary>Template create, update and delete.</summary>
    [Range(1, 100_000)] public int TemplateWrites { get; set; } = 30;
    /// <summary>Suppression list adds (one, many or a CSV import) and deletes.</summary>
    [Range(1, 100_000)] public int SuppressionWrites { get; set; } = 30;
    /// <summary>The public unsubscribe page (GET and POST), per client IP address: nobody is signed in there.</summary>
    [Range(1, 100_000)] public int Unsubscribes { get; set; } = 30;
    /// <summary>Status streams (server-sent events) open at once.</summary>
    [Range(1, 10_000)] public int Streams { get; set; } = 10;
    /// <summary>Mailings running at once (preparing without hold, queued, sending or paused): checked at submit and start.</summary>
    [Range(1, 1_000)] public int RunningMailings { get; set; } = 5;
    /// <summary>The Retry-After of a refused stream (a concurrency limit has no time of its own).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StreamRetryAfter { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The id the API owns a signed-in user's data by. The sign-in feature (Auth) registers it; the limits below
/// partition by it without knowing how sign-in works.</summary>
public delegate string UserIdOf(ClaimsPrincipal user);

/// <summary>Per-user rate limiting on the ASP.NET Core middleware: one partition per user and policy.</summary>
public static class RateLimits
{
    public const string Submits = "submits";
    public const string Previews = "previews";
    public const string TestSends = "test-sends";
    public const string Uploads = "uploads";
    public const string TemplateWrites = "template-writes";
    public const string Streams = "streams";
    public const string SuppressionWrites = "suppression-writes";
    public const string Unsubscribes = "unsubscribes";

    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((limiter, limits) =>
        {
            var o = limits.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Submits, http => Window(http, o, Submits, o.Submits));
            limiter.AddPolicy(Previews, http => Window(http, o, Previews, o.Previews));
            limiter.AddPolicy(TestSends, http => Window(http, o, TestSends, o.TestSends));
            limiter.AddPolicy(Uploads, http => Window(http, o, Uploads, o.Uploads));
            limiter.AddPolicy(TemplateWrites, http => Window(http, o, TemplateWrites, o.TemplateWrites));
            limiter.AddPolicy(SuppressionWrites, http => Window(http, o, SuppressionWrites, o.SuppressionWrites));
            limiter.AddPolicy(Unsubscribes, http => !o.Enabled
                ? RateLimitPartition.GetNoLimiter(Unsubscribes)
                : RateLimitPartition.GetFixedWindowLimiter($"{Unsubscribes}:{http.Connection.RemoteIpAddress}", _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = o.Unsubscribes,
                    Window = o.Window,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
            limiter.AddPolicy(Streams, http => !o.Enabled || User(http) is not { } user
                ? RateLimitPartition.GetNoLimiter(Streams)
                : RateLimitPartition.GetConcurrencyLimiter($"{Streams}:{user}",
                    _ => new ConcurrencyLimiterOptions { PermitLimit = o.Streams, QueueLimit = 0 }));
            limiter.OnRejected = (context, cancellationToken) => RejectAsync(context, o, cancellationToken);
        });
        return builder;
    }

    private static RateLimitPartition<string> Window(HttpContext http, RateLimitOptions o, string policy, int permits) =>
        !o.Enabled || User(http) is not { } user
            ? RateLimitPartition.GetNoLimiter(policy)
            : RateLimitPartition.GetFixedWindowLimiter($"{policy}:{user}", _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = o.Window,
                QueueLimit = 0, // refuse at once: the pane says when to try again
                AutoReplenishment = true,
            });

    // The same id the APIs own data by; unauthenticated requests never get here (authorization runs first).
    private static string? User(HttpContext http) =>
        http.User.Identity?.IsAuthenticated == true ? http.RequestServices.GetRequiredService<UserIdOf>()(http.User) : null;

    private static async ValueTask RejectAsync(OnRejectedContext context, RateLimitOptions o, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var policy = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName ?? "";
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : o.StreamRetryAfter;
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        var text = seconds.ToString(CultureInfo.InvariantCulture);
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = text;
        // Streams: the same code, with the limit for the sentence that names it (ServerText's variant by policy).
        var detail = policy == Streams
            ? CodedText.Of(ProblemCode.RateLimited, ("policy", policy), ("retryAfterSeconds", text), ("limit", o.Streams))
            : CodedText.Of(ProblemCode.RateLimited, ("policy", policy), ("retryAfterSeconds", text));
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Title = ServerText.Title(ProblemCode.RateLimited, japanese: false),
            Detail = detail.English,
            Type = "https://bulkmail.example/problems/rate-limited",
        };
        foreach (var (k, v) in Problems.Extensions(detail))
        {
            problem.Extensions[k] = v;
        }
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }).ConfigureAwait(false))
        {
            await http.Response.WriteAsJsonAsync(problem, cancellationToken).ConfigureAwait(false);
        }
    }
}
