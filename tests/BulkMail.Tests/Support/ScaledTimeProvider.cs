using System.Diagnostics;

namespace BulkMail.Tests.Support;

/// <summary>
/// A clock that runs <see cref="Factor"/> times faster than the real one, for tests whose meaning lies in waits
/// measured in seconds (Retry-After, pacing windows) but whose run should not take real minutes. The API and the
/// Graph sandbox share one instance, so "1 s" of Retry-After is one second on both sides and the sandbox still checks
/// that nothing arrives early. Timers fire after the scaled time (never before), so every real delay only makes a wait
/// longer in scaled terms.
/// </summary>
public sealed class ScaledTimeProvider(double factor) : TimeProvider
{
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();

    public double Factor { get; } = factor > 0 ? factor : throw new ArgumentOutOfRangeException(nameof(factor));

    public override DateTimeOffset GetUtcNow() => _start + TimeSpan.FromTicks((long)(_elapsed.Elapsed.Ticks * Factor));

    public override long GetTimestamp() => (long)(Stopwatch.GetTimestamp() * Factor);

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new ScaledTimer(System.CreateTimer(callback, state, Scale(dueTime), Scale(period)), this);

    private TimeSpan Scale(TimeSpan t) =>
        t == Timeout.InfiniteTimeSpan || t <= TimeSpan.Zero ? t : TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling(t.Ticks / Factor)));

    private sealed class ScaledTimer(ITimer inner, ScaledTimeProvider clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(clock.Scale(dueTime), clock.Scale(period));

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
