using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using System.ComponentModel.DataAnnotations;

namespace BulkMail.Api.Infrastructure;

public sealed class MailingStoreOptions
{
    /// <summary>Prefix of every Redis key; tests use a unique one each.</summary>
    public string KeyPrefix { get; set; } = "bulkmail:";

    /// <summary>How long a mailing, its deliveries and its attachments are kept after the last change (set from
    /// <c>Retention:Days</c>).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(RetentionOptions.DefaultDays);
}

/// <summary>The <c>Retention</c> section: how long finished mailings stay readable.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";
    public const int DefaultDays = 30;

    /// <summary>Days a mailing (status, result file, attachments copy) is kept after its last change.</summary>
    [Range(1, 365)]
    public int Days { get; set; } = DefaultDays;
}

/// <summary>
/// The part of a Redis key that names a user: the SHA-256 of their id, in hex. Ids come from outside (a token's oid,
/// or the Development header) and may contain ':', '{' or '}'; joined as they are, owner "a:b" with key "c" and owner
/// "a" with key "b:c" were the same key, and a '}' moved a key out of its hash tag. A fixed-length hash cannot collide
/// that way and is always one hash-tag-safe token. (Keys written before this change are not read any more; there was no
/// production data.)
/// </summary>
public static class OwnerKey
{
    public static string Of(string owner) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(owner)));
}

/// <summary>How stores write JSON into Redis: the web defaults (camelCase), the same for every store.</summary>
public static class StoreJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web);
}

/// <summary>
/// Where state lives: Redis when <c>ConnectionStrings:Redis</c> is set, otherwise in this process (the demo and tests in
/// Development only). Every feature registers its own store from <see cref="UsesRedis"/>; this registers what they
/// share — the connection, the key prefix and retention, the Redis health check.
/// </summary>
public static class StorageSetup
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MailingStoreOptions>().BindConfiguration("Store")
            .Configure<IOptions<RetentionOptions>>((o, retention) => o.Retention = TimeSpan.FromDays(retention.Value.Days));
        if (!builder.UsesRedis())
        {
            if (!builder.Environment.AllowsDemo())
            {
                throw new InvalidOperationException($"ConnectionStrings:Redis is required outside the Development environment (this is '{builder.Environment.EnvironmentName}'): the in-memory store loses mailings on restart and cannot be shared.");
            }
            return builder;
        }
        var redis = builder.Configuration.GetConnectionString("Redis")!;
        services.AddSingleton<IConnectionMultiplexer>(_ =>
        {
            var options = ConfigurationOptions.Parse(redis);
            options.AbortOnConnectFail = false; // start even if Redis is briefly away; commands fail until it is back
            return ConnectionMultiplexer.Connect(options);
        });
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [TelemetrySetup.ReadyTag]);
        services.AddExceptionHandler<StoreUnavailableExceptionHandler>();
        return builder;
    }

    public static bool UsesRedis(this WebApplicationBuilder builder) => !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Redis"));
}

/// <summary>Redis answers a PING: without it nothing can be submitted or sent.</summary>
public sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:0.#} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis unreachable: {e.GetType().Name}", LogSafe.Of(e));
        }
    }
}

/// <summary>
/// Redis not answering (a timeout, a lost connection, a cluster slot without a master for the moment) as a 503 with
/// Retry-After, so the pane and scripts wait and try again rather than report a server fault. Every write is one
/// atomic script, so a request that failed this way either changed nothing or (its answer lost) did the whole step;
/// submits and starts carry idempotency, so sending them again is safe.
/// </summary>
public sealed partial class StoreUnavailableExceptionHandler(IProblemDetailsService problems, ILogger<StoreUnavailableExceptionHandler> logger)
    : Microsoft.AspNetCore.Diagnostics.IExceptionHandler
{
    private const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsUnavailable(exception) || httpContext.Response.HasStarted)
        {
            return false;
        }
        Log.Unavailable(logger, LogSafe.Of(exception));
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var problem = ProblemWriter.Coded(StatusCodes.Status503ServiceUnavailable, "https://bulkmail.example/problems/store-unavailable",
            CodedText.Of(ProblemCode.StoreUnavailable, ("retryAfterSeconds", RetryAfterSeconds)));
        return await ProblemWriter.WriteAsync(problems, httpContext, problem, exception).ConfigureAwait(false);
    }

    // Server errors that say "not now" rather than "wrong": loading the AOF, a failover in progress.
    private static readonly string[] Transient = ["LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY"];

    public static bool IsUnavailable(Exception exception) => exception switch
    {
        RedisTimeoutException or RedisConnectionException => true,
        RedisServerException e => Transient.Any(t => e.Message.StartsWith(t, StringComparison.Ordinal)),
        AggregateException { InnerExceptions.Count: 1 } e => IsUnavailable(e.InnerExceptions[0]),
        _ => false,
    };

    private static partial class Log
    {
        [LoggerMessage(22, LogLevel.Warning, "Redis did not answer; the request was answered 503")]
        public static partial void Unavailable(ILogger logger, Exception exception);
    }
}
