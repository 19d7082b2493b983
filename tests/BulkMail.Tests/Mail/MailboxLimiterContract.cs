using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace BulkMail.Tests.Mail;

/// <summary>Pacing rules, driven by a fake clock; run against Redis and memory.</summary>
public abstract class MailboxLimiterContract : ContractSuite
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly MailboxLimits Limits = new(10, 4, 10_000, TimeSpan.FromMinutes(2));

    protected abstract IMailboxLimiter CreateLimiterCore();

    protected IMailboxLimiter CreateLimiter() => Track(CreateLimiterCore());

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireAsync), nameof(IMailboxLimiter.ReleaseAsync))]
    public async Task Never_more_than_the_rate_in_any_60_seconds()
    {
        var limiter = CreateLimiter();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        var start = clock.GetUtcNow();
        var grants = new List<DateTimeOffset>();

        while (clock.GetUtcNow() - start < TimeSpan.FromMinutes(5))
        {
            var d = await limiter.TryAcquireAsync("alice@example.com", Limits, clock.GetUtcNow(), Ct);
            if (d.Granted)
            {
                grants.Add(clock.GetUtcNow());
                await limiter.ReleaseAsync("alice@example.com", d.Token!, Ct);
                clock.Advance(TimeSpan.FromMilliseconds(137));
            }
            else
            {
                Assert.Equal(LimitReason.Rate, d.Reason);
                clock.Advance(d.Wait);
            }
        }

        for (var i = 0; i + Limits.MessagesPerMinute < grants.Count; i++)
        {
            Assert.True(grants[i + Limits.MessagesPerMinute] - grants[i] >= TimeSpan.FromSeconds(60),
                $"grants {i} and {i + Limits.MessagesPerMinute} are {grants[i + Limits.MessagesPerMinute] - grants[i]} apart");
        }
        // and the allowed rate is used: 5 minutes of 10 a minute
        Assert.InRange(grants.Count, 50, 51);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.PaceAsync), nameof(IMailboxLimiter.BlockAsync), nameof(IMailboxLimiter.DailyUsageAsync))]
    public async Task Pace_tells_the_block_the_window_the_uploads_and_the_day_without_changing_them()
    {
        var limiter = CreateLimiter();
        var t0 = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(new MailboxPace(null, 0, null, 0, null, 0, null), await limiter.PaceAsync("pace@example.com", Limits, t0, Ct));
        for (var i = 0; i < 3; i++)
        {
            var d = await limiter.TryAcquireAsync("pace@example.com", Limits, t0.AddSeconds(i), Ct, uploadBytes: i == 0 ? 1000 : 0);
            await limiter.ReleaseAsync("pace@example.com", d.Token!, Ct);
        }
        await limiter.BlockAsync("pace@example.com", t0.AddSeconds(32), Ct);

        var pace = await limiter.PaceAsync("pace@example.com", Limits, t0.AddSeconds(2), Ct);
        Assert.Equal(t0.AddSeconds(32), pace.BlockedUntil);
        Assert.Equal((3, t0 + Limits.RateWindow), (pace.SendsInWindow, pace.WindowFreesAt));
        Assert.Equal((1000L, t0 + Limits.UploadWindow), (pace.UploadBytes, pace.UploadFreesAt));
        Assert.Equal((3, t0.AddDays(1)), (pace.Daily, pace.DailyFreesAt));
        // a minute later the window has moved on, the block is over, the day still counts
        var later = await limiter.PaceAsync("pace@example.com", Limits, t0.AddSeconds(2) + Limits.RateWindow, Ct);
        Assert.Equal((null, 0, 3), (later.BlockedUntil, later.SendsInWindow, later.Daily));
        Assert.Equal(3, (await limiter.DailyUsageAsync("pace@example.com", t0.AddSeconds(2), Ct)).Count);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireAsync), nameof(IMailboxLimiter.ReleaseAsync))]
    public async Task Attachment_uploads_never_exceed_the_budget_in_any_5_minutes()
    {
        var limiter = CreateLimiter();
        var limits = new MailboxLimits(1000, 4, 10_000, TimeSpan.FromMinutes(2)) { UploadBudgetBytes = 150L * 1024 * 1024 };
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        var start = clock.GetUtcNow();
        const long perMessage = 12L * 1024 * 1024;
        var grants = new List<DateTimeOffset>();
        var waitedForUploads = false;
        while (clock.GetUtcNow() - start < TimeSpan.FromMinutes(30))
        {
            var d = await limiter.TryAcquireAsync("bob@example.com", limits, clock.GetUtcNow(), Ct, perMessage);
            if (d.Granted)
            {
                grants.Add(clock.GetUtcNow());
                await limiter.ReleaseAsync("bob@example.com", d.Token!, Ct);
                clock.Advance(TimeSpan.FromSeconds(1));
            }
            else
            {
                Assert.Equal(LimitReason.Upload, d.Reason);
                waitedForUploads = true;
                clock.Advance(d.Wait);
            }
        }
        Assert.True(waitedForUploads);
        var perWindow = (int)(limits.UploadBudgetBytes / perMessage); // 12 of 12 MB in 150 MB
        for (var i = 0; i + perWindow < grants.Count; i++)
        {
            Assert.True(grants[i + perWindow] - grants[i] >= TimeSpan.FromMinutes(5), $"{perWindow + 1} uploads of 12 MB within {grants[i + perWindow] - grants[i]}");
        }
        // and the budget is used: 6 windows of 12
        Assert.InRange(grants.Count, 6 * perWindow, 6 * perWindow + perWindow);
        // sends without attachments are not held back by the upload budget
        Assert.True((await limiter.TryAcquireAsync("bob@example.com", limits, clock.GetUtcNow(), Ct)).Granted);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireAsync), nameof(IMailboxLimiter.ReleaseAsync))]
    public async Task Uploads_count_from_when_the_send_finished_not_from_the_grant()
    {
        var limiter = CreateLimiter();
        var limits = new MailboxLimits(1000, 4, 10_000, TimeSpan.FromMinutes(10)) { UploadBudgetBytes = 100 };
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        var first = await limiter.TryAcquireAsync("carol@example.com", limits, clock.GetUtcNow(), Ct, 80);
        Assert.True(first.Granted);
        clock.Advance(TimeSpan.FromMinutes(2)); // a slow upload: its bytes reached Graph only now
        await limiter.ReleaseAsync("carol@example.com", first.Token!, Ct, clock.GetUtcNow());
        clock.Advance(TimeSpan.FromMinutes(3.5)); // 5.5 min after the grant, 3.5 after the upload
        var second = await limiter.TryAcquireAsync("carol@example.com", limits, clock.GetUtcNow(), Ct, 80);
        Assert.False(second.Granted);
        Assert.Equal(LimitReason.Upload, second.Reason);
        Assert.InRange(second.Wait, TimeSpan.FromSeconds(89), TimeSpan.FromSeconds(91));
        clock.Advance(second.Wait);
        Assert.True((await limiter.TryAcquireAsync("carol@example.com", limits, clock.GetUtcNow(), Ct, 80)).Granted);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireAsync), nameof(IMailboxLimiter.ReleaseAsync), nameof(IMailboxLimiter.StampAsync))]
    public async Task A_send_counts_in_the_window_from_when_it_went_out_not_from_the_grant()
    {
        var limiter = CreateLimiter();
        var limits = new MailboxLimits(2, 4, 10_000, TimeSpan.FromMinutes(10));
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero));
        var slow = await limiter.TryAcquireAsync("erin@example.com", limits, clock.GetUtcNow(), Ct);
        var quick = await limiter.TryAcquireAsync("erin@example.com", limits, clock.GetUtcNow(), Ct);
        await limiter.ReleaseAsync("erin@example.com", quick.Token!, Ct, clock.GetUtcNow());
        clock.Advance(TimeSpan.FromSeconds(20)); // the slow one's draft took 20 s: it is sent only now
        await limiter.StampAsync("erin@example.com", slow.Token!, clock.GetUtcNow(), Ct); // (its process may die before the release)
        await limiter.StampAsync("erin@example.com", quick.Token!, clock.GetUtcNow().AddSeconds(-30), Ct); // never earlier

        clock.Advance(limits.RateWindow - TimeSpan.FromSeconds(19)); // a window and a second after the grants
        var next = await limiter.TryAcquireAsync("erin@example.com", limits, clock.GetUtcNow(), Ct);
        Assert.True(next.Granted); // the quick one left the window
        var refused = await limiter.TryAcquireAsync("erin@example.com", limits, clock.GetUtcNow(), Ct);
        Assert.Equal(LimitReason.Rate, refused.Reason);
        Assert.InRange(refused.Wait, TimeSpan.FromSeconds(18.9), TimeSpan.FromSeconds(19.1)); // the slow one counts from its send
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireAsync), nameof(IMailboxLimiter.ReleaseAsync))]
    public async Task At_most_max_concurrency_requests_in_flight_per_mailbox()
    {
        var limiter = CreateLimiter();
        var now = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        var tokens = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            tokens.Add((await limiter.TryAcquireAsync("bob@example.com", Limits, now, Ct)).Token!);
        }

        var fifth = await limiter.TryAcquireAsync("bob@example.com", Limits, now, Ct);
        var otherMailbox = await limiter.TryAcquireAsync("carol@example.com", Limits, now, Ct);
        await limiter.ReleaseAsync("bob@example.com", tokens[0], Ct);
        var afterRelease = await limiter.TryAcquireAsync("bob@example.com", Limits, now, Ct);

        Assert.Equal(LimitReason.Concurrency, fifth.Reason);
        Assert.True(otherMailbox.Granted);
        Assert.True(afterRelease.Granted);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireAsync), nameof(IMailboxLimiter.DailyUsageAsync))]
    public async Task The_daily_recipient_limit_defers_until_the_oldest_send_is_24_hours_old()
    {
        var limiter = CreateLimiter();
        var limits = Limits with { DailyRecipientLimit = 5 };
        var t0 = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 5; i++)
        {
            var g = await limiter.TryAcquireAsync("dave@example.com", limits, t0.AddMinutes(i), Ct);
            await limiter.ReleaseAsync("dave@example.com", g.Token!, Ct);
        }

        var refused = await limiter.TryAcquireAsync("dave@example.com", limits, t0.AddHours(1), Ct);
        var usage = await limiter.DailyUsageAsync("dave@example.com", t0.AddHours(1), Ct);
        var nextDay = await limiter.TryAcquireAsync("dave@example.com", limits, t0.AddHours(24), Ct);

        Assert.Equal(LimitReason.Daily, refused.Reason);
        Assert.Equal(TimeSpan.FromHours(23), refused.Wait);
        Assert.Equal((5, (DateTimeOffset?)t0.AddHours(24)), usage);
        Assert.True(nextDay.Granted);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.CancelAsync), nameof(IMailboxLimiter.BlockAsync), nameof(IMailboxLimiter.TryAcquireAsync))]
    public async Task A_retry_after_blocks_the_whole_mailbox_and_a_cancelled_grant_is_uncounted()
    {
        var limiter = CreateLimiter();
        var limits = Limits with { MessagesPerMinute = 1 };
        var t0 = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);

        var g = await limiter.TryAcquireAsync("erin@example.com", limits, t0, Ct);
        await limiter.CancelAsync("erin@example.com", g.Token!, Ct);
        var again = await limiter.TryAcquireAsync("erin@example.com", limits, t0, Ct);
        await limiter.ReleaseAsync("erin@example.com", again.Token!, Ct);
        await limiter.BlockAsync("erin@example.com", t0.AddSeconds(70), Ct);
        await limiter.BlockAsync("erin@example.com", t0.AddSeconds(5), Ct); // an earlier Retry-After does not shorten the block
        var blocked = await limiter.TryAcquireAsync("erin@example.com", limits, t0.AddSeconds(61), Ct);
        var free = await limiter.TryAcquireAsync("erin@example.com", limits, t0.AddSeconds(70), Ct);

        Assert.True(again.Granted);
        Assert.Equal((LimitReason.Throttled, TimeSpan.FromSeconds(9)), (blocked.Reason, blocked.Wait));
        Assert.True(free.Granted);
    }

    [Fact]
    [Covers(nameof(IMailboxLimiter.TryAcquireReadAsync))]
    public async Task A_read_takes_a_concurrency_slot_shared_with_the_sends_and_nothing_of_the_rate()
    {
        var limiter = CreateLimiter();
        var mailbox = $"{Guid.NewGuid():N}@example.com";
        var t0 = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        var sends = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            sends.Add((await limiter.TryAcquireAsync(mailbox, Limits, t0, Ct)).Token!);
        }
        var read = await limiter.TryAcquireReadAsync(mailbox, Limits, t0, Ct);
        Assert.True(read.Granted);
        // 3 sends + 1 read = the 4 concurrent requests: neither another read nor a send gets in
        Assert.Equal(LimitReason.Concurrency, (await limiter.TryAcquireReadAsync(mailbox, Limits, t0, Ct)).Reason);
        Assert.Equal(LimitReason.Concurrency, (await limiter.TryAcquireAsync(mailbox, Limits, t0, Ct)).Reason);
        await limiter.ReleaseAsync(mailbox, read.Token!, Ct);
        await WaitGrantedAsync(() => limiter.TryAcquireReadAsync(mailbox, Limits, t0, Ct), limiter, mailbox);
        // a read is no send: the window and the day count the 3 sends only
        var pace = await limiter.PaceAsync(mailbox, Limits, t0, Ct);
        Assert.Equal((3, 3), (pace.SendsInWindow, pace.Daily));
        // Retry-After holds reads too
        await limiter.BlockAsync(mailbox, t0.AddSeconds(30), Ct);
        foreach (var s in sends)
        {
            await limiter.ReleaseAsync(mailbox, s, Ct);
        }
        var blocked = await limiter.TryAcquireReadAsync(mailbox, Limits, t0.AddSeconds(1), Ct);
        Assert.Equal(LimitReason.Throttled, blocked.Reason);
        Assert.Equal(TimeSpan.FromSeconds(29), blocked.Wait);
    }

    /// <summary>A release may be fire-and-forget (Redis): the next grant may take a moment.</summary>
    private static async Task WaitGrantedAsync(Func<Task<LimiterDecision>> acquire, IMailboxLimiter limiter, string mailbox)
    {
        for (var i = 0; i < 50; i++)
        {
            var d = await acquire();
            if (d.Granted)
            {
                await limiter.ReleaseAsync(mailbox, d.Token!, Ct);
                return;
            }
            await Task.Delay(20, Ct);
        }
        Assert.Fail("no slot after the release");
    }
}

public sealed class RedisMailboxLimiterTests(RedisServerFixture redis) : MailboxLimiterContract
{
    protected override IMailboxLimiter CreateLimiterCore() =>
        new RedisMailboxLimiter(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }));
}

public sealed class InMemoryMailboxLimiterTests : MailboxLimiterContract
{
    protected override IMailboxLimiter CreateLimiterCore() => new InMemoryMailboxLimiter();
}
