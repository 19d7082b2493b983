using Microsoft.Extensions.Configuration.Json;

namespace BulkMail.Sandbox;

/// <summary>
/// The demo: the whole API with the built-in HRBC tenant and Graph mailbox in the same process
/// (<c>bash scripts/demo.sh</c>). Tests host it through <c>WebApplicationFactory&lt;DemoProgram&gt;</c>.
/// </summary>
public sealed class DemoProgram
{
    public static void Main(string[] args) =>
        Program.Build(args, builder =>
        {
            // The content root is this project, not api/: read the API's appsettings.json (copied next to this
            // assembly) first, so that everything else still overrides it as it would for the published API.
            var apiSettings = new JsonConfigurationSource { Path = Path.Combine(AppContext.BaseDirectory, "appsettings.json"), Optional = true };
            apiSettings.ResolveFileProvider();
            builder.Configuration.Sources.Insert(0, apiSettings);
            builder.AddSandbox();
        }, app => app.MapSandbox()).Run();
}
