using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;

namespace BulkMail.Tests.Mailings;

/// <summary>The store's change notices (the status streams' push): a change made through the store reaches a
/// subscriber of the mailing or its owner, and nothing does after the subscription is given up. Run on Redis (one
/// server and a cluster: the notices ride the mailing's own shard) and memory.</summary>
public abstract class MailingChangesContract : ContractSuite
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    protected abstract (IMailingStore Store, IMailingChanges Changes) CreateCore();

    private (IMailingStore Store, IMailingChanges Changes) Create()
    {
        var (store, changes) = CreateCore();
        return (store, Track(changes));
    }

    private static Mailing NewMailing(string owner) => new()
    {
        Id = Guid.NewGuid().ToString("N")[..12],
        Owner = owner,
        Mailbox = owner,
        CreatedAt = T0,
        Spec = new MailingSpec
        {
            Mode = BulkMail.Api.Modes.MailingMode.Resumes,
            ScopeKind = ScopeKind.Checked,
            Ids = [10001],
            MailFields = ["Resume.P_Mail"],
            Subject = "件名",
            Body = "<p>本文</p>",
        },
    };

    private static async Task<bool> HeardAsync(Func<int> count, int atLeast)
    {
        for (var i = 0; i < 100 && count() < atLeast; i++)
        {
            await Task.Delay(50, Ct); // Redis notices arrive on their own thread
        }
        return count() >= atLeast;
    }

    [Fact]
    [Covers(nameof(IMailingChanges.SubscribeAsync), nameof(IMailingChanges.SubscribeOwnerAsync))]
    public async Task A_change_through_the_store_reaches_the_mailings_and_the_owners_subscribers_until_they_leave()
    {
        var (store, changes) = Create();
        var owner = $"{Guid.NewGuid():N}@example.com";
        var created = 0;
        await using (await changes.SubscribeOwnerAsync(owner, () => Interlocked.Increment(ref created), Ct))
        {
            var mailing = await store.CreateAsync(NewMailing(owner), Ct);
            Assert.True(await HeardAsync(() => Volatile.Read(ref created), 1), "the owner heard of the new mailing");

            var heard = 0;
            var subscription = await changes.SubscribeAsync(mailing.Id, () => Interlocked.Increment(ref heard), Ct);
            await store.TransitionAsync(mailing.Id, [MailingState.Preparing], MailingState.Cancelled, null, T0, Ct);
            Assert.True(await HeardAsync(() => Volatile.Read(ref heard), 1), "the mailing's subscriber heard of the change");

            await subscription.DisposeAsync();
            var after = Volatile.Read(ref heard);
            await store.RecordErrorAsync(mailing.Id, new MailingError("ServiceUnavailable", "busy", T0, T0.AddSeconds(5)), Ct);
            await Task.Delay(300, Ct);
            Assert.Equal(after, Volatile.Read(ref heard)); // given up: no more
        }
    }

    [Fact]
    [Covers(nameof(IMailingChanges.SubscribeOwnerAsync), nameof(IMailingChanges.AnnounceOwnerAsync))]
    public async Task An_owner_notice_reaches_that_owners_subscribers_and_nobody_elses()
    {
        var (_, changes) = Create();
        var owner = $"{Guid.NewGuid():N}@example.com";
        var other = $"{Guid.NewGuid():N}@example.com";
        int heard = 0, others = 0;
        await using (await changes.SubscribeOwnerAsync(owner, () => Interlocked.Increment(ref heard), Ct))
        await using (await changes.SubscribeOwnerAsync(other, () => Interlocked.Increment(ref others), Ct))
        {
            await changes.AnnounceOwnerAsync(owner, Ct);
            Assert.True(await HeardAsync(() => Volatile.Read(ref heard), 1), "the owner heard the notice");
            await Task.Delay(300, Ct);
            Assert.Equal(0, Volatile.Read(ref others));
        }
    }
}

public sealed class RedisMailingChangesTests(RedisServerFixture redis) : MailingChangesContract
{
    protected override (IMailingStore, IMailingChanges) CreateCore()
    {
        var options = Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() });
        return (new RedisMailingStore(redis.Require(), options), new RedisMailingChanges(redis.Require(), options));
    }
}

[Collection(RedisClusterCollection.Name)]
public sealed class ClusterMailingChangesTests(RedisClusterFixture cluster) : MailingChangesContract
{
    protected override (IMailingStore, IMailingChanges) CreateCore()
    {
        var options = Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() });
        return (new RedisMailingStore(cluster.Require(), options), new RedisMailingChanges(cluster.Require(), options));
    }
}

public sealed class InMemoryMailingChangesTests : MailingChangesContract
{
    protected override (IMailingStore, IMailingChanges) CreateCore()
    {
        var changes = new InMemoryMailingChanges();
        return (new InMemoryMailingStore(TimeProvider.System, Options.Create(new MailingStoreOptions()), changes), changes);
    }
}
