using System.Text.Json;
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
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Binding failures throw in every environment (by default only in Development; elsewhere they are a bare 400
        // that names nothing), so that BadRequestExceptionHandler answers them as problems naming the JSON path.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer<CodeSchemas>();
            o.AddSchemaTransformer(CodeSchemas.NumbersAreNumbers);
            o.AddSchemaTransformer(StrictEnumSchema.TransformAsync);
        });
        builder.Services.AddHealthChecks();
        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        // Liveness (and what the operator reads: Redis, HRBC); readiness adds what taking work needs (the worker's heartbeat).
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = WriteHealthAsync, Predicate = c => !c.Tags.Contains(TelemetrySetup.ReadyOnlyTag) });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { ResponseWriter = WriteHealthAsync, Predicate = c => c.Tags.Contains(TelemetrySetup.ReadyTag) });
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
