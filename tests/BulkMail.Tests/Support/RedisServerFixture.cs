using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

[assembly: AssemblyFixture(typeof(BulkMail.Tests.Support.RedisServerFixture))]

namespace BulkMail.Tests.Support;

/// <summary>
/// A real redis-server on a free loopback port for the whole test run, no persistence. Missing redis-server fails
/// the tests under CI=true and skips them with a clear message otherwise. Tests isolate themselves with a unique
/// key prefix (<see cref="NewPrefix"/>), so they can run in parallel on one server.
/// </summary>
public sealed class RedisServerFixture : IRedisFixture, IAsyncLifetime
{
    private Process? _process;

    public string? ConnectionString { get; private set; }

    public IConnectionMultiplexer? Connection { get; private set; }

    public string? Unavailable { get; private set; }

    public static string NewPrefix() => $"bulkmail:test:{Guid.NewGuid():N}:";

    /// <summary>The settings that put an API on this server under its own key prefix (a new one unless given);
    /// skips or fails as <see cref="Require"/> does when there is no server.</summary>
    public Dictionary<string, string?> ApiSettings(string? prefix = null)
    {
        Require();
        return new() { ["ConnectionStrings:Redis"] = ConnectionString, ["Store:KeyPrefix"] = prefix ?? NewPrefix() };
    }

    /// <summary>The connection, or a skip (fail under CI) when no redis-server could be started.</summary>
    public IConnectionMultiplexer Require()
    {
        if (Connection is not null)
        {
            return Connection;
        }
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"redis-server is required under CI: {Unavailable}");
        }
        Assert.Skip($"redis-server is not available ({Unavailable}); install it: sudo apt-get install -y redis-server");
        return null!;
    }

    /// <summary>A redis-server of the test's own, for a test whose commands must be counted alone or that pauses its
    /// server without holding up the tests alongside; skips or fails as <see cref="Require"/> does when there is none.</summary>
    public async Task<RedisServerFixture> StartOwnAsync()
    {
        Require();
        var own = new RedisServerFixture();
        await own.InitializeAsync();
        return own;
    }

    public async ValueTask InitializeAsync()
    {
        var exe = FindRedisServer();
        if (exe is null)
        {
            Unavailable = "redis-server not found on PATH";
            return;
        }
        var port = FreePort();
        _process = Process.Start(new ProcessStartInfo(exe,
            $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no --protected-mode yes --loglevel warning")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        });
        ConnectionString = $"127.0.0.1:{port},abortConnect=false,connectTimeout=2000";
        for (var i = 0; i < 50; i++)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=500");
                await connection.GetDatabase().PingAsync();
                Connection = connection;
                return;
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(100);
            }
        }
        Unavailable = $"redis-server did not answer on port {port}";
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }

    private static string? FindRedisServer()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            var path = Path.Combine(dir, "redis-server");
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
