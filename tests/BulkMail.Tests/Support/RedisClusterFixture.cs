using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace BulkMail.Tests.Support;

/// <summary>What a test needs of a Redis to run against, a single server or a cluster.</summary>
public interface IRedisFixture
{
    /// <summary>The connection string an API is given (a cluster: its masters, from which the client discovers the rest).</summary>
    string? ConnectionString { get; }

    /// <summary>The connection, or a skip (fail under CI) when no Redis could be started.</summary>
    IConnectionMultiplexer Require();

    /// <summary>The settings that put an API on this Redis under its own key prefix (a new one unless given).</summary>
    Dictionary<string, string?> ApiSettings(string? prefix = null);
}

/// <summary>The shared cluster of the contract suites (tests of one collection run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}

/// <summary>
/// A local Redis Cluster: three masters, each with one replica, on free loopback ports (each port's cluster bus port,
/// +10000, free too), AOF on as in production, in a temporary directory removed on dispose. Tests that change the
/// topology (failover, a stopped replica) take one of their own (a class fixture); the contract suites share one.
/// Missing redis-server fails under CI=true and skips otherwise, like <see cref="RedisServerFixture"/>.
/// </summary>
public sealed class RedisClusterFixture : IRedisFixture, IAsyncLifetime
{
    private const int Masters = 3;
    private readonly Dictionary<int, Process> _processes = [];
    private string? _dir;
    private string? _exe;

    public string? ConnectionString { get; private set; }

    public IConnectionMultiplexer? Connection { get; private set; }

    public string? Unavailable { get; private set; }

    /// <summary>Every node's port, masters first (as created; a failover changes roles, see <see cref="RoleOfAsync"/>).</summary>
    public IReadOnlyList<int> Ports { get; private set; } = [];

    public Dictionary<string, string?> ApiSettings(string? prefix = null)
    {
        Require();
        return new() { ["ConnectionStrings:Redis"] = ConnectionString, ["Store:KeyPrefix"] = prefix ?? RedisServerFixture.NewPrefix() };
    }

    public IConnectionMultiplexer Require()
    {
        if (Connection is not null)
        {
            return Connection;
        }
        if (Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"a Redis Cluster is required under CI: {Unavailable}");
        }
        Assert.Skip($"no Redis Cluster ({Unavailable}); install redis-server and redis-cli: sudo apt-get install -y redis-server");
        return null!;
    }

    public async ValueTask InitializeAsync()
    {
        _exe = Find("redis-server");
        var cli = Find("redis-cli");
        if (_exe is null || cli is null)
        {
            Unavailable = "redis-server or redis-cli not found on PATH";
            return;
        }
        _dir = Directory.CreateTempSubdirectory("bulkmail-cluster-").FullName;
        Ports = FreePorts(Masters * 2);
        foreach (var port in Ports)
        {
            StartNode(port);
        }
        var up = await Task.WhenAll(Ports.Select(p => AnswersAsync(p, TimeSpan.FromSeconds(10))));
        if (up.Contains(false))
        {
            Unavailable = "a cluster node did not start";
            return;
        }
        // The first three become masters, each of the others a replica of one of them.
        var (code, output) = await RunAsync(cli, $"--cluster create {string.Join(' ', Ports.Select(p => $"127.0.0.1:{p}"))} --cluster-replicas 1 --cluster-yes");
        if (code != 0)
        {
            Unavailable = $"redis-cli --cluster create failed: {output}";
            return;
        }
        if (!await WaitHealthyAsync(TimeSpan.FromSeconds(30)))
        {
            Unavailable = "the cluster did not reach cluster_state:ok with every replica linked";
            return;
        }
        ConnectionString = string.Join(',', Ports.Take(Masters).Select(p => $"127.0.0.1:{p}")) + ",abortConnect=false,connectTimeout=2000";
        var connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
        await connection.GetDatabase().PingAsync();
        Connection = connection;
    }

    /// <summary>Every node says cluster_state:ok and every replica's link to its master is up.</summary>
    public async Task<bool> WaitHealthyAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            var healthy = true;
            foreach (var port in Ports)
            {
                var info = await InfoAsync(port, "cluster info");
                var replication = await InfoAsync(port, "info replication");
                healthy &= info.Contains("cluster_state:ok", StringComparison.Ordinal)
                    && (!replication.Contains("role:slave", StringComparison.Ordinal) || replication.Contains("master_link_status:up", StringComparison.Ordinal));
            }
            if (healthy)
            {
                return true;
            }
            await Task.Delay(200);
        }
        return false;
    }

    /// <summary>The port of the master that serves <paramref name="key"/>'s slot now.</summary>
    public int MasterOf(RedisKey key) => ((IPEndPoint)Require().GetDatabase().IdentifyEndpoint(key)!).Port;

    /// <summary>The port of a replica of the master on <paramref name="masterPort"/>.</summary>
    public async Task<int> ReplicaOfAsync(int masterPort)
    {
        var info = await InfoAsync(masterPort, "info replication");
        foreach (var line in info.Split('\n'))
        {
            // slave0:ip=127.0.0.1,port=23104,state=online,offset=…
            if (line.StartsWith("slave", StringComparison.Ordinal) && line.Contains("port=", StringComparison.Ordinal))
            {
                var port = line[(line.IndexOf("port=", StringComparison.Ordinal) + 5)..].Split(',')[0];
                return int.Parse(port, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"127.0.0.1:{masterPort} has no replica: {info}");
    }

    /// <summary>"master" or "slave", as the node says now.</summary>
    public async Task<string> RoleOfAsync(int port) =>
        (await InfoAsync(port, "info replication")).Contains("role:master", StringComparison.Ordinal) ? "master" : "slave";

    /// <summary>Runs one redis-cli command against a node and returns what it printed.</summary>
    public async Task<string> CliAsync(int port, string command) => (await RunAsync(Find("redis-cli")!, $"-p {port} {command}")).Output;

    /// <summary>SIGKILL: the node is gone with whatever it had not replicated yet.</summary>
    public async Task KillAsync(int port)
    {
        _processes[port].Kill();
        await _processes[port].WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the node stays connected but answers nothing (a replica that cannot acknowledge).</summary>
    public Task FreezeAsync(int port) => SignalAsync(port, "STOP");

    /// <summary>SIGCONT after <see cref="FreezeAsync"/>.</summary>
    public Task ThawAsync(int port) => SignalAsync(port, "CONT");

    private async Task SignalAsync(int port, string signal)
    {
        var (code, output) = await RunAsync("kill", $"-{signal} {_processes[port].Id}");
        Assert.True(code == 0, output);
    }

    private static async Task<string> InfoAsync(int port, string command)
    {
        try
        {
            return (await RunAsync(Find("redis-cli")!, $"-p {port} {command}")).Output;
        }
        catch (InvalidOperationException)
        {
            return "";
        }
    }

    private void StartNode(int port)
    {
        var dir = Path.Combine(_dir!, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir); // one AOF directory per node: nodes sharing one overwrite each other's manifest
        // A short node timeout and no diskless-sync delay: replicas link in a second, failures are seen in two.
        _processes[port] = Process.Start(new ProcessStartInfo(_exe!,
            $"--port {port} --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file {dir}/nodes.conf --cluster-node-timeout 2000 " +
            $"--appendonly yes --dir {dir} --save \"\" --repl-diskless-sync-delay 0 --protected-mode yes --loglevel warning")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        _processes[port].OutputDataReceived += (_, _) => { };
        _processes[port].ErrorDataReceived += (_, _) => { };
        _processes[port].BeginOutputReadLine();
        _processes[port].BeginErrorReadLine();
    }

    private static async Task<bool> AnswersAsync(int port, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if ((await InfoAsync(port, "ping")).Contains("PONG", StringComparison.Ordinal))
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }
        foreach (var process in _processes.Values)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string exe, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(exe, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"{exe} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string? Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    /// <summary>Ports free on loopback whose cluster bus port (+10000) is free too.</summary>
    private static List<int> FreePorts(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = Random.Shared.Next(20_000, 45_000);
            if (!ports.Contains(port) && IsFree(port) && IsFree(port + 10_000))
            {
                ports.Add(port);
            }
        }
        return ports;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
