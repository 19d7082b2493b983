using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Hrbc;

/// <summary>
/// Keeps this process under HRBC's per-minute request limits (reads = GET, writes = POST); HRBC does not answer
/// 429 but cuts the connection, so we must never reach the limit. Every attempt, retries included, is counted.
/// </summary>
public sealed class HrbcPacing(IOptions<HrbcOptions> options, TimeProvider time)
{
    public RollingWindowLimiter Reads { get; } = new(options.Value.ReadsPerMinute, TimeSpan.FromMinutes(1), time);
    public RollingWindowLimiter Writes { get; } = new(options.Value.WritesPerMinute, TimeSpan.FromMinutes(1), time);
}

public sealed class HrbcPacingHandler(HrbcPacing pacing) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await (request.Method == HttpMethod.Get ? pacing.Reads : pacing.Writes).AcquireAsync(cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
