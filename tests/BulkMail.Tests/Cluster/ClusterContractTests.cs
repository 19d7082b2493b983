using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Suppressions;
using BulkMail.Api.Templates;
using BulkMail.Api.Uploads;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;

namespace BulkMail.Tests.Cluster;

// The contract suites on a Redis Cluster of three masters: a script or multi-key command whose keys are not in one slot
// fails there with CROSSSLOT, a read of one node misses keys on the others. (The mailing store's is ClusterMailingStoreTests.)

[Collection(RedisClusterCollection.Name)]
public sealed class ClusterMailboxLimiterTests(RedisClusterFixture cluster) : BulkMail.Tests.Mail.MailboxLimiterContract
{
    protected override IMailboxLimiter CreateLimiterCore() =>
        new RedisMailboxLimiter(cluster.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }));
}

[Collection(RedisClusterCollection.Name)]
public sealed class ClusterUploadStoreTests(RedisClusterFixture cluster) : BulkMail.Tests.Uploads.UploadStoreContract
{
    protected override IUploadStore CreateStoreCore(UploadOptions options) =>
        new RedisUploadStore(cluster.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }),
            Options.Create(options), TimeProvider.System);
}

[Collection(RedisClusterCollection.Name)]
public sealed class ClusterTemplateStoreTests(RedisClusterFixture cluster) : BulkMail.Tests.Templates.TemplateStoreContract
{
    protected override ITemplateStore CreateStoreCore() =>
        new RedisTemplateStore(cluster.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }));
}

[Collection(RedisClusterCollection.Name)]
public sealed class ClusterTokenCacheStoreTests(RedisClusterFixture cluster) : BulkMail.Tests.Auth.TokenCacheStoreContract
{
    private readonly string _prefix = RedisServerFixture.NewPrefix();
    private int _stores;

    protected override ITokenCacheStore CreateStoreCore() =>
        new RedisTokenCacheStore(cluster.Require(), Options.Create(new GraphOptions()),
            Options.Create(new EntraAppOptions { ClientSecret = FakeEntra.ClientSecret }),
            Options.Create(new MailingStoreOptions { KeyPrefix = $"{_prefix}{Interlocked.Increment(ref _stores)}:" }));
}

[Collection(RedisClusterCollection.Name)]
public sealed class ClusterSuppressionListTests(RedisClusterFixture cluster) : BulkMail.Tests.Suppressions.SuppressionListContract
{
    protected override ISuppressionList CreateCore() =>
        new RedisSuppressionList(cluster.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }), Time);
}
