using BulkMail.Api.Infrastructure;
using BulkMail.Api.Modes;
using BulkMail.Api.Mailings;
using BulkMail.Api.Templates;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;

namespace BulkMail.Tests.Templates;

/// <summary>What every template store keeps to; run against Redis and memory.</summary>
public abstract class TemplateStoreContract : ContractSuite
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract ITemplateStore CreateStoreCore();

    private ITemplateStore CreateStore() => Track(CreateStoreCore());

    private static SavedTemplate Template(string name, string owner = "alice@example.com", MailingMode? mode = MailingMode.Resumes) =>
        new(Guid.NewGuid().ToString("N")[..12], owner, name, mode, $"件名 {name}", "<p>{{Person.P_Name}}様</p>", T0, T0);

    [Fact]
    [Covers(nameof(ITemplateStore.SaveAsync), nameof(ITemplateStore.GetAsync), nameof(ITemplateStore.ListAsync), nameof(ITemplateStore.DeleteAsync))]
    public async Task Templates_are_saved_listed_by_name_changed_and_deleted_per_owner()
    {
        var store = CreateStore();
        var b = Template("求人案内");
        var a = Template("Autumn", mode: null);
        await store.SaveAsync(b, Ct);
        await store.SaveAsync(a, Ct);
        await store.SaveAsync(Template("Bob's", owner: "bob@example.com"), Ct);

        Assert.Equal(["Autumn", "求人案内"], (await store.ListAsync("alice@example.com", Ct)).Select(t => t.Name));
        Assert.Equal(a, await store.GetAsync("alice@example.com", a.Id, Ct));
        Assert.Null(await store.GetAsync("bob@example.com", a.Id, Ct)); // someone else's

        var changed = b with { Subject = "新しい件名", UpdatedAt = T0.AddDays(1) };
        await store.SaveAsync(changed, Ct);
        Assert.Equal(changed, await store.GetAsync("alice@example.com", b.Id, Ct));
        Assert.Equal(2, (await store.ListAsync("alice@example.com", Ct)).Count);

        Assert.False(await store.DeleteAsync("bob@example.com", b.Id, Ct));
        Assert.True(await store.DeleteAsync("alice@example.com", b.Id, Ct));
        Assert.False(await store.DeleteAsync("alice@example.com", b.Id, Ct));
        Assert.Equal([a.Id], (await store.ListAsync("alice@example.com", Ct)).Select(t => t.Id));
        Assert.Single(await store.ListAsync("bob@example.com", Ct));
    }

    [Fact]
    [Covers(nameof(ITemplateStore.TryAddAsync), nameof(ITemplateStore.ListAsync), nameof(ITemplateStore.DeleteAsync))]
    public async Task A_new_template_past_the_owners_cap_is_refused_even_when_added_at_once()
    {
        var store = CreateStore();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => store.TryAddAsync(Template($"t{i}"), 3, Ct), Ct)));

        Assert.Equal(3, results.Count(added => added));
        Assert.Equal(3, (await store.ListAsync("alice@example.com", Ct)).Count);
        Assert.False(await store.TryAddAsync(Template("late"), 3, Ct));
        Assert.True(await store.TryAddAsync(Template("his", owner: "bob@example.com"), 3, Ct)); // his own cap
        var first = (await store.ListAsync("alice@example.com", Ct))[0];
        Assert.True(await store.DeleteAsync("alice@example.com", first.Id, Ct));
        Assert.True(await store.TryAddAsync(Template("room again"), 3, Ct));
    }
}

public sealed class RedisTemplateStoreTests(RedisServerFixture redis) : TemplateStoreContract
{
    protected override ITemplateStore CreateStoreCore() =>
        new RedisTemplateStore(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }));
}

public sealed class InMemoryTemplateStoreTests : TemplateStoreContract
{
    protected override ITemplateStore CreateStoreCore() => new InMemoryTemplateStore();
}
