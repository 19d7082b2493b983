using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Infrastructure;

/// <summary>/healthz tells a load balancer when this instance cannot work: Redis or HRBC away.</summary>
public class HealthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_redis_away_healthz_is_503_and_names_redis()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        // A loopback port nobody listens on.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var api = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = $"127.0.0.1:{port},connectTimeout=500",
            ["Store:KeyPrefix"] = RedisServerFixture.NewPrefix(),
        });
        using var http = api.CreateClient();
        var response = await http.GetAsync("/healthz", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var checks = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("redis").GetProperty("status").GetString());
        Assert.StartsWith("Redis unreachable", checks.GetProperty("redis").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", checks.GetProperty("hrbc").GetProperty("status").GetString());
    }
}
