using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Sandbox.Graph;
using BulkMail.Sandbox.Hrbc;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace BulkMail.Sandbox;

/// <summary>Hosts the sandboxes in this process when <c>Sandbox:Enabled</c> (the demo); nothing otherwise. The API points
/// at them when <c>Hrbc:BaseUrl</c> / <c>Graph:BaseUrl</c> are not set.</summary>
public static partial class SandboxSetup
{
    public static WebApplicationBuilder AddSandbox(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(SandboxOptions.Section).Get<SandboxOptions>() ?? new SandboxOptions();
        if (!options.Enabled)
        {
            return builder;
        }
        if (!builder.Environment.AllowsDemo())
        {
            throw new InvalidOperationException(builder.Environment.Refusal("Sandbox:Enabled"));
        }
        // The in-process HRBC sandbox must see requests up to HRBC's own length limit, past Kestrel's 8 KB default.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestLineSize = 64 * 1024);
        builder.Services.AddHrbcSandbox();
        builder.Services.AddGraphSandbox();
        var config = builder.Configuration;
        builder.Services.PostConfigure<HrbcOptions>(o =>
        {
            if (o.BaseUrl is null)
            {
                // The built-in sandbox tenant, unless a real tenant is configured.
                o.SelfHostedPath = options.HrbcPath;
                o.AppId ??= SandboxOptions.AppId;
                o.Secret ??= SandboxOptions.Secret;
                o.Partition = o.Partition == 0 ? SandboxOptions.Partition : o.Partition;
            }
        });
        builder.Services.PostConfigure<GraphOptions>(o =>
        {
            if (config["Graph:BaseUrl"] is null)
            {
                o.SelfHostedPath = options.GraphPath.TrimEnd('/') + "/v1.0";
            }
            if (config["Graph:Auth"] is null)
            {
                o.Auth = GraphAuthMode.None; // the sandbox mailbox takes no token
            }
        });
        return builder;
    }

    public static WebApplication MapSandbox(this WebApplication app)
    {
        var options = app.Configuration.GetSection(SandboxOptions.Section).Get<SandboxOptions>() ?? new SandboxOptions();
        if (!options.Enabled)
        {
            return app;
        }
        app.MapHrbcSandbox(options.HrbcPath);
        app.MapGraphSandbox(options.GraphPath);
        app.MapGet("/", () => Results.Content(DemoPage, "text/html; charset=utf-8")).ExcludeFromDescription();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("BulkMail.Demo");
            foreach (var address in addresses)
            {
                Log.DemoReady(logger, address);
            }
        });
        return app;
    }

    private const string DemoPage = """
        <!doctype html>
        <html lang="ja"><head><meta charset="utf-8"><title>BulkMail demo</title>
        <style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.6}code{background:#f3f3f3;padding:0 .3em}</style>
        </head><body>
        <h1>BulkMail demo / デモ</h1>
        <p>The API runs against the built-in HRBC sandbox (a sample tenant of 1,200 resumes, 120 jobs, 80 client contacts).
        組み込みの HRBC サンドボックス（レジュメ 1,200 件、JOB 120 件、企業担当者 80 名）に接続しています。</p>
        <ul>
          <li><a href="/api/hrbc/resumes?count=20">/api/hrbc/resumes?count=20</a> — resumes, a page at a time (<code>keywords</code>, <code>condition</code>, <code>start</code>, <code>count</code>)</li>
          <li><a href="/api/hrbc/jobs?count=20">/api/hrbc/jobs</a> · <a href="/api/hrbc/recruiters?count=20">/api/hrbc/recruiters</a></li>
          <li><a href="/api/hrbc/jobs/30004">/api/hrbc/jobs/30004</a> — one job with its attachments</li>
          <li><a href="/api/hrbc/Resume/fields">/api/hrbc/Resume/fields</a> · <a href="/api/hrbc/phases">/api/hrbc/phases</a></li>
          <li><a href="/openapi/v1.json">/openapi/v1.json</a> · <a href="/healthz">/healthz</a></li>
          <li><a href="/sandbox/mailbox">/sandbox/mailbox</a> — what the Graph sandbox mailbox has sent / 送信済みメール</li>
          <li>Sandboxes: HRBC at <code>/sandbox/hrbc/v1/…</code>, Microsoft Graph at <code>/sandbox/graph/v1.0/…</code></li>
        </ul>
        </body></html>
        """;

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "BulkMail demo is running: open {Address}/ in a browser (HRBC sandbox built in, no Microsoft 365 needed)")]
        public static partial void DemoReady(ILogger logger, string address);
    }
}
