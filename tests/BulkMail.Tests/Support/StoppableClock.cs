namespace BulkMail.Tests.Support;

/// <summary>
/// The real clock until <see cref="Stop"/>; from then on the time stands still except when the test moves it
/// (<see cref="Advance"/>). Timers and timestamps stay real, so waits, polls and leases keep running: only what the
/// product reads as "now" is pinned. For assertions on figures computed from now (an ETA, the seconds of a Retry-After)
/// that must not depend on how long the machine took between two reads of the clock.
/// </summary>
public sealed class StoppableClock : TimeProvider
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _stopped;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _stopped ?? System.GetUtcNow();
        }
    }

    /// <summary>Stops the clock at the current whole millisecond (what the Redis store keeps) and returns that time.</summary>
    public DateTimeOffset Stop()
    {
        lock (_gate)
        {
            var now = System.GetUtcNow();
            _stopped = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
            return _stopped.Value;
        }
    }

    /// <summary>Stops the clock at a given instant (past or future): "now" for the product from then on.</summary>
    public DateTimeOffset StopAt(DateTimeOffset at)
    {
        lock (_gate)
        {
            _stopped = at;
            return at;
        }
    }

    /// <summary>Moves the stopped clock to a later instant.</summary>
    public DateTimeOffset AdvanceTo(DateTimeOffset to)
    {
        lock (_gate)
        {
            if (_stopped is not { } now || to < now)
            {
                throw new InvalidOperationException("Stop the clock first; it only moves forward.");
            }
            _stopped = to;
            return to;
        }
    }

    /// <summary>Moves the stopped clock forward.</summary>
    public DateTimeOffset Advance(TimeSpan by)
    {
        lock (_gate)
        {
            _stopped = (_stopped ?? throw new InvalidOperationException("Stop the clock first.")) + by;
            return _stopped.Value;
        }
    }
}
