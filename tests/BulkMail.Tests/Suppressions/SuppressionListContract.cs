using BulkMail.Api.Infrastructure;
using BulkMail.Api.Suppressions;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace BulkMail.Tests.Suppressions;

/// <summary>What every suppression list keeps to; run against Redis and memory.</summary>
public abstract class SuppressionListContract : ContractSuite
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    protected readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    protected abstract ISuppressionList CreateCore();

    private ISuppressionList Create() => Track(CreateCore());

    [Fact]
    [Covers(nameof(ISuppressionList.AddAsync), nameof(ISuppressionList.GetAsync), nameof(ISuppressionList.FindAsync))]
    public async Task An_address_is_added_once_per_tenant_and_the_first_entry_is_kept()
    {
        var list = Create();
        Assert.True(await list.AddAsync("t1", "taro@example.com", "asked by phone", "api", null, SuppressionCode.Manual, Ct));
        Time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(await list.AddAsync("t1", "taro@example.com", "again", "bounce", "m2", SuppressionCode.HardBounce, Ct));
        Assert.True(await list.AddAsync("t2", "taro@example.com", null, "unsubscribe", "m3", SuppressionCode.Unsubscribed, Ct)); // another tenant

        var entry = await list.GetAsync("t1", "taro@example.com", Ct);
        Assert.Equal(new Suppression("taro@example.com", "asked by phone", SuppressionCode.Manual, new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero), null, "api"), entry);
        Assert.Equal(SuppressionCode.Unsubscribed, (await list.GetAsync("t2", "taro@example.com", Ct))!.Code);
        Assert.Null(await list.GetAsync("t3", "taro@example.com", Ct));
        Assert.Equal(["taro@example.com"], await list.FindAsync("t1", ["hanako@example.com", "taro@example.com"], Ct));
        Assert.Empty(await list.FindAsync("t3", ["taro@example.com"], Ct));
        Assert.Empty(await list.FindAsync("t1", [], Ct));
    }

    [Fact]
    [Covers(nameof(ISuppressionList.AddManyAsync), nameof(ISuppressionList.ListAsync))]
    public async Task Many_are_added_at_once_and_paged_in_address_order_with_a_filter()
    {
        var list = Create();
        var now = Time.GetUtcNow();
        var entries = Enumerable.Range(0, 25).Select(i => new Suppression($"user{i:D2}@{(i % 2 == 0 ? "even" : "odd")}.example", null, SuppressionCode.Imported, now, null, "import")).ToList();
        Assert.Equal(25, await list.AddManyAsync("t1", entries, Ct));
        Assert.Equal(0, await list.AddManyAsync("t1", entries.Take(3).ToList(), Ct));

        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await list.ListAsync("t1", after, 10, null, Ct);
            Assert.Equal(25, page.Total);
            Assert.True(page.Items.Count <= 10);
            seen.AddRange(page.Items.Select(s => s.Address));
            after = page.NextCursor;
        }
        while (after is not null);
        Assert.Equal(entries.Select(e => e.Address).Order(StringComparer.Ordinal), seen);

        var odd = await list.ListAsync("t1", null, 5, "@odd.", Ct);
        Assert.Equal(12, odd.Total);
        Assert.Equal(["user01@odd.example", "user03@odd.example", "user05@odd.example", "user07@odd.example", "user09@odd.example"], odd.Items.Select(s => s.Address));
        var rest = await list.ListAsync("t1", odd.NextCursor, 100, "@odd.", Ct);
        Assert.Equal(7, rest.Items.Count);
        Assert.Null(rest.NextCursor);
        Assert.Equal(0, (await list.ListAsync("t9", null, 10, null, Ct)).Total);
    }

    [Fact]
    [Covers(nameof(ISuppressionList.RemoveAsync), nameof(ISuppressionList.AddAsync), nameof(ISuppressionList.ListAsync))]
    public async Task A_removed_address_is_gone_and_can_be_added_again()
    {
        var list = Create();
        await list.AddAsync("t1", "a@example.com", null, "api", null, SuppressionCode.Manual, Ct);
        await list.AddAsync("t1", "b@example.com", null, "api", null, SuppressionCode.Manual, Ct);
        Assert.True(await list.RemoveAsync("t1", "a@example.com", Ct));
        Assert.False(await list.RemoveAsync("t1", "a@example.com", Ct));
        Assert.False(await list.RemoveAsync("t2", "b@example.com", Ct));
        var page = await list.ListAsync("t1", null, 10, null, Ct);
        Assert.Equal(["b@example.com"], page.Items.Select(s => s.Address));
        Assert.Equal(1, page.Total);
        Assert.True(await list.AddAsync("t1", "a@example.com", "back", "api", null, SuppressionCode.Manual, Ct));
    }

    [Theory]
    [InlineData(" Taro.Yamada@Example.COM ", "taro.yamada@example.com")]
    [InlineData("taro@example.com", "taro@example.com")]
    [InlineData("taro", null)]
    [InlineData("taro@", null)]
    [InlineData("a@b@example.com", null)]
    [InlineData("Taro <taro@example.com>", null)]
    [InlineData("taro@example.com, hanako@example.com", null)]
    public void Addresses_are_trimmed_and_lower_case_or_refused(string value, string? expected) => Assert.Equal(expected, SuppressionAddress.Normalize(value));
}

public sealed class RedisSuppressionListTests(RedisServerFixture redis) : SuppressionListContract
{
    protected override ISuppressionList CreateCore() =>
        new RedisSuppressionList(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }), Time);
}

public sealed class InMemorySuppressionListTests : SuppressionListContract
{
    protected override ISuppressionList CreateCore() => new InMemorySuppressionList(Time);
}
