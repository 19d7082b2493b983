using BulkMail.Api.Addin;
using BulkMail.Api.Auth;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Api.Templates;
using BulkMail.Api.Uploads;

namespace BulkMail.Api;

/// <summary>
/// The server: every feature, registered and mapped in one place. The production entry point (<c>Program.cs</c>) runs
/// it as it is; the demo host (<c>sandbox/BulkMail.Sandbox</c>) adds the HRBC and Graph stand-ins through the two hooks,
/// so the published API contains no sandbox code.
/// </summary>
public static class BulkMailServer
{
    /// <param name="addServices">Runs before the features register (a host may post-configure their options).</param>
    /// <param name="mapEndpoints">Runs after sign-in and rate limiting are in the pipeline, before the features' routes.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? addServices = null, Action<WebApplication>? mapEndpoints = null)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.AddServiceDefaults();
        builder.AddStorage();
        addServices?.Invoke(builder);
        builder.AddBulkMailAuth();
        builder.AddHrbc();
        builder.AddMail();
        builder.AddTemplates();
        builder.AddUploads();
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
        return app;
    }
}
