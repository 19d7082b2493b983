using BulkMail.Api.Hrbc;
using BulkMail.Sandbox.Hrbc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Support;

/// <summary>
/// A fresh HRBC sandbox on its own loopback port and an <see cref="HrbcClient"/> wired exactly as the API wires it
/// (options, token store, pacing, resilience), talking to the sandbox over real HTTP.
/// </summary>
public sealed class HrbcHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private HrbcHarness(HrbcSandboxHost host, ServiceProvider services)
    {
        Host = host;
        _services = services;
    }

    public HrbcSandboxHost Host { get; }

    public HrbcSandbox Sandbox => Host.Sandbox;

    /// <summary>A client as the API gets one (typed clients are transient; the token store is shared).</summary>
    public HrbcClient Client => _services.GetRequiredService<HrbcClient>();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public static async Task<HrbcHarness> StartAsync(
        Action<HrbcSandboxOptions>? sandbox = null,
        IDictionary<string, string?>? settings = null,
        TimeProvider? time = null)
    {
        var options = new HrbcSandboxOptions();
        sandbox?.Invoke(options);
        var host = await HrbcSandboxHost.StartAsync(options, time, TestContext.Current.CancellationToken);
        var values = new Dictionary<string, string?>
        {
            ["Hrbc:BaseUrl"] = host.BaseUrl.ToString(),
            ["Hrbc:AppId"] = options.AppId,
            ["Hrbc:Secret"] = options.Secret,
            ["Hrbc:Partition"] = options.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Short backoff: the tests check that retries happen, not how long they wait.
            ["Hrbc:RetryBaseDelay"] = "00:00:00.020",
            ["Hrbc:AttemptTimeout"] = "00:00:05",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            values[k] = v;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration);
        if (time is not null)
        {
            services.AddSingleton(time);
        }
        services.AddHrbcClient(configuration);
        return new HrbcHarness(host, services.BuildServiceProvider(validateScopes: true));
    }

    /// <summary>Resource requests (not oauth/token) the sandbox received.</summary>
    public IReadOnlyList<HrbcSandboxRequest> ResourceRequests(string resource) =>
        [.. Sandbox.Requests.Where(r => r.Resource == resource)];

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await Host.DisposeAsync();
    }
}
