using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Mailings;

/// <summary>
/// Change notices from the mailing store: every step that changes a mailing's state or counters announces it (the Redis
/// scripts' <c>touch()</c>, the memory store's <c>Touched</c>), and a new mailing is announced to its owner. The status
/// streams wait on these instead of reading the store on a timer. A notice says only "read again": it carries no state,
/// may come more than once, and may be lost (pub/sub is at most once), so readers still re-read now and then.
/// </summary>
public interface IMailingChanges
{
    /// <summary>Calls <paramref name="onChange"/> on every notice for the mailing (and whenever notices may have been
    /// lost) until the result is disposed. Subscribed when the task completes: a change after that is not missed.</summary>
    Task<IAsyncDisposable> SubscribeAsync(string mailingId, Action onChange, CancellationToken cancellationToken);

    /// <summary>The same for the owner: a mailing of theirs was created, or one that has finished changed
    /// (<see cref="AnnounceOwnerAsync"/>).</summary>
    Task<IAsyncDisposable> SubscribeOwnerAsync(string owner, Action onChange, CancellationToken cancellationToken);

    /// <summary>Tells the owner's subscribers that a finished mailing of theirs changed: a reply or a bounce the Inbox
    /// reader found days after the last send. (A finished mailing's own channel has no listeners: the streams stop
    /// following it when it finishes, and read the owner's finished mailings again on this notice.)</summary>
    Task AnnounceOwnerAsync(string owner, CancellationToken cancellationToken);
}

/// <summary>
/// The listeners of one process, by topic: however many streams watch a mailing, the transport holds one subscription
/// for it (on Redis one sharded channel on the multiplexer's one subscription connection), taken by the first listener
/// and given up by the last.
/// </summary>
public abstract class MailingChangeTopics : IMailingChanges
{
    private sealed class Topic
    {
        public readonly List<Action> Listeners = [];
        public required Task Subscribed;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);

    /// <summary>Topics with at least one listener (tests: one per watched mailing, whatever the number of streams).</summary>
    public int TopicCount
    {
        get
        {
            lock (_gate)
            {
                return _topics.Count;
            }
        }
    }

    public Task<IAsyncDisposable> SubscribeAsync(string mailingId, Action onChange, CancellationToken cancellationToken) =>
        ListenAsync(MailingTopic(mailingId), onChange, cancellationToken);

    public Task<IAsyncDisposable> SubscribeOwnerAsync(string owner, Action onChange, CancellationToken cancellationToken) =>
        ListenAsync(OwnerTopic(owner), onChange, cancellationToken);

    protected static string MailingTopic(string mailingId) => "m:" + mailingId;

    protected static string OwnerTopic(string owner) => "u:" + OwnerKey.Of(owner);

    public abstract Task AnnounceOwnerAsync(string owner, CancellationToken cancellationToken);

    /// <summary>Starts receiving the topic's notices (the first listener); they are handed to <see cref="Deliver"/>.</summary>
    protected abstract Task SubscribeTransportAsync(string topic);

    /// <summary>Stops receiving the topic's notices (the last listener went).</summary>
    protected abstract Task UnsubscribeTransportAsync(string topic);

    /// <summary>A notice for the topic: every listener hears it.</summary>
    protected void Deliver(string topic)
    {
        Action[] listeners;
        lock (_gate)
        {
            if (!_topics.TryGetValue(topic, out var t))
            {
                return;
            }
            listeners = [.. t.Listeners];
        }
        foreach (var listener in listeners)
        {
            listener();
        }
    }

    /// <summary>Notices may have been lost (the connection came back): every listener of every topic re-reads.</summary>
    protected void DeliverAll()
    {
        Action[] listeners;
        lock (_gate)
        {
            listeners = [.. _topics.Values.SelectMany(t => t.Listeners)];
        }
        foreach (var listener in listeners)
        {
            listener();
        }
    }

    private async Task<IAsyncDisposable> ListenAsync(string topic, Action onChange, CancellationToken cancellationToken)
    {
        Topic t;
        lock (_gate)
        {
            if (!_topics.TryGetValue(topic, out t!))
            {
                t = new Topic { Subscribed = SubscribeTransportAsync(topic) };
                _topics[topic] = t;
            }
            t.Listeners.Add(onChange);
        }
        var listener = new Listener(this, topic, t, onChange);
        try
        {
            await t.Subscribed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await listener.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return listener;
    }

    private async Task LeaveAsync(string topic, Topic t, Action onChange)
    {
        lock (_gate)
        {
            t.Listeners.Remove(onChange);
            if (t.Listeners.Count > 0 || !_topics.TryGetValue(topic, out var current) || current != t)
            {
                return;
            }
            _topics.Remove(topic);
        }
        try
        {
            await t.Subscribed.ConfigureAwait(false);
            await UnsubscribeTransportAsync(topic).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            // the subscription failed or the connection is gone (or shut down): nothing is left to give up
        }
    }

    private sealed class Listener(MailingChangeTopics owner, string topic, Topic t, Action onChange) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await owner.LeaveAsync(topic, t, onChange).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Change notices in this process, for <see cref="InMemoryMailingStore"/>: the store calls <see cref="Announce"/>.</summary>
public sealed class InMemoryMailingChanges : MailingChangeTopics
{
    public void Announce(string mailingId) => Deliver(MailingTopic(mailingId));

    public void AnnounceCreated(string owner) => Deliver(OwnerTopic(owner));

    public override Task AnnounceOwnerAsync(string owner, CancellationToken cancellationToken)
    {
        AnnounceCreated(owner); // the same notice: the owner's streams list their mailings again
        return Task.CompletedTask;
    }

    protected override Task SubscribeTransportAsync(string topic) => Task.CompletedTask;

    protected override Task UnsubscribeTransportAsync(string topic) => Task.CompletedTask;
}

/// <summary>
/// Change notices on Redis sharded pub/sub (<c>SPUBLISH</c>, Redis 7): a mailing's channel carries its hash tag, so on a
/// cluster the scripts publish on the shard that holds the mailing and a subscriber listens to that shard only. When the
/// subscription connection comes back every listener re-reads, since notices sent meanwhile are gone.
/// </summary>
public sealed class RedisMailingChanges : MailingChangeTopics, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;

    public RedisMailingChanges(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> options)
    {
        _redis = redis;
        _prefix = options.Value.KeyPrefix;
        _redis.ConnectionRestored += OnRestored;
    }

    /// <summary>A mailing's channel: its key prefix and hash tag, as the scripts' <c>announce()</c> derives it from the meta key.</summary>
    public static RedisChannel MailingChannel(string prefix, string mailingId) => RedisChannel.Sharded($"{prefix}{{m:{mailingId}}}:changes");

    /// <summary>An owner's channel: told when a mailing of theirs is created.</summary>
    public static RedisChannel OwnerChannel(string prefix, string owner) => RedisChannel.Sharded($"{prefix}user:{OwnerKey.Of(owner)}:changes");

    // the owner's topic names the owner's key already (OwnerKey), which OwnerChannel would hash again
    private RedisChannel ChannelOf(string topic) => topic[0] == 'm'
        ? MailingChannel(_prefix, topic[2..])
        : RedisChannel.Sharded($"{_prefix}user:{topic[2..]}:changes");

    public override async Task AnnounceOwnerAsync(string owner, CancellationToken cancellationToken) =>
        await _redis.GetDatabase().PublishAsync(OwnerChannel(_prefix, owner), "").ConfigureAwait(false);

    protected override Task SubscribeTransportAsync(string topic) =>
        _redis.GetSubscriber().SubscribeAsync(ChannelOf(topic), (_, _) => Deliver(topic));

    protected override Task UnsubscribeTransportAsync(string topic) =>
        _redis.GetSubscriber().UnsubscribeAsync(ChannelOf(topic));

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            DeliverAll();
        }
    }

    public void Dispose() => _redis.ConnectionRestored -= OnRestored;
}

/// <summary>
/// What a status stream waits on: the notices of the mailings (and owner) it watches, collected until taken. One
/// signal for all of them, so a burst of changes wakes the stream once.
/// </summary>
public sealed class MailingChangeWatch(IMailingChanges changes) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly Dictionary<string, IAsyncDisposable> _subscriptions = new(StringComparer.Ordinal);
    private IAsyncDisposable? _owner;
    private HashSet<string> _changed = new(StringComparer.Ordinal);
    private bool _ownerNoticed;

    public bool Watches(string mailingId)
    {
        lock (_gate)
        {
            return _subscriptions.ContainsKey(mailingId);
        }
    }

    public async Task WatchAsync(string mailingId, CancellationToken cancellationToken)
    {
        if (Watches(mailingId))
        {
            return;
        }
        var subscription = await changes.SubscribeAsync(mailingId, () => Notice(mailingId), cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _subscriptions[mailingId] = subscription;
        }
    }

    public async Task UnwatchAsync(string mailingId)
    {
        IAsyncDisposable? subscription;
        lock (_gate)
        {
            _subscriptions.Remove(mailingId, out subscription);
            _changed.Remove(mailingId);
        }
        if (subscription is not null)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Also wakes on the owner's notices (a new mailing, a finished one changed: <see cref="Take(out bool)"/> says
    /// one came, and names no mailing for it).</summary>
    public async Task WatchOwnerAsync(string owner, CancellationToken cancellationToken) =>
        _owner = await changes.SubscribeOwnerAsync(owner, OwnerNotice, cancellationToken).ConfigureAwait(false);

    /// <summary>True when a notice came (take it with <see cref="Take"/>), false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return _signal.Wait(0, cancellationToken);
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signal = _signal.WaitAsync(Timeout.InfiniteTimeSpan, cts.Token);
        var delay = Task.Delay(timeout, time, cts.Token);
        await Task.WhenAny(signal, delay).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        bool noticed;
        try
        {
            // awaited even after the delay won: the signal may have been taken in the same moment
            noticed = await signal.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            noticed = false;
        }
        cancellationToken.ThrowIfCancellationRequested();
        return noticed;
    }

    /// <summary>The mailings with a notice since the last take.</summary>
    public IReadOnlySet<string> Take() => Take(out _);

    /// <summary>The same, and whether the owner had a notice too (a new mailing, or a finished one changed).</summary>
    public IReadOnlySet<string> Take(out bool owner)
    {
        lock (_gate)
        {
            var taken = _changed;
            _changed = new HashSet<string>(StringComparer.Ordinal);
            owner = _ownerNoticed;
            _ownerNoticed = false;
            return taken;
        }
    }

    private void OwnerNotice()
    {
        lock (_gate)
        {
            _ownerNoticed = true;
        }
        Signal();
    }

    private void Notice(string mailingId)
    {
        lock (_gate)
        {
            _changed.Add(mailingId);
        }
        Signal();
    }

    private void Signal()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // already signalled: the stream reads once for all
        }
    }

    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] all;
        lock (_gate)
        {
            all = [.. _subscriptions.Values];
            _subscriptions.Clear();
        }
        foreach (var subscription in all)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
        if (_owner is not null)
        {
            await _owner.DisposeAsync().ConfigureAwait(false);
        }
        // the semaphore is not disposed: a notice may still arrive from the transport's thread
    }
}
