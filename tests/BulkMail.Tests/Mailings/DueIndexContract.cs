using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;

namespace BulkMail.Tests.Mailings;

/// <summary>The due index's rules (docs/architecture.md, Mailing engine: Dispatch), on a clock passed in; run against
/// Redis and memory.</summary>
public abstract class DueIndexContract : ContractSuite
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(30);

    protected abstract IDueIndex CreateIndexCore();

    protected IDueIndex CreateIndex() => Track(CreateIndexCore());

    private static string NewId() => Guid.NewGuid().ToString("N")[..16];

    [Fact]
    [Covers(nameof(IDueIndex.WakeAsync), nameof(IDueIndex.TakeAsync))]
    public async Task A_mailing_is_taken_once_when_due_and_held_until_its_hold_runs_out()
    {
        var index = CreateIndex();
        var id = NewId();
        await index.WakeAsync(id, T0, Ct);
        await index.WakeAsync(id, T0.AddMinutes(5), Ct); // a later wake never moves it later

        var early = await index.TakeAsync(T0.AddSeconds(-1), 10, Hold, Ct);
        Assert.Empty(early.Taken);
        Assert.Equal(T0, early.NextDueAt);

        var take = await index.TakeAsync(T0, 10, Hold, Ct);
        var ticket = Assert.Single(take.Taken);
        Assert.Equal(id, ticket.MailingId);
        Assert.Equal(T0, ticket.DueAt);
        Assert.Equal((T0 + Hold).ToUnixTimeMilliseconds(), ticket.Hold);
        Assert.Equal(0, take.StillDue);

        Assert.Empty((await index.TakeAsync(T0.AddSeconds(29), 10, Hold, Ct)).Taken); // held
        var again = await index.TakeAsync(T0 + Hold, 10, Hold, Ct); // its taker died: any instance takes it again
        Assert.Equal(id, Assert.Single(again.Taken).MailingId);
    }

    [Fact]
    [Covers(nameof(IDueIndex.WakeAsync), nameof(IDueIndex.TakeAsync))]
    public async Task A_take_takes_at_most_max_earliest_first_and_counts_the_rest()
    {
        var index = CreateIndex();
        var ids = Enumerable.Range(0, 5).Select(_ => NewId()).ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            await index.WakeAsync(ids[i], T0.AddSeconds(-i), Ct);
        }
        var take = await index.TakeAsync(T0, 2, Hold, Ct);
        Assert.Equal([ids[4], ids[3]], take.Taken.Select(t => t.MailingId));
        Assert.Equal(3, take.StillDue);
        Assert.Equal(T0.AddSeconds(-2), take.NextDueAt);
    }

    [Fact]
    [Covers(nameof(IDueIndex.TakeAsync), nameof(IDueIndex.FinishAsync), nameof(IDueIndex.WakeAsync), nameof(IDueIndex.RenewAsync))]
    public async Task Finish_writes_the_next_time_keeps_an_earlier_wake_and_drops_only_what_nobody_woke()
    {
        var index = CreateIndex();
        var id = NewId();
        await index.WakeAsync(id, T0, Ct);

        // next time
        var ticket = Assert.Single((await index.TakeAsync(T0, 10, Hold, Ct)).Taken);
        await index.FinishAsync(ticket, T0.AddMinutes(1), Ct);
        Assert.Empty((await index.TakeAsync(T0.AddSeconds(59), 10, Hold, Ct)).Taken);
        ticket = Assert.Single((await index.TakeAsync(T0.AddMinutes(1), 10, Hold, Ct)).Taken);

        // renewed, then woken: the renewal fails and the finish keeps the earlier time
        var t1 = T0.AddMinutes(1);
        var renewed = (t1 + Hold + Hold).ToUnixTimeMilliseconds();
        Assert.True(await index.RenewAsync(ticket, renewed, Ct));
        ticket = ticket with { Hold = renewed };
        await index.WakeAsync(id, t1.AddSeconds(1), Ct);
        Assert.False(await index.RenewAsync(ticket, renewed + 1000, Ct));
        await index.FinishAsync(ticket, t1.AddMinutes(10), Ct);
        ticket = Assert.Single((await index.TakeAsync(t1.AddSeconds(1), 10, Hold, Ct)).Taken);

        // woken while held, then finished with nothing to do: not dropped
        var t2 = t1.AddSeconds(1);
        await index.WakeAsync(id, t2, Ct);
        await index.FinishAsync(ticket, null, Ct);
        ticket = Assert.Single((await index.TakeAsync(t2, 10, Hold, Ct)).Taken);

        // finished with nothing to do and nobody woke it: gone
        await index.FinishAsync(ticket, null, Ct);
        var later = await index.TakeAsync(t2.AddDays(1), 10, Hold, Ct);
        Assert.DoesNotContain(id, later.Taken.Select(t => t.MailingId));
    }

    [Fact]
    [Covers(nameof(IDueIndex.RepairAsync), nameof(IDueIndex.TryLeadRepairAsync), nameof(IDueIndex.WakeAsync), nameof(IDueIndex.TakeAsync), nameof(IDueIndex.FinishAsync))]
    public async Task Repair_adds_what_the_index_lacks_and_leaves_the_rest_as_it_is()
    {
        var index = CreateIndex();
        var (known, lost) = (NewId(), NewId());
        await index.WakeAsync(known, T0.AddHours(1), Ct);
        Assert.True(await index.TryLeadRepairAsync(T0, TimeSpan.FromMinutes(1), Ct));
        await index.RepairAsync([known, lost], T0, Ct);

        var take = await index.TakeAsync(T0, 10, Hold, Ct);
        Assert.Equal([lost], take.Taken.Select(t => t.MailingId)); // the one it lacked, due now
        await index.FinishAsync(take.Taken[0], null, Ct);
        var kept = Assert.Single((await index.TakeAsync(T0.AddHours(1), 10, Hold, Ct)).Taken);
        Assert.Equal((known, T0.AddHours(1)), (kept.MailingId, kept.DueAt)); // its own time kept
    }

    [Fact]
    [Covers(nameof(IDueIndex.SubscribeAsync), nameof(IDueIndex.WakeAsync))]
    public async Task A_subscriber_hears_of_every_wake()
    {
        var index = CreateIndex();
        var heard = new System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset>();
        await index.SubscribeAsync(heard.Enqueue, Ct);
        await index.WakeAsync(NewId(), T0.AddSeconds(7), Ct);
        for (var i = 0; i < 100 && !heard.Contains(T0.AddSeconds(7)); i++)
        {
            await Task.Delay(50, Ct); // Redis pub/sub arrives on its own thread
        }
        Assert.Contains(T0.AddSeconds(7), heard);
        Assert.True(index.IdleCap > TimeSpan.Zero);
    }
}

public sealed class RedisDueIndexTests(RedisServerFixture redis) : DueIndexContract
{
    protected override IDueIndex CreateIndexCore() =>
        new RedisDueIndex(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }), Options.Create(new SendingOptions()), new WorkerToken());

    [Fact]
    public async Task One_instance_of_two_leads_the_repair_in_an_interval()
    {
        var prefix = RedisServerFixture.NewPrefix();
        IDueIndex Index() => new RedisDueIndex(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = prefix }), Options.Create(new SendingOptions()), new WorkerToken());
        var now = DateTimeOffset.UtcNow;
        var leads = await Task.WhenAll(Index().TryLeadRepairAsync(now, TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken),
            Index().TryLeadRepairAsync(now, TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken));
        Assert.Equal(1, leads.Count(l => l));
    }

    [Fact]
    public async Task Instances_sharing_the_index_take_a_fair_share_each_and_whoever_looks_takes_what_a_gone_one_left()
    {
        var prefix = RedisServerFixture.NewPrefix();
        IDueIndex Index() => new RedisDueIndex(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = prefix }), Options.Create(new SendingOptions()), new WorkerToken());
        var (a, b) = (Index(), Index());
        var ct = TestContext.Current.CancellationToken;
        var t0 = DateTimeOffset.UtcNow;
        var hold = TimeSpan.FromSeconds(30);
        Assert.Empty((await b.TakeAsync(t0, 200, hold, ct)).Taken); // b is live: it has looked

        var ids = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid().ToString("N")[..16]).ToList();
        foreach (var id in ids)
        {
            await a.WakeAsync(id, t0, ct);
        }
        var first = await a.TakeAsync(t0, 200, hold, ct);
        Assert.Equal(3, first.Taken.Count); // half of 6 for each of 2 instances
        Assert.True(first.LeftToOthers);
        var second = await b.TakeAsync(t0, 200, hold, ct, running: 0);
        Assert.Equal(3, second.Taken.Count); // a runs 3 now: b's share is the other 3
        Assert.False(second.LeftToOthers);
        Assert.Empty(first.Taken.Select(t => t.MailingId).Intersect(second.Taken.Select(t => t.MailingId)));

        // b goes away (it stops looking): a takes its share first, and the rest once it is due longer than the grace
        var later = t0.AddSeconds(10);
        var more = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid().ToString("N")[..16]).ToList();
        foreach (var id in more)
        {
            await a.WakeAsync(id, later, ct);
        }
        var share = await a.TakeAsync(later, 200, hold, ct, running: 3);
        Assert.Equal(2, share.Taken.Count); // b still counts as live, running 3: (3 + 3 + 4) / 2 = 5, a runs 3 already
        Assert.True(share.LeftToOthers);
        var rest = await a.TakeAsync(later + IDueIndex.ShareGrace, 200, hold, ct, running: 5);
        Assert.Equal(2, rest.Taken.Count);
        Assert.Equal(0, rest.StillDue);
    }
}

public sealed class InMemoryDueIndexTests : DueIndexContract
{
    // No mailings in the store: the index holds only what the test wakes.
    protected override IDueIndex CreateIndexCore() => new InMemoryDueIndex(new InMemoryMailingStore(), Options.Create(new SendingOptions()));
}

/// <summary>The due index is one key: on a cluster it lives in one slot, and its wake-ups cross the nodes.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterDueIndexTests(RedisClusterFixture cluster) : DueIndexContract
{
    protected override IDueIndex CreateIndexCore() =>
        new RedisDueIndex(cluster.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }), Options.Create(new SendingOptions()), new WorkerToken());
}
