namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Allows at most <c>permits</c> acquisitions in any rolling <c>window</c>: a sliding log of timestamps.
/// A log (not a token bucket) because the outside systems we pace (HRBC, Exchange) count requests in a
/// rolling minute, and a bucket's burst at a window edge would exceed their count. Time comes from a
/// <see cref="TimeProvider"/> so tests can drive it with a fake clock.
/// </summary>
public sealed class RollingWindowLimiter
{
    private readonly Queue<DateTimeOffset> _stamps = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    public RollingWindowLimiter(int permits, TimeSpan window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permits, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        Permits = permits;
        Window = window;
        _time = time;
    }

    public int Permits { get; }
    public TimeSpan Window { get; }

    /// <summary>Waits until a permit is free in the current window, then takes it.</summary>
    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = TryAcquire();
            if (wait <= TimeSpan.Zero)
            {
                return;
            }
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes a permit and returns zero, or returns how long until one frees up.</summary>
    public TimeSpan TryAcquire()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            // A stamp leaves the window once a full window has passed since it (half-open window (now-W, now]).
            while (_stamps.Count > 0 && _stamps.Peek() + Window <= now)
            {
                _stamps.Dequeue();
            }
            if (_stamps.Count < Permits)
            {
                _stamps.Enqueue(now);
                return TimeSpan.Zero;
            }
            return _stamps.Peek() + Window - now;
        }
    }
}
