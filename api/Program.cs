using BulkMail.Api.Addin;
using BulkMail.Api.Auth;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Api.Modes;
using BulkMail.Api.Sandbox;

if (args is ["write-manifest", ..])
{
    return AddinManifestCommand.Run(args[1..], Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddBulkMailAuth();
builder.AddSandbox();
builder.AddHrbc();
builder.AddMailings();
builder.AddRateLimits();

var app = builder.Build();

app.UseServiceDefaults();
app.UseCharsetCheck();
app.MapAddin();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter(); // after sign-in: limits are per user
app.MapSandbox();
app.MapHrbcApi();
app.MapMailings();
app.MapModesApi();

app.Run();
return 0;

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
