using BulkMail.Api.Addin;
using BulkMail.Api.Auth;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Api.Modes;
using BulkMail.Api.Suppressions;
using BulkMail.Api.Templates;
using BulkMail.Api.Uploads;

/// <summary>
/// The server and its table of contents: every feature, registered and mapped in one place. Run as it is, it is the
/// published API. The demo host (<c>sandbox/BulkMail.Sandbox</c>) calls <see cref="Build"/> with the two hooks to add the
/// HRBC and Graph stand-ins, so the published API contains no sandbox code. Tests host it through
/// <c>WebApplicationFactory&lt;Program&gt;</c>.
/// </summary>
public sealed class Program
{
    public static int Main(string[] args)
    {
        if (args is ["write-manifest", ..])
        {
            return AddinManifestCommand.Run(args[1..], Console.Out, Console.Error);
        }
        Build(args).Run();
        return 0;
    }

    /// <param name="addServices">Runs before the features register (a host may post-configure their options).</param>
    /// <param name="mapEndpoints">Runs after sign-in and rate limiting are in the pipeline, before the features' routes.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? addServices = null, Action<WebApplication>? mapEndpoints = null)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.AddServiceDefaults();
        builder.AddTelemetry();
        builder.AddStorage();
        addServices?.Invoke(builder);
        builder.AddBulkMailAuth();
        builder.AddHrbc();
        builder.AddMail();
        builder.AddTemplates();
        builder.AddUploads();
        builder.AddSuppressions();
        builder.AddMailings();
        builder.AddRateLimits();

        var app = builder.Build();

        app.UseServiceDefaults();
        app.UseCharsetCheck();
        app.MapAddin();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter(); // after sign-in: limits are per user
        mapEndpoints?.Invoke(app);
        app.MapHrbcApi();
        app.MapMailingsApi();
        app.MapTemplatesApi();
        app.MapUploadsApi();
        app.MapModesApi();
        app.MapSuppressionsApi();
        app.MapUnsubscribePage();
        return app;
    }
}
