using System.Collections.Concurrent;

namespace BulkMail.Api.Hrbc;

/// <summary>
/// Caches field and option metadata for a while (it changes rarely and every HRBC request is billed).
/// Concurrent callers share one in-flight read; a failed read is not cached.
/// </summary>
public sealed class HrbcMetadataCache(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Task<(DateTimeOffset Expires, object Value)>> _entries = new();
    private readonly ConcurrentDictionary<string, byte> _optionRoots = new(StringComparer.Ordinal);

    /// <summary>Option-root aliases seen in metadata, so that an empty root wrapper is not taken for a selected option.</summary>
    public ISet<string> KnownOptionRoots => _optionRoots.Keys.ToHashSet(StringComparer.Ordinal);

    public void AddOptionRoots(IEnumerable<string> aliases)
    {
        foreach (var a in aliases)
        {
            _optionRoots.TryAdd(a, 0);
        }
    }

    public async Task<T> GetOrAddAsync<T>(string key, Func<CancellationToken, Task<T>> load, TimeSpan duration, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            if (_entries.TryGetValue(key, out var entry) && IsUsable(entry))
            {
                return (T)(await entry.WaitAsync(cancellationToken).ConfigureAwait(false)).Value;
            }
            // The shared load runs without the caller's token: one caller's cancellation must not fail the others.
            var fresh = LoadAsync(load, duration);
            var added = entry is null ? _entries.TryAdd(key, fresh) : _entries.TryUpdate(key, fresh, entry);
            if (added)
            {
                try
                {
                    return (T)(await fresh.WaitAsync(cancellationToken).ConfigureAwait(false)).Value;
                }
                catch when (fresh.IsFaulted || fresh.IsCanceled)
                {
                    _entries.TryRemove(new KeyValuePair<string, Task<(DateTimeOffset Expires, object Value)>>(key, fresh));
                    throw;
                }
            }
        }
    }

    private bool IsUsable(Task<(DateTimeOffset Expires, object Value)> entry) =>
        !entry.IsCompleted || entry.IsCompletedSuccessfully && entry.Result.Expires > time.GetUtcNow();

    public void Clear() => _entries.Clear();

    private async Task<(DateTimeOffset Expires, object Value)> LoadAsync<T>(Func<CancellationToken, Task<T>> load, TimeSpan duration) where T : class
    {
        var value = await load(CancellationToken.None).ConfigureAwait(false);
        return (time.GetUtcNow() + duration, value);
    }
}
