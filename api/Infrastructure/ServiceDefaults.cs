using System.Text.Json;
using BulkMail.Api.Hrbc;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BulkMail.Api.Infrastructure;

public static class ServiceDefaults
{
    /// <summary>Problem details for every error, OpenAPI, health checks.</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Extensions.TryAdd("traceId", c.HttpContext.TraceIdentifier);
            if (c.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && !c.ProblemDetails.Extensions.ContainsKey("code"))
            {
                // A JSON endpoint given another content type answers 415 without an exception: say which header.
                c.ProblemDetails.Detail ??= "Send the body as JSON with Content-Type: application/json.";
                c.ProblemDetails.Extensions["code"] = "ContentTypeUnsupported";
                c.ProblemDetails.Extensions["args"] = new Dictionary<string, string> { ["field"] = "Content-Type" };
            }
            Problems.Apply(c);
        });
        builder.Services.AddExceptionHandler<UpstreamExceptionHandler>();
        // Binding failures throw in every environment (by default only in Development; elsewhere they are a bare 400
        // that names nothing), so that UpstreamExceptionHandler answers them as problems naming the JSON path.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer<CodeSchemas>();
            o.AddSchemaTransformer(CodeSchemas.NumbersAreNumbers);
            o.AddSchemaTransformer(StrictEnumSchema.TransformAsync);
        });
        builder.Services.AddHealthChecks().AddCheck<HrbcHealthCheck>("hrbc");
        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = WriteHealthAsync });
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, JsonSerializerOptions.Web));
    }
}

/// <summary>HRBC is reachable when a token can be had (cached, so this costs nothing most of the time).</summary>
public sealed class HrbcHealthCheck(HrbcAuthClient auth, HrbcTokenStore tokens) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await tokens.GetAccessTokenAsync(auth, null, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("HRBC token available");
        }
        catch (Exception e) when (HrbcTransience.IsFailure(e))
        {
            return HealthCheckResult.Unhealthy($"HRBC unreachable: {e.GetType().Name}");
        }
    }
}

/// <summary>Redis answers a PING: without it nothing can be submitted or sent.</summary>
public sealed class RedisHealthCheck(StackExchange.Redis.IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:0.#} ms");
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis unreachable: {e.GetType().Name}");
        }
    }
}
