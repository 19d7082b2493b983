using BulkMail.Api.Infrastructure;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace BulkMail.Tests.Infrastructure;

public class RollingWindowLimiterTests
{
    [Fact]
    [Covers(nameof(RollingWindowLimiter.AcquireAsync), nameof(RollingWindowLimiter.TryAcquire))]
    public async Task No_more_than_the_permits_are_granted_in_any_window()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        var limiter = new RollingWindowLimiter(3, TimeSpan.FromMinutes(1), clock);
        var ct = TestContext.Current.CancellationToken;

        for (var i = 0; i < 3; i++)
        {
            await limiter.AcquireAsync(ct);
            clock.Advance(TimeSpan.FromSeconds(10));
        }
        var fourth = limiter.AcquireAsync(ct).AsTask();
        Assert.False(fourth.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(29)); // 59 s after the first permit
        Assert.False(fourth.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1)); // exactly one window after the first permit
        await fourth.WaitAsync(TimeSpan.FromSeconds(5), ct);

        Assert.Equal(TimeSpan.FromSeconds(10), limiter.TryAcquire()); // the second permit frees 10 s later
    }
}
