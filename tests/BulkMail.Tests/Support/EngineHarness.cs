using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Sandbox.Graph;

namespace BulkMail.Tests.Support;

/// <summary>
/// The whole product for engine tests: HRBC and Graph sandboxes on their own loopback ports, a real redis-server
/// (unique key prefix), and the API with its worker on Kestrel.
/// </summary>
public sealed class EngineHarness : IAsyncDisposable
{
    private EngineHarness(HrbcHarness hrbc, GraphSandboxHost graph, BulkMailApplication api, string prefix, string redis)
    {
        Hrbc = hrbc;
        GraphHost = graph;
        Api = api;
        Prefix = prefix;
        Redis = redis;
        Http = api.CreateClient();
        Http.Timeout = TimeSpan.FromMinutes(5);
    }

    public HrbcHarness Hrbc { get; }
    public GraphSandboxHost GraphHost { get; }
    public GraphSandbox Graph => GraphHost.Sandbox;
    public BulkMailApplication Api { get; }
    public HttpClient Http { get; }
    public string Prefix { get; }
    public string Redis { get; }

    public const string User = "demo@bulkmail.example";

    public static async Task<EngineHarness> StartAsync(IRedisFixture redis, IDictionary<string, string?>? settings = null,
        Action<GraphSandboxOptions>? graph = null, bool worker = true, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null,
        TimeProvider? time = null, string store = "redis")
    {
        if (store is not ("redis" or "memory"))
        {
            throw new ArgumentOutOfRangeException(nameof(store), store, "redis or memory");
        }
        redis.Require();
        var hrbc = await HrbcHarness.StartAsync();
        var graphOptions = new GraphSandboxOptions();
        graph?.Invoke(graphOptions);
        var graphHost = await GraphSandboxHost.StartAsync(graphOptions, time, TestContext.Current.CancellationToken);
        var prefix = RedisServerFixture.NewPrefix();
        var all = Settings(hrbc, graphHost, redis.ConnectionString!, prefix);
        all["Sending:WorkerEnabled"] = worker ? "true" : "false";
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            all[k] = v;
        }
        if (store == "memory")
        {
            all["ConnectionStrings:Redis"] = ""; // the demo's in-memory store and limiter
        }
        var api = BulkMailApplication.StartWith(hrbc, all, time is null ? services : s =>
        {
            // One clock for the API and the Graph sandbox (see ScaledTimeProvider).
            Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(s, time);
            services?.Invoke(s);
        });
        return new EngineHarness(hrbc, graphHost, api, prefix, redis.ConnectionString!) { AllSettings = all };
    }

    /// <summary>Everything the API was started with (to start a second instance on the same Redis).</summary>
    public IReadOnlyDictionary<string, string?> AllSettings { get; private init; } = new Dictionary<string, string?>();

    /// <summary>The configuration of an API process wired to these sandboxes and this Redis (also for child processes).</summary>
    public static Dictionary<string, string?> Settings(HrbcHarness hrbc, GraphSandboxHost graph, string redis, string prefix) => new(hrbc.ClientSettings())
    {
        ["Graph:BaseUrl"] = graph.BaseUrl.ToString(),
        ["Graph:Auth"] = "None",
        ["Graph:RequestTimeout"] = "00:00:10",
        ["Auth:Mode"] = "Development",
        ["ConnectionStrings:Redis"] = redis,
        ["Store:KeyPrefix"] = prefix,
        ["Sending:MessagesPerMinute"] = "10000",
        ["Sending:MaxConcurrency"] = "4",
        ["Sending:RetryBaseDelay"] = "00:00:00.050",
        ["Sending:PollInterval"] = "00:00:00.100",
        ["Sending:DeliveryLease"] = "00:00:15",
        // Start sends at once, as before the undo window existed; the scheduling tests set their own
        ["Sending:UndoSeconds"] = "0",
        ["RateLimits:Enabled"] = "false", // child processes too; RateLimitTests test the limits
    };

    public static object Newsletter(IEnumerable<long> ids, string[]? fields = null, string? subject = null, string? body = null,
        string kind = "Checked", string? idempotencyKey = null) => new
    {
        mode = "Resumes",
        scope = new { kind, ids },
        mailFields = fields ?? ["Resume.P_Mail"],
        subject = subject ?? "{{Person.P_Name}}様へ 11月のお知らせ",
        body = body ?? "<p>{{Person.P_Name}}様</p><p>いつもお世話になっております。{{User.P_Name}}です。</p>",
        idempotencyKey,
    };

    public async Task<string> SubmitAsync(object request)
    {
        var response = await Http.PostAsJsonAsync("/api/mailings", request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> StatusAsync(string id) =>
        await Http.GetFromJsonAsync<JsonElement>($"/api/mailings/{id}", TestContext.Current.CancellationToken);

    /// <summary>Polls the status until the mailing reaches one of the states (or the time runs out).</summary>
    public async Task<JsonElement> WaitForAsync(string id, TimeSpan timeout, params string[] states)
    {
        var until = DateTime.UtcNow + timeout;
        JsonElement status;
        do
        {
            status = await StatusAsync(id);
            if (states.Contains(status.GetProperty("state").GetString()))
            {
                return status;
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        while (DateTime.UtcNow < until);
        var errors = Graph.Errors;
        Assert.Fail($"Mailing {id} did not reach {string.Join("/", states)} in {timeout}: {status}" +
            (errors.Count == 0 ? "" : "\nThe Graph sandbox's handlers threw:\n" + string.Join("\n", errors)));
        return status;
    }

    public async Task<string> CsvAsync(string id, string? lang = null)
    {
        var bytes = await Http.GetByteArrayAsync($"/api/mailings/{id}/results.csv{(lang is null ? "" : "?lang=" + lang)}", TestContext.Current.CancellationToken);
        Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
        return System.Text.Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Api.DisposeAsync();
        await GraphHost.DisposeAsync();
        await Hrbc.DisposeAsync();
    }
}
