using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Api.Uploads;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;

namespace BulkMail.Tests.Uploads;

/// <summary>What every upload store keeps to; run against Redis and memory, on the real clock (Redis expires keys on its own).</summary>
public abstract class UploadStoreContract : ContractSuite
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract IUploadStore CreateStoreCore(UploadOptions options);

    private IUploadStore CreateStore(UploadOptions? options = null) => Track(CreateStoreCore(options ?? new UploadOptions()));

    [Fact]
    [Covers(nameof(IUploadStore.SaveAsync), nameof(IUploadStore.GetAsync))]
    public async Task An_upload_is_read_back_byte_for_byte_by_its_owner_only()
    {
        var store = CreateStore();
        byte[] content = [0x25, 0x50, 0x44, 0x46, 0, 255, 10, 13];

        var info = await store.SaveAsync("alice@example.com", "求人票 2026.pdf", "application/pdf", content, Ct);
        var other = await store.SaveAsync("alice@example.com", "b.txt", "text/plain", [1], Ct);

        Assert.Equal(("求人票 2026.pdf", "application/pdf", 8L), (info.Name, info.ContentType, info.Size));
        Assert.NotEqual(info.Id, other.Id);
        var read = (await store.GetAsync("alice@example.com", info.Id, Ct))!;
        Assert.Equal(info, read.Info);
        Assert.Equal(content, read.Content);
        Assert.Null(await store.GetAsync("bob@example.com", info.Id, Ct)); // someone else's
        Assert.Null(await store.GetAsync("alice@example.com", new string('0', 24), Ct)); // unknown
        Assert.Null(await store.GetAsync("alice@example.com", "../" + info.Id, Ct));
    }

    [Fact]
    [Covers(nameof(IUploadStore.SaveAsync), nameof(IUploadStore.GetAsync))]
    public async Task The_quota_counts_the_owners_unexpired_uploads_and_frees_when_they_expire()
    {
        var store = CreateStore(new UploadOptions { MaxBytesPerUser = 100, Retention = TimeSpan.FromSeconds(1.5) });
        var first = await store.SaveAsync("alice@example.com", "a.bin", "application/octet-stream", new byte[60], Ct);

        var refused = await Assert.ThrowsAsync<UploadQuotaExceededException>(() =>
            store.SaveAsync("alice@example.com", "b.bin", "application/octet-stream", new byte[41], Ct));
        Assert.Equal((60L, 100L), (refused.UsedBytes, refused.MaxBytes));
        await store.SaveAsync("alice@example.com", "c.bin", "application/octet-stream", new byte[40], Ct); // exactly the cap
        await store.SaveAsync("bob@example.com", "b.bin", "application/octet-stream", new byte[41], Ct); // his own quota
        Assert.NotNull(await store.GetAsync("alice@example.com", first.Id, Ct));

        await Task.Delay(TimeSpan.FromSeconds(1.7), Ct);

        Assert.Null(await store.GetAsync("alice@example.com", first.Id, Ct));
        await store.SaveAsync("alice@example.com", "d.bin", "application/octet-stream", new byte[100], Ct);
    }
}

public sealed class RedisUploadStoreTests(RedisServerFixture redis) : UploadStoreContract
{
    protected override IUploadStore CreateStoreCore(UploadOptions options) =>
        new RedisUploadStore(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }),
            Options.Create(options), TimeProvider.System);
}

public sealed class InMemoryUploadStoreTests : UploadStoreContract
{
    protected override IUploadStore CreateStoreCore(UploadOptions options) => new InMemoryUploadStore(TimeProvider.System, Options.Create(options));
}
