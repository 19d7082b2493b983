using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.FileProviders;

namespace BulkMail.Api.Addin;

/// <summary>
/// Serves the built task pane (<c>addin/dist</c>) at <c>/addin/</c> from the API's own origin, so the pane calls
/// the API without CORS. <c>Addin:Path</c> points elsewhere (a deployment copies dist next to the API).
/// </summary>
public static partial class AddinHosting
{
    public static WebApplication MapAddin(this WebApplication app)
    {
        // The pane's runtime settings come from this server's configuration, so one build serves every deployment.
        app.Use(async (http, next) =>
        {
            if (!HttpMethods.IsGet(http.Request.Method) || http.Request.Path != "/addin/config.json")
            {
                await next(http);
                return;
            }
            var config = http.RequestServices.GetRequiredService<IConfiguration>();
            var entra = !string.Equals(config["Auth:Mode"] ?? "EntraId", "Development", StringComparison.OrdinalIgnoreCase);
            var instance = (config["AzureAd:Instance"] ?? "https://login.microsoftonline.com/").TrimEnd('/');
            http.Response.Headers.CacheControl = "no-cache";
            await http.Response.WriteAsJsonAsync(new
            {
                environment = entra ? "Production" : "Development",
                clientId = entra ? config["Addin:ClientId"] ?? "" : "",
                apiAppId = entra ? config["Addin:ApiAppId"] ?? config["AzureAd:ClientId"] ?? "" : "",
                authority = $"{instance}/{config["AzureAd:TenantId"] ?? "common"}",
                apiBaseUrl = "",
            }, http.RequestAborted);
        });

        // The manifest for this deployment: IT downloads it and uploads it in the Microsoft 365 admin center.
        app.MapGet("/addin/manifest.xml", (HttpContext http, IConfiguration config) =>
        {
            var configured = config["Addin:PublicBaseUrl"];
            // Without Addin:PublicBaseUrl the address is the request's: its Host header is the client's to say
            // ("a:99999", empty), so a bad one is a 400 naming it, never a 500.
            if (!Uri.TryCreate(configured ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}", UriKind.Absolute, out var origin)
                || string.IsNullOrEmpty(origin.Host))
            {
                return configured is not null
                    ? Results.Problem(title: "The manifest needs an HTTPS address", detail: "Addin:PublicBaseUrl is not an absolute URL.",
                        statusCode: StatusCodes.Status409Conflict, extensions: new Dictionary<string, object?> { ["code"] = "PublicBaseUrlInvalid", ["args"] = new Dictionary<string, string>() })
                    : Results.Problem(title: "The request's Host is not a valid address",
                        detail: "The Host header must name this server (host[:port], port 1–65535), or set Addin:PublicBaseUrl.",
                        statusCode: StatusCodes.Status400BadRequest,
                        extensions: new Dictionary<string, object?> { ["code"] = "HostInvalid", ["args"] = new Dictionary<string, string> { ["field"] = "Host" } });
            }
            if (origin.Scheme != Uri.UriSchemeHttps)
            {
                return Problems.Of(StatusCodes.Status409Conflict, ProblemCode.ManifestNeedsHttps);
            }
            var appId = config["Addin:ApiAppId"] ?? config["AzureAd:ClientId"];
            var xml = AddinManifest.ToXml(AddinManifest.Create(new ManifestSettings(origin, string.IsNullOrEmpty(appId) ? null : appId)));
            return Results.Text(xml, "application/xml; charset=utf-8");
        }).WithTags("Add-in").WithSummary("The Outlook add-in manifest for this deployment (Addin:PublicBaseUrl)");

        var configured = app.Configuration["Addin:Path"];
        var path = !string.IsNullOrEmpty(configured)
            ? Path.GetFullPath(configured, app.Environment.ContentRootPath)
            : new[] { "addin/dist", "../addin/dist", "../../addin/dist" }
                .Select(p => Path.GetFullPath(p, app.Environment.ContentRootPath))
                .FirstOrDefault(Directory.Exists);
        if (path is null || !Directory.Exists(path))
        {
            // Not built: say so instead of a bare 404 (the demo script builds it).
            app.MapGet("/addin/{**rest}", () => Problems.Of(StatusCodes.Status404NotFound, ProblemCode.AddinNotBuilt)).ExcludeFromDescription();
            return app;
        }
        var files = new PhysicalFileProvider(path);
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = "/addin",
            OnPrepareResponse = ctx =>
            {
                // Hashed build assets can be cached for ever; icons (which Office caches and which must not be no-cache)
                // for a day; the HTML must be fresh so that a deployment takes effect.
                var name = ctx.File.Name;
                ctx.Context.Response.Headers.CacheControl = name.EndsWith(".html", StringComparison.OrdinalIgnoreCase) ? "no-cache"
                    : HashedName().IsMatch(name) ? "public, max-age=31536000, immutable"
                    : "public, max-age=86400";
            },
        });
        return app;
    }

    // Vite names built chunks name-HASH.ext (8 characters of base64url).
    [System.Text.RegularExpressions.GeneratedRegex(@"-[A-Za-z0-9_-]{8}\.(js|css)$")]
    private static partial System.Text.RegularExpressions.Regex HashedName();
}
