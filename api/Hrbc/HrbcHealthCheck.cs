using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BulkMail.Api.Hrbc;

/// <summary>HRBC is reachable when a token can be had (cached, so this costs nothing most of the time).</summary>
public sealed class HrbcHealthCheck(HrbcAuthClient auth, HrbcTokenStore tokens) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await tokens.GetAccessTokenAsync(auth, null, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("HRBC token available");
        }
        catch (Exception e) when (e is HrbcException or HttpRequestException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            return HealthCheckResult.Unhealthy($"HRBC unreachable: {e.GetType().Name}");
        }
    }
}
