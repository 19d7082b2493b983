using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Support;

/// <summary>A server entry point on a real Kestrel port on loopback, configured by settings (as environment variables would).</summary>
public class BulkMailHost<TEntryPoint>(IDictionary<string, string?> settings, Action<IServiceCollection>? services) : WebApplicationFactory<TEntryPoint>
    where TEntryPoint : class
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Only Development allows the demo settings the tests use (header sign-in, Graph:Auth=None, sandboxes, memory).
        builder.UseEnvironment("Development");
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

/// <summary>The demo host (sandbox/BulkMail.Sandbox): the API with the HRBC and Graph sandboxes in the same process.</summary>
public sealed class DemoApplication(IDictionary<string, string?> settings) : BulkMailHost<BulkMail.Sandbox.DemoProgram>(settings, null)
{
    public static DemoApplication Start(IDictionary<string, string?> settings)
    {
        settings = new Dictionary<string, string?>(settings);
        settings.TryAdd("Auth:Mode", "Development");
        settings.TryAdd("Sending:WorkerEnabled", "false");
        var app = new DemoApplication(settings);
        app.UseKestrel(0);
        app.StartServer();
        return app;
    }
}

/// <summary>The API as it is published (api/Program.cs, no sandbox), on a real Kestrel port on loopback.</summary>
public sealed class BulkMailApplication(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    : BulkMailHost<Program>(settings, services)
{
    /// <summary>Starts the API on an ephemeral loopback port; <see cref="WebApplicationFactory{T}.CreateClient()"/> then talks HTTP to it.</summary>
    public static BulkMailApplication Start(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        // Tests sign in through the Development header scheme; Entra ID cannot run here.
        settings = new Dictionary<string, string?>(settings);
        settings.TryAdd("Auth:Mode", "Development");
        settings.TryAdd("Graph:Auth", "None");
        settings.TryAdd("Sending:WorkerEnabled", "false");
        // The suites submit and preview far faster than a person; RateLimitTests set low limits to test them.
        foreach (var (key, value) in UnlimitedRates)
        {
            settings.TryAdd(key, value);
        }
        var app = new BulkMailApplication(settings, services);
        app.UseKestrel(0);
        app.StartServer();
        return app;
    }

    public static readonly IReadOnlyDictionary<string, string?> UnlimitedRates = new Dictionary<string, string?>
    {
        ["RateLimits:Submits"] = "100000",
        ["RateLimits:Previews"] = "100000",
        ["RateLimits:TestSends"] = "100000",
        ["RateLimits:Uploads"] = "100000",
        ["RateLimits:TemplateWrites"] = "100000",
        ["RateLimits:Streams"] = "10000",
        ["RateLimits:RunningMailings"] = "1000",
    };

    /// <summary>The API wired to a running HRBC sandbox.</summary>
    public static BulkMailApplication StartWith(HrbcHarness hrbc, IDictionary<string, string?>? extra = null, Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hrbc:BaseUrl"] = hrbc.Host.BaseUrl.ToString(),
            ["Hrbc:AppId"] = hrbc.Sandbox.Options.AppId,
            ["Hrbc:Secret"] = hrbc.Sandbox.Options.Secret,
            ["Hrbc:Partition"] = hrbc.Sandbox.Options.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Hrbc:RetryBaseDelay"] = "00:00:00.020",
            ["Hrbc:AttemptTimeout"] = "00:00:05",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }
        return Start(settings, services);
    }
}
