using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BulkMail.Sandbox.Hrbc;

public static class HrbcSandboxEndpoints
{
    public static IServiceCollection AddHrbcSandbox(this IServiceCollection services, Action<HrbcSandboxOptions>? configure = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var options = new HrbcSandboxOptions();
            configure?.Invoke(options);
            return new HrbcSandbox(options, sp.GetRequiredService<TimeProvider>());
        });
        return services;
    }

    /// <summary>Maps <c>{prefix}/v1/oauth</c>, <c>/v1/token</c>, <c>/v1/{resource}</c> and a JSON fault switch at <c>{prefix}/_faults</c>.</summary>
    public static IEndpointRouteBuilder MapHrbcSandbox(this IEndpointRouteBuilder app, string prefix = "/sandbox/hrbc")
    {
        var sandbox = app.ServiceProvider.GetRequiredService<HrbcSandbox>();
        prefix = prefix.TrimEnd('/');
        var group = app.MapGroup(prefix).ExcludeFromDescription();
        // ASP0016 mistakes the inner answer-producing lambdas for request delegates; the handlers return plain Task.
#pragma warning disable ASP0016
        group.MapGet("/v1/oauth", (HttpContext ctx) => HandleAsync(sandbox, ctx, "oauth", write: false, () =>
            Task.FromResult(new SandboxAnswer(200, sandbox.OAuth(Query(ctx)), 0))));
        group.MapPost("/v1/token", (HttpContext ctx) => HandleAsync(sandbox, ctx, "token", write: true, async () =>
        {
            var form = ctx.Request.HasFormContentType
                ? (await ctx.Request.ReadFormAsync(ctx.RequestAborted)).ToDictionary(kv => kv.Key, kv => kv.Value.ToString())
                : new Dictionary<string, string>();
            return new SandboxAnswer(200, sandbox.Token(form, ctx.Request.ContentType), 0);
        }));
        group.MapGet("/v1/{resource}", (HttpContext ctx, string resource) => HandleAsync(sandbox, ctx, resource, write: false, () =>
            Task.FromResult(ResourceCall(sandbox, ctx, resource) ?? sandbox.Read(resource, Query(ctx)))));
        group.MapPost("/v1/{resource}", (HttpContext ctx, string resource) => HandleAsync(sandbox, ctx, resource, write: true, async () =>
        {
            if (ResourceCall(sandbox, ctx, resource) is { } refused)
            {
                return refused;
            }
            var type = ctx.Request.ContentType ?? "";
            if (!type.StartsWith("application/xml", StringComparison.OrdinalIgnoreCase) || !type.Contains("charset=utf-8", StringComparison.OrdinalIgnoreCase))
            {
                return sandbox.Error(RootOf(resource), 101, "Content-Type must be application/xml; charset=UTF-8");
            }
            using var reader = new StreamReader(ctx.Request.Body, System.Text.Encoding.UTF8);
            var text = await reader.ReadToEndAsync(ctx.RequestAborted);
            if (text.Length > sandbox.Options.MaxRequestLength)
            {
                return new SandboxAnswer(400, null, 400);
            }
            XElement? body;
            try
            {
                body = XDocument.Parse(text).Root;
            }
            catch (System.Xml.XmlException)
            {
                return sandbox.Error(RootOf(resource), 100, "the body is not XML");
            }
            return sandbox.Write(resource, Query(ctx), body);
        }));
#pragma warning restore ASP0016
        group.MapGet("/_faults", () => Results.Json(Snapshot(sandbox.Faults)));
        group.MapPost("/_faults", async (HttpContext ctx) =>
        {
            var set = await JsonSerializer.DeserializeAsync<FaultSettings>(ctx.Request.Body, JsonSerializerOptions.Web, ctx.RequestAborted);
            if (set is not null)
            {
                var f = sandbox.Faults;
                if (set.Reset == true) { f.Reset(); }
                if (set.MaintenanceResponses is { } m) { f.MaintenanceResponses = m; }
                if (set.DroppedConnections is { } d) { f.DroppedConnections = d; }
                if (set.LatencyMs is { } l) { f.Latency = TimeSpan.FromMilliseconds(l); }
                if (set.FailPhaseWrites is { } p) { f.FailPhaseWrites = p; }
                if (set.FailActivityWrites is { } a) { f.FailActivityWrites = a; }
                if (set.LostWriteAnswers is { } w) { f.LostWriteAnswers = w; }
                if (set.ExpireAccessTokens == true) { f.ExpireAccessTokens(); }
                if (set.ExpireRefreshTokens == true) { f.ExpireRefreshTokens(); }
                if (set.RevokeGrant is { } g) { if (g) { f.RevokeGrant(); } else { f.RestoreGrant(); } }
            }
            return Results.Json(Snapshot(sandbox.Faults));
        });
        return app;
    }

    private sealed record FaultSettings(bool? Reset, int? MaintenanceResponses, int? DroppedConnections, int? LatencyMs, int? FailPhaseWrites, int? FailActivityWrites,
        bool? ExpireAccessTokens, bool? ExpireRefreshTokens, bool? RevokeGrant, int? LostWriteAnswers = null);

    private static object Snapshot(HrbcSandboxFaults f) => new
    {
        f.MaintenanceResponses, f.DroppedConnections, LatencyMs = (int)f.Latency.TotalMilliseconds, f.FailPhaseWrites, f.FailActivityWrites, f.LostWriteAnswers, GrantRevoked = f.GrantRevoked,
    };

    private static string RootOf(string resource) => resource.Length == 0 ? "Error" : char.ToUpperInvariant(resource[0]) + resource[1..];

    /// <summary>Checks shared by every resource call: token, the documented code-9 quirks, injected maintenance.</summary>
    private static SandboxAnswer? ResourceCall(HrbcSandbox sandbox, HttpContext ctx, string resource)
    {
        var tokenCode = sandbox.CheckToken(ctx.Request.Headers["X-porters-hrbc-oauth-token"].FirstOrDefault());
        if (tokenCode != 0)
        {
            return sandbox.Error(RootOf(resource), tokenCode, tokenCode switch
            {
                101 => "X-porters-hrbc-oauth-token is required",
                401 => "access token expired",
                402 => "access token invalid",
                _ => "no data permission",
            });
        }
        if (ctx.Request.Headers.ContainsKey("X-Forwarded-For"))
        {
            return sandbox.Error(RootOf(resource), 9, "temporarily unavailable (x-forwarded-for)");
        }
        return sandbox.Faults.TakeMaintenance() ? sandbox.Error(RootOf(resource), 9, "under maintenance") : null;
    }

    private static Dictionary<string, string> Query(HttpContext ctx) =>
        ctx.Request.Query.ToDictionary(kv => kv.Key, kv => kv.Value.ToString());

    private static async Task HandleAsync(HrbcSandbox sandbox, HttpContext ctx, string resource, bool write, Func<Task<SandboxAnswer>> handle)
    {
        var target = ctx.Request.Path.Value + ctx.Request.QueryString.Value;
        var latency = sandbox.Faults.Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, ctx.RequestAborted);
        }
        if (sandbox.Faults.TakeDropped() || !sandbox.WithinRate(write))
        {
            sandbox.Record(ctx.Request.Method, resource, target, -1);
            ctx.Abort(); // the documented reaction to overload: the connection is cut
            return;
        }
        if (target.Length > sandbox.Options.MaxRequestLength)
        {
            sandbox.Record(ctx.Request.Method, resource, target, 400);
            ctx.Response.StatusCode = 400;
            return;
        }
        var answer = await handle();
        if (write && resource != "token" && answer.Status == 200 && sandbox.Faults.TakeLostWriteAnswer())
        {
            // applied, but the answer never arrives
            sandbox.Record(ctx.Request.Method, resource, target, -1);
            ctx.Abort();
            return;
        }
        var code = answer.Body is { } b && b.Name.LocalName == "Authentication"
            ? int.TryParse(b.Element("Error")?.Value, out var e) ? e : 0
            : answer.Code;
        sandbox.Record(ctx.Request.Method, resource, target, code);
        if (answer.Body is null)
        {
            ctx.Response.StatusCode = answer.Status;
            return;
        }
        ctx.Response.StatusCode = answer.Status;
        ctx.Response.ContentType = "application/xml; charset=UTF-8";
        var xml = new XDocument(new XDeclaration("1.0", "UTF-8", "yes"), answer.Body);
        await using var writer = new StreamWriter(ctx.Response.Body, new System.Text.UTF8Encoding(false));
        await writer.WriteAsync(xml.Declaration + "\n" + answer.Body.ToString(SaveOptions.DisableFormatting));
    }
}

/// <summary>The HRBC sandbox alone on its own loopback port (tests run the product against it over real HTTP).</summary>
public sealed class HrbcSandboxHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HrbcSandboxHost(WebApplication app, Uri baseUrl, HrbcSandbox sandbox)
    {
        _app = app;
        BaseUrl = baseUrl;
        Sandbox = sandbox;
    }

    public Uri BaseUrl { get; }

    public HrbcSandbox Sandbox { get; }

    public static async Task<HrbcSandboxHost> StartAsync(HrbcSandboxOptions? options = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // Kestrel's 8 KB request line would answer 414 before HRBC's own ~15,000-character rule could apply.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestLineSize = 64 * 1024);
        var sandbox = new HrbcSandbox(options ?? new HrbcSandboxOptions(), time ?? TimeProvider.System);
        builder.Services.AddSingleton(sandbox);
        builder.Services.AddRouting();
        var app = builder.Build();
        app.MapHrbcSandbox("/sandbox/hrbc");
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HrbcSandboxHost(app, new Uri(address.TrimEnd('/') + "/sandbox/hrbc/"), sandbox);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
