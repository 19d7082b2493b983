using BulkMail.Api.Mailings;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Uploads;

/// <summary>An uploaded file's metadata, as the task pane sees it.</summary>
public sealed record UploadInfo(string Id, string Name, string ContentType, long Size);

public sealed record UploadedFile(UploadInfo Info, byte[] Content);

/// <summary>Files uploaded by users for their next mailing; each belongs to its uploader and expires.</summary>
public interface IUploadStore
{
    Task<UploadInfo> SaveAsync(string owner, string name, string contentType, byte[] content, CancellationToken cancellationToken);

    /// <summary>The owner's upload, or null (unknown, expired or someone else's).</summary>
    Task<UploadedFile?> GetAsync(string owner, string id, CancellationToken cancellationToken);
}

public sealed class RedisUploadStore(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> store, IOptions<UploadOptions> options) : IUploadStore
{
    private RedisKey Key(string id) => $"{store.Value.KeyPrefix}upload:{id}";

    public async Task<UploadInfo> SaveAsync(string owner, string name, string contentType, byte[] content, CancellationToken cancellationToken)
    {
        var info = new UploadInfo(UploadIds.New(), name, contentType, content.LongLength);
        var db = redis.GetDatabase();
        var tx = db.CreateTransaction();
        _ = tx.HashSetAsync(Key(info.Id), [new("owner", owner), new("name", name), new("type", contentType), new("data", content)]);
        _ = tx.KeyExpireAsync(Key(info.Id), options.Value.Retention);
        await tx.ExecuteAsync().ConfigureAwait(false);
        return info;
    }

    public async Task<UploadedFile?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsValid(id))
        {
            return null;
        }
        var values = await redis.GetDatabase().HashGetAsync(Key(id), ["owner", "name", "type", "data"]).ConfigureAwait(false);
        if (values[0].IsNull || (string?)values[0] != owner)
        {
            return null;
        }
        var data = (byte[])values[3]!;
        return new UploadedFile(new UploadInfo(id, (string)values[1]!, (string)values[2]!, data.LongLength), data);
    }
}

/// <summary>The demo's uploads, in memory, expiring on the injected clock.</summary>
public sealed class InMemoryUploadStore(TimeProvider time, IOptions<UploadOptions> options) : IUploadStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Owner, UploadedFile File, DateTimeOffset Expires)> _files = [];

    public Task<UploadInfo> SaveAsync(string owner, string name, string contentType, byte[] content, CancellationToken cancellationToken)
    {
        var info = new UploadInfo(UploadIds.New(), name, contentType, content.LongLength);
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var expired in _files.Where(f => f.Value.Expires <= now).Select(f => f.Key).ToList())
            {
                _files.Remove(expired);
            }
            _files[info.Id] = (owner, new UploadedFile(info, content), now + options.Value.Retention);
        }
        return Task.FromResult(info);
    }

    public Task<UploadedFile?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_files.TryGetValue(id, out var f) && f.Owner == owner && f.Expires > time.GetUtcNow() ? f.File : null);
        }
    }
}

internal static class UploadIds
{
    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    public static bool IsValid(string id) => id.Length == 24 && id.All(char.IsAsciiHexDigitLower);
}
