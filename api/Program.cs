using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Sandbox;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddSandbox();
builder.AddHrbc();

var app = builder.Build();

app.UseServiceDefaults();
app.MapSandbox();
app.MapHrbcApi();

app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
