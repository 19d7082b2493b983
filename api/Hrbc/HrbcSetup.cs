using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace BulkMail.Api.Hrbc;

public static class HrbcSetup
{
    /// <summary>Registers the HRBC client: options (validated at start-up), token store, pacing, typed clients with retries.</summary>
    public static WebApplicationBuilder AddHrbc(this WebApplicationBuilder builder)
    {
        builder.Services.AddHrbcClient(builder.Configuration);
        builder.Services.AddExceptionHandler<HrbcExceptionHandler>();
        builder.Services.AddHealthChecks().AddCheck<HrbcHealthCheck>("hrbc");
        return builder;
    }

    /// <summary>The same registrations on a bare service collection (tools, tests); <c>IConfiguration</c> must be registered.</summary>
    public static IServiceCollection AddHrbcClient(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddBulkMailMeters();
        services.AddOptions<HrbcOptions>()
            .BindConfiguration(HrbcOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.BaseUrl is not null || o.SelfHostedPath is not null,
                "Hrbc:BaseUrl is required (the HRBC Connect API root, e.g. https://api-hrbc-jp.porterscloud.com/).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.AppId) && !string.IsNullOrWhiteSpace(o.Secret),
                "Hrbc:AppId and Hrbc:Secret are required: the App ID and Secret PORTERS issued for BulkMail (see docs/hrbc.md).")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<HrbcEndpoint>();
        services.AddSingleton<HrbcTokenStore>();
        services.AddSingleton<HrbcMetadataCache>();
        services.AddSingleton<HrbcPacing>();
        services.AddTransient<HrbcPacingHandler>();

        services.AddHttpClient<HrbcAuthClient>(ConfigureHttp)
            .AddStandardResilienceHandler().Configure((o, sp) => ConfigureResilience(o, sp, writesAtMostOnce: false));
        // Resource writes (POST) are not idempotent in HRBC (no idempotency key, no delete): never resent blindly.
        services.AddHttpClient<HrbcClient>(ConfigureHttp)
            .AddStandardResilienceHandler().Configure((o, sp) => ConfigureResilience(o, sp, writesAtMostOnce: true));
        // Pacing sits inside the resilience handler so that every attempt, retries included, is counted.
        services.AddHttpClient<HrbcAuthClient>().AddHttpMessageHandler<HrbcPacingHandler>();
        services.AddHttpClient<HrbcClient>().AddHttpMessageHandler<HrbcPacingHandler>();
        services.AddTransient<HrbcPhaseWriter>();
        return services;
    }

    private static void ConfigureHttp(IServiceProvider services, HttpClient http)
    {
        http.BaseAddress = services.GetRequiredService<HrbcEndpoint>().BaseUrl;
        // The resilience handler enforces the timeouts; the HttpClient's own must not cut in first.
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    /// <param name="writesAtMostOnce">A POST is retried only when HRBC cannot have applied it: the connection was refused
    /// (never sent) or HRBC answered code 9 (maintenance). After a timeout, a dropped connection or a bare 5xx the
    /// write may have happened: the caller decides (HrbcClient reads back Activities by their marker).</param>
    private static void ConfigureResilience(HttpStandardResilienceOptions o, IServiceProvider services, bool writesAtMostOnce)
    {
        var hrbc = services.GetRequiredService<IOptions<HrbcOptions>>().Value;
        o.AttemptTimeout.Timeout = hrbc.AttemptTimeout;
        o.TotalRequestTimeout.Timeout = hrbc.AttemptTimeout * (hrbc.MaxRetries + 1) + TimeSpan.FromSeconds(hrbc.RetryBaseDelay.TotalSeconds * Math.Pow(2, hrbc.MaxRetries + 1));
        o.Retry.MaxRetryAttempts = Math.Max(1, hrbc.MaxRetries);
        o.Retry.Delay = hrbc.RetryBaseDelay;
        o.Retry.BackoffType = Polly.DelayBackoffType.Exponential;
        o.Retry.UseJitter = true;
        o.Retry.ShouldHandle = async args =>
        {
            if (hrbc.MaxRetries == 0)
            {
                return false;
            }
            var write = writesAtMostOnce && args.Context.GetRequestMessage()?.Method == HttpMethod.Post;
            if (write && args.Outcome.Exception is { } failure)
            {
                return NeverSent(failure);
            }
            if (!write && HttpClientResiliencePredicates.IsTransient(args.Outcome))
            {
                return true;
            }
            // A transient result code (maintenance above all) may come with any HTTP status, 200 included: look into the body.
            if (args.Outcome.Result is { Content: { } content })
            {
                await content.LoadIntoBufferAsync(args.Context.CancellationToken).ConfigureAwait(false);
                var body = await content.ReadAsStringAsync(args.Context.CancellationToken).ConfigureAwait(false);
                return HrbcTransience.RetriesAnswer(body, write);
            }
            return false;
        };
        static bool NeverSent(Exception e) =>
            e is HttpRequestException { InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } }
            || e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError, InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostNotFound } };
        // HRBC maintenance can last minutes; the breaker should only stop hammering a tenant that is clearly down.
        o.CircuitBreaker.SamplingDuration = hrbc.AttemptTimeout * 2 > TimeSpan.FromSeconds(30) ? hrbc.AttemptTimeout * 2 : TimeSpan.FromSeconds(30);
        o.CircuitBreaker.MinimumThroughput = 50;
        o.CircuitBreaker.FailureRatio = 0.9;
    }
}

/// <summary>Where HRBC is: <c>Hrbc:BaseUrl</c>, or this process's own address when the host serves a stand-in tenant
/// (<see cref="HrbcOptions.SelfHostedPath"/>, the demo).</summary>
public sealed class HrbcEndpoint(IOptions<HrbcOptions> options, IServiceProvider services)
{
    public Uri BaseUrl => options.Value.BaseUrl is { } configured
        ? WithSlash(configured)
        : SelfAddress.Resolve(services, options.Value.SelfHostedPath!.TrimEnd('/') + "/");

    private static Uri WithSlash(Uri u) => u.AbsoluteUri.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/");
}
