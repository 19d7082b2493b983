using Microsoft.Extensions.FileProviders;

namespace BulkMail.Api.Addin;

/// <summary>
/// Serves the built task pane (<c>addin/dist</c>) at <c>/addin/</c> from the API's own origin, so the pane calls
/// the API without CORS. <c>Addin:Path</c> points elsewhere (a deployment copies dist next to the API).
/// </summary>
public static class AddinHosting
{
    public static WebApplication MapAddin(this WebApplication app)
    {
        var configured = app.Configuration["Addin:Path"];
        var path = !string.IsNullOrEmpty(configured)
            ? Path.GetFullPath(configured, app.Environment.ContentRootPath)
            : new[] { "addin/dist", "../addin/dist", "../../addin/dist" }
                .Select(p => Path.GetFullPath(p, app.Environment.ContentRootPath))
                .FirstOrDefault(Directory.Exists);
        if (path is null || !Directory.Exists(path))
        {
            // Not built: say so instead of a bare 404 (the demo script builds it).
            app.MapGet("/addin/{**rest}", () => TypedResults.Problem(
                title: "The task pane is not built",
                detail: "Run `npm ci && npm run build` in addin/ (scripts/demo.sh does this), or set Addin:Path.",
                statusCode: StatusCodes.Status404NotFound)).ExcludeFromDescription();
            return app;
        }
        var files = new PhysicalFileProvider(path);
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = "/addin",
            OnPrepareResponse = ctx =>
            {
                // Hashed assets can be cached for ever; the HTML must be fresh so a deployment takes effect.
                ctx.Context.Response.Headers.CacheControl = ctx.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase)
                    ? "no-cache"
                    : "public, max-age=31536000, immutable";
            },
        });
        return app;
    }
}
